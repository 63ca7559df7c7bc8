"""`e2e-ml contract check`: a contract against files, without Dagster, MLflow or the lake."""

from datetime import date
from pathlib import Path

from e2e_ml.cli import main
from e2e_ml.simulate.deliveries import DeliveriesConfig, deliveries
from e2e_ml.simulate.telemetry import Anomaly, SimulationConfig, simulate_day

REPO = Path(__file__).resolve().parent.parent
DAY = date(2026, 6, 1)


def write(folder: Path, dumps) -> list[Path]:
    paths = []
    for dump in dumps:
        path = folder / dump.name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(dump.content)
        paths.append(path)
    return paths


def telemetry(folder: Path, *anomalies: str) -> list[Path]:
    config = SimulationConfig(start=DAY, days=1, players=400, anomalies=tuple(map(Anomaly.parse, anomalies)))
    return write(folder, simulate_day(config, 0))


def test_good_files_pass(tmp_path, capsys):
    telemetry(tmp_path / "zone")
    assert main(["contract", "check", str(tmp_path / "zone")]) == 0
    out = capsys.readouterr().out
    assert "0 quarantined (0.0%); ok" in out and "file(s) checked pass" in out and "fail" not in out


def test_a_refused_file_fails_and_says_why(tmp_path, capsys):
    telemetry(tmp_path / "zone", "corrupt_file@0")
    assert main(["contract", "check", str(tmp_path / "zone")]) == 1
    out = capsys.readouterr().out
    assert "REFUSED:" in out and "not UTF-8" in out


def test_a_file_quarantining_too_much_fails_with_its_reasons_and_an_example(tmp_path, capsys):
    telemetry(tmp_path / "zone", "out_of_range@0")
    folder = str(tmp_path / "zone")
    assert main(["contract", "check", folder]) == 1
    out = capsys.readouterr().out
    assert "FAILED: over the allowed 1.0%" in out
    assert "check:sessions" in out and "in_range" in out and "e.g. row " in out
    assert main(["contract", "check", folder, "--max-quarantined", "0.5"]) == 0  # the gate is the caller's


def test_rows_off_their_landing_day_are_reported(tmp_path, capsys):
    [path, *_] = telemetry(tmp_path / "zone")
    moved = tmp_path / "zone" / "2026" / "06" / "02" / path.name
    moved.parent.mkdir(parents=True)
    path.rename(moved)  # the uploader put the file in the next day's folder
    assert main(["contract", "check", str(moved.parents[3])]) == 1
    assert "day:event_date" in capsys.readouterr().out


def test_an_example_the_simulator_did_not_make_passes_with_its_contract(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("E2E_ML_CONTRACT", str(REPO / "contracts" / "parcel_deliveries.yaml"))
    monkeypatch.setenv("E2E_ML_LANDING_LAYOUT", "hive")
    write(tmp_path / "zone", deliveries(DeliveriesConfig(start=DAY, days=2, orders_per_day=200)))
    assert main(["contract", "check", str(tmp_path / "zone")]) == 0
    out = capsys.readouterr().out
    assert "_SUCCESS: skipped" in out and ".jsonl.gz:" in out
