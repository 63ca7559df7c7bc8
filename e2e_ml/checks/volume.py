"""Abnormally large or small files, judged against the trailing history of the same source."""

import dagster as dg

from e2e_ml.checks.history import read_day, trailing_days
from e2e_ml.core.monitoring import robust_bounds
from e2e_ml.resources.storage import StorageLocation

HISTORY_DAYS = 14
MAD_MULTIPLIER = 5.0  # in log space, and never tighter than a factor of 4 either way
# Cold start, before 5 past files exist: a file must hold something and stay under these.
ABSOLUTE_BYTES = (1, 2 * 2**30)
ABSOLUTE_ROWS = (1, 50_000_000)


@dg.asset_check(
    asset="raw_manifest",
    description=f"Each landed file's size and row count within median x/÷ exp({MAD_MULTIPLIER:g} MAD) "
    f"of the files of the previous {HISTORY_DAYS} days, at least a factor of 4 (absolute bounds on a "
    "cold start).",
)
def file_volume(context: dg.AssetCheckExecutionContext, lake: StorageLocation) -> dg.AssetCheckResult:
    manifest = read_day(lake, "raw_manifest", context.partition_key)
    raw_manifest = manifest[manifest["status"] != "skipped"]  # an uploader's marker is not a dump
    history, days = lake.read_partitions("raw_manifest", trailing_days(context.partition_key, HISTORY_DAYS))
    past = history[history["status"] == "read"] if len(history) else history
    size = robust_bounds(
        past["size"] if len(past) else [], MAD_MULTIPLIER, floor=ABSOLUTE_BYTES[0], ceiling=ABSOLUTE_BYTES[1]
    )
    rows = robust_bounds(
        past["rows"] if len(past) else [], MAD_MULTIPLIER, floor=ABSOLUTE_ROWS[0], ceiling=ABSOLUTE_ROWS[1]
    )
    verdicts = raw_manifest.assign(
        size_ok=raw_manifest["size"].map(size.contains),
        rows_ok=raw_manifest["rows"].map(rows.contains) | (raw_manifest["status"] != "read"),
    )
    abnormal = verdicts[~(verdicts["size_ok"] & verdicts["rows_ok"])]
    return dg.AssetCheckResult(
        passed=abnormal.empty,
        severity=dg.AssetCheckSeverity.ERROR,
        description=None if abnormal.empty else f"{len(abnormal)} file(s) of abnormal size",
        metadata={
            "abnormal_files": dg.MetadataValue.md(
                abnormal[["file", "size", "rows", "status"]].to_markdown(index=False)
                if len(abnormal)
                else "none"
            ),
            "size_bounds_bytes": f"{size.low:.0f} .. {size.high:.0f} ({size.method})",
            "rows_bounds": f"{rows.low:.0f} .. {rows.high:.0f} ({rows.method})",
            "reference_days": f"{days[0]} .. {days[-1]}" if days else "none",
        },
    )
