"""Training, evaluation and scoring: scikit-learn pipelines driven by the contract."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.impute import SimpleImputer
from sklearn.inspection import permutation_importance
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    log_loss,
    mean_absolute_error,
    r2_score,
    roc_auc_score,
    root_mean_squared_error,
)
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OrdinalEncoder

from e2e_ml.core.baselines import bin_label, decile_edges, fit_segment_rates, segment_keys
from e2e_ml.core.contract import Contract, Task
from e2e_ml.core.features import event_days, feature_frame, labelled, split_by_time, target

# The metric that decides promotion, and whether higher is better.
PRIMARY_METRIC: dict[Task, tuple[str, bool]] = {
    "classification": ("roc_auc", True),
    "regression": ("rmse", False),
}
# The fixed schema of daily_predictions, typed so that every partition, an empty one too, has the
# same Parquet schema (readers of the whole folder, DuckDB and Power BI, need one).
PREDICTION_DTYPES = {
    "entity_id": "string",
    "event_time": "datetime64[ns, UTC]",
    "score": "float64",
    "predicted": "float64",
    "actual": "float64",
    "model_name": "string",
    "model_version": "string",
    "model_trained_for": "string",
}
PREDICTION_COLUMNS = list(PREDICTION_DTYPES)
# Categories beyond the most frequent ones share one code, so a feature with thousands of values
# (a device id, say) costs the model no more than one with 250; values unseen in training are missing.
MAX_CATEGORIES = 250


@dataclass(frozen=True)
class TrainingParams:
    max_iter: int = 100
    learning_rate: float = 0.05
    max_leaf_nodes: int = 8
    min_samples_leaf: int = 20
    l2_regularization: float = 0.0
    random_state: int = 0

    @classmethod
    def for_contract(cls, contract: Contract, **chosen: float | None) -> TrainingParams:
        """The contract's hyperparameters over the defaults, and what a run chose over both."""
        given = {**contract.training.params, **{k: v for k, v in chosen.items() if v is not None}}
        fields = cls.__dataclass_fields__
        unknown = sorted(set(given) - set(fields))
        if unknown:
            raise ValueError(f"unknown training parameters {unknown}; expected some of {sorted(fields)}")
        return cls(**{name: type(getattr(cls(), name))(value) for name, value in given.items()})


@dataclass
class TrainedModel:
    model: Pipeline
    task: Task
    metrics: dict[str, float]
    baselines: dict[str, dict[str, float]]  # "constant" and "segment", on the holdout day
    segments: tuple[str, ...]  # the segment baseline's columns
    train_rows: int
    holdout_rows: int
    holdout: pd.DataFrame  # the evaluation rows, kept to judge the champion on the same data

    @property
    def baseline(self) -> dict[str, float]:
        """The stronger naive baseline on the primary metric: the one a model must beat."""
        metric, _ = PRIMARY_METRIC[self.task]
        constant, segment = self.baselines["constant"], self.baselines["segment"]
        return segment if is_no_worse(segment[metric], constant[metric], self.task, 0.0) else constant


