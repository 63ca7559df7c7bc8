"""Performance decay: served predictions doing worse than their model promised.

Judged by realized_performance itself as it follows the served days: on the estimate from the
scores while labels are pending (WARN, an early warning), on realized figures once half a day is
labelled (ERROR). The cause named for incidents is the model versions involved, so an estimated
drop and the labels that confirm it are one incident.
"""

import dagster as dg

from e2e_ml.core.contract import Task
from e2e_ml.core.incidents import CAUSE
from e2e_ml.core.performance import Verdict

DECAY = "no_performance_decay"
decay_spec = dg.AssetCheckSpec(
    DECAY,
    asset="realized_performance",
    description="The days served lately did not fall below their models' holdout figures by "
    "more than the contract's decay margin: pooled realized performance of the days at least half "
    "labelled (ERROR), the estimate from the scores of the days still pending (WARN).",
)


def decay_result(verdicts: list[Verdict], task: Task, margin: float) -> dg.AssetCheckResult:
    below = [v for v in verdicts if v.below(task, margin)]
    confirmed = any(v.judged_on == "realized" for v in below)
    versions = sorted({version for v in below for version in v.versions}, key=int)
    return dg.AssetCheckResult(
        check_name=DECAY,
        passed=not below,
        severity=dg.AssetCheckSeverity.ERROR if confirmed else dg.AssetCheckSeverity.WARN,
        description=None if not below else "; ".join(map(_sentence, below)),
        metadata={
            "decay_margin": dg.MetadataValue.float(margin),
            **{f"{v.judged_on}": dg.MetadataValue.float(round(v.figure, 4)) for v in verdicts},
            **{f"{v.judged_on}_promised": dg.MetadataValue.float(round(v.promised, 4)) for v in verdicts},
            CAUSE: ",".join(f"v{v}" for v in versions),
        },
    )


def _sentence(verdict: Verdict) -> str:
    days = f"{verdict.days[0]} .. {verdict.days[-1]}" if len(verdict.days) > 1 else str(verdict.days[0])
    return (
        f"{verdict.judged_on} {verdict.figure:.3f} over {days} against {verdict.promised:.3f} promised "
        f"by version(s) {', '.join(verdict.versions)}"
    )
