from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from e2e_ml.core.cleaning import clean
from e2e_ml.core.contract import ContractError, load_contract
from e2e_ml.core.features import feature_frame, split_by_time
from e2e_ml.core.ingest import combine, read_dump
from e2e_ml.core.model import PREDICTION_COLUMNS, TrainingParams, is_no_worse, score_rows, train
from e2e_ml.core.tables import as_pandas
from e2e_ml.deployments import DEFAULT_CONTRACT
from e2e_ml.simulate.telemetry import SimulationConfig, simulate

START = date(2026, 1, 5)


def clean_days(contract, days=5, players=800) -> pd.DataFrame:
    frames = []
    by_day: dict[date, list] = {}
    for dump in simulate(SimulationConfig(start=START, days=days, players=players)):
        by_day.setdefault(dump.day, []).append(read_dump(dump.name, dump.content))
    for day, reads in by_day.items():
        frames.append(as_pandas(clean(combine(reads), contract, day).clean))
    return pd.concat(frames, ignore_index=True)


@pytest.fixture(scope="module")
def history():
    return clean_days(load_contract(DEFAULT_CONTRACT))


def regression_contract(tmp_path: Path):
    doc = yaml.safe_load(DEFAULT_CONTRACT.read_text())
    doc["name"] = "game_minutes"
    doc["roles"]["target"] = "minutes_played"
    doc["roles"]["task"] = "regression"
    doc["roles"]["features"] = [f for f in doc["roles"]["features"] if f != "minutes_played"]
    path = tmp_path / "minutes.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return load_contract(path)


def test_holdout_is_the_latest_day_and_never_seen_in_training(contract, history):
    train_rows, holdout = split_by_time(history, contract)
    assert holdout["event_date"].nunique() == 1
    assert train_rows["event_date"].max() < holdout["event_date"].min()
    assert len(train_rows) + len(holdout) == len(history)


def test_features_come_from_the_contract_and_exclude_the_target(contract, history):
    features = feature_frame(history, contract)
    assert list(features.columns) == list(contract.roles.features)
    assert contract.roles.target not in features and contract.roles.id not in features


def test_classifier_beats_the_naive_baseline(contract, history):
    result = train(history, contract, TrainingParams(max_iter=60))
    assert result.baselines["constant"]["roc_auc"] == 0.5  # a constant ranks nothing
    assert result.metrics["roc_auc"] > result.baseline["roc_auc"] >= 0.5
    assert result.metrics["log_loss"] < result.baseline["log_loss"]
    assert result.holdout_rows == (history["event_date"] == history["event_date"].max()).sum()


def test_regression_contract_trains_and_reports_regression_metrics(tmp_path):
    contract = regression_contract(tmp_path)
    history = clean_days(contract, days=3, players=500)
    result = train(history, contract, TrainingParams(max_iter=60))
    assert set(result.metrics) == {"mae", "rmse", "r2"}
    assert result.metrics["rmse"] < result.baselines["constant"]["rmse"]
    assert result.baselines["segment"]["rmse"] < result.baselines["constant"]["rmse"]
    scored = score_rows(result.model, history.head(10), contract, "m", "1", "2026-01-07")
    assert list(scored.columns) == PREDICTION_COLUMNS
    assert np.allclose(scored["score"], scored["predicted"])


def test_scores_have_the_fixed_schema_and_probabilities(contract, history):
    result = train(history, contract, TrainingParams(max_iter=30))
    scored = score_rows(result.model, history.head(50), contract, "model", "3", "2026-01-07")
    assert list(scored.columns) == PREDICTION_COLUMNS
    assert scored["score"].between(0, 1).all()
    assert set(scored["predicted"].unique()) <= {0.0, 1.0}
    assert (scored["model_version"] == "3").all()
    assert (scored["model_trained_for"] == "2026-01-07").all()


def test_training_needs_two_days(contract, history):
    one_day = history[history["event_date"] == history["event_date"].min()]
    with pytest.raises(ValueError, match="at least 2 days"):
        train(one_day, contract, TrainingParams())


@pytest.mark.parametrize(
    ("challenger", "champion", "task", "promoted"),
    [
        (0.70, 0.70, "classification", True),
        (0.698, 0.70, "classification", True),  # within tolerance
        (0.69, 0.70, "classification", False),
        (0.80, float("nan"), "classification", True),  # no champion yet
        (10.0, 10.004, "regression", True),
        (10.1, 10.0, "regression", False),
    ],
)
def test_promotion_rule(challenger, champion, task, promoted):
    assert is_no_worse(challenger, champion, task, tolerance=0.005) is promoted


def test_a_contract_naming_unknown_columns_is_refused(tmp_path):
    doc = yaml.safe_load(DEFAULT_CONTRACT.read_text())
    doc["roles"]["features"].append("hours_slept")
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(doc))
    with pytest.raises(
        ContractError, match=r"bad.yaml: roles name columns the schema lacks: \['hours_slept'\]"
    ):
        load_contract(path)


def test_a_training_cap_too_small_to_say_anything_of_a_day_is_refused(tmp_path):
    doc = yaml.safe_load(DEFAULT_CONTRACT.read_text())
    doc["training"] = {"max_rows_per_day": 50}
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(doc))
    with pytest.raises(ContractError, match=r"tiny.yaml: training.max_rows_per_day must be at least 1,000"):
        load_contract(path)
    assert load_contract(DEFAULT_CONTRACT).training.max_rows_per_day == 200_000


def test_promotion_decisions_say_why():
    from e2e_ml.core.model import decide_promotion

    decide = lambda value, champion, **kw: decide_promotion(  # noqa: E731
        "roc_auc", value, 0.5, champion, "classification", 0.005, **kw
    )
    assert decide(0.7, float("nan")).promoted
    assert decide(0.7, float("nan")).reason == "no champion yet"
    assert decide(0.5, float("nan")).reason == "roc_auc does not beat the naive baseline"
    assert decide(0.69, 0.70).reason == "roc_auc worse than the champion's"
    assert decide(0.72, 0.70, pinned=True).reason == "champion is pinned"
    assert decide(0.72, 0.70).promoted and not decide(0.72, 0.70, pinned=True).promoted
