"""Timestamps as real systems write them, and the business day in a named zone."""

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import yaml

from e2e_ml.core.cleaning import REASON, clean
from e2e_ml.core.contract import ContractError, load_contract
from e2e_ml.core.ingest import combine, read_dump


def events_contract(tmp_path: Path, time: dict | None = None, dtype: str = "datetime64[ns]"):
    doc = {
        "name": "events",
        "roles": {"id": "id", "event_time": "at", "target": "y", "features": ["x"]},
        "schema": {
            "schema_type": "dataframe",
            "columns": {
                "id": {"dtype": "str", "nullable": False},
                "at": {"dtype": dtype, "nullable": False},
                "sent_ms": {"dtype": "datetime64[ns]", "nullable": True},
                "x": {"dtype": "float64", "nullable": True},
                "y": {"dtype": "Int64", "nullable": True},
            },
        },
    }
    if time is not None:
        doc["time"] = time
    path = tmp_path / "events.yaml"
    path.write_text(yaml.safe_dump(doc))
    return load_contract(path)


def cleaned(contract, lines: list[str], day: date):
    raw = combine([read_dump("a.csv", "\n".join(["id,at,sent_ms,x,y", *lines]).encode())])
    return clean(raw, contract, day, {"a.csv": ["id", "at", "sent_ms", "x", "y"]})


@pytest.mark.parametrize("dtype", ["datetime64[ns]", "datetime64[ns, UTC]"])
@pytest.mark.parametrize(
    ("text", "instant"),
    [
        ("2026-01-05T22:00:00Z", datetime(2026, 1, 5, 22, tzinfo=UTC)),
        ("2026-01-05T22:00:00.250Z", datetime(2026, 1, 5, 22, 0, 0, 250000, tzinfo=UTC)),
        ("2026-01-05T17:00:00-05:00", datetime(2026, 1, 5, 22, tzinfo=UTC)),
        ("2026-01-06T00:30:00+02:00", datetime(2026, 1, 5, 22, 30, tzinfo=UTC)),
        ("2026-01-05 22:00:00+0000", datetime(2026, 1, 5, 22, tzinfo=UTC)),
        ("2026-01-05T22:00:00", datetime(2026, 1, 5, 22, tzinfo=UTC)),  # no offset: the contract's zone
        ("2026-01-05", datetime(2026, 1, 5, tzinfo=UTC)),
    ],
)
def test_iso_timestamps_in_every_common_form_are_read_as_utc_instants(tmp_path, dtype, text, instant):
    result = cleaned(events_contract(tmp_path, dtype=dtype), [f"e1,{text},,1.5,0"], date(2026, 1, 5))
    assert result.quarantine.is_empty(), result.quarantine[REASON].to_list()
    assert result.clean["at"].to_list() == [instant]
    assert str(result.clean["at"].dtype.time_zone) == "UTC"  # type: ignore[attr-defined]


@pytest.mark.parametrize(("unit", "text"), [("milliseconds", "1767650400000"), ("seconds", "1767650400")])
def test_epoch_columns_are_read_where_the_contract_says_so(tmp_path, unit, text):
    contract = events_contract(tmp_path, {"epoch": {"sent_ms": unit}})
    result = cleaned(contract, [f"e1,2026-01-05T22:00:00Z,{text},1.5,0"], date(2026, 1, 5))
    assert result.clean["sent_ms"].to_list() == [datetime(2026, 1, 5, 22, tzinfo=UTC)]


def test_a_broken_timestamp_names_the_column_the_value_and_the_row(tmp_path):
    result = cleaned(
        events_contract(tmp_path),
        ["e1,2026-01-05T22:00:00Z,,1,0", "e2,yesterday,,1,0", "e3,2026-13-05T22:00:00Z,,1,0"],
        date(2026, 1, 5),
    )
    reasons = dict(zip(result.quarantine["_source_row"], result.quarantine[REASON], strict=True))
    assert reasons == {
        3: "type:at not a valid datetime64[ns] (got 'yesterday')",
        4: "type:at not a valid datetime64[ns] (got '2026-13-05T22:00:00Z')",
    }
    assert result.clean.height == 1


