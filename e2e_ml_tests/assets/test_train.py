"""The model lifecycle against a real MLflow store (SQLite): promotion, rejection, pin, rollback."""

import json
import re
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import mlflow
import pandas as pd
import pyarrow.parquet as pq
import pytest
import yaml

from e2e_ml.assets import predict
from e2e_ml.cli import main
from e2e_ml.definitions import build_definitions
from e2e_ml.demo import QUIET_LOGS, raise_alerts
from e2e_ml.deployments import DEFAULT_CONTRACT, Settings
from e2e_ml.simulate.land import land_in
from e2e_ml.simulate.telemetry import SimulationConfig, simulate

START = date(2026, 2, 2)
WEAK = {"max_iter": 1, "max_leaf_nodes": 2}


@dataclass
class Lab:
    settings: Settings
    defs: dg.Definitions
    instance: dg.DagsterInstance

    def run(self, day_index: int, **training) -> dg.ExecuteInProcessResult:
        run_config = {**QUIET_LOGS, "ops": {"trained_model": {"config": training}}}
        return self.defs.resolve_job_def("daily_pipeline").execute_in_process(
            partition_key=(START + timedelta(days=day_index)).isoformat(),
            instance=self.instance,
            run_config=run_config,
        )

    def metadata(self, run: dg.ExecuteInProcessResult, asset: str) -> dict:
        return {
            key: getattr(value, "value", value)
            for event in run.get_asset_materialization_events()
            if event.asset_key == dg.AssetKey(asset)
            for key, value in event.materialization.metadata.items()
        }

    def predictions(self, day_index: int) -> pd.DataFrame:
        day = (START + timedelta(days=day_index)).isoformat()
        return pd.read_parquet(
            Path(self.settings.outputs_url) / "daily_predictions" / f"date={day}" / "part.parquet"
        )


def lab_for(
    home: Path,
    contract: Path = DEFAULT_CONTRACT,
    days: int = 6,
    label_delay_days: int = 0,
    players: int = 600,
):
    settings = Settings(home=home, contract=contract)
    config = SimulationConfig(start=START, days=days, players=players, label_delay_days=label_delay_days)
    land_in(settings, simulate(config))
    return settings


@pytest.fixture
def lab(tmp_path, monkeypatch):
    settings = lab_for(tmp_path / "home")
    monkeypatch.setenv("E2E_ML_HOME", str(settings.home))
    with dg.instance_for_test() as instance:
        yield Lab(settings, build_definitions(settings), instance)


def check_result(run: dg.ExecuteInProcessResult) -> dg.AssetCheckEvaluation:
    [evaluation] = [
        e.event_specific_data
        for e in run.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
        and e.event_specific_data.check_name == "no_quality_regression"
    ]
    return evaluation


