"""A contract drafted from sample rows: types, ranges, value sets, roles and leakage suspects.

The sample comes as the ingest step reads it (every value text), so the guesses are about the
text upstream writes: a column is typed by what all its values parse as, then pandera's own
`infer_schema` drafts dtypes, nullability and ranges from the typed frame; ranges get a margin,
low-cardinality text a value set. Every guess carries a one-line comment saying what it rests
on, so a person reviews the draft in a minute.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from zoneinfo import available_timezones

import numpy as np
import pandas as pd
import pandera.pandas as pa
import polars as pl
import yaml
from sklearn.metrics import roc_auc_score

from e2e_ml.core.cleaning import LINEAGE, SOURCE_FILE

ISO = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$")
INTEGER = re.compile(r"^[+-]?\d+$")
EPOCH_RANGES = {"seconds": (1e9, 4.1e9), "milliseconds": (1e12, 4.1e12)}  # 2001 .. 2099
TIME_NAME = re.compile(r"(time|date|_at$|_ts$|_ms$|timestamp)", re.IGNORECASE)
MAX_VALUE_SET = 30  # text with at most this many values gets a value set
LEAK_SCORE = 0.9
PREFERRED_ZONES = (  # the zones most business days are kept in, tried first
    "UTC",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "America/Sao_Paulo",
    "Europe/London",
    "Europe/Paris",
    "Europe/Berlin",
    "Asia/Kolkata",
    "Asia/Singapore",
    "Asia/Shanghai",
    "Asia/Tokyo",
    "Australia/Sydney",
)
RANGE_MARGIN = 0.5  # ranges widened by half their width on each side, and never past zero for counts


@dataclass
class ColumnGuess:
    name: str
    kind: str  # integer, float, boolean, datetime, epoch, string
    note: str
    epoch_unit: str | None = None
    offsets: set[str] = field(default_factory=set)


def guess_column(name: str, values: pd.Series) -> ColumnGuess:
    """What a text column holds, from every non-empty value in the sample."""
    present = values.dropna()
    present = present[present.str.strip() != ""]
    if present.empty:
        return ColumnGuess(name, "string", "empty in the sample: typed as text")
    if present.str.lower().isin(["true", "false"]).all():
        return ColumnGuess(name, "boolean", "every value is true or false")
    if present.str.match(INTEGER.pattern).all():
        numbers = present.astype("int64")
        for unit, (low, high) in EPOCH_RANGES.items():
            if TIME_NAME.search(name) and numbers.between(low, high).all():
                return ColumnGuess(name, "epoch", f"integers in the range of epoch {unit}", epoch_unit=unit)
        return ColumnGuess(name, "integer", "every value is an integer")
    if pd.to_numeric(present, errors="coerce").notna().all():
        return ColumnGuess(name, "float", "every value is a number")
    if present.str.match(ISO.pattern).all():
        offsets = set(present.str.extract(r"(Z|[+-]\d{2}:?\d{2})$")[0].fillna("none"))
        form = ", ".join(sorted(offsets))
        return ColumnGuess(
            name, "datetime", f"ISO-8601 timestamps (zone designators seen: {form})", offsets=offsets
        )
    return ColumnGuess(name, "string", f"text ({present.nunique()} distinct values in the sample)")


def typed_frame(sample: pd.DataFrame, guesses: dict[str, ColumnGuess]) -> pd.DataFrame:
    columns = {}
    for name, guess in guesses.items():
        values = sample[name].where(sample[name].str.strip() != "")
        if guess.kind in ("integer", "float"):
            columns[name] = pd.to_numeric(values).astype("Int64" if guess.kind == "integer" else "float64")
        elif guess.kind == "boolean":
            columns[name] = values.str.lower().map({"true": True, "false": False}).astype("boolean")
        elif guess.kind == "datetime":
            columns[name] = pd.to_datetime(values, utc=True, format="ISO8601")
        elif guess.kind == "epoch":
            unit = "ms" if guess.epoch_unit == "milliseconds" else "s"
            columns[name] = pd.to_datetime(pd.to_numeric(values), unit=unit, utc=True)
        else:
            columns[name] = values.astype("string")
    return pd.DataFrame(columns)


def draft(
    sample: pl.DataFrame, name: str, target: str | None, landing_days: dict[str, date] | None = None
) -> str:
    """The contract YAML, commented, for the sample's rows (ingest's text columns, with lineage).
    `landing_days`: the day the landing layout gives each sample file, to find the business day's zone."""
    files = sample[SOURCE_FILE].to_pandas() if SOURCE_FILE in sample.columns else None
    text = sample.drop([c for c in LINEAGE if c in sample.columns]).to_pandas()
    if target is not None and target not in text:
        raise ValueError(f"--target {target!r} is not a column of the sample: {', '.join(text.columns)}")
    guesses = {column: guess_column(column, text[column]) for column in text.columns}
    typed = typed_frame(text, guesses)
    inferred = pa.infer_schema(typed.select_dtypes(exclude=["datetime64[ns, UTC]"]))
    lines = [
        f"# Drafted by `e2e-ml contract draft` from {len(typed)} sample rows. Review every line marked #.",
        f"name: {name}",
        f"description: Drafted from {len(typed)} sample rows; say what a row is.",
    ]
    landed = files.map(landing_days or {}) if files is not None else pd.Series(dtype=object)
    lines += _time_section(guesses, typed, landed)
    task = _task(typed, target)
    lines += _roles_section(typed, guesses, target, task)
    lines += ["schema:", "  schema_type: dataframe", "  columns:"]
    for column, guess in guesses.items():
        spec = _column_spec(column, guess, typed[column], inferred, target, task)
        lines.append(f"    # {column}: {guess.note}")
        body = yaml.safe_dump({column: spec}, sort_keys=False, default_flow_style=None, width=1000)
        lines += ["    " + line for line in body.rstrip().splitlines()]
    return "\n".join(lines) + "\n"


