"""`e2e-ml backtest` over days whose labels arrive by the outcomes feed two days late."""

import json
from datetime import date, timedelta

import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from e2e_ml.cli import main
from e2e_ml.deployments import Settings
from e2e_ml.simulate.land import land_in
from e2e_ml.simulate.telemetry import SimulationConfig, simulate

START, DAYS = date(2026, 5, 4), 9


def test_the_backtest_judges_what_was_served_on_the_labels_known_now(tmp_path, monkeypatch, capsys):
    home = tmp_path / "home"
    monkeypatch.setenv("E2E_ML_HOME", str(home))
    monkeypatch.setenv("DAGSTER_HOME", str(home / "dagster"))
    monkeypatch.setenv("E2E_ML_TRAINING", "in_process")  # the subprocess path is test_training's
    config = SimulationConfig(start=START, days=DAYS, players=600, label_delay_days=2)
    land_in(Settings(home=home), simulate(config))
    last = START + timedelta(days=DAYS - 1)
    out = tmp_path / "backtest"
    assert main(["backtest", "--from", START.isoformat(), "--to", last.isoformat(), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "pooled_model" in printed and f"[{DAYS}/{DAYS}]" in printed

    table = pd.read_csv(out / f"backtest_{START}_{last}.csv")
    summary = json.loads((out / f"backtest_{START}_{last}.json").read_text())
    assert len(table) == DAYS and summary["days_scored"] == (table["rows"] > 0).sum() > 0
    scored = table[table["rows"] > 0]
    assert (scored["model_trained_for"] <= scored["day"]).all()  # never a model from a later day
    assert (scored["fallback"] == (scored["model_trained_for"] != scored["day"])).all()

    # The model's figure for a day is the ROC AUC of what was served, on the labels the feed delivered.
    labels = pd.concat(pd.read_csv(path) for path in (home / "outcomes").rglob("*.csv"))
    labels["event_time"] = pd.to_datetime(labels["event_date"], utc=True)
    judged = scored.dropna(subset=["model"])
    assert len(judged) >= 2
    for row in judged.itertuples():
        served = pd.read_parquet(home / "outputs" / "daily_predictions" / f"date={row.day}" / "part.parquet")
        joined = served.merge(
            labels.rename(columns={"player_id": "entity_id"}), on=["entity_id", "event_time"]
        )
        assert row.labelled_rows == len(joined) == len(served)
        assert row.model == pytest.approx(roc_auc_score(joined["churned_next_7d"], joined["score"]), abs=1e-4)
    assert summary["pooled_model"] > summary["pooled_baseline_constant"]