def test_the_business_day_is_the_calendar_day_in_the_contracts_zone(tmp_path):
    """A US operation's local day: its evening events fall on the next UTC day, and belong to it."""
    contract = events_contract(tmp_path, {"zone": "America/Chicago"})
    lines = [
        "e1,2026-01-05T06:00:00Z,,1,0",  # 00:00 in Chicago (UTC-6): the first instant of Jan 5
        "e2,2026-01-06T05:59:59Z,,1,0",  # 23:59:59 on Jan 5 in Chicago
        "e3,2026-01-05T23:30:00-06:00,,1,0",  # the same day written with its offset
        "e4,2026-01-05T05:59:59Z,,1,0",  # 23:59:59 on Jan 4 in Chicago
        "e5,2026-01-06T06:00:00Z,,1,0",  # 00:00 on Jan 6 in Chicago
    ]
    result = cleaned(contract, lines, date(2026, 1, 5))
    assert result.clean["id"].to_list() == ["e1", "e2", "e3"]
    assert result.quarantine[REASON].to_list() == [
        "day:at 2026-01-04 in America/Chicago is not the landing day 2026-01-05",
        "day:at 2026-01-06 in America/Chicago is not the landing day 2026-01-05",
    ]


@pytest.mark.parametrize(
    ("day", "inside", "outside"),
    [
        # Spring forward (Mar 8, 2026): the day has 23 hours, 06:00Z to 05:00Z next day.
        (date(2026, 3, 8), ["2026-03-08T06:00:00Z", "2026-03-09T04:59:59Z"], ["2026-03-09T05:00:00Z"]),
        # Fall back (Nov 1, 2026): the day has 25 hours, 05:00Z to 06:00Z next day.
        (date(2026, 11, 1), ["2026-11-01T05:00:00Z", "2026-11-02T05:59:59Z"], ["2026-11-02T06:00:00Z"]),
    ],
)
def test_daylight_saving_change_days_keep_all_their_hours(tmp_path, day, inside, outside):
    contract = events_contract(tmp_path, {"zone": "America/Chicago"})
    lines = [f"e{n},{text},,1,0" for n, text in enumerate([*inside, *outside])]
    result = cleaned(contract, lines, day)
    assert result.clean.height == len(inside)
    assert result.quarantine.height == len(outside)


def test_local_times_without_offset_are_read_in_the_zone_and_a_skipped_hour_is_refused(tmp_path):
    contract = events_contract(tmp_path, {"zone": "America/Chicago"})
    result = cleaned(
        contract, ["e1,2026-03-08 01:30:00,,1,0", "e2,2026-03-08 02:30:00,,1,0"], date(2026, 3, 8)
    )
    assert result.clean["at"].to_list() == [datetime(2026, 3, 8, 7, 30, tzinfo=UTC)]
    assert result.quarantine[REASON].to_list() == [
        "type:at not a valid datetime64[ns] (got '2026-03-08 02:30:00')"
    ]


def test_an_authoritative_landing_day_does_not_check_rows_against_it(tmp_path):
    contract = events_contract(tmp_path, {"landing_day": "authoritative"})
    result = cleaned(contract, ["e1,2026-01-07T10:00:00Z,,1,0"], date(2026, 1, 5))
    assert result.clean.height == 1 and result.quarantine.is_empty()


@pytest.mark.parametrize(
    ("time", "message"),
    [
        ({"zone": "Mars/Olympus"}, "not an IANA time zone"),
        ({"landing_day": "sometimes"}, "checked or authoritative"),
        ({"epoch": {"sent_ms": "hours"}}, "seconds or milliseconds"),
        ({"epoch": {"x": "seconds"}}, "datetime dtype"),
    ],
)
def test_a_contract_with_wrong_time_rules_is_refused_with_the_reason(tmp_path, time, message):
    with pytest.raises(ContractError, match=message):
        events_contract(tmp_path, time)
