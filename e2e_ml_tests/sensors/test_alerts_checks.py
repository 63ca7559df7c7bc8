"""Alerts from failed checks, injected through the simulator, reach a real webhook once."""


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
