"""Every check of the graph in one place, for the Definitions and for whoever reports on them."""

from e2e_ml.checks.contract import contract_violations
from e2e_ml.checks.drift import feature_drift_check, prediction_drift
from e2e_ml.checks.freshness import landed_files_fresh
from e2e_ml.checks.layout import landed_files_placed
from e2e_ml.checks.performance import decay_spec
from e2e_ml.checks.quality import quality_spec
from e2e_ml.checks.volume import file_volume

CHECKS = [
    landed_files_fresh,
    landed_files_placed,
    file_volume,
    contract_violations,
    feature_drift_check,
    prediction_drift,
]
# The quality and decay checks are emitted by their assets (check specs on trained_model and
# realized_performance).
CHECK_KEYS = sorted(
    {key for check in CHECKS for key in check.check_keys} | {quality_spec.key, decay_spec.key}, key=str
)
