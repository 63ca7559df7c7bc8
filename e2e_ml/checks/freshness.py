"""Staleness of the landing zone: has anything landed within the expected cadence?

The landing-zone sensor lists the zone every tick anyway, so it reports this check's verdict
with each tick (no extra listing); the check can also be run on its own from the UI.
"""

from datetime import UTC, datetime, timedelta

import dagster as dg

from e2e_ml.core.landing import LandedFile
from e2e_ml.core.monitoring import silence
from e2e_ml.resources.monitoring import MonitoringPolicy
from e2e_ml.resources.storage import LandingZone

landed_files = dg.AssetSpec(
    "landed_files",
    description="Dumps in the landing zone, written by upstream systems every 6-12 hours.",
    group_name="ingest",
)
FRESH = "fresh"


def freshness_verdict(files: list[LandedFile], now: datetime, max_silence_hours: float) -> tuple[bool, dict]:
    newest = max((f.modified for f in files if f.modified is not None), default=None)
    quiet = silence(newest, now)
    hours = None if quiet is None else round(quiet.total_seconds() / 3600, 2)
    passed = quiet is not None and quiet <= timedelta(hours=max_silence_hours)
    return passed, {
        "hours_since_newest_file": hours if hours is not None else "nothing landed",
        "max_silence_hours": max_silence_hours,
        "newest_file": max(files, key=lambda f: f.modified or now).name if files else "none",
        "files_listed": len(files),
    }


def freshness_evaluation(
    files: list[LandedFile], now: datetime, policy: MonitoringPolicy
) -> dg.AssetCheckEvaluation:
    passed, metadata = freshness_verdict(files, now, policy.max_silence_hours)
    description = None if passed else "no new data in the landing zone for longer than its cadence allows"
    return landed_files_evaluation(FRESH, passed, metadata, description)


def landed_files_evaluation(
    check_name: str, passed: bool, metadata: dict, description: str | None
) -> dg.AssetCheckEvaluation:
    """A verdict on the landing zone, as the landing-zone sensor reports it every tick (ERROR)."""
    return dg.AssetCheckEvaluation(
        asset_key=landed_files.key,
        check_name=check_name,
        passed=passed,
        metadata=metadata,
        severity=dg.AssetCheckSeverity.ERROR,
        description=description,
    )


@dg.asset_check(
    asset=landed_files.key, name=FRESH, description="New dumps landed within the expected cadence."
)
def landed_files_fresh(landing_zone: LandingZone, monitoring: MonitoringPolicy) -> dg.AssetCheckResult:
    now = datetime.now(UTC)
    passed, metadata = freshness_verdict(
        landing_zone.list_recent(now.date()), now, monitoring.max_silence_hours
    )
    return dg.AssetCheckResult(passed=passed, metadata=metadata, severity=dg.AssetCheckSeverity.ERROR)
