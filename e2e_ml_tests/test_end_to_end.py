"""The real graph, driven through the landing-zone sensor over several simulated days.

Runs twice, on the local deployment and on Azurite, with the same assertions; outputs are read
back with pandas (and adlfs on Azurite), not through the pipeline's own IO manager.
"""

import os
from datetime import date, timedelta

import dagster as dg
import mlflow
import pytest

from e2e_ml.definitions import build_definitions
from e2e_ml.demo import tick
from e2e_ml.deployments import Settings, provision, resources_for
from e2e_ml.simulate.land import land
from e2e_ml.simulate.telemetry import Anomaly, SimulationConfig, simulate, simulate_day
from e2e_ml_tests.conftest import azurite_settings
from e2e_ml_tests.stores import read_partitions, read_table

START = date(2026, 1, 5)
DAYS = 6
LATE_DAY = START + timedelta(days=3)


@pytest.fixture(scope="module", params=["local", "azurite"])
def workflow(request, tmp_path_factory):
    home = tmp_path_factory.mktemp("e2e") / "home"
    with pytest.MonkeyPatch.context() as monkeypatch:
        if request.param == "azurite":
            settings = azurite_settings(home, request.getfixturevalue("azurite"), monkeypatch)
        else:
            settings = Settings(home=home)
        provision(settings)
        defs = build_definitions(settings)
        config = SimulationConfig(
            start=START,
            days=DAYS,
            players=500,
            anomalies=tuple(
                map(Anomaly.parse, ["null_burst@1", "duplicates@2", "corrupt_file@4", "out_of_range@5"])
            ),
        )
        with (
            dg.build_resources({"landing": resources_for(settings)["landing_zone"]}) as resources,
            dg.instance_for_test() as instance,
        ):
            land(simulate(config), resources.landing)
            first = tick(defs, instance, cursor=None, report=lambda line: None)
            late = simulate_day(SimulationConfig(start=LATE_DAY, days=1, players=500, seed=99), 0)[0]
            resources.landing.write(late.name.replace("telemetry_", "telemetry_late_"), late.content)
            second = tick(defs, instance, cursor=first.cursor, report=lambda line: None)
            third = tick(defs, instance, cursor=second.cursor, report=lambda line: None)
            yield settings, first, second, third


def test_every_run_succeeds_and_only_changed_days_rerun(workflow):
    _, first, second, third = workflow
    assert len(first.runs) == DAYS and all(r.success for r in first.runs)
    assert [r.dagster_run.tags["dagster/partition"] for r in second.runs] == [LATE_DAY.isoformat()]
    assert all(r.success for r in second.runs)
    assert third.skipped is not None and not third.runs


def test_landed_rows_reconcile_with_clean_and_quarantined(workflow):
    settings = workflow[0]
    raw, clean, quarantine = (
        read_partitions(settings, "lake", a) for a in ("raw_stream", "clean_dataset", "quarantined_rows")
    )
    assert sorted(raw) == [(START + timedelta(days=i)).isoformat() for i in range(DAYS)]
    for day in raw:
        assert len(raw[day]) == len(clean[day]) + len(quarantine[day]), day
    assert (
        quarantine[(START + timedelta(days=2)).isoformat()]["_rejected_because"]
        .str.startswith("duplicate")
        .any()
    )
    manifest = read_partitions(settings, "lake", "raw_manifest")[(START + timedelta(days=4)).isoformat()]
    assert (manifest["status"] == "refused").sum() == 1
    assert "not UTF-8" in manifest.loc[manifest["status"] == "refused", "reason"].iat[0]


def test_predictions_exist_for_every_day_with_a_champion_and_are_not_duplicated(workflow):
    settings = workflow[0]
    clean = read_partitions(settings, "lake", "clean_dataset")
    predictions = read_partitions(settings, "outputs", "daily_predictions")
    scored_days = [day for day, frame in predictions.items() if len(frame)]
    # The first two days have no history to learn from; every later day is scored.
    assert scored_days == [(START + timedelta(days=i)).isoformat() for i in range(2, DAYS)]
    for day in scored_days:
        assert len(predictions[day]) == len(clean[day])
        assert not predictions[day]["entity_id"].duplicated().any()
        assert predictions[day]["score"].between(0, 1).all()


