import json
from datetime import UTC, date, datetime

import pandas as pd
import pandera.errors
import polars as pl
import pytest

from e2e_ml.core.cleaning import REASON, SOURCE_FILE, SOURCE_ROW, clean
from e2e_ml.core.ingest import combine, read_dump

DAY = date(2026, 1, 5)
HEADER = (
    "player_id,event_date,platform,region,sessions,minutes_played,purchases,spend_usd,"
    "days_since_install,crashes,friends_online,churned_next_7d"
)
GOOD = "p000001,2026-01-05,ios,eu,3,42.5,0,0.0,100,0,4,0"


def raw_of(*files: tuple[str, list[str]], header: str = HEADER):
    reads = [read_dump(name, "\n".join([header, *lines]).encode()) for name, lines in files]
    return combine(reads), {name: r.columns for (name, _), r in zip(files, reads, strict=True)}


def test_good_rows_come_out_typed(contract):
    raw, headers = raw_of(("a.csv", [GOOD]))
    result = clean(raw, contract, DAY, headers)
    assert len(result.clean) == 1 and result.quarantine.is_empty()
    row = result.clean.row(0, named=True)
    assert row["sessions"] == 3 and result.clean.schema["sessions"] == pl.Int64
    assert row["event_date"] == datetime(2026, 1, 5, tzinfo=UTC)
    assert row[SOURCE_FILE] == "a.csv" and row[SOURCE_ROW] == 2


@pytest.mark.parametrize(
    ("line", "rule", "column"),
    [
        ("p000001,2026-01-05,ios,eu,three,42.5,0,0.0,100,0,4,0", "type:sessions", "three"),
        ("p000001,2026-01-05,ios,eu,2.5,42.5,0,0.0,100,0,4,0", "type:sessions", "2.5"),
        ("p000001,2026-01-05,ios,eu,-5,42.5,0,0.0,100,0,4,0", "check:sessions", "in_range"),
        ("p000001,2026-01-05,wii,eu,3,42.5,0,0.0,100,0,4,0", "check:platform", "isin"),
        ("bob,2026-01-05,ios,eu,3,42.5,0,0.0,100,0,4,0", "check:player_id", "str_matches"),
        (",2026-01-05,ios,eu,3,42.5,0,0.0,100,0,4,0", "check:player_id", "not_nullable"),
        ("p000001,2026-01-04,ios,eu,3,42.5,0,0.0,100,0,4,0", "day:event_date", "2026-01-04"),
        ("p000001,yesterday,ios,eu,3,42.5,0,0.0,100,0,4,0", "type:event_date", "yesterday"),
        ("p000001,2026-01-05,ios,eu,3,42.5,0,0.0,100,0,4,2", "check:churned_next_7d", "isin"),
    ],
)
def test_a_bad_row_is_quarantined_naming_file_row_and_rule(contract, line, rule, column):
    raw, headers = raw_of(("a.csv", [GOOD.replace("p000001", "p000002"), line]))
    result = clean(raw, contract, DAY, headers)
    assert len(result.clean) == 1, "the good row of the same file still flows"
    assert len(result.quarantine) == 1
    bad = result.quarantine.row(0, named=True)
    assert bad[SOURCE_FILE] == "a.csv" and bad[SOURCE_ROW] == 3
    assert bad[REASON].startswith(rule) and column in bad[REASON]


@pytest.mark.parametrize(
    ("line", "column", "value"),
    [
        ("p000001,2026-01-05,ios,eu,3.0,42.5,0,0.0,100,0,4,0", "sessions", 3),
        ("p000001,2026-01-05,ios,eu, 3 ,42.5,0,0.0,100,0,4,0", "sessions", 3),
        ("p000001,2026-01-05, ios ,eu,3,42.5,0,0.0,100,0,4,0", "platform", "ios"),
        (
            "p000001,2026-01-05T00:00:00,ios,eu,3,42.5,0,0.0,100,0,4,0",
            "event_date",
            datetime(2026, 1, 5, tzinfo=UTC),
        ),
        (
            "p000001,2026-01-05 00:00:00.000,ios,eu,3,42.5,0,0.0,100,0,4,0",
            "event_date",
            datetime(2026, 1, 5, tzinfo=UTC),
        ),
        ("p000001,2026-01-05,ios,eu,3, ,0,0.0,100,0,4,0", "minutes_played", None),  # blank: missing
    ],
)
def test_values_in_another_accepted_form_are_read_not_rejected(contract, line, column, value):
    raw, headers = raw_of(("a.csv", [line, GOOD.replace("p000001", "p000002")]))
    result = clean(raw, contract, DAY, headers)
    assert result.quarantine.is_empty()
    assert result.clean.row(0, named=True)[column] == value


