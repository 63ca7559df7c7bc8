"""Drift: features of the day against the trailing clean days; predictions against past days."""

import dagster as dg
import pandas as pd

from e2e_ml.checks.history import read_day_sample, read_sample, trailing_days
from e2e_ml.core.incidents import CAUSE
from e2e_ml.core.monitoring import distribution_test, feature_drift, population_stability
from e2e_ml.resources.contract import DataContract
from e2e_ml.resources.storage import StorageLocation
from e2e_ml.resources.tracking import MlflowTracking

REFERENCE_DAYS = 14
PREDICTION_REFERENCE_DAYS = 7
MIN_PREDICTION_REFERENCE_DAYS = 3  # the first champions change daily: their scores are no reference yet
PSI_THRESHOLD = 0.2
P_VALUE_THRESHOLD = 0.01
POSITIVE_RATE_SHIFT = 0.10
SAMPLE_ROWS_PER_DAY = 50_000  # per compared day; a default day has ~1,400 rows


def day_and_reference(
    store: StorageLocation, asset: str, partition_key: str, columns: list[str], reference_days: int
) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """The day and its trailing reference days, each sampled to at most SAMPLE_ROWS_PER_DAY
    rows, and which reference days exist."""
    day = read_day_sample(store, asset, partition_key, columns, SAMPLE_ROWS_PER_DAY)
    reference, days = read_sample(
        store, asset, trailing_days(partition_key, reference_days), columns, SAMPLE_ROWS_PER_DAY
    )
    return day, reference, days


@dg.asset_check(
    asset="clean_dataset",
    name="feature_drift",
    description=f"No feature drifted (PSI > {PSI_THRESHOLD} and a KS or chi-square p-value < "
    f"{P_VALUE_THRESHOLD}) against the days the model scoring this day learned from (ERROR: the "
    f"model may no longer hold) nor against the previous {REFERENCE_DAYS} clean days (WARN).",
)
def feature_drift_check(
    context: dg.AssetCheckExecutionContext,
    lake: StorageLocation,
    contract: DataContract,
    mlflow: MlflowTracking,
) -> dg.AssetCheckResult:
    spec = contract.load()
    features = list(spec.roles.features)  # only what is compared: not ids, lineage or labels
    clean_dataset, reference, days = day_and_reference(
        lake, "clean_dataset", context.partition_key, features, REFERENCE_DAYS
    )
    if reference.empty or clean_dataset.empty:
        return dg.AssetCheckResult(passed=True, metadata={"reference_days": "none yet"})

    def drift_against(reference: pd.DataFrame) -> pd.DataFrame:
        return feature_drift(
            reference,
            clean_dataset,
            spec.numeric_features,
            spec.categorical_features,
            PSI_THRESHOLD,
            P_VALUE_THRESHOLD,
        )

    report = drift_against(reference)
    drifted = report.loc[report["drifted"], "feature"].tolist()
    champion = mlflow.champion_for(contract.model_name, context.partition_key)
    training, training_days = (
        read_sample(lake, "clean_dataset", mlflow.training_days(champion), features, SAMPLE_ROWS_PER_DAY)
        if champion
        else (pd.DataFrame(), [])
    )
    versus_training = drift_against(training) if len(training) else report.iloc[0:0]
    drifted_from_training = versus_training.loc[versus_training["drifted"], "feature"].tolist()
    causes = sorted({*drifted, *drifted_from_training})
    findings = []
    if champion and drifted_from_training:
        learned = ", ".join(drifted_from_training)
        findings.append(f"drifted from the days version {champion.version} learned from: {learned}")
    if drifted:
        findings.append(f"drifted from the last {REFERENCE_DAYS} days: {', '.join(drifted)}")
    return dg.AssetCheckResult(
        passed=not causes,
        severity=dg.AssetCheckSeverity.ERROR if drifted_from_training else dg.AssetCheckSeverity.WARN,
        description="; ".join(findings) or None,
        metadata={
            "drifted_features": dg.MetadataValue.json(drifted),
            "drifted_from_training": dg.MetadataValue.json(drifted_from_training),
            CAUSE: ",".join(causes),
            "max_psi": dg.MetadataValue.float(float(report["psi"].max())),
            "per_feature": dg.MetadataValue.md(report.to_markdown(index=False)),
            "features": dg.MetadataValue.json(report.to_dict("records")),
            "reference_days": f"{days[0]} .. {days[-1]} ({len(days)} days)",
            "training_days": f"{training_days[0]} .. {training_days[-1]} (version {champion.version})"
            if champion and training_days
            else "no model yet",
        },
    )


@dg.asset_check(
    asset="daily_predictions",
    description=f"Scores and positive rate in line with the previous {PREDICTION_REFERENCE_DAYS} days "
    f"(score PSI <= {PSI_THRESHOLD}, positive rate within {POSITIVE_RATE_SHIFT:.0%}); judged once "
    f"{MIN_PREDICTION_REFERENCE_DAYS} of them were scored.",
)
def prediction_drift(context: dg.AssetCheckExecutionContext, outputs: StorageLocation) -> dg.AssetCheckResult:
    daily_predictions, reference, days = day_and_reference(
        outputs, "daily_predictions", context.partition_key, ["score", "predicted"], PREDICTION_REFERENCE_DAYS
    )
    if len(days) < MIN_PREDICTION_REFERENCE_DAYS or daily_predictions.empty:
        return dg.AssetCheckResult(
            passed=True,
            metadata={"reference_days": f"{len(days)} scored, {MIN_PREDICTION_REFERENCE_DAYS} needed"},
        )
    psi = population_stability(reference["score"], daily_predictions["score"], categorical=False)
    test, statistic, p_value = distribution_test(
        reference["score"], daily_predictions["score"], categorical=False
    )
    rate, past_rate = float(daily_predictions["predicted"].mean()), float(reference["predicted"].mean())
    score_drift = psi > PSI_THRESHOLD and p_value < P_VALUE_THRESHOLD
    rate_shift = abs(rate - past_rate) > POSITIVE_RATE_SHIFT
    passed = not (score_drift or rate_shift)
    return dg.AssetCheckResult(
        passed=passed,
        severity=dg.AssetCheckSeverity.WARN,
        description=None if passed else f"score PSI {psi:.2f}, positive rate {past_rate:.1%} -> {rate:.1%}",
        metadata={
            "score_psi": dg.MetadataValue.float(round(psi, 4)),
            f"score_{test}_statistic": dg.MetadataValue.float(round(statistic, 4)),
            "score_p_value": dg.MetadataValue.float(float(f"{p_value:.3g}")),
            "positive_rate": dg.MetadataValue.float(round(rate, 4)),
            "reference_positive_rate": dg.MetadataValue.float(round(past_rate, 4)),
            "reference_days": f"{days[0]} .. {days[-1]} ({len(days)} days)",
        },
    )
