"""Contract validation and de-duplication: raw text rows in, typed clean rows out.

Every raw row ends up either clean or quarantined with the rules it broke, so a day always
reconciles: landed rows = clean rows + quarantined rows. The work is columnar (polars), with
pandera's polars backend for the contract's checks: a day of millions of rows cleans in seconds.
"""

from __future__ import annotations

import json
import operator
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import reduce

import pandas as pd
import pandera.errors
import polars as pl

from e2e_ml.core.contract import Contract
from e2e_ml.core.timestamps import lenient_instant, local_dates, strict_instant

SOURCE_FILE = "_source_file"
SOURCE_ROW = "_source_row"
REASON = "_rejected_because"
LINEAGE = (SOURCE_FILE, SOURCE_ROW)
LEDGER_COLUMNS = ("file", "day", "size", "version", "status", "reason", "rows", "clean", "quarantined")
BOOLEAN_TEXT = {"true": True, "1": True, "false": False, "0": False}
_ROW = "_raw_position"  # a row's position in the raw frame, while cleaning
_ROW_TYPE = pl.UInt32  # polars' own row index type
_ORDER = "_landing_order"  # file rank and row in one integer: the larger landed later
_KEEPER = "_kept_order"
_RETRY = "_retry:"  # a value the strict parse could not read, to parse leniently


@dataclass
class CleanResult:
    clean: pl.DataFrame
    quarantine: pl.DataFrame

    @property
    def rejected_by_rule(self) -> dict[str, int]:
        return rule_counts(self.quarantine[REASON])

    def null_shares(self, columns: Sequence[str]) -> dict[str, float]:
        """Share of missing values per column: a missing value is kept, never invented here."""
        height = self.clean.height or 1
        return {c: round(self.clean[c].null_count() / height, 4) for c in columns}


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


def clean(
    raw: pl.DataFrame,
    contract: Contract,
    day: date | None = None,
    file_columns: Mapping[str, Sequence[str]] | None = None,
) -> CleanResult:
    """Validate `raw` (all values as text, with lineage columns) against `contract`.

    `file_columns` gives the header each source file had, so that a file lacking a contract
    column has its rows rejected instead of silently imputed. Rows are rejected at one stage
    each: reading (columns, types, day), then the contract's checks, then de-duplication.
    """
    typed, early = _parse_rows(raw, contract, day, file_columns or {})
    rejected = _mask(raw.height, early[_ROW])
    checks = _check_reasons(typed, contract, rejected)
    rejected = rejected | _mask(raw.height, checks[_ROW])
    duplicates = _duplicate_reasons(typed, contract, ~rejected)
    rejected = rejected | _mask(raw.height, duplicates[_ROW])
    return CleanResult(
        clean=typed.filter(~rejected),
        quarantine=_quarantine(raw, pl.concat([early, checks, duplicates])),
    )


def _mask(height: int, positions: pl.Series) -> pl.Series:
    return pl.repeat(False, height, eager=True).scatter(positions, True)


def _reasons(positions: pl.Series, reason: pl.Series | str) -> pl.DataFrame:
    frame = pl.DataFrame({_ROW: positions.cast(_ROW_TYPE)})
    return frame.with_columns(
        pl.lit(reason, pl.String).alias(REASON) if isinstance(reason, str) else reason.alias(REASON)
    )


def _no_reasons() -> pl.DataFrame:
    return pl.DataFrame(schema={_ROW: _ROW_TYPE, REASON: pl.String})


