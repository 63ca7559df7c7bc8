import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from e2e_ml.core.performance import expected_roc_auc, performance_by_day, pooled_verdicts


def calibrated(n: int, seed: int, spread: float = 1.2) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    p = 1 / (1 + np.exp(-rng.normal(-1.0, spread, n)))
    return p, (rng.random(n) < p).astype(float)


@pytest.mark.parametrize("seed", range(5))
def test_the_expected_auc_of_calibrated_scores_is_their_realized_auc(seed):
    scores, labels = calibrated(20_000, seed)
    assert expected_roc_auc(scores) == pytest.approx(roc_auc_score(labels, scores), abs=0.01)


def test_scores_that_lose_their_spread_are_expected_to_rank_worse():
    wide, _ = calibrated(5_000, 0, spread=1.5)
    narrow, _ = calibrated(5_000, 0, spread=0.4)
    assert expected_roc_auc(narrow) < expected_roc_auc(wide) - 0.1


def test_ties_and_degenerate_scores():
    assert expected_roc_auc(np.full(100, 0.3)) == pytest.approx(0.5)
    assert np.isnan(expected_roc_auc(np.zeros(10)))  # nobody expected positive: no ROC curve
    assert np.isnan(expected_roc_auc(np.array([0.4])))


def served(day: str, version: str, scores: np.ndarray, labels: np.ndarray | None) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "entity_id": [f"e{i}" for i in range(len(scores))],
            "event_time": pd.Timestamp(day, tz="UTC"),
            "score": scores,
            "actual": labels if labels is not None else np.nan,
            "model_version": version,
            "model_trained_for": day,
        }
    )


def test_a_drop_is_judged_on_realized_days_and_on_the_estimate_for_pending_ones():
    good, good_labels = calibrated(3_000, 1, spread=1.5)
    weak, _ = calibrated(3_000, 2, spread=0.4)  # its labels are not in yet
    rows = pd.concat(
        [served("2026-03-01", "4", good, good_labels), served("2026-03-02", "5", weak, None)],
        ignore_index=True,
    )
    promised = {"4": {"roc_auc": 0.8, "baseline_roc_auc": 0.6}, "5": {"roc_auc": 0.8}}
    table = performance_by_day(rows, "classification", pd.Timestamp("2026-03-02").date(), promised)
    assert table["labelled_share"].tolist() == [1.0, 0.0]
    assert np.isnan(table["realized"].iloc[1])
    verdicts = {v.judged_on: v for v in pooled_verdicts(rows, table, "classification")}
    assert not verdicts["realized"].below("classification", 0.05)
    assert verdicts["estimated"].below("classification", 0.05)
    assert verdicts["estimated"].versions == ("5",)


def test_the_report_keeps_the_latest_figures_of_what_serves_each_day_now():
    from datetime import date

    from e2e_ml.core.performance import latest_performance

    def row(day: int, version: str, as_of: int, realized: float) -> dict:
        return {
            "day": date(2026, 3, day),
            "model_version": version,
            "model_trained_for": "",
            "metric": "roc_auc",
            "rows": 100,
            "labelled_rows": 100 if realized == realized else 0,
            "labelled_share": 1.0 if realized == realized else 0.0,
            "score_mean": 0.3,
            "actual_mean": 0.3 if realized == realized else np.nan,
            "realized": realized,
            "estimated": 0.7,
            "holdout": 0.7,
            "baseline": 0.6,
            "as_of": date(2026, 3, as_of),
        }

    older = pd.DataFrame([row(1, "1", 1, np.nan), row(2, "2", 2, np.nan)])
    newer = pd.DataFrame([row(1, "1", 4, 0.71), row(2, "2", 4, 0.69)])
    rerun = pd.DataFrame([row(2, "5", 5, np.nan)])  # day 2 re-served by version 5 after a late file
    serving = pd.DataFrame({"date": [date(2026, 3, 1), date(2026, 3, 2)], "model_versions": ["1", "5"]})
    latest = latest_performance([older, newer, rerun], serving)
    assert list(zip(latest["day"].astype(str), latest["model_version"], strict=True)) == [
        ("2026-03-01", "1"),
        ("2026-03-02", "5"),
    ]
    assert latest["realized"].iloc[0] == 0.71 and np.isnan(latest["realized"].iloc[1])
