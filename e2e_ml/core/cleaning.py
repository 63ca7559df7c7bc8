"""Contract validation and de-duplication: raw text rows in, typed clean rows out.

Every raw row ends up either clean or quarantined with the rules it broke, so a day always
reconciles: landed rows = clean rows + quarantined rows. The rules are polars expressions,
built from the contract's pandera checks, so that a day of any size is cleaned as a stream:
`clean_plan` returns lazy frames that polars' streaming engine runs batch by batch into a
Parquet sink, in memory that does not grow with the day. Only the key hashes (8 bytes a row)
are held for the whole day, to resolve duplicates across it.
"""

from __future__ import annotations

import json
import operator
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import partial, reduce
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pandera.api.checks
import polars as pl

from e2e_ml.core.contract import Contract
from e2e_ml.core.scratch import scratch_folder
from e2e_ml.core.tables import LAKE_COMPRESSION
from e2e_ml.core.timestamps import lenient_instant, local_dates, strict_instant

SOURCE_FILE = "_source_file"
SOURCE_ROW = "_source_row"
REASON = "_rejected_because"
LINEAGE = (SOURCE_FILE, SOURCE_ROW)
LEDGER_COLUMNS = ("file", "day", "size", "version", "status", "reason", "rows", "clean", "quarantined")
BOOLEAN_TEXT = {"true": True, "1": True, "false": False, "0": False}
_TYPED = "_typed:"  # a contract column's typed value, beside its landed text, while cleaning
_UNREAD = "_unread:"  # whether a present value could not be read as its column's type
_STRICT = "_strict:"  # its strict parse
_RETRIED = "_retried:"  # its stripped text where the strict parse missed, for the lenient one
_REJECTED = "_rejected"
_ORDER = "_landing_order"  # file rank and row in one integer: the larger landed later
_KEEPER = "_kept_order"
SHOWN_CHARACTERS = 40  # of a rejected value, in its reason


class UnsupportedCheckError(ValueError):
    """A contract check that cannot run as a row rule (a custom or whole-table check)."""


@dataclass
class CleanResult:
    clean: pl.DataFrame
    quarantine: pl.DataFrame

    @property
    def rejected_by_rule(self) -> dict[str, int]:
        return rule_counts(self.quarantine[REASON])

    def null_shares(self, columns: Sequence[str]) -> dict[str, float]:
        """Share of missing values per column: a missing value is kept, never invented here."""
        return null_shares(self.clean.lazy(), columns)


@dataclass(frozen=True)
class CleanPlan:
    """The contract's verdict on one day's raw rows, as lazy plans the streaming engine runs."""

    raw: pl.LazyFrame
    rules: RowRules
    superseded: pl.DataFrame  # rows whose key a later valid row has, with that reason

    @property
    def rejected(self) -> pl.Expr:
        """Whether a staged row breaks a rule or is superseded by a later copy of its key."""
        return self.rules.broken() | _any_row_of(self.superseded)

    @property
    def verdicts(self) -> pl.LazyFrame:
        """Every row typed, with its lineage and whether it is rejected, in landing order."""
        return self.rules.staged(self.raw).select(
            *self.rules.typed_columns(), *LINEAGE, self.rejected.alias(_REJECTED)
        )

    @property
    def clean(self) -> pl.LazyFrame:
        return self.verdicts.filter(~pl.col(_REJECTED)).drop(_REJECTED)

    @property
    def quarantine(self) -> pl.LazyFrame:
        return self.quarantine_among(self.raw)

    def quarantine_among(self, rows: pl.LazyFrame) -> pl.LazyFrame:
        """The rejected rows among `rows` (raw rows of the day), as landed, with their reasons."""
        landed = self.raw.collect_schema().names()
        duplicate = "_duplicate_reason"
        return (
            self.rules.staged(rows)
            .filter(self.rejected)
            .join(
                self.superseded.lazy().rename({REASON: duplicate}),
                on=list(LINEAGE),
                how="left",
                maintain_order="left",
            )
            .select(*landed, pl.coalesce(self.rules.reason(), pl.col(duplicate)).alias(REASON))
        )


