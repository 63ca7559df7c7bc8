"""Abnormal volumes, judged against the trailing history of the same source.

A file is abnormal when it is far larger than the files of the previous days (an export that
duplicated its data, a 20x dump). Small files are normal for hourly exports at night, so the
low side is judged on the whole day: a day with far fewer rows or bytes than the previous days
(an upload that did not happen). Empty and unreadable files are refused by ingest and alerted by
`contract_violations`.
"""

import dagster as dg
import pandas as pd

from e2e_ml.checks.history import read_day, trailing_days
from e2e_ml.core.monitoring import Bounds, robust_bounds
from e2e_ml.resources.storage import StorageLocation

HISTORY_DAYS = 14
MAD_MULTIPLIER = 5.0  # in log space, and never tighter than a factor of 4 either way
# Cold start, before 5 past files exist: a file must stay under these.
ABSOLUTE_BYTES = (1, 2 * 2**30)
ABSOLUTE_ROWS = (1, 50_000_000)


@dg.asset_check(
    asset="raw_manifest",
    description=f"No landed file larger than median x exp({MAD_MULTIPLIER:g} MAD) of the files of the "
    f"previous {HISTORY_DAYS} days (at least x4; absolute bounds on a cold start), and the day's total "
    "rows and bytes within median x/÷ of the previous days' totals.",
)
def file_volume(context: dg.AssetCheckExecutionContext, lake: StorageLocation) -> dg.AssetCheckResult:
    manifest = read_day(lake, "raw_manifest", context.partition_key)
    landed = manifest[manifest["status"] != "skipped"]  # an uploader's marker is not a dump
    history, days = lake.read_partitions("raw_manifest", trailing_days(context.partition_key, HISTORY_DAYS))
    past = history[history["status"] == "read"] if len(history) else history
    size, rows = (
        robust_bounds(past[c] if len(past) else [], MAD_MULTIPLIER, floor=low, ceiling=high)
        for c, (low, high) in (("size", ABSOLUTE_BYTES), ("rows", ABSOLUTE_ROWS))
    )
    too_large = landed[
        (landed["size"] > size.high) | ((landed["rows"] > rows.high) & (landed["status"] == "read"))
    ]
    totals = (
        past.groupby("day")[["size", "rows"]].sum() if len(past) else pd.DataFrame(columns=["size", "rows"])
    )
    day_size, day_rows = (robust_bounds(totals[c], MAD_MULTIPLIER) for c in ("size", "rows"))
    read = landed[landed["status"] == "read"]
    day_total = {"size": int(read["size"].sum()), "rows": int(read["rows"].sum())}
    day_abnormal = [
        f"{label} {day_total[key]:,} outside {bounds.low:,.0f} .. {bounds.high:,.0f}"
        for key, label, bounds in (("rows", "rows", day_rows), ("size", "bytes", day_size))
        if not bounds.contains(day_total[key])
    ]
    problems = ([f"{len(too_large)} file(s) abnormally large"] if len(too_large) else []) + (
        [f"the day's {', '.join(day_abnormal)} of past days"] if day_abnormal else []
    )
    return dg.AssetCheckResult(
        passed=not problems,
        severity=dg.AssetCheckSeverity.ERROR,
        description="; ".join(problems) or None,
        metadata={
            "abnormal_files": dg.MetadataValue.md(
                too_large[["file", "size", "rows", "status"]].to_markdown(index=False)
                if len(too_large)
                else "none"
            ),
            "size_bounds_bytes": _bounds(size),
            "rows_bounds": _bounds(rows),
            "day_rows": day_total["rows"],
            "day_rows_bounds": _bounds(day_rows),
            "day_bytes": day_total["size"],
            "reference_days": f"{days[0]} .. {days[-1]}" if days else "none",
        },
    )


def _bounds(bounds: Bounds) -> str:
    return f"{bounds.low:.0f} .. {bounds.high:.0f} ({bounds.method})"
