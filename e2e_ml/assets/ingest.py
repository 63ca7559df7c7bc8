"""raw_stream: every file landed for day D, read as text, with a manifest of what landed."""

import json
from datetime import date
from pathlib import Path

import dagster as dg
import pandas as pd
import polars as pl

from e2e_ml.assets.partitions import daily_partitions
from e2e_ml.core.ingest import LINEAGE_SCHEMA, UnreadableFileError, read_batches
from e2e_ml.core.landing import LandedFile, unsafe_name
from e2e_ml.core.tables import LAKE_COMPRESSION
from e2e_ml.resources.storage import LandingZone, SpooledTable, spooling

MANIFEST_COLUMNS = ["file", "day", "size", "version", "status", "reason", "rows", "columns"]


@dg.multi_asset(
    outs={
        "raw_stream": dg.AssetOut(
            io_manager_key="lake_io_manager",
            description="Every row landed for the day, values as text, with source file and row.",
        ),
        "raw_manifest": dg.AssetOut(
            io_manager_key="lake_io_manager",
            description="One row per landed file: size, version, rows read, or why it was refused "
            "or skipped (an uploader's temporary or hidden file).",
        ),
    },
    partitions_def=daily_partitions,
    group_name="ingest",
    deps=["landed_files"],
)
def ingest(context: dg.AssetExecutionContext, landing_zone: LandingZone):
    """Each file is read batch by batch into Parquet parts on local scratch, and the day's parts
    are then streamed into one table: memory holds a batch, never the day."""
    day = date.fromisoformat(context.partition_key)
    files = landing_zone.list_day(day)
    manifest, parts = [], []
    with spooling("raw_stream") as spool:
        for number, file in enumerate(files):
            entry = _manifest_entry(file, day)
            if file.placement == "skipped":
                manifest.append(
                    {**entry, "status": "skipped", "reason": file.note, "rows": 0, "columns": "[]"}
                )
                continue
            try:
                rows, columns, file_parts = _read_to_parts(landing_zone, file, spool.parent / f"file{number}")
            except UnreadableFileError as error:
                context.log.warning(f"refused {error}")
                manifest.append(
                    {**entry, "status": "refused", "reason": str(error), "rows": 0, "columns": "[]"}
                )
                continue
            parts += file_parts
            manifest.append(
                {**entry, "status": "read", "reason": None, "rows": rows, "columns": json.dumps(columns)}
            )
            context.log.info(f"{day}: read {file.name} ({rows:,} rows)")
        scans = [pl.scan_parquet(part) for part in parts]
        raw = pl.concat(scans, how="diagonal") if scans else pl.LazyFrame(schema=LINEAGE_SCHEMA)
        raw.sink_parquet(spool, compression=LAKE_COMPRESSION)
        for part in parts:
            part.unlink()
        manifest_frame = pd.DataFrame(manifest, columns=MANIFEST_COLUMNS)
        read = manifest_frame["status"] == "read"
        refused = int((manifest_frame["status"] == "refused").sum())
        landed = int(manifest_frame.loc[read, "rows"].sum())
        context.log.info(f"{day}: read {landed:,} rows from {int(read.sum())} files, refused {refused}")
        yield dg.Output(
            SpooledTable(spool),
            output_name="raw_stream",
            metadata={"files_read": int(read.sum()), "files_refused": refused},
        )
    yield dg.Output(
        manifest_frame,
        output_name="raw_manifest",
        metadata={
            "files": len(manifest_frame),
            "manifest": dg.MetadataValue.md(manifest_frame.drop(columns="columns").to_markdown(index=False)),
        },
    )


def _manifest_entry(file: LandedFile, day: date) -> dict:
    unsafe = unsafe_name(file.name)
    return {
        "file": file.name if unsafe is None else repr(file.name[:200]),
        "day": day.isoformat(),
        "size": file.size,
        "version": file.version,
    }


def _read_to_parts(
    landing_zone: LandingZone, file: LandedFile, folder: Path
) -> tuple[int, list[str], list[Path]]:
    """One landed file as Parquet parts of text rows, one per batch; none if it is refused."""
    unsafe = unsafe_name(file.name)
    if unsafe is not None:
        raise UnreadableFileError(f"{file.name[:200]!r}: refused unread, {unsafe}")
    folder.mkdir()
    parts: list[Path] = []
    rows = 0
    try:
        with landing_zone.local_copy(file.name) as local, read_batches(file.name, local) as dump:
            for batch in dump.batches:
                parts.append(folder / f"part{len(parts)}.parquet")
                batch.write_parquet(parts[-1], compression="lz4")
                rows += batch.height
            return rows, dump.columns, parts
    except UnreadableFileError:
        for part in parts:
            part.unlink()
        raise