def test_late_file_rematerialized_its_day_with_more_rows(workflow):
    settings, first, second, _ = workflow
    day = LATE_DAY.isoformat()
    raw = read_partitions(settings, "lake", "raw_stream")[day]
    assert raw["_source_file"].str.contains("telemetry_late_").any()
    before = next(r for r in first.runs if r.dagster_run.tags["dagster/partition"] == day)
    landed = {
        e.asset_key.to_user_string(): e.materialization.metadata["rows"].value
        for run in (before, second.runs[0])
        for e in run.get_asset_materialization_events()
        if e.asset_key and e.asset_key.to_user_string() == "raw_stream"
    }
    assert landed["raw_stream"] == len(raw)  # the later run's count is the one on disk


def test_mlflow_holds_one_run_per_trained_partition(workflow):
    settings, first, second, _ = workflow
    trained = [
        e.materialization.metadata
        for run in first.runs + second.runs
        for e in run.get_asset_materialization_events()
        if e.asset_key and e.asset_key.to_user_string() == "trained_model"
    ]
    trained_partitions = [m for m in trained if m["status"].value in ("promoted", "rejected")]
    mlflow.set_tracking_uri(settings.tracking_uri)
    runs = mlflow.search_runs(experiment_names=["e2e-ml"], output_format="pandas")
    assert len(runs) == len(trained_partitions) == DAYS - 2 + 1  # 4 days, and the late day again
    assert set(runs["status"]) == {"FINISHED"}
    assert sorted(runs["tags.dagster/partition"]) == sorted(
        [(START + timedelta(days=i)).isoformat() for i in range(2, DAYS)] + [LATE_DAY.isoformat()]
    )


def test_report_extract_summarises_every_scored_day(workflow):
    settings = workflow[0]
    summary = read_table(settings, "outputs", "report/fact_daily_predictions.parquet")
    predictions = read_partitions(settings, "outputs", "daily_predictions")
    expected = {day: len(frame) for day, frame in predictions.items() if len(frame)}
    assert {d.isoformat(): n for d, n in zip(summary["date"], summary["rows"], strict=True)} == expected
    assert summary["roc_auc"].between(0.5, 1).all()
    assert read_table(settings, "outputs", "report/fact_daily_predictions.csv").shape[0] == len(summary)
    versions = read_table(settings, "outputs", "report/dim_model_version.parquet")
    assert versions["is_champion"].sum() == 1


def test_demo_command_runs_and_says_where_results_are(tmp_path, monkeypatch, capsys):
    from e2e_ml.cli import main

    monkeypatch.setenv("E2E_ML_HOME", str(tmp_path / "demo"))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))
    assert main(["demo", "--days", "6", "--players", "300", "--label-delay-days", "1"]) == 0
    out = capsys.readouterr().out
    assert "all succeeded" in out
    assert "Served days: realized once their labels landed" in out
    assert str(tmp_path / "demo" / "outputs" / "daily_predictions") in out
    assert (tmp_path / "demo" / "outputs" / "report" / "fact_daily_predictions.csv").exists()
    # The demo's last step re-runs a day for a late file, after later days were processed: every
    # row it (and every other run) served was scored by a model that never learned from that day.
    import pandas as pd

    predictions = pd.read_parquet(tmp_path / "demo" / "outputs" / "daily_predictions")
    uri = f"sqlite:///{tmp_path / 'demo' / 'mlflow' / 'mlflow.db'}"
    client = mlflow.MlflowClient(uri, uri)
    late_day = (date.today() - timedelta(days=3)).isoformat()
    assert late_day in set(predictions["date"].astype(str))
    for (day, version), rows in predictions.groupby([predictions["date"].astype(str), "model_version"]):
        used = client.get_model_version("e2e-ml-game_telemetry", str(version))
        assert client.get_run(used.run_id).data.params["window_end"] < day, (day, version)
        assert (rows["model_trained_for"] <= day).all()


def test_no_secret_appears_in_events_metadata_or_tags(workflow):
    settings, first, second, _ = workflow
    if settings.deployment != "azurite":
        pytest.skip("the local deployment has no secret")
    connection_string = os.environ["AZURE_STORAGE_CONNECTION_STRING"]
    key = connection_string.split("AccountKey=")[1].split(";")[0]
    for run in first.runs + second.runs:
        assert key not in str(run.dagster_run.tags)
        for event in run.all_events:
            assert key not in str(event), event.event_type_value
