import dagster as dg
import pytest

from e2e_ml.resources.storage import LandingZone
from e2e_ml.sensors.landing_zone import landing_zone_sensor


@pytest.fixture
def landing(tmp_path) -> LandingZone:
    return LandingZone(url=str(tmp_path / "landing"))


def evaluate(landing: LandingZone, cursor: str | None):
    resources = {"landing_zone": landing}
    with (
        dg.instance_for_test() as instance,
        dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources) as context,
    ):
        return landing_zone_sensor(context)


def test_nothing_landed_is_a_skip(landing):
    result = evaluate(landing, None)
    assert isinstance(result, dg.SkipReason)
    assert "no new or changed files among 0" in (result.skip_message or "")


def test_one_run_per_day_then_nothing_until_files_change(landing):
    landing.write("2026/01/05/a.csv", b"x")
    landing.write("2026/01/05/b.csv", b"y")
    landing.write("2026/01/06/a.csv", b"z")
    first = evaluate(landing, None)
    assert isinstance(first, dg.SensorResult)
    assert [r.partition_key for r in first.run_requests] == ["2026-01-05", "2026-01-06"]
    assert first.run_requests[0].tags["e2e_ml/files"] == "2"

    assert isinstance(evaluate(landing, first.cursor), dg.SkipReason)

    landing.write("2026/01/05/late.csv", b"late")
    second = evaluate(landing, first.cursor)
    assert [r.partition_key for r in second.run_requests] == ["2026-01-05"]
    assert second.run_requests[0].run_key != first.run_requests[0].run_key


def test_a_reupload_with_new_content_reruns_its_day_once(landing):
    landing.write("2026/01/05/a.csv", b"version one")
    first = evaluate(landing, None)
    landing.write("2026/01/05/a.csv", b"version two, longer")
    second = evaluate(landing, first.cursor)
    assert [r.partition_key for r in second.run_requests] == ["2026-01-05"]
    assert isinstance(evaluate(landing, second.cursor), dg.SkipReason)


def test_files_off_the_day_layout_or_before_the_partitions_are_not_run(landing):
    landing.write("stray.csv", b"x")
    landing.write("1999/01/01/old.csv", b"x")
    result = evaluate(landing, None)
    assert isinstance(result, dg.SkipReason)


def test_the_tick_never_reads_file_contents(landing, monkeypatch):
    landing.write("2026/01/05/a.csv", b"x")

    def refuse(*args, **kwargs):
        raise AssertionError("the sensor read a file")

    monkeypatch.setattr(LandingZone, "read", refuse)
    assert isinstance(evaluate(landing, None), dg.SensorResult)
