"""trained_model: a challenger trained on the days before D, promoted only if no worse.

Where the training runs is the deployment's choice (`trainer`): in the run's process, in a
local subprocess, or in an Azure ML job, the last two through Dagster Pipes.
"""

import dagster as dg

from e2e_ml.assets.partitions import LABEL_DELAY_DAYS, TRAINING_WINDOW_DAYS, daily_partitions, training_window
from e2e_ml.checks.quality import quality_spec
from e2e_ml.resources.training import Trainer
from e2e_ml.training import TrainingConfig


@dg.asset(
    partitions_def=daily_partitions,
    deps=[
        dg.AssetDep(upstream, partition_mapping=training_window)
        for upstream in ("clean_dataset", "outcomes", "recent_outcomes")
    ],
    check_specs=[quality_spec],
    group_name="train",
    description=f"Model trained on up to {TRAINING_WINDOW_DAYS} labelled days, with the labels known "
    "before the partition's day (carried in rows: after the contract's delay; delivered by the "
    "outcomes feed: from the day they landed), judged on the latest of them beside naive "
    "baselines and the model that would otherwise score the day, tracked in MLflow.",
)
def trained_model(
    context: dg.AssetExecutionContext, config: TrainingConfig, trainer: Trainer
) -> dg.MaterializeResult:
    return trainer.train(context, config, window_days=TRAINING_WINDOW_DAYS + LABEL_DELAY_DAYS)
