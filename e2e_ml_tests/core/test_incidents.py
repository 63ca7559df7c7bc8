from datetime import date, timedelta

from e2e_ml.core.incidents import DIGEST_AFTER, Incidents, Observation

DAY = 86_400.0


def seen(day: int, passed: bool = False, causes: tuple[str, ...] = ("sessions",), severity="WARN", at=0.0):
    return Observation(
        check="feature_drift",
        asset="clean_dataset",
        partition=(date(2026, 3, 1) + timedelta(days=day)).isoformat(),
        passed=passed,
        severity=severity,
        causes=frozenset(causes),
        summary="drifted: " + ", ".join(causes),
        facts={},
        at=at,
    )


def test_a_drift_that_lasts_is_one_incident_opened_once_updated_less_and_less_and_closed_once():
    incidents, sent = Incidents(), []
    for day in range(10):  # one daily run per day, the sensor ticking every hour of it
        for hour in range(24):
            now = day * DAY + hour * 3600
            sent += incidents.observe([seen(day, at=now)] if hour == 1 else [], now, update_seconds=DAY)
    sent += incidents.observe([seen(10, passed=True)], 10 * DAY, update_seconds=DAY)
    kinds = [m.kind for m in sent]
    assert kinds[0] == "opened" and kinds[-1] == "closed"
    assert kinds.count("opened") == 1 and kinds.count("closed") == 1
    # Updates after 1, 2 and 4 more days (days 1, 3 and 7): five messages in eleven days.
    assert [m.kind for m in sent] == ["opened", "updated", "updated", "updated", "closed"]
    assert "2026-03-01 .. 2026-03-10 (10 days)" in sent[-1].summary
    assert not incidents.open


def test_a_backfill_of_ninety_drifting_days_is_one_message():
    incidents = Incidents()
    sent = incidents.observe([seen(day) for day in range(90)], now=0.0, update_seconds=DAY)
    assert [m.kind for m in sent] == ["opened"]
    assert len(incidents.open) == 1 and incidents.open[0].failing_days == 90


def test_changing_drifted_features_stay_one_incident_while_they_overlap():
    incidents = Incidents()
    incidents.observe([seen(0, causes=("sessions",))], 0.0, DAY)
    sent = incidents.observe(
        [seen(1, causes=("sessions", "crashes")), seen(2, causes=("crashes",))], 1.0, DAY
    )
    assert sent == [] and len(incidents.open) == 1
    assert incidents.open[0].causes == ["crashes", "sessions"]
    other = incidents.observe([seen(3, causes=("region",))], 2.0, DAY)
    assert [m.kind for m in other] == ["opened"] and len(incidents.open) == 2


def test_a_rerun_of_an_old_clean_day_does_not_close_a_current_incident():
    incidents = Incidents()
    incidents.observe([seen(5), seen(6)], 0.0, DAY)
    assert incidents.observe([seen(2, passed=True)], 1.0, DAY) == []
    assert len(incidents.open) == 1


def test_turning_from_warn_to_error_is_told_at_once():
    incidents = Incidents()
    incidents.observe([seen(0)], 0.0, DAY)
    sent = incidents.observe([seen(1, severity="ERROR")], 60.0, DAY)
    assert [(m.kind, m.severity) for m in sent] == [("updated", "ERROR")]
    assert "now ERROR" in sent[0].title


def test_many_changes_in_one_tick_become_one_digest():
    incidents = Incidents()
    burst = [seen(day, causes=(f"feature_{day}",)) for day in range(DIGEST_AFTER + 2)]
    sent = incidents.observe(burst, 0.0, DAY)
    assert [m.kind for m in sent] == ["digest"]
    assert len(sent[0].facts) == DIGEST_AFTER + 2


def test_state_survives_the_cursor():
    incidents = Incidents()
    incidents.observe([seen(0)], 0.0, DAY)
    again = Incidents.from_json(incidents.to_json())
    assert again.observe([seen(1)], 60.0, DAY) == []
    assert [m.kind for m in again.observe([seen(2, passed=True)], 120.0, DAY)] == ["closed"]
