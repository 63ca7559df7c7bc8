"""Model-quality regression, judged by trained_model itself as it trains (a blocking check).

A challenger that does not beat the stronger naive baseline is not promoted, and the champion
scores the day (WARN). ERROR, which stops daily_predictions, only when no usable model exists:
no champion, or a champion that on fresh labelled data does no better than a constant. WARN
also when the challenger is worse than the champion by more than the regression margin: a real
regression, not day-to-day noise (noise only keeps a challenger from promotion, silently).
"""

import dagster as dg

from e2e_ml.core.contract import Task
from e2e_ml.core.model import PRIMARY_METRIC, beats, is_no_worse

QUALITY = "no_quality_regression"
quality_spec = dg.AssetCheckSpec(
    QUALITY,
    asset="trained_model",
    blocking=True,
    description="The challenger beats the stronger naive baseline, else the champion scores the day "
    "(WARN); ERROR, which blocks predictions, when there is no champion or it does no better than a "
    "constant; WARN when the challenger is worse than the champion by more than the regression margin.",
)


def quality_result(
    metrics: dict[str, float],
    baseline: dict[str, float],
    champion: dict[str, float],
    task: Task,
    regression_margin: float,
    champion_version: str | None = None,
    constant: dict[str, float] | None = None,
) -> dg.AssetCheckResult:
    """ERROR only when no usable model would score the day; a weak challenger is a WARN.

    `baseline` is the stronger naive baseline, the bar for promotion; the champion stays usable
    while it beats the `constant` one (a model no better than the mean is broken, not weak).
    """
    metric, _ = PRIMARY_METRIC[task]
    value, floor, best = metrics[metric], baseline[metric], champion.get(metric, float("nan"))
    usable_floor = (constant or baseline)[metric]
    facts: dict[str, float | str] = {
        metric: round(value, 4),
        f"baseline_{metric}": round(floor, 4),
        f"champion_{metric}": round(best, 4),
        "champion_version": champion_version or "none",
    }
    if not beats(value, floor, task):
        weak = f"challenger {metric} {value:.4f} does not beat the naive baseline {floor:.4f}"
        if champion_version is None:
            return _failed(
                dg.AssetCheckSeverity.ERROR, f"{weak} and no champion exists: nothing scores the day", facts
            )
        if not beats(best, usable_floor, task):
            return _failed(
                dg.AssetCheckSeverity.ERROR,
                f"{weak}, and the champion (version {champion_version}, {best:.4f}) does no better than a "
                f"constant ({usable_floor:.4f}) on fresh labelled data: nothing scores the day",
                facts,
            )
        return _failed(
            dg.AssetCheckSeverity.WARN,
            f"{weak}: not promoted; the champion (version {champion_version}, {best:.4f}) scores the day",
            facts,
        )
    if not is_no_worse(value, best, task, regression_margin):
        return _failed(
            dg.AssetCheckSeverity.WARN, f"{metric} {value:.4f} worse than the champion's {best:.4f}", facts
        )
    return dg.AssetCheckResult(passed=True, metadata=facts)


def _failed(
    severity: dg.AssetCheckSeverity, description: str, facts: dict[str, float | str]
) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=False, severity=severity, description=description, metadata=facts)


def nothing_trained(reason: str) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=True, metadata={"skipped": reason})
