"""Alerts for a stale landing zone, a failed run and a slow run reach a real webhook once."""

import os
import threading
import time

from e2e_ml.demo import QUIET_LOGS, raise_alerts


def test_stale_landing_zone_alerts_once_per_incident(watched):
    deployment = watched()
    deployment.land(days=1)
    deployment.tick()
    assert deployment.alerts == []
    two_days_ago = time.time() - 2 * 86400
    for file in (deployment.settings.home / "landing").rglob("*.csv"):
        os.utime(file, (two_days_ago, two_days_ago))
    deployment.tick()
    deployment.tick()
    assert deployment.alerts == ["[ERROR] Check fresh failed on landed_files"]
    deployment.land(days=2)  # fresh data: the incident closes; going stale again is a new one
    deployment.tick()
    for file in (deployment.settings.home / "landing").rglob("*.csv"):
        os.utime(file, (two_days_ago, two_days_ago))
    deployment.tick()
    assert deployment.alerts == [
        "[ERROR] Check fresh failed on landed_files",
        "[ERROR] Resolved: check fresh on landed_files passed",
        "[ERROR] Check fresh failed on landed_files",
    ]


def test_failed_run_alerts_once(watched, tmp_path):
    deployment = watched(contract=tmp_path / "missing_contract.yaml", step_retries=0)  # see test_faults
    deployment.land(days=1)
    outcome = deployment.tick()
    assert not outcome.runs[0].success
    deployment.tick()
    assert deployment.alerts == ["[ERROR] Run of daily_pipeline for 2026-03-02 failed"]
    facts = deployment.server.requests[0].json()["blocks"][1]["text"]["text"]
    assert "*failed steps*: outcomes_feed, prepare" in facts  # both need the contract


def test_slow_run_alerts_while_it_runs_and_once(watched):
    deployment = watched()
    deployment.land(days=3)
    deployment.tick()  # days 0-2 done; now re-run day 2 slowly, with a 1 second budget
    job = deployment.defs.resolve_job_def("daily_pipeline")
    slow = {**QUIET_LOGS, "ops": {"trained_model": {"config": {"max_iter": 3000, "learning_rate": 0.01}}}}
    runner = threading.Thread(
        target=job.execute_in_process,
        kwargs={
            "partition_key": "2026-03-04",
            "instance": deployment.instance,
            "run_config": slow,
            "tags": {"e2e_ml/max_runtime_seconds": "1"},
        },
    )
    runner.start()
    deadline = time.monotonic() + 60
    while not deployment.alerts and time.monotonic() < deadline:
        time.sleep(0.5)
        raise_alerts(deployment.defs, deployment.instance, deployment.alert_cursors)
    still_running = runner.is_alive()
    raise_alerts(deployment.defs, deployment.instance, deployment.alert_cursors)
    runner.join()
    raise_alerts(deployment.defs, deployment.instance, deployment.alert_cursors)
    assert still_running, "the alert came while the run was still going"
    run_alerts = [alert for alert in deployment.alerts if alert.startswith("[ERROR] Run")]
    assert run_alerts == ["[ERROR] Run of daily_pipeline for 2026-03-04 over its time budget"]