def write_clean(plan: CleanPlan, clean_file: Path, quarantine_file: Path) -> None:
    """Write the day's clean rows and its quarantine, reading and checking each row once.

    One streaming pass splits the typed rows by verdict: the clean ones into `clean_file`, the
    rejected ones (few) into scratch. Only the rejected rows' landed text is then read again,
    to be kept as landed with its reasons.
    """
    with scratch_folder() as folder:
        split = pl.PartitionBy(folder, key=_REJECTED, include_key=False, approximate_bytes_per_file=None)
        plan.verdicts.sink_parquet(split, compression=LAKE_COMPRESSION)
        kept = sorted(folder.glob(f"{_REJECTED}=false/*.parquet"))
        if len(kept) == 1:
            shutil.move(kept[0], clean_file)
        else:  # none (no clean row), or a split polars chose to make
            parts = pl.concat([plan.clean.clear(), *(pl.scan_parquet(part) for part in kept)])
            parts.sink_parquet(clean_file, compression=LAKE_COMPRESSION)
        rejected = sorted(folder.glob(f"{_REJECTED}=true/*.parquet"))
        if not rejected:
            plan.quarantine.clear().sink_parquet(quarantine_file, compression=LAKE_COMPRESSION)
            return
        lineage = pl.scan_parquet(rejected).select(LINEAGE).collect()
        plan.quarantine_among(plan.raw.filter(_any_row_of(lineage))).sink_parquet(
            quarantine_file, compression=LAKE_COMPRESSION
        )


def rule_counts(reasons: pl.Series | pd.Series) -> dict[str, int]:
    """Count of quarantined rows per broken rule (a row may break several)."""
    rules = (
        pl.Series(REASON, reasons, dtype=pl.String)
        .drop_nulls()
        .str.split("; ")
        .explode()
        .str.extract(r"^(\S+)")
    )
    return {str(rule): int(count) for rule, count in sorted(rules.value_counts().iter_rows())}


def null_shares(rows: pl.LazyFrame, columns: Sequence[str]) -> dict[str, float]:
    counts = rows.select(pl.len().alias("_rows"), *(pl.col(c).null_count() for c in columns)).collect()
    height = counts["_rows"][0] or 1
    return {c: round(counts[c][0] / height, 4) for c in columns}


def clean(
    raw: pl.DataFrame,
    contract: Contract,
    day: date | None = None,
    file_columns: Mapping[str, Sequence[str]] | None = None,
) -> CleanResult:
    """`clean_plan` on rows in memory, both frames collected."""
    plan = clean_plan(raw.lazy(), contract, day, file_columns)
    return CleanResult(clean=plan.clean.collect(), quarantine=plan.quarantine.collect())


def clean_plan(
    raw: pl.LazyFrame,
    contract: Contract,
    day: date | None = None,
    file_columns: Mapping[str, Sequence[str]] | None = None,
) -> CleanPlan:
    """Validate `raw` (all values as text, with lineage columns) against `contract`.

    `file_columns` gives the header each source file had, so that a file lacking a contract
    column has its rows rejected instead of silently imputed. A row's reason names the rules of
    its first failing stage: reading (columns, types, day), then the contract's checks, then
    de-duplication. Rows keep the order they were read in.
    """
    rules = RowRules(contract, raw.collect_schema().names(), day, file_columns or {})
    return CleanPlan(raw=raw, rules=rules, superseded=_superseded_rows(rules.staged(raw), rules, contract))


