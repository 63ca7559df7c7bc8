"""A dry run of a contract against files: what the pipeline would keep, quarantine or refuse.

Each file is read by the ingest step's own readers and cleaned by the cleaning step's own rules,
alone (duplicates are judged within the file), without Dagster, MLflow or the lake. Where the
landing layout places the file on a day and the contract checks the landing day, that is
checked too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import polars as pl

from e2e_ml.core.cleaning import REASON, SOURCE_ROW, clean
from e2e_ml.core.contract import Contract
from e2e_ml.core.ingest import UnreadableFileError, read_file

TOP_REASONS = 3


@dataclass(frozen=True)
class Reason:
    rule: str  # e.g. check:sessions
    rows: int
    example: str  # the first such row's line and full reason


@dataclass(frozen=True)
class FileVerdict:
    name: str
    rows: int = 0
    clean: int = 0
    quarantined: int = 0
    refused: str | None = None  # why the file could not be read at all
    reasons: list[Reason] = field(default_factory=list)

    @property
    def quarantined_share(self) -> float:
        return self.quarantined / self.rows if self.rows else 0.0

    def passes(self, max_quarantined_share: float) -> bool:
        return self.refused is None and self.quarantined_share <= max_quarantined_share


def check_file(name: str, path: Path, contract: Contract, day: date | None = None) -> FileVerdict:
    """The verdict on one file: rows read, clean and quarantined, and the top reasons."""
    try:
        dump = read_file(name, path)
    except UnreadableFileError as error:
        return FileVerdict(name, refused=str(error))
    checked_day = day if contract.time.landing_day == "checked" else None
    result = clean(dump.rows, contract, day=checked_day, file_columns={name: dump.columns})
    quarantine = result.quarantine
    return FileVerdict(
        name,
        rows=dump.rows.height,
        clean=result.clean.height,
        quarantined=quarantine.height,
        reasons=_top_reasons(quarantine),
    )


def _top_reasons(quarantine: pl.DataFrame) -> list[Reason]:
    if quarantine.is_empty():
        return []
    rules = quarantine.select(
        pl.col(SOURCE_ROW), pl.col(REASON), pl.col(REASON).str.split("; ").alias("_rule")
    ).explode("_rule")
    rules = rules.with_columns(pl.col("_rule").str.extract(r"^(\S+)").alias("_rule"))
    counted = rules.group_by("_rule").agg(
        pl.len().alias("rows"), pl.col(SOURCE_ROW).first().alias("line"), pl.col(REASON).first().alias("why")
    )
    top = counted.sort(["rows", "_rule"], descending=[True, False]).head(TOP_REASONS)
    return [
        Reason(str(r["_rule"]), int(r["rows"]), f"row {r['line']}: {r['why']}")
        for r in top.iter_rows(named=True)
    ]
