"""Every landed name is accounted for: a file no layout places on a day is reported, not dropped.

Files the layout places are accounted for in their day's ledger (read, refused or skipped); a
file that belongs to no day has only this record, which the landing-zone sensor reports every
tick (and the UI shows on `landed_files`), so a misconfigured layout raises one alert.
"""

from datetime import UTC, datetime

import dagster as dg

from e2e_ml.checks.freshness import landed_files, landed_files_evaluation
from e2e_ml.core.landing import LandedFile
from e2e_ml.resources.storage import LandingZone

FILES_PLACED = "files_placed"
SHOWN = 20  # names listed in the metadata; the count covers all


def placement_evaluation(files: list[LandedFile]) -> dg.AssetCheckEvaluation:
    return landed_files_evaluation(FILES_PLACED, *_placement(files))


def _placement(files: list[LandedFile]) -> tuple[bool, dict, str | None]:
    unplaced = [f for f in files if f.placement == "unplaced"]
    metadata = {
        "files_listed": len(files),
        "unplaced_files": len(unplaced),
        "skipped_files": sum(f.placement == "skipped" for f in files),
        "unplaced": dg.MetadataValue.md(
            "\n".join(f"- `{f.name[:200]!r}`: {f.note}" for f in unplaced[:SHOWN]) or "none"
        ),
    }
    if not unplaced:
        return True, metadata, None
    first = unplaced[0]
    description = (
        f"{len(unplaced)} landed file(s) belong to no day and are not processed, "
        f"e.g. {first.name[:200]!r}: {first.note}"
    )
    return False, metadata, description


@dg.asset_check(
    asset=landed_files.key,
    name=FILES_PLACED,
    description="Every landed file is placed on a day by the landing layout (or skipped as not data).",
)
def landed_files_placed(landing_zone: LandingZone) -> dg.AssetCheckResult:
    passed, metadata, description = _placement(landing_zone.list_recent(datetime.now(UTC).date()))
    return dg.AssetCheckResult(
        passed=passed, metadata=metadata, description=description, severity=dg.AssetCheckSeverity.ERROR
    )
