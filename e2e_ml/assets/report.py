"""report_extract: BI-ready tables over every day's predictions and every model version."""

import dagster as dg
import pandas as pd

from e2e_ml.core.metrics import daily_summary
from e2e_ml.resources.contract import DataContract
from e2e_ml.resources.storage import StorageLocation, parquet_bytes
from e2e_ml.resources.tracking import MlflowTracking


@dg.asset(
    group_name="report",
    description="Tables for Power BI and friends: daily prediction summary and model versions, "
    "as Parquet and CSV in the outputs store.",
)
def report_extract(
    context: dg.AssetExecutionContext,
    daily_predictions: pd.DataFrame,
    contract: DataContract,
    mlflow: MlflowTracking,
    outputs: StorageLocation,
) -> dg.MaterializeResult:
    summary = daily_summary(daily_predictions, contract.load().roles.task)
    versions = mlflow.versions(contract.model_name)
    urls = {}
    for name, table in (("daily_summary", summary), ("model_versions", versions)):
        urls[f"{name}_parquet"] = outputs.write(f"report/{name}.parquet", parquet_bytes(table))
        urls[f"{name}_csv"] = outputs.write(f"report/{name}.csv", table.to_csv(index=False).encode())
    context.log.info(f"report: {len(summary)} days, {len(versions)} model versions")
    return dg.MaterializeResult(
        metadata={
            "days": len(summary),
            "model_versions": len(versions),
            "predictions": len(daily_predictions),
            **{key: dg.MetadataValue.path(url) for key, url in urls.items()},
            "summary": dg.MetadataValue.md(summary.tail(14).to_markdown(index=False)),
        }
    )
