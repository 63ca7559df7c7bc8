from datetime import date

import pytest

from e2e_ml.core.landing import (
    LAYOUTS,
    changed_days,
    day_fingerprints,
    decode_cursor,
    encode_cursor,
    layout_named,
)


def test_day_comes_from_the_path_prefix():
    day_of = LAYOUTS["ymd"].day_of
    assert day_of("2026/01/31/dump.csv") == date(2026, 1, 31)
    assert day_of("2026/02/30/dump.csv") is None  # not a date
    assert day_of("dump.csv") is None
    assert day_of("2026/01/31/nested/dump.csv") is None


def placed(name: str, size: int, version: str):
    return LAYOUTS["ymd"].place(name, size, version)


def test_a_new_file_changes_only_its_day():
    before = [placed("2026/01/01/a.csv", 10, "v1"), placed("2026/01/02/b.csv", 10, "v1")]
    after = [*before, placed("2026/01/01/late.csv", 5, "v1")]
    assert changed_days(day_fingerprints(before), day_fingerprints(after)) == ["2026-01-01"]


def test_a_reuploaded_file_changes_its_day_and_an_unchanged_listing_changes_nothing():
    files = [placed("2026/01/01/a.csv", 10, "v1")]
    reuploaded = [placed("2026/01/01/a.csv", 10, "v2")]
    assert changed_days(day_fingerprints(files), day_fingerprints(reuploaded)) == ["2026-01-01"]
    assert changed_days(day_fingerprints(files), day_fingerprints(list(reversed(files)))) == []


def test_cursor_round_trips_and_is_one_entry_per_day():
    files = [placed(f"2026/01/01/{i}.csv", i, "v") for i in range(50)]
    fingerprints = day_fingerprints(files)
    assert len(fingerprints) == 1
    assert decode_cursor(encode_cursor(fingerprints)) == fingerprints
    assert decode_cursor(None) == {}


def test_changed_days_are_ordered_oldest_first():
    current = {"2026-01-03": "c", "2026-01-01": "a", "2026-01-02": "b"}
    assert changed_days({}, current) == ["2026-01-01", "2026-01-02", "2026-01-03"]


def test_hostile_names_are_refused_and_have_no_day():
    from e2e_ml.core.landing import unsafe_name

    assert unsafe_name("2026/01/05/a.csv") is None
    for name, reason in [
        ("2026/01/05/../../../etc/passwd", "'..'"),
        ("/etc/passwd", "absolute"),
        ("C:/windows/a.csv", "absolute"),
        ("2026/01/05/a\x00.csv", "control character"),
        ("2026/01/05/a\n.csv", "control character"),
        ("2026/01/05/" + "a" * 2000 + ".csv", "longer than"),
    ]:
        assert reason in (unsafe_name(name) or ""), name
        file = placed(name, 1, "v")
        assert file.placement == "unplaced" or (file.day == date(2026, 1, 5) and file.is_data), name


@pytest.mark.parametrize(
    ("layout", "name", "day"),
    [
        ("ymd", "2026/01/05/dump.csv", date(2026, 1, 5)),
        ("ymd", "2026/01/05/23/dump.csv", date(2026, 1, 5)),  # an hourly sub-folder belongs to its day
        ("hive", "dt=2026-01-05/hour=03/part-00001.jsonl.gz", date(2026, 1, 5)),
        ("hive", "date=2026-01-05/export.csv", date(2026, 1, 5)),
        ("hive", "orders/ingest_date=20260105/export.csv", date(2026, 1, 5)),
        ("eventhubs", "myns/telemetry/3/2026/01/05/22/15/07.avro", date(2026, 1, 5)),
        ("name:orders_{date:%Y%m%d}_*.csv", "orders_20260105_am.csv", date(2026, 1, 5)),
        ("name:orders_{date:%Y%m%d}_*.csv", "exports/orders_20260105_pm.csv", date(2026, 1, 5)),
        ("name:{date:%d.%m.%Y}.tsv", "05.01.2026.tsv", date(2026, 1, 5)),
    ],
)
def test_each_layout_places_a_file_on_its_day(layout, name, day):
    placed_file = layout_named(layout).place(name, 1, "v")
    assert (placed_file.day, placed_file.placement) == (day, "data")


@pytest.mark.parametrize(
    ("layout", "name"),
    [
        ("ymd", "dt=2026-01-05/part-00001.jsonl.gz"),
        ("ymd", "2026/02/30/dump.csv"),
        ("hive", "2026/01/05/dump.csv"),
        ("hive", "dt=2026-01-05/hour=03/extra/part.csv"),
        ("eventhubs", "2026/01/05/dump.avro"),
        ("name:orders_{date:%Y%m%d}_*.csv", "orders_latest.csv"),
    ],
)
def test_a_name_outside_the_layout_is_unplaced_with_the_reason(layout, name):
    placed_file = layout_named(layout).place(name, 1, "v")
    assert placed_file.placement == "unplaced" and placed_file.day is None
    assert "outside the landing layout" in (placed_file.note or "")


@pytest.mark.parametrize(
    "name",
    [
        "2026/01/05/.upload_tmp.csv",
        "2026/01/05/_SUCCESS",
        "2026/01/05/_started_1234",
        "2026/01/05/dump.csv.partial",
        "2026/01/05/dump.csv.tmp",
        "2026/01/05/_temporary/0/part.csv",
        ".DS_Store",
    ],
)
def test_temporary_and_hidden_names_are_skipped_not_data(name):
    placed_file = layout_named("ymd").place(name, 1, "v")
    assert placed_file.placement == "skipped" and not placed_file.is_data
    assert (placed_file.note or "").startswith("not data")
    assert day_fingerprints([placed_file]) == {}


def test_a_layout_name_that_does_not_exist_lists_the_choices():
    with pytest.raises(ValueError, match="ymd, hive, eventhubs or name:<pattern>"):
        layout_named("daily")
    with pytest.raises(ValueError, match="%Y, %m and %d"):
        layout_named("name:orders_{date:%Y%m}.csv")