def _column_spec(
    column: str, guess: ColumnGuess, values: pd.Series, inferred: Any, target: str | None, task: str
) -> dict:
    nullable = bool(values.isna().any()) or column == target  # a label may be empty until known
    if guess.kind in ("datetime", "epoch"):
        return {"dtype": "datetime64[ns, UTC]", "nullable": nullable}
    dtype = {"integer": "Int64", "float": "float64", "boolean": "boolean", "string": "str"}[guess.kind]
    spec: dict = {"dtype": dtype, "nullable": bool(inferred.columns[column].nullable) or nullable}
    present = values.dropna()
    if column == target and task == "classification":
        spec["isin"] = sorted(present.unique().tolist())
    elif guess.kind in ("integer", "float") and len(present):
        low, high = float(present.min()), float(present.max())
        margin = (high - low) * RANGE_MARGIN or abs(high) * RANGE_MARGIN or 1.0
        lower = max(0.0, low - margin) if low >= 0 else low - margin
        cast = int if guess.kind == "integer" else float
        spec["in_range"] = {"min_value": cast(np.floor(lower)), "max_value": cast(np.ceil(high + margin))}
    elif (
        guess.kind == "string"
        and 0 < present.nunique() <= MAX_VALUE_SET
        and present.nunique() < len(present) / 2
    ):
        spec["isin"] = sorted(str(v) for v in present.unique())
    return spec


def business_zones(instants: pd.Series, landed: pd.Series) -> list[str]:
    """The zones in which every row's calendar day is the day its file landed on, the usual
    business zones first: what the landing zone's days say about the day boundary."""
    both = instants.notna() & landed.notna()
    if not both.any():
        return []
    instants, days = instants[both], pd.Series(landed[both].to_numpy(), index=instants[both].index)
    fitting = []
    for zone in (*PREFERRED_ZONES, *sorted(available_timezones())):
        if zone in fitting or ("/" not in zone and zone != "UTC"):
            continue
        if (instants.dt.tz_convert(zone).dt.date == days).all():
            fitting.append(zone)
    return fitting


