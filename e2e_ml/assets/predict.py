"""daily_predictions: day D scored by the model that could have scored it, also on re-runs."""

from datetime import date
from typing import Any

import dagster as dg
import pandas as pd
import polars as pl

from e2e_ml.assets.partitions import daily_partitions
from e2e_ml.assets.train import trained_model
from e2e_ml.core.contract import Contract
from e2e_ml.core.labels import with_known_labels
from e2e_ml.core.model import no_predictions, score_rows
from e2e_ml.core.recent import with_recent_outcomes
from e2e_ml.core.tables import as_pandas, write_frames
from e2e_ml.resources.contract import DataContract
from e2e_ml.resources.storage import SpooledTable, spooling
from e2e_ml.resources.tracking import MlflowTracking

SCORING_BATCH_ROWS = 250_000  # clean rows scored at a time: memory holds a batch, never the day


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
    clean_dataset: pl.LazyFrame,
    recent_outcomes: pd.DataFrame,
    contract: DataContract,
    mlflow: MlflowTracking,
):
    """The day is scored a batch at a time into a spooled Parquet file, published whole."""
    day = context.partition_key
    champion = mlflow.champion_for(contract.model_name, day)
    if champion is None:
        context.log.warning(f"{day}: no model was champion for this day yet; nothing scored")
        yield dg.Output(no_predictions(), metadata={"status": "no champion for the day"})
        return
    trained_for = mlflow.trained_for(champion) or ""
    made_by = (contract.model_name, str(champion.version), trained_for)
    model = mlflow.load(contract.model_name, champion.version)
    spec = contract.load()

    with spooling("daily_predictions") as spool:
        batches = clean_dataset.collect_batches(chunk_size=SCORING_BATCH_ROWS)
        as_of = date.fromisoformat(day)
        scored = (
            scored_as_served(as_pandas(batch), model, spec, recent_outcomes, as_of, made_by)
            for batch in batches
        )
        rows = write_frames(scored, spool, no_predictions())
        means = pl.scan_parquet(spool).select(pl.col("score", "predicted").mean()).collect()
        context.log.info(f"{day}: scored {rows:,} rows with version {champion.version}")
        yield dg.Output(
            SpooledTable(spool),
            metadata={
                "status": "scored",
                "model_version": str(champion.version),
                "model_trained_for": trained_for,
                "mean_score": dg.MetadataValue.float(_mean(means["score"][0])),
                "positive_rate": dg.MetadataValue.float(_mean(means["predicted"][0])),
            },
        )


def scored_as_served(
    rows: pd.DataFrame,
    model: Any,
    contract: Contract,
    recent_outcomes: pd.DataFrame,
    day: date,
    made_by: tuple[str, str, str],
) -> pd.DataFrame:
    """Clean rows of `day` scored as served, by the model `made_by` names (name, version, the day
    it was trained for): `actual` only where the label is known that day, never the label a row
    carries before its delay has passed (later labels are joined by realized_performance)."""
    known = with_known_labels(rows, None, contract, as_of=day)
    inputs = with_recent_outcomes(known, recent_outcomes, contract)
    return score_rows(model, inputs, contract, *made_by)


def _mean(value: float | None) -> float:
    return float("nan") if value is None else float(value)  # a mean of no row is not 0
