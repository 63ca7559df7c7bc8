"""Contract violations: refused files and the share of rows the contract rejected."""

import dagster as dg
import pandas as pd

from e2e_ml.checks.history import read_day
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
    clean_dataset, quarantined_rows, raw_manifest = (
        read_day(lake, asset, context.partition_key)
        for asset in ("clean_dataset", "quarantined_rows", "raw_manifest")
    )
    landed = len(clean_dataset) + len(quarantined_rows)
    share = len(quarantined_rows) / landed if landed else 0.0
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
            "rejected_rows": len(quarantined_rows),
            "landed_rows": landed,
            "rejected_by_rule": dg.MetadataValue.json(
                rule_counts(quarantined_rows.get(REASON, pd.Series(dtype=str)))
            ),
            "refused_files": dg.MetadataValue.md(
                refused[["file", "reason"]].to_markdown(index=False) if len(refused) else "none"
            ),
        },
    )