class RowRules:
    """The contract's rules for one day's rows, as polars expressions over the landed text
    columns and their typed values (staged beside them under `_typed:` by `staged`)."""

    def __init__(
        self,
        contract: Contract,
        landed: Sequence[str],
        day: date | None,
        file_columns: Mapping[str, Sequence[str]],
    ):
        self.contract = contract
        self.landed = [c for c in contract.columns if c in landed]
        self.day = day
        self.file_columns = file_columns
        self.checks = [
            (column, check) for column in contract.columns for check in _row_checks(contract, column)
        ]

    def staged(self, raw: pl.LazyFrame) -> pl.LazyFrame:
        """`raw` with each contract column's typed value (`_typed:`) beside its landed text, and
        for a parsed kind whether a present value could not be read (`_unread:`).

        Text is stripped of padding and a blank value is missing. Every value is first parsed
        strictly; only the values that did not parse (padded, "3.0" for an integer, another ISO
        form, or broken) are retried leniently. Each step is a staged column of its own, so
        polars computes it once and the retries touch few values, not a copy of the text.
        """
        parsed = [c for c in self.landed if self.contract.kind(c) != "string"]
        texts = [c for c in self.landed if c not in parsed]
        absent = [c for c in self.contract.columns if c not in self.landed]
        return (
            raw.with_columns(
                *(_stripped(pl.col(c)).alias(_TYPED + c) for c in texts),
                *(pl.lit(None, self.contract.polars_dtype(c)).alias(_TYPED + c) for c in absent),
                *(_strict_parse(pl.col(c), c, self.contract).alias(_STRICT + c) for c in parsed),
            )
            .with_columns(
                _stripped(pl.when(pl.col(_STRICT + c).is_null()).then(pl.col(c))).alias(_RETRIED + c)
                for c in parsed
            )
            .with_columns(
                pl.coalesce(_STRICT + c, self._lenient(pl.col(_RETRIED + c), c)).alias(_TYPED + c)
                for c in parsed
            )
            .with_columns(
                (pl.col(_TYPED + c).is_null() & pl.col(_RETRIED + c).is_not_null()).alias(_UNREAD + c)
                for c in parsed
            )
        )

    def _lenient(self, retried: pl.Expr, column: str) -> pl.Expr:
        """The lenient parse of the values the strict one missed. A timestamp's many forms
        cost as much on a column of nulls as on values, so they run only on the batches that
        hold such a value (a Python call per batch, which the cheap kinds are better without)."""
        dtype = self.contract.polars_dtype(column)
        if self.contract.kind(column) != "datetime":
            return _lenient_parse(retried, column, self.contract).cast(dtype)
        return retried.map_batches(
            partial(_lenient_batch, column=column, contract=self.contract),
            return_dtype=dtype,
            is_elementwise=True,
        )

    def typed_columns(self) -> list[pl.Expr]:
        """The staged typed values under the contract's column names."""
        return [pl.col(_TYPED + column).alias(column) for column in self.contract.columns]

    def broken(self) -> pl.Expr:
        """Whether a row breaks any rule (de-duplication aside)."""
        return pl.any_horizontal([broken for broken, _ in [*self._reading(), *self._checking()]] or [False])

    def reason(self) -> pl.Expr:
        """Every rule of the row's first failing stage, or null."""
        return pl.coalesce(_joined(self._reading()), _joined(self._checking()))

    def _reading(self) -> list[tuple[pl.Expr, pl.Expr]]:
        rules = []
        lacking: dict[str, list[str]] = {}
        for source, header in self.file_columns.items():
            absent = [c for c in self.contract.columns if c not in set(header)]
            if absent:
                lacking.setdefault(str(absent), []).append(source)
        for absent_text, sources in lacking.items():
            reason = pl.lit(f"columns:file lacks contract columns {absent_text}")
            rules.append((pl.col(SOURCE_FILE).is_in(sources), reason))
        for column in self.landed:
            if self.contract.kind(column) == "string":
                continue
            shown = pl.col(column).str.slice(0, SHOWN_CHARACTERS)
            reason = _text(f"type:{column} not a valid {self.contract.dtype(column)} (got '", shown, "')")
            rules.append((pl.col(_UNREAD + column), reason))
        if self.day is not None and self.contract.time.landing_day == "checked":
            time, zone = self.contract.roles.event_time, self.contract.time.zone
            row_day = local_dates(pl.col(_TYPED + time), zone)
            shown_zone = "" if zone == "UTC" else f" in {zone}"
            reason = _text(
                f"day:{time} ",
                row_day.dt.strftime("%Y-%m-%d"),
                f"{shown_zone} is not the landing day {self.day}",
            )
            rules.append(((row_day != self.day).fill_null(False), reason))
        return rules

    def _checking(self) -> list[tuple[pl.Expr, pl.Expr]]:
        rules = []
        for column, nullable in self.contract.validator.columns.items():
            if not nullable.nullable:
                reason = pl.lit(f"check:{column} not_nullable (got '')")
                rules.append((pl.col(_TYPED + column).is_null(), reason))
        for column, check in self.checks:
            value = pl.col(_TYPED + column)
            passed = _check_expression(check, value)
            broken = ~passed.fill_null(True) if check.ignore_na else ~passed.fill_null(False)
            shown = value.cast(pl.String).str.slice(0, SHOWN_CHARACTERS).fill_null("")
            rules.append((broken, _text(f"check:{column} {check.error or check.name} (got '", shown, "')")))
        return rules


def _row_checks(contract: Contract, column: str) -> list[pandera.api.checks.Check]:
    schema = contract.validator
    if schema.checks or schema.unique or schema.columns[column].unique:
        raise UnsupportedCheckError(
            f"{contract.source}: whole-table checks and unique columns cannot be checked row by "
            "row; the key's uniqueness is kept by de-duplication"
        )
    checks = list(schema.columns[column].checks)
    for check in checks:
        if check.name not in CHECK_EXPRESSIONS:
            raise UnsupportedCheckError(
                f"{contract.source}: check {check.name} on {column} is not one of pandera's built-in "
                f"row checks ({', '.join(CHECK_EXPRESSIONS)})"
            )
    return checks


def _check_expression(check: pandera.api.checks.Check, value: pl.Expr) -> pl.Expr:
    return CHECK_EXPRESSIONS[str(check.name)](value, **(check.statistics or {}))


