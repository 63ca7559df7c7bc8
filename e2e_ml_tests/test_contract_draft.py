"""`e2e-ml contract draft`: a contract from the files themselves, accepted by the pipeline as it is."""

from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import numpy as np
import pandas as pd
import yaml

from e2e_ml.cli import main
from e2e_ml.core.contract import load_contract
from e2e_ml.definitions import build_definitions
from e2e_ml.demo import QUIET_LOGS
from e2e_ml.deployments import Settings, provision
from e2e_ml.simulate.deliveries import DeliveriesConfig, deliveries
from e2e_ml.simulate.telemetry import SimulationConfig, simulate
from e2e_ml_tests.test_contract_check import write

DAY = date(2026, 3, 1)


def drafted(tmp_path: Path, folder: Path, target: str, capsys) -> tuple[Path, dict]:
    out = tmp_path / "drafted.yaml"
    assert (
        main(["contract", "draft", str(folder), "--target", target, "--name", "drafted", "--out", str(out)])
        == 0
    )
    capsys.readouterr()
    load_contract(out)  # the pipeline accepts it as it is
    return out, yaml.safe_load(out.read_text())


def test_a_draft_of_the_simulators_files_checks_clean(tmp_path, monkeypatch, capsys):
    write(tmp_path / "zone", simulate(SimulationConfig(start=DAY, days=3, players=500)))
    path, doc = drafted(tmp_path, tmp_path / "zone", "churned_next_7d", capsys)
    assert doc["roles"]["id"] == "player_id" and doc["roles"]["event_time"] == "event_date"
    assert doc["roles"]["task"] == "classification"
    assert doc["schema"]["columns"]["churned_next_7d"]["nullable"] is True  # labels may come late
    assert doc["schema"]["columns"]["platform"]["isin"] == ["android", "console", "ios", "pc"]
    assert "# sessions: every value is an integer" in path.read_text()
    monkeypatch.setenv("E2E_ML_CONTRACT", str(path))
    assert main(["contract", "check", str(tmp_path / "zone"), "--max-quarantined", "0.001"]) == 0


def test_a_draft_of_the_deliveries_finds_its_business_day_and_runs_through_the_pipeline(
    tmp_path, monkeypatch, capsys
):
    """Timestamps with Z, an epoch-milliseconds copy, hive folders of gzip'd JSON lines, a Chicago
    business day: all found from the files, then three days through the real graph."""
    monkeypatch.setenv("E2E_ML_LANDING_LAYOUT", "hive")
    home = tmp_path / "home"
    write(home / "landing", deliveries(DeliveriesConfig(start=DAY, days=3, orders_per_day=300)))
    path, doc = drafted(tmp_path, home / "landing", "late", capsys)
    assert doc["time"]["zone"] == "America/Chicago"
    assert doc["time"]["epoch"] == {"created_ms": "milliseconds"}
    assert doc["roles"]["id"] == "order_id" and doc["roles"]["event_time"] == "created_at"
    settings = Settings(home=home, contract=path, landing_layout="hive")
    provision(settings)
    job = build_definitions(settings).resolve_job_def("daily_pipeline")
    with dg.instance_for_test() as instance:
        for day in range(3):
            run = job.execute_in_process(
                partition_key=(DAY + timedelta(days=day)).isoformat(),
                instance=instance,
                run_config=QUIET_LOGS,
            )
            assert run.success
    ledger = pd.concat(
        pd.read_parquet(p) for p in (Path(settings.lake_url) / "file_ledger").glob("*/*.parquet")
    )
    read = ledger[ledger["status"] == "read"]
    assert read["rows"].sum() > 500
    assert read["quarantined"].sum() / read["rows"].sum() < 0.001


def test_a_leaking_column_is_named_and_left_out(tmp_path, capsys):
    rng = np.random.default_rng(5)
    n = 600
    label = rng.integers(0, 2, n).astype(float)
    label[rng.random(n) < 0.2] = np.nan  # not known yet
    frame = pd.DataFrame(
        {
            "ticket": [f"t{i:05d}" for i in range(n)],
            "opened_at": pd.Timestamp("2026-03-01T08:00:00Z")
            + pd.to_timedelta(rng.integers(0, 36_000, n), "s"),
            "channel": rng.choice(["mail", "phone", "chat"], n),
            "wait_minutes": rng.gamma(2.0, 5.0, n).round(1),
            # written after the outcome: it agrees with the label on 97% of rows (filled where pending)
            "resolution_code": np.where(rng.random(n) < 0.97, np.nan_to_num(label), 1 - np.nan_to_num(label)),
            "refund_usd": np.where(np.isnan(label), np.nan, rng.gamma(2.0, 10.0, n).round(2)),
            "escalated": label,
        }
    )
    folder = tmp_path / "zone" / "2026" / "03" / "01"
    folder.mkdir(parents=True)
    frame.assign(opened_at=frame["opened_at"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")).to_csv(
        folder / "tickets.csv", index=False
    )
    path, doc = drafted(tmp_path, tmp_path / "zone", "escalated", capsys)
    assert doc["roles"]["features"] == ["channel", "wait_minutes"]
    text = path.read_text()
    assert "# - resolution_code  # left out, a leakage suspect: ROC AUC 0.9" in text
    assert "# - refund_usd  # left out, a leakage suspect: empty exactly when the target is" in text
