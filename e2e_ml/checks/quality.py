"""Model-quality regression, judged by trained_model itself as it trains (a blocking check).

ERROR, which stops daily_predictions, when the challenger does not beat the naive baseline: the
data or the labels are broken and scoring tomorrow's players would be noise. WARN when it is
worse than the champion by more than the regression margin: a real regression, not day-to-day
noise (noise only keeps a challenger from promotion, silently).
"""

import dagster as dg

from e2e_ml.core.contract import Task
from e2e_ml.core.model import PRIMARY_METRIC, beats, is_no_worse

QUALITY = "no_quality_regression"
quality_spec = dg.AssetCheckSpec(
    QUALITY,
    asset="trained_model",
    blocking=True,
    description="The challenger beats the naive baseline (ERROR, blocks predictions) and is not worse "
    "than the champion by more than the regression margin (WARN).",
)


def quality_result(
    metrics: dict[str, float],
    baseline: dict[str, float],
    champion: dict[str, float],
    task: Task,
    regression_margin: float,
) -> dg.AssetCheckResult:
    metric, _ = PRIMARY_METRIC[task]
    value, floor, best = metrics[metric], baseline[metric], champion.get(metric, float("nan"))
    facts = {
        metric: round(value, 4),
        f"baseline_{metric}": round(floor, 4),
        f"champion_{metric}": round(best, 4),
    }
    if not beats(value, floor, task):
        return dg.AssetCheckResult(
            passed=False,
            severity=dg.AssetCheckSeverity.ERROR,
            description=f"{metric} {value:.4f} does not beat the naive baseline {floor:.4f}",
            metadata=facts,
        )
    if not is_no_worse(value, best, task, regression_margin):
        return dg.AssetCheckResult(
            passed=False,
            severity=dg.AssetCheckSeverity.WARN,
            description=f"{metric} {value:.4f} worse than the champion's {best:.4f}",
            metadata=facts,
        )
    return dg.AssetCheckResult(passed=True, metadata=facts)


def nothing_trained(reason: str) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=True, metadata={"skipped": reason})
