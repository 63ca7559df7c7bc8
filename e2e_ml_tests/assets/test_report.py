"""The report as its readers meet it: the dashboard in headless Chromium, the extract in DuckDB."""

from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest

from e2e_ml.definitions import build_definitions
from e2e_ml.demo import tick
from e2e_ml.deployments import Settings, provision, resources_for
from e2e_ml.simulate.land import land
from e2e_ml.simulate.telemetry import Anomaly, SimulationConfig, simulate
from e2e_ml_tests.browser import visit

START = date(2026, 4, 6)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    settings = Settings(home=tmp_path_factory.mktemp("report") / "home")
    provision(settings)
    config = SimulationConfig(
        start=START,
        days=6,
        players=500,
        anomalies=(Anomaly.parse("corrupt_file@2"), Anomaly.parse("covariate_drift@5")),
    )
    with dg.build_resources({"landing": resources_for(settings)["landing_zone"]}) as resources:
        land(simulate(config), resources.landing)
    with dg.instance_for_test() as instance:
        outcome = tick(build_definitions(settings), instance, None, report=lambda line: None)
    assert all(run.success for run in outcome.runs)
    last = outcome.runs[-1]
    [materialization] = [
        e.materialization
        for e in last.get_asset_materialization_events()
        if e.asset_key == dg.AssetKey("report_extract")
    ]
    return Path(settings.outputs_url), materialization.metadata


def test_dashboard_renders_every_chart_with_data_and_nothing_from_the_network(report, tmp_path):
    outputs, _ = report
    page = visit(outputs / "report" / "dashboard.html", screenshot=tmp_path / "dashboard.png")
    assert page.rendered == "9"
    assert page.console_errors == []
    assert page.failed_requests == []
    assert all(url.startswith("file://") for url in page.requests), page.requests
    assert len(page.marks_per_chart) == 9 and all(marks > 0 for marks in page.marks_per_chart)
    for text in page.texts_per_chart:
        assert "yet" not in text and "No alerts" not in text
    assert (tmp_path / "dashboard.png").stat().st_size > 10_000


def test_extract_reads_in_duckdb_and_reconciles_with_the_predictions(report):
    outputs, _ = report
    per_day = duckdb.sql(
        f"SELECT date, count(*) AS n FROM read_parquet('{outputs}/daily_predictions/*/*.parquet', "
        "hive_partitioning = true) GROUP BY date HAVING n > 0 ORDER BY date"
    ).fetchall()
    facts = f"{outputs}/report/fact_daily_predictions"
    summary = duckdb.sql(
        f"SELECT strftime(date, '%Y-%m-%d'), rows FROM read_parquet('{facts}.parquet') ORDER BY 1"
    ).fetchall()
    assert [(str(day), n) for day, n in per_day] == [(day, n) for day, n in summary]
    [(csv_total,)] = duckdb.sql(f"SELECT sum(rows) FROM read_csv_auto('{facts}.csv')").fetchall()
    assert csv_total == sum(n for _, n in per_day)


def test_quality_drift_and_alert_tables(report):
    outputs, _ = report
    table = lambda name: pd.read_parquet(outputs / "report" / f"{name}.parquet")  # noqa: E731
    quality = table("fact_file_quality")
    assert (quality["rows"] == quality["clean"] + quality["quarantined"]).all()
    assert quality.loc[quality["status"] == "refused", "reason"].str.contains("not UTF-8").all()
    drift = table("fact_feature_drift")
    assert set(drift.loc[drift["drifted"], "day"]) == {"2026-04-11"}
    alerts = table("fact_alerts")
    assert {"contract_violations failed on clean_dataset", "feature_drift failed on clean_dataset"} <= set(
        alerts["title"]
    )
    versions = table("dim_model_version")
    assert versions["is_champion"].sum() == 1 and versions["promoted"].any()


def test_realized_performance_reconciles_with_the_daily_facts(report):
    outputs, _ = report
    realized = pd.read_parquet(outputs / "report" / "fact_realized_performance.parquet")
    daily = pd.read_parquet(outputs / "report" / "fact_daily_predictions.parquet")
    assert len(realized) == len(daily) > 0  # one version served each day
    merged = realized.merge(daily, left_on="day", right_on="date")
    # Labels land with the rows here (no delay): a day is labelled whole on its own run.
    assert (merged["labelled_rows_x"] == merged["rows_y"]).all()
    assert merged["realized"].to_numpy() == pytest.approx(merged["roc_auc"].to_numpy())
    assert merged["holdout"].between(0.5, 1.0).all() and merged["estimated"].between(0.5, 1.0).all()


def test_materialization_links_the_dashboard_and_summarises(report):
    outputs, metadata = report
    assert metadata["dashboard"].value == str(outputs / "report" / "dashboard.html")
    assert "| date" in metadata["summary"].value
    assert metadata["alerts"].value >= 2


def test_a_daily_run_refreshes_its_own_days_and_keeps_the_others():

    from e2e_ml.assets.report import replace_days, run_days

    before = pd.DataFrame({"date": [date(2026, 1, d) for d in (1, 2, 3)], "rows": [10, 20, 30]})
    fresh = pd.DataFrame({"date": [date(2026, 1, 2)], "rows": [25]})
    after = replace_days(before, fresh, "date", ["2026-01-02", "2026-01-04"])
    assert after["rows"].tolist() == [10, 25, 30]
    assert replace_days(before, fresh.iloc[0:0], "date", ["2026-01-03"])["rows"].tolist() == [10, 20]
    assert run_days({"dagster/partition": "2026-01-02"}) == ["2026-01-02"]
    assert run_days(
        {
            "dagster/asset_partition_range_start": "2026-01-02",
            "dagster/asset_partition_range_end": "2026-01-04",
        }
    ) == ["2026-01-02", "2026-01-03", "2026-01-04"]
    assert run_days({}) is None  # materialized on its own: rebuilt from every day
