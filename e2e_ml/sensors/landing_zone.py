"""landing_zone_sensor: notices new, late and re-uploaded dumps and runs their days."""

from collections import Counter
from datetime import UTC, datetime

import dagster as dg

from e2e_ml.assets.partitions import GRAPH_SETTINGS, daily_partitions
from e2e_ml.checks.freshness import freshness_evaluation
from e2e_ml.core.landing import changed_days, day_fingerprints, decode_cursor, encode_cursor
from e2e_ml.jobs import DAILY_PIPELINE
from e2e_ml.resources.monitoring import MonitoringPolicy
from e2e_ml.resources.storage import LandingZone


@dg.sensor(
    job_name=DAILY_PIPELINE,
    minimum_interval_seconds=GRAPH_SETTINGS.sensor_interval_seconds,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Lists the landing zone (names, sizes, versions; never contents) and requests "
    "one run per day whose file set changed since the last tick; reports the zone's freshness.",
)
def landing_zone_sensor(
    context: dg.SensorEvaluationContext, landing_zone: LandingZone, monitoring: MonitoringPolicy
) -> dg.SensorResult:
    now = datetime.now(UTC)
    files = landing_zone.list_recent(now.date())
    freshness = freshness_evaluation(files, now, monitoring)
    off_layout = [f.name for f in files if f.day is None]
    if off_layout:
        context.log.warning(
            f"{len(off_layout)} file(s) outside the YYYY/MM/DD/ layout or with unsafe names are ignored: "
            f"{[repr(name[:100]) for name in off_layout[:5]]}"
        )
    previous = decode_cursor(context.cursor)
    current = day_fingerprints(files)
    days = changed_days(previous, current)
    valid = set(daily_partitions.get_partition_keys())
    unpartitioned = [d for d in days if d not in valid]
    if unpartitioned:
        context.log.warning(f"files for days outside the partitions are ignored: {unpartitioned[:5]}")
    days = [d for d in days if d in valid]
    if not days:
        return dg.SensorResult(
            skip_reason=f"no new or changed files among {len(files)} landed",
            cursor=context.cursor,
            asset_events=[freshness],
        )
    counts = Counter(f.day.isoformat() for f in files if f.day is not None)
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(
                run_key=f"{day}:{current[day]}",
                partition_key=day,
                tags={"e2e_ml/files": str(counts[day])},
            )
            for day in days
        ],
        cursor=encode_cursor({**previous, **current}),
        asset_events=[freshness],
    )
