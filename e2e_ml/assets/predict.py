"""daily_predictions: day D scored by the model that could have scored it, also on re-runs."""

from datetime import date

import dagster as dg
import pandas as pd

from e2e_ml.assets.partitions import daily_partitions
from e2e_ml.assets.train import trained_model
from e2e_ml.core.labels import with_known_labels
from e2e_ml.core.model import no_predictions, score_rows
from e2e_ml.core.recent import with_recent_outcomes
from e2e_ml.resources.contract import DataContract
from e2e_ml.resources.tracking import MlflowTracking


@dg.asset(
    partitions_def=daily_partitions,
    deps=[trained_model],
    io_manager_key="outputs_io_manager",
    group_name="predict",
    description="Every clean row of the day with its score, in a fixed schema for BI, made by the "
    "champion for that day: never by a model trained for a later day, so a re-run stays honest.",
)
def daily_predictions(
    context: dg.AssetExecutionContext,
    clean_dataset: pd.DataFrame,
    recent_outcomes: pd.DataFrame,
    contract: DataContract,
    mlflow: MlflowTracking,
) -> dg.Output[pd.DataFrame]:
    day = context.partition_key
    champion = mlflow.champion_for(contract.model_name, day)
    if champion is None:
        context.log.warning(f"{day}: no model was champion for this day yet; nothing scored")
        return dg.Output(no_predictions(), metadata={"status": "no champion for the day"})
    trained_for = mlflow.trained_for(champion) or ""
    model = mlflow.load(contract.model_name, champion.version)
    spec = contract.load()
    # As served: `actual` only where the label is known today (never the label the row carries
    # before its delay has passed); later labels are joined by realized_performance.
    rows = with_recent_outcomes(
        with_known_labels(clean_dataset, None, spec, as_of=date.fromisoformat(day)), recent_outcomes, spec
    )
    predictions = score_rows(model, rows, spec, contract.model_name, str(champion.version), trained_for)
    return dg.Output(
        predictions,
        metadata={
            "status": "scored",
            "model_version": str(champion.version),
            "model_trained_for": trained_for,
            "mean_score": dg.MetadataValue.float(float(predictions["score"].mean())),
            "positive_rate": dg.MetadataValue.float(float(predictions["predicted"].mean())),
        },
    )
