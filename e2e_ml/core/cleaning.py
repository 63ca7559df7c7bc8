"""Contract validation, imputation, de-duplication: raw string rows in, typed clean rows out.

Every raw row ends up either clean or quarantined with the rules it broke, so a day always
reconciles: landed rows = clean rows + quarantined rows.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

import pandas as pd
import pandera.pandas as pa

from e2e_ml.core.contract import Contract

SOURCE_FILE = "_source_file"
SOURCE_ROW = "_source_row"
REASON = "_rejected_because"
LINEAGE = (SOURCE_FILE, SOURCE_ROW)
LEDGER_COLUMNS = ("file", "day", "size", "version", "status", "reason", "rows", "clean", "quarantined")


@dataclass
class CleanResult:
    clean: pd.DataFrame
    quarantine: pd.DataFrame
    imputed: dict[str, int] = field(default_factory=dict)

    @property
    def rejected_by_rule(self) -> dict[str, int]:
        return rule_counts(self.quarantine)


def rule_counts(quarantine: pd.DataFrame) -> dict[str, int]:
    """Count of quarantined rows per broken rule (a row may break several)."""
    if quarantine.empty:
        return {}
    rules = quarantine[REASON].str.split("; ").explode().str.split(" ", n=1).str[0]
    return {str(k): int(v) for k, v in rules.value_counts().sort_index().items()}


def clean(
    raw: pd.DataFrame,
    contract: Contract,
    day: date | None = None,
    file_columns: Mapping[str, Sequence[str]] | None = None,
) -> CleanResult:
    """Validate `raw` (all values as strings, with lineage columns) against `contract`.

    `file_columns` gives the header each source file had, so that a file lacking a contract
    column has its rows rejected instead of silently imputed.
    """
    raw = raw.reset_index(drop=True)
    reasons: list[pd.Series] = []

    if file_columns:
        reasons.extend(_missing_column_reasons(raw, contract, file_columns))

    parsed = pd.DataFrame(index=raw.index)
    for column in contract.columns:
        values = raw[column] if column in raw else pd.Series(pd.NA, index=raw.index, dtype=object)
        parsed[column], bad = _parse(values, contract.kind(column), contract.dtype(column))
        if bad.any():
            shown = values[bad].astype(str).str.slice(0, 40)
            reasons.append(f"type:{column} not a valid {contract.dtype(column)} (got '" + shown + "')")

    event_time = contract.roles.event_time
    if day is not None:
        off_day = parsed[event_time].notna() & (parsed[event_time].dt.date != day)
        if off_day.any():
            shown = parsed.loc[off_day, event_time].dt.strftime("%Y-%m-%d")
            reasons.append(f"day:{event_time} " + shown + f" is not the landing day {day}")

    reasons.extend(_schema_reasons(parsed, contract, already_bad=_rows(reasons)))
    rejected = _rows(reasons)

    valid = parsed.loc[~parsed.index.isin(rejected)]
    valid = pd.concat([valid, raw.loc[valid.index, list(LINEAGE)]], axis=1)
    valid, duplicate_reasons = _deduplicate(valid, contract)
    reasons.append(duplicate_reasons)

    quarantine = _quarantine(raw, reasons)
    valid, imputed = _impute(valid, contract)
    valid = valid.sort_values([event_time, contract.roles.id, *LINEAGE], kind="stable")
    return CleanResult(clean=valid.reset_index(drop=True), quarantine=quarantine, imputed=imputed)


def _rows(reasons: Sequence[pd.Series]) -> pd.Index:
    if not reasons:
        return pd.Index([], dtype="int64")
    return pd.Index(pd.concat(reasons).index.unique())


def _missing_column_reasons(
    raw: pd.DataFrame, contract: Contract, file_columns: Mapping[str, Sequence[str]]
) -> list[pd.Series]:
    out = []
    for source, header in file_columns.items():
        missing = [c for c in contract.columns if c not in set(header)]
        if missing:
            rows = raw.index[raw[SOURCE_FILE] == source]
            reason = f"columns:file lacks contract columns {missing}"
            out.append(pd.Series(reason, index=rows, dtype=object))
    return out


def _parse(values: pd.Series, kind: str, dtype: str) -> tuple[pd.Series, pd.Series]:
    """Parse string values into `dtype`; return the parsed column and a mask of unparseable."""
    text = values.astype("string[pyarrow]").str.strip()
    present = text.notna() & (text != "")
    if kind in ("integer", "float"):
        number = pd.to_numeric(text.where(present), errors="coerce")
        bad = present & number.isna()
        if kind == "integer":
            fractional = number.notna() & (number % 1 != 0)
            bad |= fractional
            number = number.where(~fractional)
        return number.astype(pd.api.types.pandas_dtype(dtype)), bad
    if kind == "datetime":
        moment = pd.to_datetime(text.where(present), errors="coerce", format="ISO8601")
        return moment.astype(pd.api.types.pandas_dtype(dtype)), present & moment.isna()
    if kind == "boolean":
        lowered = text.str.lower()
        mapping = {"true": True, "1": True, "false": False, "0": False}
        flag = lowered.map(mapping).astype("boolean")
        return flag, present & flag.isna()
    return text.where(present).astype(object), pd.Series(False, index=values.index)


def _schema_reasons(parsed: pd.DataFrame, contract: Contract, already_bad: pd.Index) -> list[pd.Series]:
    candidates = parsed.loc[~parsed.index.isin(already_bad)]
    try:
        contract.schema.validate(candidates, lazy=True)
    except pa.errors.SchemaErrors as errors:
        cases = errors.failure_cases
        unplaced = cases[cases["index"].isna()]
        if not unplaced.empty:
            first = unplaced.iloc[0]
            raise ValueError(
                f"{contract.source}: schema-level failure that names no row: "
                f"{first['column']} {first['check']} ({first['failure_case']})"
            ) from errors
        text = (
            "check:"
            + cases["column"].astype(str)
            + " "
            + cases["check"].astype(str)
            + " (got '"
            + cases["failure_case"].astype(str).str.slice(0, 40)
            + "')"
        )
        return [pd.Series(text.to_numpy(), index=cases["index"].astype("int64").to_numpy())]
    return []


def _deduplicate(valid: pd.DataFrame, contract: Contract) -> tuple[pd.DataFrame, pd.Series]:
    """Keep the last-landed row per key; earlier copies are quarantined, naming their keeper."""
    ordered = valid.sort_values(list(LINEAGE), kind="stable")
    key = list(contract.key)
    superseded = ordered.duplicated(key, keep="last")
    if not superseded.any():
        return valid, pd.Series(dtype=object)
    keepers = ordered.loc[~superseded, [*key, *LINEAGE]]
    losers = ordered.loc[superseded, key].reset_index().merge(keepers, on=key, how="left")
    text = (
        f"duplicate:key ({', '.join(key)}) superseded by "
        + losers[SOURCE_FILE].astype(str)
        + " row "
        + losers[SOURCE_ROW].astype(str)
    )
    reason = pd.Series(text.to_numpy(), index=losers["index"].to_numpy())
    return valid.loc[~valid.index.isin(reason.index)], reason


def _quarantine(raw: pd.DataFrame, reasons: Sequence[pd.Series]) -> pd.DataFrame:
    non_empty = [r for r in reasons if not r.empty]
    if not non_empty:
        return raw.iloc[0:0].assign(**{REASON: pd.Series(dtype=object)})
    joined = pd.concat(non_empty).groupby(level=0).agg("; ".join)
    out = raw.loc[joined.index].copy()
    out[REASON] = joined
    return out.sort_values(list(LINEAGE), kind="stable").reset_index(drop=True)


def _impute(valid: pd.DataFrame, contract: Contract) -> tuple[pd.DataFrame, dict[str, int]]:
    """Fill missing features from the day's own rows, so a day stays a function of its files."""
    imputed: dict[str, int] = {}
    valid = valid.copy()
    for column in contract.roles.features:
        missing = valid[column].isna()
        if not missing.any():
            continue
        if contract.kind(column) == "string":
            mode = valid[column].mode()
            fill: str | float | int = str(mode.iloc[0]) if not mode.empty else "unknown"
        else:
            median = valid[column].median()
            fill = 0.0 if pd.isna(median) else float(median)
            if contract.kind(column) == "integer":
                fill = round(fill)
        valid[column] = valid[column].fillna(fill)
        imputed[column] = int(missing.sum())
    return valid, imputed


