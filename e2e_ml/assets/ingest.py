"""raw_stream: every file landed for day D, read as text, with a manifest of what landed."""

import json
from datetime import date

import dagster as dg
import pandas as pd

from e2e_ml.assets.partitions import daily_partitions
from e2e_ml.core.ingest import UnreadableFileError, combine, read_dump
from e2e_ml.core.landing import unsafe_name
from e2e_ml.resources.storage import LandingZone

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
    day = date.fromisoformat(context.partition_key)
    files = landing_zone.list_day(day)
    reads, manifest = [], []
    for file in files:
        unsafe = unsafe_name(file.name)
        entry = {
            "file": file.name if unsafe is None else repr(file.name[:200]),
            "day": day.isoformat(),
            "size": file.size,
            "version": file.version,
        }
        if file.placement == "skipped":
            manifest.append({**entry, "status": "skipped", "reason": file.note, "rows": 0, "columns": "[]"})
            continue
        try:
            if unsafe is not None:
                raise UnreadableFileError(f"{entry['file']}: refused unread, {unsafe}")
            dump = read_dump(file.name, landing_zone.read_bytes(file.name))
        except UnreadableFileError as error:
            context.log.warning(f"refused {error}")
            manifest.append({**entry, "status": "refused", "reason": str(error), "rows": 0, "columns": "[]"})
            continue
        reads.append(dump)
        manifest.append(
            {
                **entry,
                "status": "read",
                "reason": None,
                "rows": dump.rows.height,
                "columns": json.dumps(dump.columns),
            }
        )
    raw = combine(reads)
    manifest_frame = pd.DataFrame(manifest, columns=MANIFEST_COLUMNS)
    refused = int((manifest_frame["status"] == "refused").sum())
    context.log.info(f"{day}: read {len(raw)} rows from {len(reads)} files, refused {refused}")
    yield dg.Output(
        raw,
        output_name="raw_stream",
        metadata={"files_read": len(reads), "files_refused": refused},
    )
    yield dg.Output(
        manifest_frame,
        output_name="raw_manifest",
        metadata={
            "files": len(manifest_frame),
            "manifest": dg.MetadataValue.md(manifest_frame.drop(columns="columns").to_markdown(index=False)),
        },
    )