def _time_section(guesses: dict[str, ColumnGuess], typed: pd.DataFrame, landed: pd.Series) -> list[str]:
    lines = ["time:"]
    offsets = {o for g in guesses.values() for o in g.offsets} - {"Z", "none"}
    event_time = next((c for c, g in guesses.items() if g.kind == "datetime"), None)
    zones = business_zones(typed[event_time], landed) if event_time and len(landed) else []
    seen = f"offsets seen: {', '.join(sorted(offsets))}" if offsets else "no offsets in the timestamps"
    if zones:
        others = f" (also fits: {', '.join(zones[1:4])})" if len(zones) > 1 else ""
        lines.append(
            f"  zone: {zones[0]}  # every sampled row falls on its landing day in this zone{others}; {seen}"
        )
    else:
        lines.append(
            f"  zone: UTC  # {seen}; no zone puts every row on its landing day: set your business day's"
        )
    lines.append(
        "  landing_day: checked  # rows off their landing day are quarantined; `authoritative` trusts it"
    )
    epochs = {g.name: g.epoch_unit for g in guesses.values() if g.kind == "epoch"}
    if epochs:
        lines.append("  epoch:")
        lines += [
            f"    {name}: {unit}  # integers in the range of epoch {unit}" for name, unit in epochs.items()
        ]
    return lines


def _task(typed: pd.DataFrame, target: str | None) -> str:
    return "classification" if target is None or typed[target].dropna().nunique() <= 2 else "regression"


def _roles_section(
    typed: pd.DataFrame, guesses: dict[str, ColumnGuess], target: str | None, task: str
) -> list[str]:
    times = [c for c, g in guesses.items() if g.kind == "datetime"] or [
        c for c, g in guesses.items() if g.kind == "epoch"
    ]
    event_time = times[0] if times else None
    identity, why = _identity(typed, event_time, exclude={target})
    lines = ["roles:", f"  id: {identity}  # {why}"]
    lines.append(
        f"  event_time: {event_time}  # the first timestamp column"
        if event_time
        else "  event_time: ?  # no timestamp found"
    )
    if target is not None:
        known = typed[target].dropna()
        lines.append(f"  target: {target}  # given")
        lines.append(f"  task: {task}  # {known.nunique()} distinct target values in the sample")
    candidates = [
        c
        for c, g in guesses.items()
        if c not in {identity, event_time, target} and g.kind not in ("datetime", "epoch")
    ]
    suspects = _leakage_suspects(typed, candidates, target, task) if target else {}
    lines.append("  features:")
    lines += [f"    - {c}" for c in candidates if c not in suspects]
    for column, why in suspects.items():
        lines.append(f"    # - {column}  # left out, a leakage suspect: {why}")
    return lines


def _identity(typed: pd.DataFrame, event_time: str | None, exclude: set) -> tuple[str, str]:
    for column in typed.columns:
        if column in exclude or column == event_time:
            continue
        values = typed[column]
        if values.notna().all() and values.is_unique and typed[column].dtype == "string":
            return column, "unique and never empty in the sample"
    if event_time is not None:
        for column in typed.columns:
            if column in exclude or column == event_time or typed[column].dtype != "string":
                continue
            if typed[column].notna().all() and not typed.duplicated([column, event_time]).any():
                return column, f"with {event_time}, unique in the sample"
    return "?", "no unique column or pair found: name the key"


def _leakage_suspects(typed: pd.DataFrame, candidates: list[str], target: str, task: str) -> dict[str, str]:
    """Inputs that alone predict the target almost perfectly, or are empty exactly when it is:
    usually known only after the event."""
    suspects: dict[str, str] = {}
    label = typed[target]
    for column in candidates:
        values = typed[column]
        if values.isna().any() and label.isna().any() and (values.isna() == label.isna()).all():
            suspects[column] = "empty exactly when the target is"
            continue
        known = label.notna() & values.notna()
        if known.sum() < 30 or label[known].nunique() < 2:
            continue
        y = label[known].astype(float).to_numpy()
        x = values[known]
        if x.dtype == "string":
            if x.nunique() > len(x) / 2:
                continue  # an identifier: any rate per value would fit the sample
            x = x.map(pd.Series(y, index=x.index).groupby(x).mean())
        score = x.astype(float).to_numpy()
        if task == "classification":
            auc = roc_auc_score(y, score)
            figure, name = max(auc, 1 - auc), "ROC AUC"
        else:
            figure, name = float(np.corrcoef(score, y)[0, 1] ** 2), "R²"
        if figure > LEAK_SCORE:
            suspects[column] = f"{name} {figure:.3f} alone on the sample"
    return suspects
