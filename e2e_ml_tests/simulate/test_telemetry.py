from datetime import date

import pytest

from e2e_ml.simulate.telemetry import Anomaly, SimulationConfig, simulate, simulate_day

START = date(2026, 1, 5)


def config(*anomalies: str, **kwargs) -> SimulationConfig:
    return SimulationConfig(
        start=START,
        days=kwargs.pop("days", 4),
        players=300,
        anomalies=tuple(map(Anomaly.parse, anomalies)),
        **kwargs,
    )


def test_same_seed_same_bytes_and_a_day_is_independent_of_the_stream():
    stream = list(simulate(config()))
    assert [d.content for d in stream] == [d.content for d in simulate(config())]
    day_two = [d for d in stream if d.day == date(2026, 1, 7)]
    assert [d.content for d in simulate_day(config(), 2)] == [d.content for d in day_two]


def test_dumps_are_6_to_12_hours_apart_and_laid_out_by_day():
    for day_index in range(4):
        dumps = simulate_day(config(), day_index)
        assert 2 <= len(dumps) <= 4
        for dump in dumps:
            assert dump.name.startswith(dump.day.strftime("%Y/%m/%d/"))


def test_gap_lands_nothing_for_its_days():
    days = {d.day for d in simulate(config("gap@1+2"))}
    assert days == {date(2026, 1, 5), date(2026, 1, 8)}


def test_file_anomalies():
    baseline = simulate_day(config(), 0)
    empty = simulate_day(config("empty_file@0"), 0)
    corrupt = simulate_day(config("corrupt_file@0"), 0)
    oversize = simulate_day(config("oversize_file@0"), 0)
    assert [d.content for d in empty if d.name not in {b.name for b in baseline}] == [b""]
    garbage = [d.content for d in corrupt if d.name not in {b.name for b in baseline}]
    assert len(garbage) == 1 and garbage[0][:1] >= b"\x80"
    assert oversize[0].rows == 20 * baseline[0].rows


def test_covariate_drift_persists_from_its_day():
    import io

    import pandas as pd

    def minutes(cfg, day):
        dumps = simulate_day(cfg, day)
        return pd.concat(pd.read_csv(io.BytesIO(d.content)) for d in dumps)["minutes_played"].mean()

    drifted = config("covariate_drift@2")
    assert minutes(drifted, 1) == pytest.approx(minutes(config(), 1))
    assert minutes(drifted, 3) > 2 * minutes(config(), 3)


def test_formats_and_bad_anomaly_text():
    assert simulate_day(config(file_format="jsonl"), 0)[0].name.endswith(".jsonl")
    with pytest.raises(ValueError, match="expected KIND@DAY"):
        Anomaly.parse("meteor@3")


def test_late_file_is_the_days_last_dump_landing_a_day_later():
    from e2e_ml.simulate.telemetry import is_late

    normal = simulate_day(config(), 1)
    with_late = simulate_day(config("late_file@1"), 1)
    late = [d for d in with_late if is_late(d)]
    assert len(late) == 1 and late[0].name.startswith("2026/01/06/telemetry_late_20260107")
    assert [d.content for d in with_late] == [d.content for d in normal]
    assert late[0].name.replace("late_", "").replace("20260107T", "20260106T") == normal[-1].name
