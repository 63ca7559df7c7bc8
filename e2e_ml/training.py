"""Training a day's challenger: the work of trained_model, wherever it runs.

The same function runs in the run's own process, in a local subprocess, or in an Azure ML job
(`e2e_ml.train_job`, through Dagster Pipes): it reads the training window from the lake, trains,
judges, logs and registers the model in MLflow, moves the champion alias, and returns what the
materialization and its quality check say. No asset context: only what it is handed.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import date, timedelta

import dagster as dg
import pandas as pd

from e2e_ml.checks.history import read_sample
from e2e_ml.checks.quality import nothing_trained, quality_result
from e2e_ml.core.features import event_days, feature_frame
from e2e_ml.core.labels import labels_known_by
from e2e_ml.core.model import (
    PRIMARY_METRIC,
    Promotion,
    TrainingParams,
    decide_promotion,
    diagnostic_segment,
    evaluate,
    feature_importance,
    segment_quality,
    train,
)
from e2e_ml.core.recent import with_recent_outcomes
from e2e_ml.resources.contract import DataContract
from e2e_ml.resources.storage import StorageLocation
from e2e_ml.resources.tracking import PROMOTED, TRAINED_FOR, MlflowTracking


class TrainingConfig(dg.Config):
    """Run-time choices; hyperparameters left empty come from the contract, then the defaults."""

    max_iter: int | None = None
    learning_rate: float | None = None
    max_leaf_nodes: int | None = None
    min_samples_leaf: int | None = None
    l2_regularization: float | None = None
    random_state: int | None = None
    promotion_tolerance: float = 0.005  # how much worse than the champion still counts as no worse
    regression_margin: float = 0.02  # worse than the champion by more than this raises an alert
    min_training_days: int = 2  # labelled days needed: at least one to learn from, one to judge on


def window_keys(day: str, window_days: int) -> list[str]:
    """The partitions a model for `day` reads: the `window_days` days before it."""
    first = date.fromisoformat(day)
    return [(first - timedelta(days=back)).isoformat() for back in range(window_days, 0, -1)]


def train_day(
    day: str,
    config: TrainingConfig,
    window_days: int,
    lake: StorageLocation,
    contract: DataContract,
    mlflow: MlflowTracking,
    run_id: str,
    log: logging.Logger | dg.DagsterLogManager,
) -> dg.MaterializeResult:
    """Train, judge and track the challenger for `day` on the labels known before it."""
    keys, spec = window_keys(day, window_days), contract.load()
    clean_dataset = read_sample(lake, "clean_dataset", keys, None, spec.training.max_rows_per_day)[0]
    outcomes = lake.read_partitions("outcomes", keys)[0]
    recent_outcomes = lake.read_partitions("recent_outcomes", keys)[0]
    history = (
        with_recent_outcomes(
            labels_known_by(clean_dataset, outcomes, spec, date.fromisoformat(day)),
            recent_outcomes,
            spec,
            offered_days_only=True,
        )
        if len(clean_dataset)
        else clean_dataset
    )
    days = sorted(event_days(history, spec).unique()) if len(history) else []
    if len(days) < config.min_training_days:
        log.warning(
            f"{day}: {len(days)} labelled day(s) before it, {config.min_training_days} needed; "
            "no model trained"
        )
        return dg.MaterializeResult(
            metadata={"status": "insufficient history", "days": len(days)},
            check_results=[nothing_trained(f"{len(days)} labelled day(s) of history")],
        )

    params = TrainingParams.for_contract(
        spec,
        max_iter=config.max_iter,
        learning_rate=config.learning_rate,
        max_leaf_nodes=config.max_leaf_nodes,
        min_samples_leaf=config.min_samples_leaf,
        l2_regularization=config.l2_regularization,
        random_state=config.random_state,
    )
    result = train(history, spec, params)
    metric, _ = PRIMARY_METRIC[spec.roles.task]
    # The challenger is judged against the model that would otherwise score this day; that model
    # never saw the holdout day (it was trained for this day or earlier), so the comparison is fair.
    incumbent = mlflow.champion_for(contract.model_name, day)
    incumbent_metrics = (
        evaluate(mlflow.load(contract.model_name, incumbent.version), result.holdout, spec)
        if incumbent
        else {}
    )
    importance = feature_importance(result.model, result.holdout, spec)
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
            "baseline_segments": ",".join(result.segments),
        },
        metrics={
            **result.metrics,
            **{f"baseline_{k}": v for k, v in result.baseline.items()},
            **{f"baseline_{name}_{k}": v for name, b in result.baselines.items() for k, v in b.items()},
            **{f"champion_{k}": v for k, v in incumbent_metrics.items()},
        },
        tags={"dagster/run_id": run_id, "dagster/partition": day, "contract": spec.name},
        run_name=f"{spec.name}-{day}",
        version_tags={TRAINED_FOR: day},
        tables={
            "feature_importance": importance,
            "segment_quality": segment_quality(
                result.model, result.holdout, spec, diagnostic_segment(importance, result.holdout, spec)
            ),
        },
    )
    promotion = decide_promotion(
        metric,
        result.metrics[metric],
        result.baseline[metric],
        incumbent_metrics.get(metric, float("nan")),
        spec.roles.task,
        config.promotion_tolerance,
        pinned=mlflow.is_pinned(contract.model_name),
    )
    alias_holder = mlflow.champion(contract.model_name)
    holder_day = mlflow.trained_for(alias_holder) if alias_holder else None
    moves_alias = promotion.promoted and (holder_day is None or holder_day <= day)
    if moves_alias:
        mlflow.promote(contract.model_name, logged.version)
    decision = _decision(
        logged.version, promotion, moves_alias, incumbent.version if incumbent else None, day
    )
    mlflow.tag_version(
        contract.model_name,
        logged.version,
        {PROMOTED: str(promotion.promoted).lower(), "decision": decision},
    )
    log.info(f"{day}: {metric} {result.metrics[metric]:.4f}; {decision}")
    quality = quality_result(
        result.metrics,
        result.baseline,
        incumbent_metrics,
        spec.roles.task,
        config.regression_margin,
        champion_version=str(incumbent.version) if incumbent else None,
        constant=result.baselines["constant"],
    )
    return dg.MaterializeResult(
        check_results=[quality],
        metadata={
            "status": "promoted" if promotion.promoted else "rejected",
            "model_version": logged.version,
            "mlflow_run": dg.MetadataValue.url(logged.run_url),
            metric: dg.MetadataValue.float(result.metrics[metric]),
            f"champion_{metric}": dg.MetadataValue.float(incumbent_metrics.get(metric, float("nan"))),
            f"baseline_{metric}": dg.MetadataValue.float(result.baseline[metric]),
            f"baseline_constant_{metric}": dg.MetadataValue.float(result.baselines["constant"][metric]),
            f"baseline_segment_{metric}": dg.MetadataValue.float(result.baselines["segment"][metric]),
            "baseline_segments": ", ".join(result.segments),
            "train_rows": result.train_rows,
            "holdout_rows": result.holdout_rows,
            "window": f"{days[0]} .. {days[-1]}",
            "decision": decision,
        },
    )


def _decision(version: str, promotion: Promotion, moves_alias: bool, incumbent: str | None, day: str) -> str:
    if moves_alias:
        return f"version {version} promoted to champion ({promotion.reason})"
    if promotion.promoted:
        return (
            f"version {version} promoted for {day} ({promotion.reason}); the champion alias stays on a "
            "version trained for a later day"
        )
    stays = f"version {incumbent} scores the day" if incumbent else "no model scores the day"
    return f"version {version} not promoted ({promotion.reason}); {stays}"


def _digest(frame: pd.DataFrame) -> str:
    """A fingerprint of the exact rows a model saw, to tell two trainings' data apart."""
    return hashlib.sha256(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes()).hexdigest()[
        :16
    ]
