"""Report figures computed from predictions: what was predicted each day and how it turned out."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd

from e2e_ml.core.baselines import fit_segment_rates
from e2e_ml.core.contract import Contract, Task
from e2e_ml.core.features import event_days, feature_frame, labelled, target
from e2e_ml.core.model import PRIMARY_METRIC, metrics_for

DAILY_SUMMARY_COLUMNS = [
    "date",
    "rows",
    "labelled_rows",
    "mean_score",
    "predicted_positive_rate",
    "actual_positive_rate",
    "roc_auc",
    "rmse",
    "model_versions",
]


def daily_summary(predictions: pd.DataFrame, task: Task, zone: str = "UTC") -> pd.DataFrame:
    """One row per business day (in `zone`); realised quality where the day's outcomes are known."""
    if predictions.empty:
        return pd.DataFrame(columns=DAILY_SUMMARY_COLUMNS)
    instants = pd.to_datetime(predictions["event_time"], utc=True)
    frame = predictions.assign(date=instants.dt.tz_convert(zone).dt.date)
    rows = []
    for day, group in frame.groupby("date", sort=True):
        known = group[group["actual"].notna()]
        quality = (
            metrics_for(known["actual"].to_numpy(), known["score"].to_numpy(dtype=float), task)
            if len(known)
            else {}
        )
        rows.append(
            {
                "date": day,
                "rows": len(group),
                "labelled_rows": len(known),
                "mean_score": float(group["score"].astype(float).mean()),
                "predicted_positive_rate": float(group["predicted"].astype(float).mean())
                if task == "classification"
                else np.nan,
                "actual_positive_rate": float(known["actual"].mean())
                if task == "classification" and len(known)
                else np.nan,
                "roc_auc": quality.get("roc_auc", np.nan),
                "rmse": quality.get("rmse", np.nan),
                "model_versions": ",".join(sorted(group["model_version"].astype(str).unique())),
            }
        )
    return pd.DataFrame(rows, columns=DAILY_SUMMARY_COLUMNS)


def naive_backtest(
    clean: pd.DataFrame, scored_days: list[date], contract: Contract, window_days: int
) -> dict[str, float]:
    """What naive baselines would have scored over `scored_days`, each day predicted from the
    `window_days` labelled days before it, pooled: the constant (the window's mean) and the rate
    per segment of every single model input, so "the best naive baseline" is chosen in hindsight."""
    labelled_rows = labelled(clean, contract)
    days = event_days(labelled_rows, contract)
    inputs = feature_frame(labelled_rows, contract)
    y = target(labelled_rows, contract)
    scores: dict[str, list[np.ndarray]] = {}
    actual: list[np.ndarray] = []
    delay = timedelta(days=contract.time.label_delay_days)  # labels known before a day only
    for day in scored_days:
        window = (days + delay < day) & (days + delay >= day - timedelta(days=window_days))
        today = days == day
        if not window.any() or not today.any():
            continue
        actual.append(y[today].to_numpy(dtype=float))
        scores.setdefault("constant", []).append(np.full(int(today.sum()), float(y[window].mean())))
        for column in contract.model_inputs:
            rates = fit_segment_rates(inputs[window], y[window], (column,))
            scores.setdefault(f"segment:{column}", []).append(rates.score(inputs[today]))
    if not actual:
        return {}
    metric, _ = PRIMARY_METRIC[contract.roles.task]
    pooled = np.concatenate(actual)
    return {
        name: metrics_for(pooled, np.concatenate(parts), contract.roles.task)[metric]
        for name, parts in scores.items()
    }