def test_every_rule_a_row_breaks_is_listed(contract):
    raw, headers = raw_of(("a.csv", ["p000001,2026-01-05,wii,mars,3,42.5,0,0.0,100,0,4,0"]))
    reason = clean(raw, contract, DAY, headers).quarantine[REASON][0]
    assert "check:platform" in reason and "check:region" in reason


def test_a_file_missing_a_column_is_rejected_not_imputed(contract):
    renamed = HEADER.replace("minutes_played", "minutes_played_total")
    good, _ = raw_of(("a.csv", [GOOD]))
    renamed_raw, renamed_headers = raw_of(("b.csv", [GOOD.replace("p000001", "p000002")]), header=renamed)
    raw = pl.concat([good, renamed_raw], how="diagonal")
    headers = {"a.csv": HEADER.split(","), **renamed_headers}
    result = clean(raw, contract, DAY, headers)
    assert result.clean[SOURCE_FILE].to_list() == ["a.csv"]
    assert result.quarantine[REASON][0].startswith("columns:file lacks contract columns ['minutes_played']")


def test_duplicates_keep_the_last_landed_row_and_quarantine_the_earlier(contract):
    later = GOOD.replace(",3,42.5,", ",7,42.5,")
    raw, headers = raw_of(("2026/01/05/a.csv", [GOOD]), ("2026/01/05/b.csv", [later]))
    result = clean(raw, contract, DAY, headers)
    assert result.clean["sessions"].to_list() == [7]
    assert result.quarantine[SOURCE_FILE].to_list() == ["2026/01/05/a.csv"]
    assert "superseded by 2026/01/05/b.csv row 2" in result.quarantine[REASON][0]


def test_missing_features_stay_missing_and_are_counted(contract):
    rows = [
        "p000001,2026-01-05,ios,eu,2,10.0,0,0.0,100,0,4,0",
        "p000002,2026-01-05,ios,eu,4,30.0,0,0.0,100,0,4,1",
        "p000003,2026-01-05,,eu,,,0,0.0,100,0,4,",
    ]
    raw, headers = raw_of(("a.csv", rows))
    result = clean(raw, contract, DAY, headers)
    row = result.clean.row(by_predicate=pl.col("player_id") == "p000003", named=True)
    assert row["sessions"] is None and row["minutes_played"] is None and row["platform"] is None
    assert row["churned_next_7d"] is None
    shares = result.null_shares(["platform", "sessions", "region"])
    assert shares == {"platform": round(1 / 3, 4), "sessions": round(1 / 3, 4), "region": 0.0}


def anomalous_day():
    """A simulated day with duplicates, out-of-range values and a burst of nulls: its raw rows
    and each file's header."""
    from e2e_ml.simulate.telemetry import Anomaly, SimulationConfig, simulate_day

    config = SimulationConfig(
        start=DAY,
        days=1,
        players=400,
        anomalies=tuple(Anomaly.parse(a) for a in ("duplicates@0", "out_of_range@0", "null_burst@0")),
    )
    reads = [read_dump(d.name, d.content) for d in simulate_day(config, 0)]
    return combine(reads), {r.rows[SOURCE_FILE][0]: r.columns for r in reads}


