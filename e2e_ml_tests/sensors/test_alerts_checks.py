"""Alerts from failed checks, injected through the simulator or a degraded run, reach a real webhook once."""

import json

from e2e_ml.core.incidents import DIGEST_AFTER
from e2e_ml.demo import QUIET_LOGS, raise_alerts


def test_clean_days_send_nothing(watched):
    deployment = watched()
    deployment.land()
    outcome = deployment.tick()
    assert len(outcome.runs) == 4 and all(run.success for run in outcome.runs)
    deployment.tick()
    assert deployment.alerts == []


def test_feature_drift_alerts_once(watched):
    deployment = watched()
    deployment.land("covariate_drift@3")
    deployment.tick()
    deployment.tick()  # a second tick re-reads nothing new: no duplicate
    drift = [a for a in deployment.alerts if "feature_drift" in a]
    # ERROR: the day drifted from the days the serving model learned from, not only from the last days.
    assert drift == ["[ERROR] Check feature_drift failed on clean_dataset for 2026-03-05"]
    payload = deployment.server.requests[deployment.alerts.index(drift[0])].json()
    facts = payload["blocks"][1]["text"]["text"]
    assert "minutes_played" in facts and "max_psi" in facts and "drifted_from_training" in facts


def test_abnormal_file_alerts_once(watched):
    deployment = watched()
    deployment.land("oversize_file@3")
    deployment.tick()
    assert deployment.alerts == ["[ERROR] Check file_volume failed on raw_manifest for 2026-03-05"]
    facts = deployment.server.requests[0].json()["blocks"][1]["text"]["text"]
    assert "2026/03/05/telemetry_" in facts and "MAD" in facts


def test_corrupt_file_alerts_as_a_contract_violation(watched):
    deployment = watched()
    deployment.land("corrupt_file@2", days=3)
    deployment.tick()
    contract = [a for a in deployment.alerts if "contract_violations" in a]
    assert contract == ["[ERROR] Check contract_violations failed on clean_dataset for 2026-03-04"]
    payload = deployment.server.requests[deployment.alerts.index(contract[0])].json()
    assert "not UTF-8" in payload["blocks"][1]["text"]["text"]


def test_prediction_drift_alerts_once(watched):
    deployment = watched()
    deployment.land("covariate_drift@5", days=6)  # judged once three days were scored
    deployment.tick()
    deployment.tick()
    drift = [a for a in deployment.alerts if "prediction_drift" in a]
    assert drift == ["[WARN] Check prediction_drift failed on daily_predictions for 2026-03-07"]
    payload = deployment.server.requests[deployment.alerts.index(drift[0])].json()
    assert "score_psi" in payload["blocks"][1]["text"]["text"]


def test_model_quality_regression_alerts_once(watched):
    deployment = watched()
    deployment.land(days=4)
    deployment.tick()
    job = deployment.defs.resolve_job_def("daily_pipeline")
    weak = {"ops": {"trained_model": {"config": {"max_iter": 1, "max_leaf_nodes": 2}}}}
    for _ in range(2):  # the same regression twice is one incident
        job.execute_in_process(partition_key="2026-03-05", instance=deployment.instance, run_config=weak)
        raise_alerts(deployment.defs, deployment.instance, deployment.alert_cursors)
    assert deployment.alerts == ["[WARN] Check no_quality_regression failed on trained_model for 2026-03-05"]
    facts = deployment.server.requests[0].json()["blocks"][1]["text"]["text"]
    assert "*roc_auc*" in facts and "*champion_roc_auc*" in facts


def test_a_drift_that_persists_for_ten_days_is_one_incident(watched):
    """Day by day, as the daemon runs them: the alert sensor ticks after every daily run."""
    deployment = watched()
    deployment.land("covariate_drift@3", days=13)
    job = deployment.defs.resolve_job_def("daily_pipeline")
    for day in range(13):
        job.execute_in_process(
            partition_key=f"2026-03-{2 + day:02d}", instance=deployment.instance, run_config=QUIET_LOGS
        )
        raise_alerts(deployment.defs, deployment.instance, deployment.alert_cursors)
    drift = [a for a in deployment.alerts if "feature_drift" in a]
    # Opened on the first drifted day; closed once the trailing reference has taken the new
    # normal in (the model, retrained daily, has too): one incident, never a message a day.
    assert drift[0] == "[ERROR] Check feature_drift failed on clean_dataset for 2026-03-05"
    assert [a.split("] ")[1].split(":")[0] for a in drift[1:]] in ([], ["Resolved"])
    opened = [a for a in deployment.alerts if "] Check " in a]
    assert len({a.split(" failed on")[0] for a in opened}) == len(opened)  # one incident per check
    assert len(deployment.alerts) <= 5


def test_a_backfill_of_thirty_days_with_drift_sends_a_handful_of_messages(watched):
    deployment = watched()
    deployment.land("covariate_drift@5", days=30, players=300)
    outcome = deployment.tick()  # thirty runs, then the alert sensors tick once
    assert len(outcome.runs) == 30
    assert 1 <= len(deployment.alerts) <= DIGEST_AFTER
    told = [json.dumps(request.json()) for request in deployment.server.requests]
    assert any("Check feature_drift failed on clean_dataset for 2026-03-07" in text for text in told)
