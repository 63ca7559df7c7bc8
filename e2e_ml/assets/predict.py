"""daily_predictions: day D scored by whichever model holds the champion alias."""

import dagster as dg
import pandas as pd

from e2e_ml.assets.partitions import daily_partitions
from e2e_ml.assets.train import trained_model
from e2e_ml.core.model import PREDICTION_COLUMNS, score_rows
from e2e_ml.resources.contract import DataContract
from e2e_ml.resources.tracking import MlflowTracking


@dg.asset(
    partitions_def=daily_partitions,
    deps=[trained_model],
    io_manager_key="outputs_io_manager",
    group_name="predict",
    description="Every clean row of the day with its score, in a fixed schema for BI.",
)
def daily_predictions(
    context: dg.AssetExecutionContext,
    clean_dataset: pd.DataFrame,
    contract: DataContract,
    mlflow: MlflowTracking,
) -> dg.Output[pd.DataFrame]:
    champion = mlflow.champion(contract.model_name)
    if champion is None:
        context.log.warning(f"{context.partition_key}: no champion model yet; nothing scored")
        return dg.Output(pd.DataFrame(columns=PREDICTION_COLUMNS), metadata={"status": "no champion yet"})
    model = mlflow.load(contract.model_name, champion.version)
    predictions = score_rows(
        model, clean_dataset, contract.load(), contract.model_name, str(champion.version)
    )
    return dg.Output(
        predictions,
        metadata={
            "status": "scored",
            "model_version": str(champion.version),
            "mean_score": dg.MetadataValue.float(float(predictions["score"].mean())),
            "positive_rate": dg.MetadataValue.float(float(predictions["predicted"].mean())),
        },
    )
