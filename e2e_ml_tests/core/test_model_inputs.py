"""Model inputs on data shaped unlike our simulator: thousands of categories, informative
missing values, a local calendar, a segment that carries the signal. Frames are made here."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from e2e_ml.core.contract import load_contract
from e2e_ml.core.features import feature_frame
from e2e_ml.core.model import (
    MAX_CATEGORIES,
    TrainingParams,
    build_model,
    diagnostic_segment,
    feature_importance,
    predict_scores,
    segment_quality,
    train,
)


def orders_contract(tmp_path: Path, training: dict | None = None, zone: str = "UTC"):
    doc = {
        "name": "orders",
        "time": {"zone": zone},
        "roles": {
            "id": "order_id",
            "event_time": "at",
            "target": "reordered",
            "features": ["device", "channel", "days_since_previous", "basket"],
        },
        "schema": {
            "schema_type": "dataframe",
            "columns": {
                "order_id": {"dtype": "str"},
                "at": {"dtype": "datetime64[ns, UTC]"},
                "device": {"dtype": "str", "nullable": True},
                "channel": {"dtype": "str", "nullable": True},
                "days_since_previous": {"dtype": "float64", "nullable": True},
                "basket": {"dtype": "float64", "nullable": True},
                "reordered": {"dtype": "Int64", "nullable": True},
            },
        },
    }
    if training:
        doc["training"] = training
    path = tmp_path / "orders.yaml"
    path.write_text(yaml.safe_dump(doc))
    return load_contract(path)


def orders(days: int = 6, per_day: int = 1500, seed: int = 3) -> pd.DataFrame:
    """A first order (no previous one: days_since_previous missing) reorders far less often;
    the channel carries a rate of its own; the device id is 4,000 values of noise."""
    rng = np.random.default_rng(seed)
    n = days * per_day
    first = rng.random(n) < 0.6
    channel = rng.choice(["app", "web", "phone", "partner"], n)
    logit = (
        -0.3 - 1.8 * first + pd.Series(channel).map({"app": 0.8, "web": 0.0, "phone": -0.5, "partner": -1.0})
    )
    at = pd.Timestamp("2026-03-01", tz="UTC") + pd.to_timedelta(np.repeat(np.arange(days), per_day), "D")
    at = at + pd.to_timedelta(rng.integers(0, 86_400, n), "s")
    return pd.DataFrame(
        {
            "order_id": [f"o{i}" for i in range(n)],
            "at": at,
            "device": [f"dev{d}" for d in rng.integers(0, 4000, n)],
            "channel": channel,
            "days_since_previous": np.where(first, np.nan, rng.gamma(2.0, 20.0, n)),
            "basket": rng.gamma(3.0, 10.0, n),
            "reordered": pd.array((rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int), dtype="Int64"),
        }
    )


def test_missing_values_reach_the_model_as_missing_and_carry_their_signal(tmp_path):
    contract = orders_contract(tmp_path)
    history = orders()
    inputs = feature_frame(history, contract)
    assert inputs["days_since_previous"].isna().mean() == pytest.approx(0.6, abs=0.03)
    result = train(history, contract, TrainingParams())
    holdout = result.holdout
    scores = predict_scores(result.model, holdout, contract)
    first = holdout["days_since_previous"].isna().to_numpy()
    assert scores[first].mean() < scores[~first].mean() - 0.2  # "a first order" survived as a fact
    assert result.metrics["roc_auc"] > result.baseline["roc_auc"]


def test_a_requested_imputation_is_learned_in_training_and_applied_alike_when_scoring(tmp_path):
    contract = orders_contract(tmp_path, {"impute": {"basket": "median"}})
    history = orders()
    history.loc[history.index[::10], "basket"] = np.nan
    result = train(history, contract, TrainingParams(max_iter=20))
    imputer = result.model.named_steps["encode"].named_transformers_["imputed_median"]
    train_rows = history[history["at"] < result.holdout["at"].min()]
    assert imputer.statistics_[0] == pytest.approx(train_rows["basket"].median())
    # A scoring day whose own median is far away still gets the training window's value.
    scoring = result.holdout.head(200).assign(basket=np.nan)
    scoring.iloc[:100, scoring.columns.get_loc("basket")] = 1_000.0
    encoded = result.model.named_steps["encode"].transform(feature_frame(scoring, contract))
    basket_column = list(result.model.named_steps["encode"].get_feature_names_out()).index(
        "imputed_median__basket"
    )
    assert np.allclose(encoded[100:, basket_column], train_rows["basket"].median())


def test_a_high_cardinality_category_is_native_bounded_and_unseen_values_are_missing(tmp_path):
    contract = orders_contract(tmp_path)
    history = orders()
    assert history["device"].nunique() > 3_000
    model = build_model(contract, TrainingParams(max_iter=10)).fit(
        feature_frame(history, contract), history["reordered"].astype(int)
    )
    encoded = model.named_steps["encode"].transform(feature_frame(history.head(1000), contract))
    assert encoded.shape[1] == len(contract.model_inputs), "one column per input: no one-hot expansion"
    assert encoded[:, 0].max() < MAX_CATEGORIES
    unseen = history.head(3).assign(device=["never-seen", None, "dev1"])
    scores = predict_scores(model, unseen, contract)
    assert np.isfinite(scores).all()
    encoded_unseen = model.named_steps["encode"].transform(feature_frame(unseen, contract))
    assert list(encoded_unseen[:2, 0]) == [-1, -1]  # unseen and missing: "missing" to the model


def test_the_segment_baseline_learns_the_rate_of_the_informative_segment(tmp_path):
    contract = orders_contract(tmp_path)
    result = train(orders(), contract, TrainingParams(max_iter=30))
    assert result.segments in (("days_since_previous",), ("channel",))  # the inputs with signal
    assert result.baselines["constant"]["roc_auc"] == 0.5
    assert result.baselines["segment"]["roc_auc"] > 0.65
    assert result.baseline == result.baselines["segment"], "the stronger baseline is the bar"
    declared = train(
        orders(), orders_contract(tmp_path, {"segments": ["channel"]}), TrainingParams(max_iter=30)
    )
    assert declared.segments == ("channel",)


def test_calendar_features_are_read_on_the_contracts_local_clock(tmp_path):
    contract = orders_contract(tmp_path, {"calendar": ["hour", "day_of_week"]}, zone="America/Chicago")
    rows = orders(days=1, per_day=2).assign(
        at=pd.to_datetime(["2026-03-02T02:30:00Z", "2026-03-09T15:00:00Z"], utc=True)
    )
    calendar = feature_frame(rows, contract)[["calendar_hour", "calendar_day_of_week"]]
    # 02:30 UTC on Monday Mar 2 is 20:30 on Sunday in Chicago (UTC-6); after the DST change
    # (Mar 8) 15:00 UTC is 10:00 (UTC-5) on Monday.
    assert calendar.to_numpy().tolist() == [[20.0, 6.0], [10.0, 0.0]]
    assert contract.model_inputs[-2:] == ["calendar_hour", "calendar_day_of_week"]


def test_importance_and_quality_per_segment_say_what_matters_and_where_it_errs(tmp_path):
    contract = orders_contract(tmp_path)
    result = train(orders(), contract, TrainingParams(max_iter=40))
    importance = feature_importance(result.model, result.holdout, contract)
    assert set(importance["feature"]) == set(contract.model_inputs)
    ranked = importance["feature"].tolist()
    assert set(ranked[:2]) == {"days_since_previous", "channel"}, importance  # the inputs with signal
    assert importance.set_index("feature").loc["basket", "importance"] < 0.02  # noise is not used

    quality = segment_quality(result.model, result.holdout, contract, "channel")
    assert set(quality["segment"]) == {"app", "web", "phone", "partner"}
    assert quality["rows"].sum() == len(result.holdout)
    by_channel = quality.set_index("segment")
    assert by_channel.loc["app", "actual_mean"] > by_channel.loc["partner", "actual_mean"]
    assert by_channel["roc_auc"].between(0.5, 1).all()
    binned = segment_quality(result.model, result.holdout, contract, "days_since_previous")
    assert "(missing)" in set(binned["segment"]) and len(binned) > 5  # deciles, and first orders
    ranges = [label for label in binned["segment"] if label != "(missing)"]
    assert all(label.startswith("[") and label.endswith(")") for label in ranges), ranges


def test_quality_is_broken_down_by_an_input_that_splits_a_day_into_few_segments(tmp_path):
    contract = orders_contract(tmp_path)
    holdout = orders(days=1)
    importance = pd.DataFrame({"feature": ["device", "channel", "basket", "days_since_previous"]})
    assert diagnostic_segment(importance, holdout, contract) == "channel"  # 4,000 devices say little
    assert diagnostic_segment(importance.iloc[2:], holdout, contract) == "basket"  # a number: deciles


def test_a_label_is_used_only_once_its_delay_has_passed(tmp_path):
    from datetime import date

    from e2e_ml.core.features import event_days
    from e2e_ml.core.labels import labels_known_by

    contract = orders_contract(tmp_path, zone="America/Chicago")
    delayed = load_contract(_with_time(tmp_path, {"zone": "America/Chicago", "label_delay_days": 3}))
    history = orders(days=6)  # Mar 1 .. Mar 6 UTC; Chicago days from Feb 28
    for_day = date(2026, 3, 6)
    no_feed = history.iloc[0:0]
    assert set(event_days(labels_known_by(history, no_feed, contract, for_day), contract)) == {
        date(2026, 2, 28),
        *(date(2026, 3, d) for d in range(1, 6)),
    }
    known = labels_known_by(history, no_feed, delayed, for_day)
    assert max(event_days(known, delayed)) == date(2026, 3, 2)  # Mar 2 + 3 days < Mar 6
    assert len(known) < len(labels_known_by(history, no_feed, contract, for_day))


def _with_time(tmp_path: Path, time: dict) -> Path:
    path = tmp_path / "orders.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["time"] = time
    delayed = tmp_path / "orders_delayed.yaml"
    delayed.write_text(yaml.safe_dump(doc))
    return delayed
