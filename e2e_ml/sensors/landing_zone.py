"""landing_zone_sensor: notices new, late and re-uploaded dumps and outcomes, and runs their days."""

from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import dagster as dg

from e2e_ml.assets.partitions import GRAPH_SETTINGS, daily_partitions
from e2e_ml.checks.freshness import freshness_evaluation
from e2e_ml.checks.layout import placement_evaluation
from e2e_ml.core.landing import LandedFile, changed_days, day_fingerprints, decode_cursor, encode_cursor
from e2e_ml.jobs import DAILY_PIPELINE
from e2e_ml.resources.monitoring import MonitoringPolicy
from e2e_ml.resources.storage import LandingZone


@dg.sensor(
    job_name=DAILY_PIPELINE,
    minimum_interval_seconds=GRAPH_SETTINGS.sensor_interval_seconds,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Lists the landing zone and the outcomes zone (names, sizes, versions; never "
    "contents) and requests one run per day whose data or outcome files changed since the last "
    "tick; reports the landing zone's freshness and any file its layout places on no day.",
)
def landing_zone_sensor(
    context: dg.SensorEvaluationContext,
    landing_zone: LandingZone,
    outcomes_zone: LandingZone,
    monitoring: MonitoringPolicy,
) -> dg.SensorResult:
    now = datetime.now(UTC)
    listed = landing_zone.list_recent(now.date())
    files = [f for f in listed if f.is_data]  # temporary and hidden names are not data
    checks = [freshness_evaluation(files, now, monitoring), placement_evaluation(listed)]
    # Labels landing on a day are that day's news: its run reads them (outcomes) and follows up
    # on the predictions they label (realized_performance).
    outcome_files = [
        replace(f, name=f"outcomes/{f.name}") for f in outcomes_zone.list_recent(now.date()) if f.is_data
    ]
    previous = decode_cursor(context.cursor)
    current = day_fingerprints([*files, *outcome_files])
    settling = _settling_days([*files, *outcome_files], now, landing_zone.quiet_seconds)
    if settling:
        context.log.info(f"days still receiving files (quiet period not over): {sorted(settling)[:5]}")
        current = {day: digest for day, digest in current.items() if day not in settling}
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
            asset_events=checks,
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
        asset_events=checks,
    )


def _settling_days(files: list[LandedFile], now: datetime, quiet_seconds: int) -> set[str]:
    """Days whose newest file landed less than `quiet_seconds` ago: an upload may still be going on."""
    if quiet_seconds <= 0:
        return set()
    recent = now - timedelta(seconds=quiet_seconds)
    return {f.day.isoformat() for f in files if f.day and f.modified and f.modified > recent}