def test_champion_moves_only_for_a_model_no_worse_and_respects_people(lab, capsys):
    for day in (0, 1):
        assert lab.metadata(lab.run(day), "trained_model")["status"] == "insufficient history"

    first = lab.metadata(lab.run(2), "trained_model")
    assert (first["status"], first["model_version"]) == ("promoted", "1"), "no champion yet"

    second = lab.metadata(lab.run(3), "trained_model")
    assert second["model_version"] == "2"
    assert second["champion_roc_auc"] == second["champion_roc_auc"], "judged against v1 on the same holdout"
    champion_on_4 = "2" if second["status"] == "promoted" else "1"

    weak_run = lab.run(4, **WEAK)  # a challenger too weak to beat the naive baseline
    weak = lab.metadata(weak_run, "trained_model")
    assert (weak["status"], weak["model_version"]) == ("rejected", "3")
    assert f"version {champion_on_4} scores the day" in weak["decision"]
    evaluation = check_result(weak_run)
    assert not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.WARN
    assert f"the champion (version {champion_on_4}" in (evaluation.description or "")
    assert weak_run.success, "a weak challenger never stops scoring"
    assert set(lab.predictions(4)["model_version"]) == {champion_on_4}
    raise_alerts(lab.defs, lab.instance, {})  # the alert sensors' tick: the alert is sent
    alerts = [json.loads(line) for line in lab.settings.alert_log.read_text().splitlines()]
    # Told alone, or as a line of a digest when the tick catches up on several incidents at once.
    told = [a for a in alerts if "no_quality_regression" in json.dumps(a)]
    assert len(told) == 1
    # One incident: the days the check failed in a row, up to the weak challenger's day.
    assert re.search(
        r"Check no_quality_regression failed on trained_model for (\d{4}-\d\d-\d\d \.\. )?2026-02-06",
        json.dumps(told[0]),
    )
    assert (
        told[0]["kind"] == "incident_digest" or f"the champion (version {champion_on_4}" in told[0]["summary"]
    )

    assert main(["model", "pin", "1"]) == 0  # a person rolls back and holds it
    assert "champion is version 1 (pinned" in capsys.readouterr().out
    pinned = lab.metadata(lab.run(5), "trained_model")
    assert pinned["status"] == "rejected" and "champion is pinned" in pinned["decision"]
    assert set(lab.predictions(5)["model_version"]) == {"1"}, "predictions follow the alias a person set"

    assert main(["model", "unpin"]) == 0
    released = lab.metadata(lab.run(5), "trained_model")
    assert released["status"] == "promoted"
    assert set(lab.predictions(5)["model_version"]) == {released["model_version"]}


def test_a_reprocessed_day_is_scored_by_the_model_that_was_champion_for_it(lab):
    """A late file re-runs an old day after later days were processed: the day must not be
    scored by a model that learned from it (checked on the rows and versions actually used)."""
    for day in range(6):
        assert lab.run(day).success
    client = mlflow.MlflowClient(lab.settings.tracking_uri, lab.settings.tracking_uri)
    name = "e2e-ml-game_telemetry"
    latest = client.get_model_version_by_alias(name, "champion")
    assert latest.tags["trained_for"] == (START + timedelta(days=5)).isoformat()

    for day in (0, 1, 3):  # re-processed, as for a late file
        assert lab.run(day).success
    assert lab.predictions(0).empty and lab.predictions(1).empty, "no model existed for these days"
    for day in range(2, 6):
        rows = lab.predictions(day)
        assert len(rows) > 0
        for version in rows["model_version"].unique():
            used = client.get_model_version(name, version)
            window_end = client.get_run(used.run_id).data.params["window_end"]
            row_day = (START + timedelta(days=day)).isoformat()
            assert window_end < row_day, (
                f"day {row_day} scored by version {version} trained up to {window_end}"
            )
            assert (rows.loc[rows["model_version"] == version, "model_trained_for"] <= row_day).all()
    assert str(client.get_model_version_by_alias(name, "champion").version) == str(latest.version), (
        "re-processing an old day never moves the alias back"
    )


