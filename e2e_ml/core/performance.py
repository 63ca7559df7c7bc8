"""How served predictions did: realized once their labels are in, estimated while they are not.

The estimate is confidence-based performance estimation (CBPE, as NannyML describes it): a
calibrated probability p is the chance that the row is positive, so the expected confusion
matrix at every threshold, and with it the expected ROC curve, follows from the scores alone.
It holds while the model stays calibrated: it sees a model whose scores lose their spread
(covariate shift, a population the model cannot tell apart), not a changed relation between
inputs and label (concept drift), which only realized performance shows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from e2e_ml.core.contract import Task
from e2e_ml.core.model import PRIMARY_METRIC, metrics_for

MIN_LABELLED_ROWS = 30  # fewer labels than this give no realized figure for a day and version
PERFORMANCE_COLUMNS = [
    "day",
    "model_version",
    "model_trained_for",
    "metric",
    "rows",
    "labelled_rows",
    "labelled_share",
    "score_mean",
    "actual_mean",
    "realized",
    "estimated",
    "holdout",
    "baseline",
    "as_of",
]


def expected_roc_auc(scores: np.ndarray) -> float:
    """The ROC AUC that calibrated `scores` should reach on their own rows (CBPE).

    Each row counts as p positive and 1 - p negative: cumulating both down the ranking gives
    the expected true and false positive rates at every threshold, and their area the AUC.
    """
    p = np.clip(np.asarray(scores, dtype=float), 0.0, 1.0)
    positives, negatives = p.sum(), (1.0 - p).sum()
    if len(p) < 2 or positives <= 0 or negatives <= 0:
        return float("nan")
    order = np.argsort(-p, kind="stable")
    ranked = p[order]
    # Tied scores form one threshold: the ROC curve takes them in one step, as roc_auc_score does.
    last_of_tie = np.r_[ranked[1:] != ranked[:-1], True]
    tpr = np.r_[0.0, np.cumsum(ranked)[last_of_tie] / positives]
    fpr = np.r_[0.0, np.cumsum(1.0 - ranked)[last_of_tie] / negatives]
    return float(np.trapezoid(tpr, fpr))


def estimated_metric(scores: np.ndarray, task: Task) -> float:
    """The primary metric estimated from scores alone; NaN where no estimate is sound (regression:
    a model's own predictions say nothing of its errors without a second model)."""
    return expected_roc_auc(scores) if task == "classification" else float("nan")


def performance_by_day(
    served: pd.DataFrame,
    task: Task,
    as_of: date,
    holdout: Mapping[str, Mapping[str, float]],
    zone: str = "UTC",
) -> pd.DataFrame:
    """One row per served day and model version: realized on the labels known by `as_of`
    (`actual`, missing where not yet known), estimated from the scores, and the version's own
    holdout and baseline figures (`holdout[version]` holds its MLflow metrics)."""
    metric, _ = PRIMARY_METRIC[task]
    if served.empty:
        return pd.DataFrame(columns=PERFORMANCE_COLUMNS)
    rows = []
    for (day, version), group in served.assign(day=served_days(served, zone)).groupby(
        ["day", "model_version"], sort=True
    ):
        known = group[group["actual"].notna()]
        scores = group["score"].to_numpy(dtype=float)
        figures = holdout.get(str(version), {})
        rows.append(
            {
                "day": day,
                "model_version": str(version),
                "model_trained_for": str(group["model_trained_for"].iloc[0]),
                "metric": metric,
                "rows": len(group),
                "labelled_rows": len(known),
                "labelled_share": len(known) / len(group),
                "score_mean": float(scores.mean()),
                "actual_mean": float(known["actual"].mean()) if len(known) else np.nan,
                "realized": _realized(known, task, metric),
                "estimated": estimated_metric(scores, task),
                "holdout": figures.get(metric, np.nan),
                "baseline": figures.get(f"baseline_{metric}", np.nan),
                "as_of": as_of,
            }
        )
    return pd.DataFrame(rows, columns=PERFORMANCE_COLUMNS)


def latest_performance(tables: list[pd.DataFrame], serving: pd.DataFrame) -> pd.DataFrame:
    """Per served day and version, the most recent figures among `tables` (later as_of wins):
    a day's row fills in as its labels land. Only versions that serve the day now count
    (`serving`: the daily summary's `date` and `model_versions`): a day re-run for a late file
    was served anew, and the figures of the predictions it replaced go with them."""
    present = [t for t in tables if len(t)]
    if not present or serving.empty:
        return pd.DataFrame(columns=PERFORMANCE_COLUMNS)
    merged = pd.concat(present, ignore_index=True)[PERFORMANCE_COLUMNS]
    merged = merged.assign(
        day=pd.to_datetime(merged["day"]).dt.date, as_of=pd.to_datetime(merged["as_of"]).dt.date
    )
    now = {
        (pd.Timestamp(day).date(), version)
        for day, versions in zip(serving["date"], serving["model_versions"], strict=True)
        for version in str(versions).split(",")
    }
    current = merged[[key in now for key in zip(merged["day"], merged["model_version"], strict=True)]]
    latest = current.sort_values("as_of", kind="stable").drop_duplicates(
        ["day", "model_version"], keep="last"
    )
    return latest.sort_values(["day", "model_version"], ignore_index=True)


def outcomes_by_day(performance: pd.DataFrame, task: Task) -> pd.DataFrame:
    """Per served day, in the daily summary's terms (`date`, `mean_score`, `actual_positive_rate`,
    `roc_auc` or `rmse`), from the labels known now: what the report's actual-vs-predicted shows."""
    labelled = performance[performance["labelled_rows"] > 0]
    if labelled.empty:
        return pd.DataFrame(columns=["date", "mean_score", "actual_positive_rate", "roc_auc", "rmse"])
    rows = []
    for day, group in labelled.groupby("day", sort=True):
        weights = group["rows"].to_numpy(dtype=float)
        labelled_weights = group["labelled_rows"].to_numpy(dtype=float)
        realized = float(np.average(group["realized"], weights=weights))
        rows.append(
            {
                "date": day,
                "mean_score": float(np.average(group["score_mean"], weights=weights)),
                "actual_positive_rate": float(np.average(group["actual_mean"], weights=labelled_weights))
                if task == "classification"
                else np.nan,
                "roc_auc": realized if task == "classification" else np.nan,
                "rmse": realized if task == "regression" else np.nan,
            }
        )
    return pd.DataFrame(rows)


def served_days(served: pd.DataFrame, zone: str) -> pd.Series:
    """The business day of each served row, in the contract's zone."""
    return pd.to_datetime(served["event_time"], utc=True).dt.tz_convert(zone).dt.date


def _realized(known: pd.DataFrame, task: Task, metric: str) -> float:
    if len(known) < MIN_LABELLED_ROWS:
        return float("nan")
    return metrics_for(known["actual"].to_numpy(), known["score"].to_numpy(dtype=float), task).get(
        metric, float("nan")
    )


@dataclass(frozen=True)
class Verdict:
    """Pooled performance of served days against what their models promised."""

    judged_on: str  # "realized" (days at least half labelled) or "estimated" (days still pending)
    figure: float  # the primary metric over the pooled rows
    promised: float  # the serving versions' holdout figures, weighted by the rows they served
    days: tuple[date, ...]
    versions: tuple[str, ...]

    def below(self, task: Task, margin: float) -> bool:
        """Worse than promised by more than `margin` (absolute for ROC AUC, relative for RMSE)."""
        if task == "classification":
            return self.figure < self.promised - margin
        return self.figure > self.promised * (1 + margin)


def pooled_verdicts(
    served: pd.DataFrame,
    performance: pd.DataFrame,
    task: Task,
    zone: str = "UTC",
    min_labelled_share: float = 0.5,
) -> list[Verdict]:
    """The followed days in two pools: those labelled enough to judge on realized figures, and
    those still pending, judged on the estimate. Pooling days evens out a single day's noise
    (and a single holdout day's), so a drop that lasts shows and one day's luck does not."""
    if performance.empty:
        return []
    metric, _ = PRIMARY_METRIC[task]
    days = served_days(served, zone)
    ready = performance["labelled_share"] >= min_labelled_share
    verdicts = []
    for judged_on, pool in (("realized", performance[ready]), ("estimated", performance[~ready])):
        pool = pool[pool["holdout"].notna()]
        if pool.empty:
            continue
        rows = served[
            served["model_version"].astype(str).isin(pool["model_version"]) & days.isin(pool["day"])
        ]
        if judged_on == "realized":
            known = rows[rows["actual"].notna()]
            figure = _realized(known, task, metric)
        else:
            figure = estimated_metric(rows["score"].to_numpy(dtype=float), task)
        if figure != figure:  # NaN: nothing sound to judge on
            continue
        promised = float(np.average(pool["holdout"], weights=pool["rows"]))
        verdicts.append(
            Verdict(
                judged_on, figure, promised, tuple(pool["day"]), tuple(sorted(set(pool["model_version"])))
            )
        )
    return verdicts