def _in_range(
    value: pl.Expr, min_value: Any, max_value: Any, include_min: bool = True, include_max: bool = True
) -> pl.Expr:
    above = value.ge(min_value) if include_min else value.gt(min_value)
    return above & (value.le(max_value) if include_max else value.lt(max_value))


def _str_length(
    value: pl.Expr, min_value: int | None = None, max_value: int | None = None, exact_value: int | None = None
) -> pl.Expr:
    length = value.str.len_chars()
    if exact_value is not None:
        return length == exact_value
    return (length >= (min_value or 0)) & (length <= max_value if max_value is not None else True)


# pandera's built-in checks, with the semantics of its polars backend (the equivalence is tested).
CHECK_EXPRESSIONS: dict[str, Any] = {
    "equal_to": lambda v, value: v == value,
    "not_equal_to": lambda v, value: v != value,
    "greater_than": lambda v, min_value: v > min_value,
    "greater_than_or_equal_to": lambda v, min_value: v >= min_value,
    "less_than": lambda v, max_value: v < max_value,
    "less_than_or_equal_to": lambda v, max_value: v <= max_value,
    "in_range": _in_range,
    "isin": lambda v, allowed_values: v.is_in(list(allowed_values)),
    "notin": lambda v, forbidden_values: ~v.is_in(list(forbidden_values)),
    "str_matches": lambda v, pattern: v.str.contains(pattern if pattern.startswith("^") else f"^{pattern}"),
    "str_contains": lambda v, pattern: v.str.contains(pattern),
    "str_startswith": lambda v, string: v.str.starts_with(string),
    "str_endswith": lambda v, string: v.str.ends_with(string),
    "str_length": _str_length,
}


def _joined(rules: list[tuple[pl.Expr, pl.Expr]]) -> pl.Expr:
    if not rules:
        return pl.lit(None, pl.String)
    joined = pl.concat_str(
        [pl.when(broken).then(reason) for broken, reason in rules], separator="; ", ignore_nulls=True
    )
    return pl.when(joined != "").then(joined)


def _text(*parts: str | pl.Expr) -> pl.Expr:
    return pl.concat_str([pl.lit(part) if isinstance(part, str) else part for part in parts])


def _stripped(text: pl.Expr) -> pl.Expr:
    """Text without its padding; a blank value is missing."""
    stripped = text.str.strip_chars()
    return pl.when(stripped != "").then(stripped)


def _strict_parse(text: pl.Expr, column: str, contract: Contract) -> pl.Expr:
    """The common, exact form of each kind; anything else is null here and retried leniently."""
    kind = contract.kind(column)
    if kind == "datetime":
        return strict_instant(text, contract.time.zone, contract.time.epoch.get(column))
    if kind == "boolean":
        return text.replace_strict(BOOLEAN_TEXT, default=None, return_dtype=pl.Boolean)
    return text.cast(contract.polars_dtype(column), strict=False)


def _lenient_batch(given: pl.Series, column: str, contract: Contract) -> pl.Series:
    """The lenient parse of one batch, skipped when the strict parse read all of it."""
    dtype = contract.polars_dtype(column)
    if given.null_count() == given.len():
        return pl.repeat(None, given.len(), dtype=dtype, eager=True).alias(given.name)
    return given.to_frame("text").select(_lenient_parse(pl.col("text"), column, contract).cast(dtype))[:, 0]


def _lenient_parse(given: pl.Expr, column: str, contract: Contract) -> pl.Expr:
    """The other accepted forms of a stripped, non-empty text; null where it is none of them."""
    kind = contract.kind(column)
    if kind == "integer":
        number = given.cast(pl.Float64, strict=False)
        whole_number = pl.when(number.is_finite() & (number % 1 == 0)).then(number)
        return pl.coalesce(given.cast(pl.Int64, strict=False), whole_number.cast(pl.Int64, strict=False))
    if kind == "float":
        return given.cast(pl.Float64, strict=False)
    if kind == "datetime":
        return lenient_instant(given, contract.time.zone, contract.time.epoch.get(column))
    if kind == "boolean":
        return given.str.to_lowercase().replace_strict(BOOLEAN_TEXT, default=None, return_dtype=pl.Boolean)
    return given


def _key_hash(contract: Contract) -> pl.Expr:
    return reduce(operator.xor, (pl.col(_TYPED + c).hash(seed=n) for n, c in enumerate(contract.key)))