def test_every_landed_row_is_clean_or_quarantined(contract):
    raw, headers = anomalous_day()
    result = clean(raw, contract, DAY, headers)
    assert len(result.clean) + len(result.quarantine) == len(raw)
    assert not result.clean.select(list(contract.key)).is_duplicated().any()
    landed = set(zip(raw[SOURCE_FILE], raw[SOURCE_ROW], strict=True))
    accounted = set(zip(result.clean[SOURCE_FILE], result.clean[SOURCE_ROW], strict=True)) | set(
        zip(result.quarantine[SOURCE_FILE], result.quarantine[SOURCE_ROW], strict=True)
    )
    assert accounted == landed
    assert set(result.rejected_by_rule) == {"check:minutes_played", "check:sessions", "duplicate:key"}


def test_output_keeps_the_order_rows_were_read_in(contract):
    rows = [GOOD.replace("p000001", f"p00000{i}") for i in (3, 1, 2)]
    raw, headers = raw_of(("2026/01/05/b.csv", rows[:1]), ("2026/01/05/a.csv", [rows[1], "x", rows[2]]))
    result = clean(raw, contract, DAY, headers)
    assert result.clean["player_id"].to_list() == ["p000003", "p000001", "p000002"]
    assert result.clean[SOURCE_ROW].to_list() == [2, 2, 4]


def test_file_ledger_accounts_for_every_landed_row(contract):
    from e2e_ml.core.cleaning import file_ledger

    raw, headers = raw_of(
        ("a.csv", [GOOD, GOOD.replace("ios", "wii")]), ("b.csv", [GOOD.replace("p000001", "p000002")])
    )
    result = clean(raw, contract, DAY, headers)
    manifest = pd.DataFrame(
        {
            "file": ["a.csv", "b.csv", "c.csv"],
            "day": "2026-01-05",
            "size": [10, 5, 0],
            "version": "v",
            "status": ["read", "read", "refused"],
            "reason": [None, None, "c.csv: empty file (0 bytes)"],
            "rows": [2, 1, 0],
            "columns": [json.dumps(headers["a.csv"]), json.dumps([*headers["b.csv"], "shoe_size"]), "[]"],
        }
    )
    ledger = file_ledger(manifest, result.clean, result.quarantine, contract.columns).set_index("file")
    assert ledger.loc["a.csv", ["rows", "clean", "quarantined"]].tolist() == [2, 1, 1]
    assert ledger.loc["b.csv", ["rows", "clean", "quarantined"]].tolist() == [1, 1, 0]
    assert ledger.loc["b.csv", "reason"] == "extra columns kept in raw_stream only: ['shoe_size']"
    assert ledger.loc["c.csv", ["status", "clean", "quarantined"]].tolist() == ["refused", 0, 0]
    assert (ledger["rows"] == ledger["clean"] + ledger["quarantined"]).all()

    # b.csv is re-uploaded with new content and c.csv removed: both earlier versions stay listed.
    rerun = manifest.iloc[:2].assign(version=["v", "v2"])
    again = file_ledger(
        rerun, result.clean, result.quarantine, contract.columns, previous=ledger.reset_index()
    )
    superseded = again[again["status"] == "superseded"].set_index("file")
    assert superseded["version"].to_dict() == {"b.csv": "v", "c.csv": "v"}
    assert superseded["reason"].to_dict() == {
        "b.csv": "replaced by a newer version",
        "c.csv": "no longer in the landing zone",
    }
    current = again[again["status"] != "superseded"]
    assert (current["rows"] == current["clean"] + current["quarantined"]).all()
    assert len(file_ledger(rerun, result.clean, result.quarantine, contract.columns, previous=again)) == 4


def test_a_renamed_column_is_named_in_the_ledger_as_lacking_and_extra(contract):
    from e2e_ml.core.cleaning import file_ledger

    renamed = [c if c != "sessions" else "session_count" for c in contract.columns]
    header = ",".join(renamed)
    content = "\n".join([header, GOOD]).encode()
    raw = combine([read_dump("a.csv", content)])
    result = clean(raw, contract, DAY, {"a.csv": renamed})
    manifest = pd.DataFrame(
        {
            "file": ["a.csv"],
            "day": "2026-01-05",
            "size": [len(content)],
            "version": "v",
            "status": ["read"],
            "reason": [None],
            "rows": [1],
            "columns": [json.dumps(renamed)],
        }
    )
    ledger = file_ledger(manifest, result.clean, result.quarantine, contract.columns).set_index("file")
    assert ledger.loc["a.csv", "reason"] == (
        "lacks contract columns ['sessions'] (its rows are quarantined); "
        "extra columns kept in raw_stream only: ['session_count']"
    )
    assert ledger.loc["a.csv", ["clean", "quarantined"]].tolist() == [0, 1]


