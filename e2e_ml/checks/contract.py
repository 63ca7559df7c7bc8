"""Contract violations: refused files and the share of rows the contract rejected."""

import dagster as dg

from e2e_ml.checks.history import count_day, read_day
from e2e_ml.core.cleaning import REASON, rule_counts
from e2e_ml.resources.storage import StorageLocation

WARN_REJECTED_SHARE = 0.01  # above this the day needs a look
ERROR_REJECTED_SHARE = 0.10  # above this something upstream is broken


@dg.asset_check(
    asset="clean_dataset",
    description=f"No refused file and at most {WARN_REJECTED_SHARE:.0%} of landed rows rejected "
    f"(ERROR above {ERROR_REJECTED_SHARE:.0%} or for any refused file).",
)
def contract_violations(context: dg.AssetCheckExecutionContext, lake: StorageLocation) -> dg.AssetCheckResult:
    day = context.partition_key
    rejected = read_day(lake, "quarantined_rows", day, columns=[REASON])[REASON]
    raw_manifest = read_day(lake, "raw_manifest", day)
    landed = count_day(lake, "clean_dataset", day) + len(rejected)
    share = len(rejected) / landed if landed else 0.0
    refused = raw_manifest[raw_manifest["status"] == "refused"]
    error = len(refused) > 0 or share > ERROR_REJECTED_SHARE
    passed = refused.empty and share <= WARN_REJECTED_SHARE
    return dg.AssetCheckResult(
        passed=passed,
        severity=dg.AssetCheckSeverity.ERROR if error else dg.AssetCheckSeverity.WARN,
        description=None if passed else f"{len(refused)} refused file(s), {share:.1%} of rows rejected",
        metadata={
            "rejected_share": dg.MetadataValue.float(round(share, 4)),
            "warn_above": WARN_REJECTED_SHARE,
            "error_above": ERROR_REJECTED_SHARE,
            "rejected_rows": len(rejected),
            "landed_rows": landed,
            "rejected_by_rule": dg.MetadataValue.json(rule_counts(rejected)),
            "refused_files": dg.MetadataValue.md(
                refused[["file", "reason"]].to_markdown(index=False) if len(refused) else "none"
            ),
        },
    )