def _superseded_rows(staged: pl.LazyFrame, rules: RowRules, contract: Contract) -> pl.DataFrame:
    """Rows whose key a later valid row of the day has, with the reason naming that keeper.

    One streaming pass hashes every row's typed key (8 bytes a row, the only whole-day state);
    only rows whose hash repeats are read again, checked, and compared exactly.
    """
    repeated = _repeated(staged.select(_key_hash(contract)), staged.select(pl.len()).collect().item())
    if repeated.is_empty():
        return pl.DataFrame(schema={SOURCE_FILE: pl.String, SOURCE_ROW: pl.Int64, REASON: pl.String})
    maybe = staged.filter(_key_hash(contract).is_in(repeated.implode())).collect(engine="streaming")
    valid = maybe.lazy().filter(~rules.broken()).collect()
    key = [_TYPED + c for c in contract.key]
    files = sorted(valid[SOURCE_FILE].unique().to_list())
    rank = pl.col(SOURCE_FILE).cast(pl.Enum(files)).to_physical().cast(pl.Int64)
    ordered = valid.with_columns((rank * 2**32 + pl.col(SOURCE_ROW)).alias(_ORDER)).with_columns(
        pl.col(_ORDER).max().over(key).alias(_KEEPER)
    )
    kept_file = (pl.col(_KEEPER) // 2**32).replace_strict(dict(enumerate(files)), return_dtype=pl.String)
    kept_row = (pl.col(_KEEPER) % 2**32).cast(pl.String)
    superseded_by = _text(
        f"duplicate:key ({', '.join(contract.key)}) superseded by ", kept_file, " row ", kept_row
    )
    return ordered.filter(pl.col(_ORDER) != pl.col(_KEEPER)).select(*LINEAGE, superseded_by.alias(REASON))


def _repeated(hashes: pl.LazyFrame, rows: int) -> pl.Series:
    """The values that occur more than once in a column of `rows` hashes, streamed into one
    array sorted in place: 8 bytes a row, the day's only whole-day state."""
    values = np.empty(rows, dtype=np.uint64)
    filled = 0
    for batch in hashes.collect_batches():
        values[filled : filled + batch.height] = batch.to_series().to_numpy()
        filled += batch.height
    values.sort()
    return pl.Series(np.unique(values[1:][values[1:] == values[:-1]]), dtype=pl.UInt64)


def _any_row_of(rows: pl.DataFrame) -> pl.Expr:
    """Whether a row is one of `rows` (few), by its lineage."""
    per_file = rows.group_by(SOURCE_FILE).agg(pl.col(SOURCE_ROW))
    matches = [
        (pl.col(SOURCE_FILE) == source) & pl.col(SOURCE_ROW).is_in(positions)
        for source, positions in per_file.iter_rows()
    ]
    return pl.any_horizontal(matches) if matches else pl.lit(False)


def file_ledger(
    manifest: pd.DataFrame,
    clean_rows: pl.DataFrame | pl.LazyFrame,
    quarantine: pl.DataFrame | pl.LazyFrame,
    contract_columns: Sequence[str],
    previous: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Per landed file version: its status, rows landed, clean and quarantined.

    The current versions balance (rows = clean + quarantined); versions an earlier run of the
    day saw and this one does not stay listed as `superseded`, so the ledger keeps every version.
    """
    counts = pd.DataFrame({"clean": _rows_per_file(clean_rows), "quarantined": _rows_per_file(quarantine)})
    landed = [c for c in LEDGER_COLUMNS if c in manifest.columns and c not in counts.columns]
    ledger = manifest[landed].merge(counts, left_on="file", right_index=True, how="left")
    ledger = ledger.fillna({"clean": 0, "quarantined": 0}).astype({"clean": "int64", "quarantined": "int64"})
    read = manifest["status"] == "read"
    ledger.loc[read, "reason"] = manifest.loc[read, "columns"].map(
        lambda header: _header_note(json.loads(str(header)), contract_columns)
    )
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


def _header_note(header: Sequence[str], contract_columns: Sequence[str]) -> str | None:
    """What a read file's header says against the contract: a renamed column shows as both."""
    lacking = [c for c in contract_columns if c not in set(header)]
    extra = sorted(set(header) - set(contract_columns))
    notes = [f"lacks contract columns {lacking} (its rows are quarantined)"] if lacking else []
    notes += [f"extra columns kept in raw_stream only: {extra}"] if extra else []
    return "; ".join(notes) or None


def _rows_per_file(rows: pl.DataFrame | pl.LazyFrame) -> pd.Series:
    per_file = rows.lazy().group_by(SOURCE_FILE).len().collect()
    return pd.Series(per_file["len"].to_list(), index=per_file[SOURCE_FILE].to_list(), dtype="int64")
