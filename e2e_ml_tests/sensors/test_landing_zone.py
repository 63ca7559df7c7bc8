from pathlib import Path

import dagster as dg
import pytest

from e2e_ml.resources.monitoring import MonitoringPolicy
from e2e_ml.resources.storage import LandingZone
from e2e_ml.sensors.landing_zone import landing_zone_sensor


@pytest.fixture
def landing(tmp_path) -> LandingZone:
    return LandingZone(url=str(tmp_path / "landing"))


def evaluate(landing: LandingZone, cursor: str | None):
    outcomes = LandingZone(url=str(Path(landing.url).parent / "outcomes"))
    resources = {"landing_zone": landing, "outcomes_zone": outcomes, "monitoring": MonitoringPolicy()}
    with (
        dg.instance_for_test() as instance,
        dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources) as context,
    ):
        return landing_zone_sensor(context)


def test_nothing_landed_is_a_skip(landing):
    result = evaluate(landing, None)
    assert not result.run_requests
    assert "no new or changed files among 0" in (result.skip_reason.skip_message or "")


def test_one_run_per_day_then_nothing_until_files_change(landing):
    landing.write("2026/01/05/a.csv", b"x")
    landing.write("2026/01/05/b.csv", b"y")
    landing.write("2026/01/06/a.csv", b"z")
    first = evaluate(landing, None)
    assert [r.partition_key for r in first.run_requests] == ["2026-01-05", "2026-01-06"]
    assert first.run_requests[0].tags["e2e_ml/files"] == "2"

    assert not evaluate(landing, first.cursor).run_requests

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
    assert not evaluate(landing, second.cursor).run_requests


def test_files_off_the_day_layout_or_before_the_partitions_are_not_run(landing):
    landing.write("stray.csv", b"x")
    landing.write("1999/01/01/old.csv", b"x")
    assert not evaluate(landing, None).run_requests


def test_the_tick_never_reads_file_contents(landing, monkeypatch):
    landing.write("2026/01/05/a.csv", b"x")

    def refuse(*args, **kwargs):
        raise AssertionError("the sensor read a file")

    monkeypatch.setattr(LandingZone, "read_bytes", refuse)
    assert evaluate(landing, None).run_requests


def test_each_tick_reports_the_landing_zone_freshness(landing, tmp_path):
    import os
    import time

    landing.write("2026/01/05/a.csv", b"x")
    fresh = evaluate(landing, None).asset_events[0]
    assert fresh.passed and fresh.check_name == "fresh"
    two_days_ago = time.time() - 2 * 86400
    os.utime(tmp_path / "landing" / "2026/01/05/a.csv", (two_days_ago, two_days_ago))
    stale = evaluate(landing, None).asset_events[0]
    assert not stale.passed
    assert stale.metadata["hours_since_newest_file"].value > 47
    assert stale.metadata["newest_file"].value == "2026/01/05/a.csv"


def test_temporary_files_neither_run_a_day_nor_count_as_fresh(landing, tmp_path):
    import os
    import time

    landing.write("2026/01/05/a.csv", b"x")
    two_days_ago = time.time() - 2 * 86400
    os.utime(tmp_path / "landing" / "2026/01/05/a.csv", (two_days_ago, two_days_ago))
    first = evaluate(landing, None)
    for name in ("2026/01/05/.upload_tmp.csv", "2026/01/05/_SUCCESS", "2026/01/06/b.csv.partial"):
        landing.write(name, b"in progress")
    second = evaluate(landing, first.cursor)
    assert not second.run_requests
    fresh = next(e for e in second.asset_events if e.check_name == "fresh")
    assert not fresh.passed  # an uploader's leftovers are not new data


def test_a_file_no_layout_places_is_reported_by_a_failing_check(tmp_path):
    landing = LandingZone(url=str(tmp_path / "landing"), layout="hive")
    landing.write("dt=2026-01-05/hour=01/part-00000.csv", b"x")
    landing.write("2026/01/05/dump.csv", b"x")  # the old layout, after a change upstream
    result = evaluate(landing, None)
    assert [r.partition_key for r in result.run_requests] == ["2026-01-05"]
    placed = next(e for e in result.asset_events if e.check_name == "files_placed")
    assert not placed.passed and placed.severity == dg.AssetCheckSeverity.ERROR
    assert "2026/01/05/dump.csv" in (placed.description or "")
    assert "outside the landing layout" in placed.metadata["unplaced"].value
    assert placed.metadata["unplaced_files"].value == 1


def test_a_quiet_period_holds_a_day_until_its_newest_file_settles(tmp_path):
    import os
    import time

    landing = LandingZone(url=str(tmp_path / "landing"), quiet_seconds=600)
    landing.write("2026/01/05/a.csv", b"x")
    landing.write("2026/01/06/a.csv", b"x")
    an_hour_ago = time.time() - 3600
    os.utime(tmp_path / "landing" / "2026/01/05/a.csv", (an_hour_ago, an_hour_ago))
    first = evaluate(landing, None)
    assert [r.partition_key for r in first.run_requests] == ["2026-01-05"]
    os.utime(tmp_path / "landing" / "2026/01/06/a.csv", (an_hour_ago, an_hour_ago))
    second = evaluate(landing, first.cursor)
    assert [r.partition_key for r in second.run_requests] == ["2026-01-06"]