def _parse_rows(
    raw: pl.DataFrame, contract: Contract, day: date | None, file_columns: Mapping[str, Sequence[str]]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Typed contract columns (and lineage), and the reasons of rows that failed to read.

    Every column is first parsed strictly and in parallel; only the values that did not parse
    (padded, "3.0" for an integer, another ISO form, or broken) take the slower lenient path.
    """
    landed = [c for c in contract.columns if c in raw.columns]
    strict, retry = [], []
    for column in contract.columns:
        if column not in landed:
            strict.append(pl.lit(None, contract.polars_dtype(column)).alias(column))
            continue
        text = pl.col(column)
        value = _strict_parse(text, column, contract)
        needs_retry = value.is_null() & text.is_not_null()
        if contract.kind(column) == "string":
            needs_retry = text.str.contains(r"^\s|\s$|^$")
        strict.append(value.alias(column))
        retry.append(needs_retry.alias(_RETRY + column))
    parsed = raw.lazy().select(*strict, *LINEAGE, *retry).collect()
    typed = parsed.select(*contract.columns, *LINEAGE)
    reasons = [_missing_column_reasons(raw, contract, file_columns)]
    for column in landed:
        if not parsed[_RETRY + column].any():
            continue
        positions = parsed[_RETRY + column].arg_true()
        landed_text = raw[column].gather(positions)
        retried, bad = _lenient_parse(landed_text, column, contract)
        typed = typed.with_columns(typed[column].scatter(positions, retried))
        got = landed_text.filter(bad).str.slice(0, 40)
        type_reason = f"type:{column} not a valid {contract.dtype(column)} (got '" + got + "')"
        reasons.append(_reasons(positions.filter(bad), type_reason))
    if day is not None and contract.time.landing_day == "checked":
        row_day = typed.select(local_dates(pl.col(contract.roles.event_time), contract.time.zone))[:, 0]
        off_day = row_day.is_not_null() & (row_day != day)
        if off_day.any():
            shown_day = row_day.filter(off_day).dt.strftime("%Y-%m-%d")
            zone = "" if contract.time.zone == "UTC" else f" in {contract.time.zone}"
            day_reason = (
                f"day:{contract.roles.event_time} " + shown_day + f"{zone} is not the landing day {day}"
            )
            reasons.append(_reasons(off_day.arg_true(), day_reason))
    joined = pl.concat(reasons).group_by(_ROW, maintain_order=True).agg(pl.col(REASON).str.join("; "))
    return typed, joined


def _missing_column_reasons(
    raw: pl.DataFrame, contract: Contract, file_columns: Mapping[str, Sequence[str]]
) -> pl.DataFrame:
    reasons = [_no_reasons()]
    for source, header in file_columns.items():
        missing = [c for c in contract.columns if c not in set(header)]
        if missing:
            rows = (raw[SOURCE_FILE] == source).arg_true()
            reasons.append(_reasons(rows, f"columns:file lacks contract columns {missing}"))
    return pl.concat(reasons)


def _strict_parse(text: pl.Expr, column: str, contract: Contract) -> pl.Expr:
    """The common, exact form of each kind; anything else is null here and retried leniently."""
    kind = contract.kind(column)
    if kind == "datetime":
        return strict_instant(text, contract.time.zone, contract.time.epoch.get(column))
    if kind == "boolean":
        return text.replace_strict(BOOLEAN_TEXT, default=None, return_dtype=pl.Boolean)
    return text.cast(contract.polars_dtype(column), strict=False)


def _lenient_parse(text: pl.Series, column: str, contract: Contract) -> tuple[pl.Series, pl.Series]:
    """Parse text into the column's type; return the values and a mask of present but unparseable."""
    kind, dtype = contract.kind(column), contract.polars_dtype(column)
    stripped = text.str.strip_chars()
    given = pl.when(pl.col("text") != "").then(pl.col("text"))
    if kind == "integer":
        number = given.cast(pl.Float64, strict=False)
        whole_number = pl.when(number.is_finite() & (number % 1 == 0)).then(number)
        value = pl.coalesce(given.cast(pl.Int64, strict=False), whole_number.cast(pl.Int64, strict=False))
    elif kind == "float":
        value = given.cast(pl.Float64, strict=False)
    elif kind == "datetime":
        value = lenient_instant(given, contract.time.zone, contract.time.epoch.get(column))
    elif kind == "boolean":
        value = given.str.to_lowercase().replace_strict(BOOLEAN_TEXT, default=None, return_dtype=pl.Boolean)
    else:
        value = given
    parsed = pl.DataFrame({"text": stripped}).select(
        value.cast(dtype).alias("value"), ((pl.col("text") != "") & value.is_null()).alias("bad")
    )
    return parsed["value"].alias(text.name), parsed["bad"]


def _check_reasons(typed: pl.DataFrame, contract: Contract, rejected: pl.Series) -> pl.DataFrame:
    """The contract's checks on rows that parsed: one reason per row, naming every check broken."""
    try:
        contract.validator.validate(typed, lazy=True)
    except pandera.errors.SchemaErrors as errors:
        cases = pl.DataFrame(errors.failure_cases)
        unplaced = cases.filter(pl.col("index").is_null())
        if unplaced.height:
            first = unplaced.row(0, named=True)
            raise ValueError(
                f"{contract.source}: schema-level failure that names no row: "
                f"{first['column']} {first['check']} ({first['failure_case']})"
            ) from errors
        shown = pl.col("failure_case").cast(pl.String).fill_null("").str.slice(0, 40)
        text = _text("check:", pl.col("column"), " ", pl.col("check"), " (got '", shown, "')")
        return (
            cases.select(pl.col("index").cast(_ROW_TYPE).alias(_ROW), text.alias(REASON))
            .filter(~pl.col(_ROW).is_in(rejected.arg_true().cast(_ROW_TYPE).implode()))
            .group_by(_ROW, maintain_order=True)
            .agg(pl.col(REASON).str.join("; "))
        )
    return _no_reasons()


def _text(*parts: str | pl.Expr) -> pl.Expr:
    return pl.concat_str([pl.lit(part) if isinstance(part, str) else part for part in parts])


def _duplicate_reasons(typed: pl.DataFrame, contract: Contract, valid: pl.Series) -> pl.DataFrame:
    """Keep the last-landed valid row per key; earlier copies are rejected, naming their keeper.

    A hash of the key finds the few rows that may share a key; only those are compared exactly.
    """
    key = list(contract.key)
    hashed = typed.select(reduce(operator.xor, (pl.col(c).hash(seed=n) for n, c in enumerate(key))))[:, 0]
    sorted_hashes = hashed.filter(valid).sort()
    repeated = sorted_hashes.filter(sorted_hashes == sorted_hashes.shift(1)).unique()
    maybe = (hashed.is_in(repeated.implode()) & valid).arg_true()
    if maybe.is_empty():
        return _no_reasons()
    shared = typed[maybe].with_columns(maybe.cast(_ROW_TYPE).alias(_ROW))
    files = sorted(shared[SOURCE_FILE].unique().to_list())
    rank = pl.col(SOURCE_FILE).cast(pl.Enum(files)).to_physical().cast(pl.Int64)
    ordered = shared.with_columns((rank * 2**32 + pl.col(SOURCE_ROW)).alias(_ORDER)).with_columns(
        pl.col(_ORDER).max().over(key).alias(_KEEPER)
    )
    kept_file = (pl.col(_KEEPER) // 2**32).replace_strict(dict(enumerate(files)), return_dtype=pl.String)
    kept_row = (pl.col(_KEEPER) % 2**32).cast(pl.String)
    superseded_by = _text(f"duplicate:key ({', '.join(key)}) superseded by ", kept_file, " row ", kept_row)
    return ordered.filter(pl.col(_ORDER) != pl.col(_KEEPER)).select(_ROW, superseded_by.alias(REASON))


def _quarantine(raw: pl.DataFrame, reasons: pl.DataFrame) -> pl.DataFrame:
    """Rejected rows as landed (text), with their reasons."""
    reasons = reasons.sort(_ROW)
    return raw[reasons[_ROW]].with_columns(reasons[REASON]).sort(list(LINEAGE), maintain_order=True)


def file_ledger(
    manifest: pd.DataFrame,
    clean_rows: pl.DataFrame,
    quarantine: pl.DataFrame,
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


def _rows_per_file(rows: pl.DataFrame) -> pd.Series:
    per_file = rows.group_by(SOURCE_FILE).len()
    return pd.Series(per_file["len"].to_list(), index=per_file[SOURCE_FILE].to_list(), dtype="int64")