def test_row_rules_reject_exactly_the_rows_pandera_rejects():
    """The streaming rules are pandera's built-in checks as polars expressions: same verdicts."""
    import pandera.polars as pap

    from e2e_ml.core.cleaning import CHECK_EXPRESSIONS, _check_expression

    values = pl.DataFrame({"n": [-1.0, 0.0, 0.5, 1.0, 2.0, None], "s": ["p1", "x", "p12", "", "pp", None]})
    checks = {
        "n": [
            pap.Check.equal_to(1.0),
            pap.Check.not_equal_to(1.0),
            pap.Check.greater_than(0.0),
            pap.Check.greater_than_or_equal_to(0.0),
            pap.Check.less_than(1.0),
            pap.Check.less_than_or_equal_to(1.0),
            pap.Check.in_range(0.0, 1.0),
            pap.Check.in_range(0.0, 1.0, include_min=False, include_max=False),
            pap.Check.isin([0.0, 2.0]),
            pap.Check.notin([0.0, 2.0]),
        ],
        "s": [
            pap.Check.str_matches("p[0-9]+"),
            pap.Check.str_contains("[0-9]"),
            pap.Check.str_startswith("p"),
            pap.Check.str_endswith("p"),
            pap.Check.str_length(1, 2),
            pap.Check.str_length(exact_value=2),
        ],
    }
    tried = set()
    for column, column_checks in checks.items():
        for check in column_checks:
            tried.add(check.name)
            schema = pap.DataFrameSchema(
                {column: pap.Column(values.schema[column], checks=check, nullable=True)}
            )
            try:
                schema.validate(values, lazy=True)
                pandera_failed = set()
            except pandera.errors.SchemaErrors as errors:
                pandera_failed = set(errors.failure_cases["index"].drop_nulls().to_list())
            ours = values.select(~_check_expression(check, pl.col(column)).fill_null(True))[:, 0]
            assert set(ours.arg_true().to_list()) == pandera_failed, check.error
    assert tried == set(CHECK_EXPRESSIONS)


def test_the_streamed_day_writes_what_cleaning_in_memory_returns(contract, tmp_path):
    from e2e_ml.core.cleaning import clean_plan, write_clean

    raw, headers = anomalous_day()
    raw.write_parquet(tmp_path / "raw.parquet")
    expected = clean(raw, contract, DAY, headers)
    plan = clean_plan(pl.scan_parquet(tmp_path / "raw.parquet"), contract, DAY, headers)
    write_clean(plan, tmp_path / "clean.parquet", tmp_path / "quarantine.parquet")
    assert plan.superseded.height > 0 and expected.quarantine.height > plan.superseded.height
    assert pl.read_parquet(tmp_path / "clean.parquet").equals(expected.clean)
    assert pl.read_parquet(tmp_path / "quarantine.parquet").equals(expected.quarantine)


def test_a_streamed_day_with_no_clean_row_writes_an_empty_clean_table(contract, tmp_path):
    from e2e_ml.core.cleaning import clean_plan, write_clean

    raw, headers = raw_of(("a.csv", [GOOD.replace("ios", "wii"), GOOD.replace(",3,", ",-3,")]))
    raw.write_parquet(tmp_path / "raw.parquet")
    plan = clean_plan(pl.scan_parquet(tmp_path / "raw.parquet"), contract, DAY, headers)
    write_clean(plan, tmp_path / "clean.parquet", tmp_path / "quarantine.parquet")
    written = pl.read_parquet(tmp_path / "clean.parquet")
    assert written.is_empty() and written.schema == clean(raw, contract, DAY, headers).clean.schema
    assert pl.read_parquet(tmp_path / "quarantine.parquet")[SOURCE_ROW].to_list() == [2, 3]