def build_model(contract: Contract, params: TrainingParams) -> Pipeline:
    """Gradient-boosted trees on the contract's inputs, categories native, missing values native.

    Categories come first (so the model knows their positions); a feature the contract asks to
    impute gets its fill value (and a missing indicator) learned here, so it travels with the model.
    """
    categorical = contract.categorical_features
    numeric = [c for c in contract.model_inputs if c not in categorical]
    impute = contract.training.impute
    encode = OrdinalEncoder(
        handle_unknown="use_encoded_value",
        unknown_value=-1,
        encoded_missing_value=-1,  # negative codes are "missing" to the model
        max_categories=MAX_CATEGORIES,
    )
    transformers: list[tuple[str, Any, list[str]]] = [
        ("categorical", encode, [c for c in categorical if c not in impute]),
        (
            "categorical_imputed",
            make_pipeline(SimpleImputer(strategy="most_frequent"), clone(encode)),
            [c for c in categorical if c in impute],
        ),
        ("numeric", "passthrough", [c for c in numeric if c not in impute]),
    ]
    for strategy in sorted({impute[c] for c in numeric if c in impute}):
        columns = [c for c in numeric if impute.get(c) == strategy]
        transformers.append(
            (f"imputed_{strategy}", SimpleImputer(strategy=strategy, add_indicator=True), columns)
        )
    options: dict[str, Any] = {
        "max_iter": params.max_iter,
        "learning_rate": params.learning_rate,
        "max_leaf_nodes": params.max_leaf_nodes,
        "min_samples_leaf": params.min_samples_leaf,
        "l2_regularization": params.l2_regularization,
        "early_stopping": False,
        "random_state": params.random_state,
        "categorical_features": list(range(len(categorical))) or None,
    }
    estimator = (
        HistGradientBoostingClassifier(**options)
        if contract.roles.task == "classification"
        else HistGradientBoostingRegressor(**options)
    )
    kept = [t for t in transformers if t[2]]
    return Pipeline([("encode", ColumnTransformer(kept)), ("estimator", estimator)])


def train(clean: pd.DataFrame, contract: Contract, params: TrainingParams) -> TrainedModel:
    """Fit on all labelled days but the latest; evaluate on the latest, beside naive baselines."""
    train_rows, holdout = split_by_time(labelled(clean, contract), contract)
    y_train = target(train_rows, contract)
    if contract.roles.task == "classification" and y_train.nunique() < 2:
        raise ValueError("training rows hold a single class; a classifier cannot be fitted")
    inputs = feature_frame(train_rows, contract)
    model = build_model(contract, params).fit(inputs, y_train)
    segments = contract.training.segments or most_informative_segment(
        inputs, y_train, event_days(train_rows, contract), contract.roles.task
    )
    rates = fit_segment_rates(inputs, y_train, segments)
    y_holdout, task = target(holdout, contract), contract.roles.task
    return TrainedModel(
        model=model,
        task=task,
        metrics=evaluate(model, holdout, contract),
        baselines={
            "constant": metrics_for(y_holdout, np.full(len(holdout), float(y_train.mean())), task),
            "segment": metrics_for(y_holdout, rates.score(feature_frame(holdout, contract)), task),
        },
        segments=tuple(segments),
        train_rows=len(train_rows),
        holdout_rows=len(holdout),
        holdout=holdout,
    )


def most_informative_segment(
    inputs: pd.DataFrame, y: pd.Series, days: pd.Series, task: Task
) -> tuple[str, ...]:
    """The input whose per-segment rate best predicts the latest training day from the days
    before it: chosen on training days only, so the holdout day stays unseen."""
    judged = (days == days.max()).to_numpy()
    learned = ~judged if (~judged).any() else judged  # a single day: judged in-sample
    metric, higher_is_better = PRIMARY_METRIC[task]
    values = {}
    for column in inputs.columns:
        rates = fit_segment_rates(inputs[learned], y[learned], (column,))
        value = metrics_for(y[judged], rates.score(inputs[judged]), task)[metric]
        if value == value:
            values[column] = value
    if not values:
        return (str(inputs.columns[0]),)
    return (str((max if higher_is_better else min)(values, key=values.__getitem__)),)


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
) -> Promotion:
    """Whether a challenger is promoted for its day, and why (not)."""
    if not beats(value, baseline, task):
        return Promotion(False, f"{metric} does not beat the naive baseline")
    if not is_no_worse(value, champion, task, tolerance):
        return Promotion(False, f"{metric} worse than the champion's")
    if pinned:
        return Promotion(False, "champion is pinned")
    return Promotion(True, "no worse than the champion" if champion == champion else "no champion yet")


