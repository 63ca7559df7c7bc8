"""realized_performance: how the predictions served in the last days did, as their labels land."""

from datetime import date, timedelta

import dagster as dg
import pandas as pd

from e2e_ml.assets.partitions import FOLLOWED_DAYS, daily_partitions, followed_days
from e2e_ml.assets.predict import daily_predictions
from e2e_ml.checks.performance import decay_result, decay_spec
from e2e_ml.core.labels import label_predictions
from e2e_ml.core.model import no_predictions
from e2e_ml.core.performance import PERFORMANCE_COLUMNS, performance_by_day, pooled_verdicts
from e2e_ml.resources.contract import DataContract
from e2e_ml.resources.storage import StorageLocation
from e2e_ml.resources.tracking import MlflowTracking


@dg.asset(
    partitions_def=daily_partitions,
    deps=[daily_predictions, dg.AssetDep("clean_dataset", partition_mapping=followed_days)],
    ins={"outcomes": dg.AssetIn(partition_mapping=followed_days)},
    io_manager_key="outputs_io_manager",
    check_specs=[decay_spec],
    group_name="monitor",
    description=f"Per day served in the last {FOLLOWED_DAYS} days and per model version that served "
    "it: the predictions as served, joined by key to the labels known at the end of this day, "
    "with the realized metric, the share labelled, the metric estimated from the scores (CBPE), "
    "and the version's own holdout and naive-baseline figures.",
)
def realized_performance(
    context: dg.AssetExecutionContext,
    outcomes: pd.DataFrame,
    lake: StorageLocation,
    outputs: StorageLocation,
    contract: DataContract,
    mlflow: MlflowTracking,
):
    spec, as_of = contract.load(), date.fromisoformat(context.partition_key)
    served_days = [(as_of - timedelta(days=back)).isoformat() for back in range(FOLLOWED_DAYS, -1, -1)]
    served, _ = outputs.read_partitions(daily_predictions.key.to_user_string(), served_days)
    served = served if len(served) else no_predictions()
    # Only the key and the label of the clean rows: the labels they carry.
    carried = [spec.roles.id, spec.roles.event_time, spec.roles.target]
    clean, _ = lake.read_partitions("clean_dataset", served_days, carried)
    labelled = label_predictions(served, clean, outcomes, spec, as_of)
    holdout = mlflow.version_metrics(contract.model_name, labelled["model_version"].astype(str).unique())
    performance = performance_by_day(labelled, spec.roles.task, as_of, holdout, spec.time.zone)
    context.log.info(f"{as_of}: {len(performance)} served day(s) followed")
    yield dg.Output(
        performance,
        metadata={
            "served_days": len(performance),
            "labelled_rows": int(performance["labelled_rows"].sum()),
            "table": dg.MetadataValue.md(_rounded(performance).to_markdown(index=False)),
        },
    )
    verdicts = pooled_verdicts(labelled, performance, spec.roles.task, spec.time.zone)
    yield decay_result(verdicts, spec.roles.task, spec.monitoring.decay_margin)


def _rounded(performance: pd.DataFrame) -> pd.DataFrame:
    return performance[PERFORMANCE_COLUMNS].round(4)