def test_a_day_scored_in_batches_matches_the_day_scored_whole(lab, monkeypatch):
    for day in range(3):
        assert lab.run(day).success
    whole = lab.predictions(2)
    assert len(whole) > 300

    monkeypatch.setattr(predict, "SCORING_BATCH_ROWS", 97)
    rescored = lab.defs.resolve_job_def("daily_pipeline").execute_in_process(
        partition_key=(START + timedelta(days=2)).isoformat(),
        instance=lab.instance,
        run_config=QUIET_LOGS,
        asset_selection=[dg.AssetKey("daily_predictions")],
    )
    assert rescored.success
    written = Path(lab.settings.outputs_url) / "daily_predictions" / f"date={START + timedelta(days=2)}"
    assert pq.ParquetFile(written / "part.parquet").num_row_groups == -(-len(whole) // 97)
    pd.testing.assert_frame_equal(lab.predictions(2), whole)


def test_each_training_is_one_finished_mlflow_run_with_its_evidence(lab):
    for day in (0, 1, 2):
        lab.run(day)
    mlflow.set_tracking_uri(lab.settings.tracking_uri)
    runs = mlflow.search_runs(experiment_names=["e2e-ml"], output_format="list")
    assert len(runs) == 1
    run = runs[0]
    assert run.info.status == "FINISHED"
    assert run.data.tags["dagster/partition"] == (START + timedelta(days=2)).isoformat()
    assert run.data.params["window_start"] == START.isoformat()
    assert run.data.params["window_end"] == (START + timedelta(days=1)).isoformat()
    assert len(run.data.params["data_digest"]) == 16
    for metric in ("roc_auc", "pr_auc", "log_loss", "brier", "calibration_error", "baseline_roc_auc"):
        assert metric in run.data.metrics
    assert run.data.metrics["roc_auc"] > run.data.metrics["baseline_roc_auc"]
    info = mlflow.models.get_model_info("models:/e2e-ml-game_telemetry/1")
    assert info.signature is not None and info.saved_input_example_info is not None


def test_a_regression_contract_runs_through_the_graph(tmp_path):
    doc = yaml.safe_load(DEFAULT_CONTRACT.read_text())
    doc["name"] = "game_minutes"
    doc["roles"].update(target="minutes_played", task="regression")
    doc["roles"]["features"] = [f for f in doc["roles"]["features"] if f != "minutes_played"]
    doc["training"] = {"segments": ["platform"]}  # the path under test is regression, not the bar
    contract = tmp_path / "minutes.yaml"
    contract.write_text(yaml.safe_dump(doc, sort_keys=False))
    settings = lab_for(tmp_path / "home", contract=contract, days=3)
    with dg.instance_for_test() as instance:
        lab = Lab(settings, build_definitions(settings), instance)
        for day in range(3):
            assert lab.run(day).success
        trained = lab.metadata(lab.run(2), "trained_model")
    assert trained["rmse"] < trained["baseline_rmse"]
    assert trained["baseline_segments"] == "platform"
    predictions = lab.predictions(2)
    assert (predictions["score"] == predictions["predicted"]).all()
    summary = pd.read_parquet(Path(settings.outputs_url) / "report" / "fact_daily_predictions.parquet")
    assert summary["rmse"].notna().all() and summary["roc_auc"].isna().all()


def test_a_day_larger_than_the_training_cap_adds_a_sample_of_itself(tmp_path):
    doc = yaml.safe_load(DEFAULT_CONTRACT.read_text())
    doc["training"] = {"max_rows_per_day": 1_000}
    contract = tmp_path / "capped.yaml"
    contract.write_text(yaml.safe_dump(doc, sort_keys=False))
    settings = lab_for(tmp_path / "home", contract=contract, days=3, players=2_000)
    with dg.instance_for_test() as instance:
        lab = Lab(settings, build_definitions(settings), instance)
        for day in range(3):
            assert lab.run(day).success
        trained = lab.metadata(lab.run(2), "trained_model")
    clean_days = [
        len(pd.read_parquet(Path(settings.lake_url) / "clean_dataset" / f"date={START + timedelta(d)}"))
        for d in (0, 1)
    ]
    assert min(clean_days) > 1_000, "each day of the window is larger than the cap"
    assert 500 < trained["train_rows"] <= 1_000 and 500 < trained["holdout_rows"] <= 1_000


def test_mlflow_unreachable_fails_the_run_clearly_and_moves_no_champion(tmp_path, monkeypatch):
    from e2e_ml.azurite import free_port

    settings = lab_for(tmp_path / "home", days=3)
    with dg.instance_for_test() as instance:
        lab = Lab(settings, build_definitions(settings), instance)
        for day in range(3):
            lab.run(day)
        monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
        monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "3")
        unreachable = Settings(  # no step retries: they are tested in test_faults
            home=settings.home, mlflow_tracking_uri=f"http://127.0.0.1:{free_port()}", step_retries=0
        )
        broken = Lab(unreachable, build_definitions(unreachable), instance)
        run = broken.defs.resolve_job_def("daily_pipeline").execute_in_process(
            partition_key=(START + timedelta(days=2)).isoformat(), instance=instance, raise_on_error=False
        )
    assert not run.success
    failures = {e.step_key: e for e in run.all_events if e.is_step_failure}
    assert "trained_model" in failures  # and feature_drift, which asks MLflow for the serving model
    assert all("127.0.0.1" in str(f.step_failure_data.error) for f in failures.values())
    client = mlflow.MlflowClient(settings.tracking_uri, settings.tracking_uri)
    assert str(client.get_model_version_by_alias("e2e-ml-game_telemetry", "champion").version) == "1"
    assert len(client.search_model_versions("name = 'e2e-ml-game_telemetry'")) == 1


