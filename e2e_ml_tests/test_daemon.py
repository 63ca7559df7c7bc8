"""Production as it runs: the real dagster-daemon, a code server from workspace.yaml, the queue.

The daemon's landing-zone sensor notices the dumps, queues one run per day, and the queue
launches them one at a time; on SQLite and on a real PostgreSQL, with the repo's dagster.yaml.
"""

import os
import signal
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import pytest
import yaml

from e2e_ml.deployments import Settings, provision
from e2e_ml.resources.storage import LandingZone
from e2e_ml.simulate.land import land
from e2e_ml.simulate.telemetry import SimulationConfig, simulate
from e2e_ml_tests.conftest import child_environment
from e2e_ml_tests.services import PostgresServer

REPO = Path(__file__).resolve().parent.parent
START = date(2026, 5, 4)
DAYS = 3
TIMEOUT_SECONDS = 300


@pytest.fixture(params=["sqlite", "postgres"])
def instance_env(request, tmp_path):
    config = yaml.safe_load((REPO / "dagster.yaml").read_text())
    # Compute logs go to an Azure storage account, which cannot be reached from here (its client
    # builds https://<account>.blob.core.windows.net, no emulator URL): test_dagster_yaml loads it.
    config.pop("compute_logs")
    home = tmp_path / "dagster_home"
    home.mkdir()
    if request.param == "sqlite":
        config.pop("storage")
        (home / "dagster.yaml").write_text(yaml.safe_dump(config))
        yield home, {}
        return
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))
    with PostgresServer() as server:
        yield (
            home,
            {
                "DAGSTER_PG_HOST": server.host,
                "DAGSTER_PG_PORT": str(server.port),
                "DAGSTER_PG_DB": server.database,
                "DAGSTER_PG_USERNAME": server.username,
                "DAGSTER_PG_PASSWORD": server.password,
            },
        )


def test_daemon_runs_the_days_the_sensor_finds(instance_env, tmp_path, monkeypatch):
    dagster_home, pg_env = instance_env
    settings = Settings(home=tmp_path / "e2e")
    provision(settings)
    land(
        simulate(SimulationConfig(start=START, days=DAYS, players=300)), LandingZone(url=settings.landing_url)
    )
    env = child_environment(
        **pg_env,
        DAGSTER_HOME=str(dagster_home),
        E2E_ML_HOME=str(settings.home),
        E2E_ML_SENSOR_INTERVAL_SECONDS="5",
    )
    for key, value in {**pg_env, "DAGSTER_HOME": str(dagster_home)}.items():
        monkeypatch.setenv(key, value)
    with dg.DagsterInstance.get() as instance:
        instance.get_runs(limit=1)  # creates the storage now: two processes creating it at once race
    daemon = subprocess.Popen(
        [str(Path(sys.executable).parent / "dagster-daemon"), "run", "-w", str(REPO / "workspace.yaml")],
        cwd=REPO,
        env=env,
        stdout=(tmp_path / "daemon.log").open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        with dg.DagsterInstance.get() as instance:
            done = wait_for_days(instance, DAYS)
            runs = instance.get_run_records(filters=dg.RunsFilter(job_name="daily_pipeline"))
    finally:
        os.killpg(daemon.pid, signal.SIGTERM)
        try:
            daemon.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(daemon.pid, signal.SIGKILL)
    log = (tmp_path / "daemon.log").read_text()
    expected = {(START + timedelta(days=i)).isoformat() for i in range(DAYS)}
    assert done == expected, log[-3000:]
    assert all(r.dagster_run.tags.get("dagster/sensor_name") == "landing_zone_sensor" for r in runs)
    assert len(runs) == DAYS, "one run per day, not one per tick"
    for day in expected:
        assert (Path(settings.outputs_url) / "daily_predictions" / f"date={day}" / "part.parquet").exists()


def wait_for_days(instance: dg.DagsterInstance, days: int) -> set[str]:
    deadline = time.monotonic() + TIMEOUT_SECONDS
    done: set[str] = set()
    while time.monotonic() < deadline:
        records = instance.get_run_records(
            filters=dg.RunsFilter(job_name="daily_pipeline", statuses=[dg.DagsterRunStatus.SUCCESS])
        )
        done = {r.dagster_run.tags["dagster/partition"] for r in records}
        failed = instance.get_run_records(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.FAILURE]))
        if len(done) >= days or failed:
            return done
        time.sleep(2)
    return done


def test_dagster_yaml_builds_its_blob_compute_log_manager(tmp_path, monkeypatch):
    """The production instance's compute-log manager is dagster-azure's, configured from the
    environment; constructing it reaches no network."""
    from dagster_azure.blob.compute_log_manager import AzureBlobComputeLogManager

    config = yaml.safe_load((REPO / "dagster.yaml").read_text())
    config.pop("storage")  # PostgreSQL: test_daemon_runs_the_days_the_sensor_finds
    (tmp_path / "dagster.yaml").write_text(yaml.safe_dump(config))
    monkeypatch.setenv("AZURE_STORAGE_ACCOUNT", "e2emlexample")
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        manager = instance.compute_log_manager
        assert isinstance(manager, AzureBlobComputeLogManager)
        assert manager._container == "dagster-logs"