def score_rows(
    model: Any,
    rows: pd.DataFrame,
    contract: Contract,
    model_name: str,
    model_version: str,
    model_trained_for: str,
) -> pd.DataFrame:
    """Predictions in the fixed schema every contract shares, each naming the model that made it
    and the day that model was trained for (it learned only from days before that one)."""
    scores = predict_scores(model, rows, contract) if len(rows) else np.array([], dtype=float)
    predicted = (scores >= 0.5).astype(float) if contract.roles.task == "classification" else scores
    return pd.DataFrame(
        {
            "entity_id": rows[contract.roles.id].astype(str).to_numpy(),
            "event_time": rows[contract.roles.event_time].array,
            "score": scores,
            "predicted": predicted,
            "actual": rows[contract.roles.target].astype("float64").to_numpy(),
            "model_name": model_name,
            "model_version": str(model_version),
            "model_trained_for": model_trained_for,
        },
        columns=PREDICTION_COLUMNS,
    ).astype(PREDICTION_DTYPES)


def no_predictions() -> pd.DataFrame:
    return pd.DataFrame(columns=PREDICTION_COLUMNS).astype(PREDICTION_DTYPES)


DIAGNOSTIC_ROWS = 20_000  # holdout rows sampled for diagnostics: bounded cost on large days


def feature_importance(model: Any, holdout: pd.DataFrame, contract: Contract) -> pd.DataFrame:
    """Permutation importance on the holdout day: how much the primary metric worsens when one
    input's values are shuffled (0: the model does not use it)."""
    rows = holdout.sample(min(len(holdout), DIAGNOSTIC_ROWS), random_state=0)
    y = target(rows, contract)
    columns = ["feature", "importance", "importance_std"]
    if contract.roles.task == "classification" and y.nunique() < 2:
        return pd.DataFrame(columns=columns)
    scoring = "roc_auc" if contract.roles.task == "classification" else "neg_root_mean_squared_error"
    found = permutation_importance(
        model, feature_frame(rows, contract), y, scoring=scoring, n_repeats=3, random_state=0
    )
    frame = pd.DataFrame(
        {
            "feature": contract.model_inputs,
            "importance": found.importances_mean,
            "importance_std": found.importances_std,
        },
        columns=columns,
    )
    return frame.sort_values("importance", ascending=False, ignore_index=True)


MAX_DIAGNOSTIC_SEGMENTS = 50  # a category with more values than this says little per value in a day


def diagnostic_segment(importance: pd.DataFrame, holdout: pd.DataFrame, contract: Contract) -> str:
    """The input to break quality down by: the most important one that splits a day into
    readable segments (a number, cut into deciles, or a category of few values)."""
    inputs = feature_frame(holdout, contract)
    for column in [*importance["feature"], *contract.model_inputs]:
        if column in contract.categorical_features and inputs[column].nunique() > MAX_DIAGNOSTIC_SEGMENTS:
            continue
        return str(column)
    return contract.model_inputs[0]


def segment_quality(model: Any, holdout: pd.DataFrame, contract: Contract, column: str) -> pd.DataFrame:
    """The primary metric on the holdout day per value (or decile) of `column`: where the model errs."""
    metric, _ = PRIMARY_METRIC[contract.roles.task]
    inputs = feature_frame(holdout, contract)
    edges = {column: decile_edges(inputs[column])} if pd.api.types.is_numeric_dtype(inputs[column]) else {}
    frame = pd.DataFrame(
        {
            "segment": segment_keys(inputs, (column,), edges).to_numpy(),
            "actual": target(holdout, contract).to_numpy(dtype=float),
            "score": predict_scores(model, holdout, contract),
        }
    )
    rows = []
    for segment, group in frame.groupby("segment", sort=True):
        found = metrics_for(group["actual"].to_numpy(), group["score"].to_numpy(), contract.roles.task)
        rows.append(
            {
                "segment_column": column,
                "segment": bin_label(str(segment), edges[column]) if edges else str(segment),
                "rows": len(group),
                "actual_mean": float(group["actual"].mean()),
                "score_mean": float(group["score"].mean()),
                metric: found[metric],
            }
        )
    columns = ["segment_column", "segment", "rows", "actual_mean", "score_mean", metric]
    return pd.DataFrame(rows, columns=columns).sort_values("rows", ascending=False, ignore_index=True)
