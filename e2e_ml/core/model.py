"""Training, evaluation and scoring: scikit-learn pipelines driven by the contract."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    log_loss,
    mean_absolute_error,
    r2_score,
    roc_auc_score,
    root_mean_squared_error,
)
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

from e2e_ml.core.contract import Contract, Task
from e2e_ml.core.features import feature_frame, labelled, split_by_time, target

# The metric that decides promotion, and whether higher is better.
PRIMARY_METRIC: dict[Task, tuple[str, bool]] = {
    "classification": ("roc_auc", True),
    "regression": ("rmse", False),
}
PREDICTION_COLUMNS = [
    "entity_id",
    "event_time",
    "score",
    "predicted",
    "actual",
    "model_name",
    "model_version",
]


@dataclass(frozen=True)
class TrainingParams:
    max_iter: int = 100
    learning_rate: float = 0.05
    max_leaf_nodes: int = 8
    random_state: int = 0


@dataclass
class TrainedModel:
    model: Pipeline
    metrics: dict[str, float]
    baseline: dict[str, float]
    train_rows: int
    holdout_rows: int
    holdout: pd.DataFrame  # the evaluation rows, kept to judge the champion on the same data


def build_model(contract: Contract, params: TrainingParams) -> Pipeline:
    encode = ColumnTransformer(
        [
            ("numeric", "passthrough", contract.numeric_features),
            (
                "categorical",
                OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                contract.categorical_features,
            ),
        ]
    )
    options: dict[str, Any] = {
        "max_iter": params.max_iter,
        "learning_rate": params.learning_rate,
        "max_leaf_nodes": params.max_leaf_nodes,
        "early_stopping": False,
        "random_state": params.random_state,
    }
    estimator = (
        HistGradientBoostingClassifier(**options)
        if contract.roles.task == "classification"
        else HistGradientBoostingRegressor(**options)
    )
    return Pipeline([("encode", encode), ("estimator", estimator)])


def train(clean: pd.DataFrame, contract: Contract, params: TrainingParams) -> TrainedModel:
    """Fit on all labelled days but the latest; evaluate on the latest, beside a naive baseline."""
    train_rows, holdout = split_by_time(labelled(clean, contract), contract)
    y_train = target(train_rows, contract)
    if contract.roles.task == "classification" and y_train.nunique() < 2:
        raise ValueError("training rows hold a single class; a classifier cannot be fitted")
    model = build_model(contract, params).fit(feature_frame(train_rows, contract), y_train)
    return TrainedModel(
        model=model,
        metrics=evaluate(model, holdout, contract),
        baseline=baseline_metrics(y_train, target(holdout, contract), contract.roles.task),
        train_rows=len(train_rows),
        holdout_rows=len(holdout),
        holdout=holdout,
    )


def predict_scores(model: Any, rows: pd.DataFrame, contract: Contract) -> np.ndarray:
    """Probability of the positive class, or the predicted value for regression."""
    features = feature_frame(rows, contract)
    if contract.roles.task == "classification":
        return np.asarray(model.predict_proba(features))[:, 1]
    return np.asarray(model.predict(features), dtype=float)


def evaluate(model: Any, rows: pd.DataFrame, contract: Contract) -> dict[str, float]:
    return metrics_for(target(rows, contract), predict_scores(model, rows, contract), contract.roles.task)


def metrics_for(actual: pd.Series | np.ndarray, scores: np.ndarray, task: Task) -> dict[str, float]:
    actual = np.asarray(actual)
    if task == "regression":
        return {
            "mae": float(mean_absolute_error(actual, scores)),
            "rmse": float(root_mean_squared_error(actual, scores)),
            "r2": float(r2_score(actual, scores)) if len(actual) > 1 else float("nan"),
        }
    clipped = np.clip(scores, 1e-6, 1 - 1e-6)
    both_classes = len(np.unique(actual)) == 2
    return {
        "roc_auc": float(roc_auc_score(actual, scores)) if both_classes else float("nan"),
        "pr_auc": float(average_precision_score(actual, scores)) if both_classes else float("nan"),
        "log_loss": float(log_loss(actual, clipped, labels=[0, 1])),
        "brier": float(brier_score_loss(actual, scores)),
        "calibration_error": calibration_error(actual, scores),
        "positive_rate": float(actual.mean()),
    }


def calibration_error(actual: np.ndarray, scores: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error: how far predicted probabilities sit from observed rates."""
    which = np.minimum((np.asarray(scores) * bins).astype(int), bins - 1)
    total = 0.0
    for b in np.unique(which):
        members = which == b
        total += members.sum() * abs(float(np.mean(scores[members])) - float(np.mean(actual[members])))
    return total / len(actual) if len(actual) else float("nan")


def baseline_metrics(y_train: pd.Series, y_holdout: pd.Series, task: Task) -> dict[str, float]:
    """The score of always predicting the training mean: what a model must beat to be useful."""
    constant = np.full(len(y_holdout), float(y_train.mean()))
    return metrics_for(y_holdout, constant, task)


def is_no_worse(challenger: float, champion: float, task: Task, tolerance: float) -> bool:
    """Promotion rule on the primary metric, with `tolerance` of slack in the bad direction."""
    _, higher_is_better = PRIMARY_METRIC[task]
    if np.isnan(champion):
        return True
    if higher_is_better:
        return challenger >= champion - tolerance
    return challenger <= champion + tolerance


def beats(value: float, reference: float, task: Task) -> bool:
    """Strictly better on the primary metric: a model must beat the naive baseline to be of use."""
    return value != reference and is_no_worse(value, reference, task, tolerance=0.0)


@dataclass(frozen=True)
class Promotion:
    promoted: bool
    reason: str


def decide_promotion(
    metric: str,
    value: float,
    baseline: float,
    champion: float,
    task: Task,
    tolerance: float,
    pinned: bool = False,
    champion_is_newer: bool = False,
) -> Promotion:
    """Whether a challenger takes the champion alias, and why (not)."""
    if not beats(value, baseline, task):
        return Promotion(False, f"{metric} does not beat the naive baseline")
    if champion_is_newer:
        return Promotion(False, "the champion was trained for a later day")
    if not is_no_worse(value, champion, task, tolerance):
        return Promotion(False, f"{metric} worse than the champion's")
    if pinned:
        return Promotion(False, "champion is pinned")
    return Promotion(True, "no worse than the champion" if champion == champion else "no champion yet")


def score_rows(
    model: Any, rows: pd.DataFrame, contract: Contract, model_name: str, model_version: str
) -> pd.DataFrame:
    """Predictions in the fixed schema every contract shares."""
    scores = predict_scores(model, rows, contract) if len(rows) else np.array([], dtype=float)
    predicted = (scores >= 0.5).astype(float) if contract.roles.task == "classification" else scores
    return pd.DataFrame(
        {
            "entity_id": rows[contract.roles.id].astype(str).to_numpy(),
            "event_time": rows[contract.roles.event_time].to_numpy(),
            "score": scores,
            "predicted": predicted,
            "actual": rows[contract.roles.target].astype("float64").to_numpy(),
            "model_name": model_name,
            "model_version": str(model_version),
        },
        columns=PREDICTION_COLUMNS,
    )
