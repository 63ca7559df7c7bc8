"""The backtest table: what the pipeline served each day, judged on every label known now.

Each day's predictions are out of sample by construction (the model scoring day D learned only
from labels known before D), so the labels known today judge them fairly. Beside them, the naive
baselines a data scientist compares with, each day learned from the labels known before that
day only: the window's constant rate (or mean), and the rate per segment of each single input
(the best of them chosen in hindsight over the whole range, which flatters the baseline).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from e2e_ml.core.baselines import fit_segment_rates
from e2e_ml.core.contract import Contract, Task
from e2e_ml.core.features import event_days, feature_frame, target
from e2e_ml.core.labels import KNOWN_ON
from e2e_ml.core.model import PRIMARY_METRIC, metrics_for
from e2e_ml.core.performance import MIN_LABELLED_ROWS

BACKTEST_COLUMNS = [
    "day",
    "rows",
    "labelled_rows",
    "model_version",
    "model_trained_for",
    "fallback",
    "promoted",
    "model",
    "baseline_constant",
    "baseline_segment",
]


@dataclass(frozen=True)
class Backtest:
    table: pd.DataFrame
    summary: dict[str, Any]


def backtest(
    served: pd.DataFrame,
    labelled: pd.DataFrame,
    promoted_days: set[date],
    days: list[date],
    contract: Contract,
    window_days: int,
) -> Backtest:
    """`served`: the predictions as served, with `actual` holding every label known now.
    `labelled`: clean rows with their labels and `KNOWN_ON` (the day each label became known).
    `promoted_days`: the days whose challenger was promoted."""
    metric, _ = PRIMARY_METRIC[contract.roles.task]
    task = contract.roles.task
    served_days = pd.to_datetime(served["event_time"], utc=True).dt.tz_convert(contract.time.zone).dt.date
    naive = _naive_by_day(labelled, days, contract, window_days)
    best_segment = _best_in_hindsight(naive, metric, task)
    rows = []
    pooled: dict[str, tuple[list[np.ndarray], list[np.ndarray]]] = {
        "model": ([], []),
        "baseline_constant": ([], []),
        "baseline_segment": ([], []),
    }
    for day in days:
        today = served[(served_days == day).to_numpy()]
        known = today[today["actual"].notna()]
        versions = sorted(today["model_version"].astype(str).unique(), key=int)
        trained_for = sorted(today["model_trained_for"].astype(str).unique())
        figures = {"model": _metric(known["actual"], known["score"], task, metric)}
        if len(known):
            pooled["model"][0].append(known["actual"].to_numpy(dtype=float))
            pooled["model"][1].append(known["score"].to_numpy(dtype=float))
        for name, column in (("baseline_constant", "constant"), ("baseline_segment", best_segment)):
            actual, scores = naive.get(day, {}).get(column, (np.array([]), np.array([])))
            figures[name] = _metric(actual, scores, task, metric)
            if len(actual):
                pooled[name][0].append(actual)
                pooled[name][1].append(scores)
        rows.append(
            {
                "day": day,
                "rows": len(today),
                "labelled_rows": len(known),
                "model_version": ",".join(versions),
                "model_trained_for": ",".join(trained_for),
                "fallback": bool(len(today)) and trained_for != [day.isoformat()],
                "promoted": day in promoted_days,
                **figures,
            }
        )
    table = pd.DataFrame(rows, columns=BACKTEST_COLUMNS)
    scored = table[table["rows"] > 0]
    summary: dict[str, Any] = {
        "days": f"{days[0]} .. {days[-1]}",
        "metric": metric,
        **{
            f"pooled_{name}": round(_metric(np.concatenate(a), np.concatenate(s), task, metric), 4)
            if a
            else None
            for name, (a, s) in pooled.items()
        },
        "best_segment": best_segment,
        "days_scored": len(scored),
        "days_without_predictions": int((table["rows"] == 0).sum()),
        "fallback_days": int(scored["fallback"].sum()),
        "promotions": int(table["promoted"].sum()),
        "model_versions_served": len(set(",".join(scored["model_version"]).split(",")) - {""}),
    }
    return Backtest(table, summary)


def _naive_by_day(
    labelled: pd.DataFrame, days: list[date], contract: Contract, window_days: int
) -> dict[date, dict[str, tuple[np.ndarray, np.ndarray]]]:
    """Per day: the day's labels and each naive baseline's scores for them, learned from the
    labels known before the day, of the `window_days` labelled days before it."""
    if labelled.empty:
        return {}
    row_days = event_days(labelled, contract)
    known_on = pd.to_datetime(labelled[KNOWN_ON]).dt.date
    # The naive baselines read single inputs only; recent-outcome inputs are the model's own.
    inputs = feature_frame(labelled.assign(**dict.fromkeys(contract.recent_inputs, np.nan)), contract)
    y = target(labelled, contract).astype("float64")
    result: dict[date, dict[str, tuple[np.ndarray, np.ndarray]]] = {}
    for day in days:
        window = (known_on < day) & (row_days >= day - timedelta(days=window_days)) & (row_days < day)
        today = row_days == day
        if not window.any() or not today.any():
            continue
        actual = y[today].to_numpy()
        result[day] = {"constant": (actual, np.full(len(actual), float(y[window].mean())))}
        for column in contract.roles.features:
            rates = fit_segment_rates(inputs[window], y[window], (column,))
            result[day][column] = (actual, rates.score(inputs[today]))
    return result


def _best_in_hindsight(naive: dict, metric: str, task: Task) -> str:
    pooled: dict[str, tuple[list, list]] = {}
    for per_day in naive.values():
        for name, (actual, scores) in per_day.items():
            if name != "constant":
                pooled.setdefault(name, ([], []))[0].append(actual)
                pooled[name][1].append(scores)
    figures = {
        name: _metric(np.concatenate(a), np.concatenate(s), task, metric) for name, (a, s) in pooled.items()
    }
    judged = {name: value for name, value in figures.items() if value == value}  # NaN: not judged
    if not judged:
        return "constant"
    higher_is_better = PRIMARY_METRIC[task][1]
    return (max if higher_is_better else min)(judged, key=judged.__getitem__)


def _metric(actual: ArrayLike, scores: ArrayLike, task: Task, metric: str) -> float:
    actual, scores = np.asarray(actual, dtype=float), np.asarray(scores, dtype=float)
    if len(actual) < MIN_LABELLED_ROWS or (task == "classification" and len(np.unique(actual)) < 2):
        return float("nan")
    return metrics_for(actual, scores, task).get(metric, float("nan"))
