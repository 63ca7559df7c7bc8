"""The second example, a shape our simulator never writes, through the sensor end to end.

Parcel deliveries: hourly orders with UTC `Z` timestamps and an epoch-ms column, grouped by
Chicago's business day in hive folders of gzip'd JSON lines, with uploader leftovers, across a
daylight-saving change. On the local deployment a month past the first champion also checks
the model against the naive baselines on the same days; on Azurite, a week checks the same
path through Blob storage.
"""

from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import mlflow
import pandas as pd
import pytest

from e2e_ml.core.contract import load_contract
from e2e_ml.core.metrics import naive_backtest
from e2e_ml.core.model import metrics_for
from e2e_ml.definitions import build_definitions
from e2e_ml.demo import raise_alerts, tick
from e2e_ml.deployments import Settings, provision, resources_for
from e2e_ml.simulate.deliveries import DeliveriesConfig, deliveries
from e2e_ml.simulate.land import land
from e2e_ml_tests.conftest import azurite_settings
from e2e_ml_tests.stores import read_partitions, read_table

CONTRACT = Path(__file__).resolve().parent.parent / "contracts" / "parcel_deliveries.yaml"
START = date(2026, 2, 24)  # the US change to daylight saving time (Mar 8) falls inside
DAYS = {"local": 34, "azurite": 7}
ORDERS_PER_DAY = 400


@pytest.fixture(scope="module", params=["local", "azurite"])
def deployment(request, tmp_path_factory):
    home = tmp_path_factory.mktemp("deliveries") / "home"
    with pytest.MonkeyPatch.context() as monkeypatch:
        if request.param == "azurite":
            base = azurite_settings(home, request.getfixturevalue("azurite"), monkeypatch)
        else:
            base = Settings(home=home)
        settings = Settings(
            **{**vars(base), "contract": CONTRACT, "landing_layout": "hive"}  # type: ignore[arg-type]
        )
        provision(settings)
        defs = build_definitions(settings)
        days = DAYS[request.param]
        files = list(deliveries(DeliveriesConfig(START, days, ORDERS_PER_DAY)))
        with (
            dg.build_resources({"landing": resources_for(settings)["landing_zone"]}) as resources,
            dg.instance_for_test() as instance,
        ):
            land(files, resources.landing)
            resources.landing.write("2026/02/25/orders.jsonl.gz", b"")  # the old layout, after a change
            alert_cursors: dict[str, str | None] = {}
            outcome = tick(defs, instance, cursor=None, report=lambda line: None)
            raise_alerts(defs, instance, alert_cursors)
            yield settings, files, days, outcome


def test_every_local_day_runs_and_almost_nothing_is_quarantined(deployment):
    settings, files, days, outcome = deployment
    assert [r.dagster_run.tags["dagster/partition"] for r in outcome.runs] == [
        (START + timedelta(days=i)).isoformat() for i in range(days)
    ]
    assert all(r.success for r in outcome.runs)
    raw, clean, quarantine = (
        read_partitions(settings, "lake", a) for a in ("raw_stream", "clean_dataset", "quarantined_rows")
    )
    landed = sum(len(raw[day]) for day in raw)
    quarantined = sum(len(quarantine[day]) for day in quarantine)
    assert landed == sum(f.rows for f in files) and landed > 0
    assert quarantined / landed < 0.001
    assert sum(len(clean[day]) for day in clean) + quarantined == landed
    day, rows = next(iter(clean.items()))
    assert str(rows["created_at"].dt.tz) == "UTC"
    utc_days = set(rows["created_at"].dt.date.astype(str))
    assert utc_days == {day, (date.fromisoformat(day) + timedelta(days=1)).isoformat()}, (
        "a Chicago day's evening orders sit on the next UTC day, and belong to it"
    )


def test_every_landed_name_is_accounted_for(deployment):
    settings, files, _, _ = deployment
    ledger = pd.concat(read_partitions(settings, "lake", "file_ledger").values(), ignore_index=True)
    status = dict(zip(ledger["file"], ledger["status"], strict=True))
    assert {f.name for f in files} == set(status)
    for name, state in status.items():
        expected = "skipped" if name.endswith(("_SUCCESS", ".tmp")) else "read"
        assert state == expected, (name, state)
    alerts = settings.alert_log.read_text() if settings.alert_log and settings.alert_log.exists() else ""
    assert "Check files_placed failed on landed_files" in alerts, "the off-layout file raised an alert"


def test_the_daylight_saving_day_keeps_its_23_hours(deployment):
    settings, files, days, _ = deployment
    if days < 13:
        pytest.skip("the change to daylight saving time is outside this deployment's days")
    clean = read_partitions(settings, "lake", "clean_dataset")["2026-03-08"]
    landed = sum(f.rows for f in files if f.day == date(2026, 3, 8))
    assert len(clean) == landed
    local_hours = set(clean["created_at"].dt.tz_convert("America/Chicago").dt.hour)
    assert 2 not in local_hours and {0, 1, 3, 23} <= local_hours


def test_a_month_of_served_predictions_beats_the_best_naive_baseline(deployment):
    settings, _, days, _ = deployment
    if days < 30:
        pytest.skip("a month of days runs on the local deployment only")
    contract = load_contract(CONTRACT)
    predictions = pd.concat(
        [
            frame.assign(date=day)
            for day, frame in read_partitions(settings, "outputs", "daily_predictions").items()
        ],
        ignore_index=True,
    )
    scored = sorted(predictions["date"].unique())
    first = date.fromisoformat(scored[0])
    after_first = [
        (first + timedelta(days=i)).isoformat() for i in range((START + timedelta(days - 1) - first).days + 1)
    ]
    assert scored == after_first, "every day after the first champion has predictions"
    month = [date.fromisoformat(d) for d in after_first[-30:]]
    served = predictions[predictions["date"].isin({d.isoformat() for d in month})]
    pipeline = metrics_for(served["actual"].to_numpy(), served["score"].to_numpy(), "classification")[
        "roc_auc"
    ]
    clean = pd.concat(read_partitions(settings, "lake", "clean_dataset").values(), ignore_index=True)
    naive = naive_backtest(clean, month, contract, window_days=14)
    assert pipeline >= max(naive.values()), (pipeline, naive)

    client = mlflow.MlflowClient(settings.tracking_uri, settings.tracking_uri)
    for (day, version), rows in predictions.groupby(["date", "model_version"]):
        used = client.get_model_version("e2e-ml-parcel_deliveries", str(version))
        assert client.get_run(used.run_id).data.params["window_end"] < day
        assert (rows["model_trained_for"] <= day).all()


def test_the_report_shows_what_the_champion_uses_and_where_it_errs(deployment):
    settings, _, _, _ = deployment
    client = mlflow.MlflowClient(settings.tracking_uri, settings.tracking_uri)
    champion = str(client.get_model_version_by_alias("e2e-ml-parcel_deliveries", "champion").version)
    importance = read_table(settings, "outputs", "report/fact_feature_importance.parquet")
    assert set(importance["model_version"]) == {champion}
    assert set(importance["feature"]) == set(load_contract(CONTRACT).model_inputs)
    quality = read_table(settings, "outputs", "report/fact_segment_quality.parquet")
    assert set(quality["model_version"]) == {champion} and quality["rows"].sum() > 0
    versions = read_table(settings, "outputs", "report/dim_model_version.parquet")
    assert {"metric_baseline_constant_roc_auc", "metric_baseline_segment_roc_auc"} <= set(versions.columns)