def test_a_label_delay_keeps_unknown_labels_out_of_training_and_judging(tmp_path):
    """churned_next_7d-like labels known days later: trained_model[D] uses only days whose label
    was known before D, checked on the rows the model actually saw (its MLflow evidence)."""
    doc = yaml.safe_load(DEFAULT_CONTRACT.read_text())
    doc["time"] = {"label_delay_days": 2}
    contract = tmp_path / "delayed.yaml"
    contract.write_text(yaml.safe_dump(doc, sort_keys=False))
    settings = lab_for(tmp_path / "home", contract=contract, days=6)
    with dg.instance_for_test() as instance:
        lab = Lab(settings, build_definitions(settings), instance)
        statuses = [lab.metadata(lab.run(day), "trained_model")["status"] for day in range(6)]
    assert statuses[:4] == ["insufficient history"] * 4  # day 3 knows only day 0's labels
    client = mlflow.MlflowClient(settings.tracking_uri, settings.tracking_uri)
    clean = pd.concat(
        pd.read_parquet(path)
        for path in sorted((Path(settings.lake_url) / "clean_dataset").glob("*/part.parquet"))
    )
    for version in client.search_model_versions("name = 'e2e-ml-game_telemetry'"):
        day = date.fromisoformat(version.tags["trained_for"])
        params = client.get_run(version.run_id).data.params
        assert params["window_end"] == (day - timedelta(days=3)).isoformat()
        known = clean[
            (clean["event_date"].dt.date <= day - timedelta(days=3)) & clean["churned_next_7d"].notna()
        ]
        assert int(params["train_rows"]) + int(params["holdout_rows"]) == len(known)


def test_labels_delivered_later_by_the_outcomes_feed_train_only_once_delivered(tmp_path):
    """Rows land without labels; the feed delivers day X's labels on day X + 2. trained_model[D]
    learns from exactly the rows whose labels were delivered before D (its MLflow evidence)."""
    settings = lab_for(tmp_path / "home", days=7, label_delay_days=2)
    with dg.instance_for_test() as instance:
        lab = Lab(settings, build_definitions(settings), instance)
        runs = [lab.run(day) for day in range(7)]
        statuses = [lab.metadata(run, "trained_model")["status"] for run in runs]
        delivered = [lab.metadata(run, "outcomes")["rows"] for run in runs]
    assert statuses[:4] == ["insufficient history"] * 4  # day 3 has only day 0's labels
    assert statuses[4:] != ["insufficient history"] * 3
    clean = pd.concat(
        pd.read_parquet(path)
        for path in sorted((Path(settings.lake_url) / "clean_dataset").glob("*/part.parquet"))
    )
    assert clean["churned_next_7d"].isna().all()  # every label the models saw came by the feed
    rows_per_day = clean.groupby(clean["event_date"].dt.date).size()
    assert delivered == [0, 0, *rows_per_day.iloc[:5].tolist()]
    client = mlflow.MlflowClient(settings.tracking_uri, settings.tracking_uri)
    versions = client.search_model_versions("name = 'e2e-ml-game_telemetry'")
    assert {v.tags["trained_for"] for v in versions} == {
        (START + timedelta(days=d)).isoformat() for d in (4, 5, 6)
    }
    for version in versions:
        day = date.fromisoformat(version.tags["trained_for"])
        params = client.get_run(version.run_id).data.params
        assert params["window_end"] == (day - timedelta(days=3)).isoformat()
        known = rows_per_day[rows_per_day.index <= day - timedelta(days=3)].sum()
        assert int(params["train_rows"]) + int(params["holdout_rows"]) == known