def file_ledger(
    manifest: pd.DataFrame,
    clean_rows: pd.DataFrame,
    quarantine: pd.DataFrame,
    contract_columns: Sequence[str],
    previous: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Per landed file version: its status, rows landed, clean and quarantined.

    The current versions balance (rows = clean + quarantined); versions an earlier run of the
    day saw and this one does not stay listed as `superseded`, so the ledger keeps every version.
    """
    counts = pd.DataFrame(
        {
            "clean": clean_rows.groupby(SOURCE_FILE).size() if len(clean_rows) else pd.Series(dtype="int64"),
            "quarantined": quarantine.groupby(SOURCE_FILE).size()
            if len(quarantine)
            else pd.Series(dtype="int64"),
        }
    )
    landed = [c for c in LEDGER_COLUMNS if c in manifest.columns and c not in counts.columns]
    ledger = manifest[landed].merge(counts, left_on="file", right_index=True, how="left")
    ledger = ledger.fillna({"clean": 0, "quarantined": 0}).astype({"clean": "int64", "quarantined": "int64"})
    extra = manifest["columns"].map(
        lambda header: sorted(set(json.loads(str(header))) - set(contract_columns))
    )
    has_extra = (manifest["status"] == "read") & (extra.str.len() > 0)
    ledger.loc[has_extra, "reason"] = "extra columns kept in raw_stream only: " + extra[has_extra].astype(str)
    if previous is None or previous.empty:
        return ledger[list(LEDGER_COLUMNS)]
    current = set(zip(ledger["file"], ledger["version"], strict=True))
    gone = previous[
        [(f, v) not in current for f, v in zip(previous["file"], previous["version"], strict=True)]
    ].copy()
    newly_gone = gone["status"] != "superseded"
    still_landed = gone["file"].isin(ledger["file"])
    gone.loc[newly_gone & still_landed, "reason"] = "replaced by a newer version"
    gone.loc[newly_gone & ~still_landed, "reason"] = "no longer in the landing zone"
    gone.loc[newly_gone, "status"] = "superseded"
    return pd.concat([ledger[list(LEDGER_COLUMNS)], gone[list(LEDGER_COLUMNS)]], ignore_index=True)
