"""trained_model: a challenger trained on the days before D, promoted only if no worse."""

import hashlib

import dagster as dg
import pandas as pd

from e2e_ml.assets.partitions import GRAPH_SETTINGS, daily_partitions, training_window
from e2e_ml.checks.quality import nothing_trained, quality_result, quality_spec
from e2e_ml.core.features import event_days, feature_frame, labelled
from e2e_ml.core.model import PRIMARY_METRIC, TrainingParams, decide_promotion, evaluate, train
from e2e_ml.resources.contract import DataContract
from e2e_ml.resources.tracking import MlflowTracking


class TrainingConfig(dg.Config):
    max_iter: int = TrainingParams.max_iter
    learning_rate: float = TrainingParams.learning_rate
    max_leaf_nodes: int = TrainingParams.max_leaf_nodes
    random_state: int = TrainingParams.random_state
    promotion_tolerance: float = 0.005  # how much worse than the champion still counts as no worse
    regression_margin: float = 0.02  # worse than the champion by more than this raises an alert
    min_training_days: int = 2  # labelled days needed: at least one to learn from, one to judge on


@dg.asset(
    partitions_def=daily_partitions,
    ins={"clean_dataset": dg.AssetIn(partition_mapping=training_window)},
    check_specs=[quality_spec],
    group_name="train",
    description=f"Model trained on up to {GRAPH_SETTINGS.training_window_days} clean days before "
    "the partition's day, evaluated on the latest of them, tracked in MLflow.",
)
def trained_model(
    context: dg.AssetExecutionContext,
    config: TrainingConfig,
    clean_dataset: pd.DataFrame,
    contract: DataContract,
    mlflow: MlflowTracking,
) -> dg.MaterializeResult:
    spec = contract.load()
    history = labelled(clean_dataset, spec) if len(clean_dataset) else clean_dataset
    days = sorted(event_days(history, spec).unique()) if len(history) else []
    if len(days) < config.min_training_days:
        context.log.warning(
            f"{context.partition_key}: {len(days)} labelled day(s) before it, "
            f"{config.min_training_days} needed; no model trained"
        )
        return dg.MaterializeResult(
            metadata={"status": "insufficient history", "days": len(days)},
            check_results=[nothing_trained(f"{len(days)} labelled day(s) of history")],
        )

    params = TrainingParams(
        max_iter=config.max_iter,
        learning_rate=config.learning_rate,
        max_leaf_nodes=config.max_leaf_nodes,
        random_state=config.random_state,
    )
    result = train(history, spec, params)
    metric, _ = PRIMARY_METRIC[spec.roles.task]
    champion = mlflow.champion(contract.model_name)
    champion_day = mlflow.trained_for(champion) if champion else None
    # Re-running an old day: a champion trained for a later day has seen this holdout; no fair
    # comparison exists, and an older day's model must not replace a newer one.
    newer_champion = champion_day is not None and champion_day > context.partition_key
    champion_metrics = (
        evaluate(mlflow.load(contract.model_name, champion.version), result.holdout, spec)
        if champion and not newer_champion
        else {}
    )
    logged = mlflow.log_model(
        model=result.model,
        model_name=contract.model_name,
        input_example=feature_frame(result.holdout.head(5), spec),
        params={
            **vars(params),
            "window_start": str(days[0]),
            "window_end": str(days[-1]),
            "train_rows": result.train_rows,
            "holdout_rows": result.holdout_rows,
            "data_digest": _digest(history),
        },
        metrics={
            **result.metrics,
            **{f"baseline_{k}": v for k, v in result.baseline.items()},
            **{f"champion_{k}": v for k, v in champion_metrics.items()},
        },
        tags={
            "dagster/run_id": context.run.run_id,
            "dagster/partition": context.partition_key,
            "contract": spec.name,
        },
        run_name=f"{spec.name}-{context.partition_key}",
    )
    promotion = decide_promotion(
        metric,
        result.metrics[metric],
        result.baseline[metric],
        champion_metrics.get(metric, float("nan")),
        spec.roles.task,
        config.promotion_tolerance,
        pinned=mlflow.is_pinned(contract.model_name),
        champion_is_newer=newer_champion,
    )
    if promotion.promoted:
        mlflow.promote(contract.model_name, logged.version)
    decision = (
        f"version {logged.version} promoted to champion ({promotion.reason})"
        if promotion.promoted
        else f"version {logged.version} not promoted ({promotion.reason}); "
        + (f"champion stays version {champion.version}" if champion else "no champion yet")
    )
    mlflow.tag_version(
        contract.model_name,
        logged.version,
        {"promoted": str(promotion.promoted).lower(), "decision": decision},
    )
    context.log.info(f"{context.partition_key}: {metric} {result.metrics[metric]:.4f}; {decision}")
    quality = quality_result(
        result.metrics, result.baseline, champion_metrics, spec.roles.task, config.regression_margin
    )
    return dg.MaterializeResult(
        check_results=[quality],
        metadata={
            "status": "promoted" if promotion.promoted else "rejected",
            "model_version": logged.version,
            "mlflow_run": dg.MetadataValue.url(logged.run_url),
            metric: dg.MetadataValue.float(result.metrics[metric]),
            f"champion_{metric}": dg.MetadataValue.float(champion_metrics.get(metric, float("nan"))),
            f"baseline_{metric}": dg.MetadataValue.float(result.baseline[metric]),
            "train_rows": result.train_rows,
            "holdout_rows": result.holdout_rows,
            "window": f"{days[0]} .. {days[-1]}",
            "decision": decision,
        },
    )


def _digest(frame: pd.DataFrame) -> str:
    """A fingerprint of the exact rows a model saw, to tell two trainings' data apart."""
    return hashlib.sha256(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes()).hexdigest()[
        :16
    ]
