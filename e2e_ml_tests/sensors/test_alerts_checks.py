"""Alerts from failed checks, injected through the simulator or a degraded run, reach a real webhook once."""

from e2e_ml.demo import raise_alerts


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
    assert drift == ["[WARN] Check feature_drift failed on clean_dataset for 2026-03-05"]
    payload = deployment.server.requests[deployment.alerts.index(drift[0])].json()
    facts = payload["blocks"][1]["text"]["text"]
    assert "minutes_played" in facts and "max_psi" in facts


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
