"""Report figures computed from predictions: what was predicted each day and how it turned out."""

from __future__ import annotations

import numpy as np
import pandas as pd

from e2e_ml.core.contract import Task
from e2e_ml.core.model import metrics_for

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
