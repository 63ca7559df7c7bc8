"""Property: whatever lands, reading and cleaning never crash, and every row is accounted for."""

import csv
import io
from datetime import date

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from e2e_ml.core.cleaning import SOURCE_FILE, SOURCE_ROW, clean
from e2e_ml.core.contract import load_contract
from e2e_ml.core.ingest import UnreadableFileError, combine, read_dump
from e2e_ml.deployments import DEFAULT_CONTRACT

CONTRACT = load_contract(DEFAULT_CONTRACT)
DAY = date(2026, 1, 5)
cells = st.one_of(
    st.just(""),
    st.just("2026-01-05"),
    st.sampled_from(
        ["p000001", "p000002", "ios", "eu", "0", "1", "-5", "1e309", "nan", "NULL", "=cmd|' /C calc'!A0"]
    ),
    st.integers(-(10**12), 10**12).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.text(max_size=12),
)
headers = st.lists(
    st.sampled_from([*CONTRACT.columns, "extra", "minutes_played_total"]),
    min_size=1,
    max_size=14,
    unique=True,
)


@st.composite
def csv_files(draw) -> bytes:
    header = draw(headers)
    rows = draw(st.lists(st.lists(cells, min_size=len(header), max_size=len(header)), max_size=12))
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    text = buffer.getvalue()
    if draw(st.booleans()):
        text = text[: draw(st.integers(0, len(text)))]  # truncated mid-row, or mid-header
    return text.encode()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(files=st.lists(st.one_of(csv_files(), st.binary(max_size=200)), min_size=1, max_size=3))
def test_generated_files_never_crash_and_every_row_is_clean_or_quarantined(files):
    reads, file_columns = [], {}
    for number, content in enumerate(files):
        name = f"2026/01/05/dump{number}.csv"
        try:
            dump = read_dump(name, content)
        except UnreadableFileError as refused:
            assert name in str(refused)
            continue
        reads.append(dump)
        file_columns[name] = dump.columns
    if not reads:
        return
    raw = combine(reads)
    result = clean(raw, CONTRACT, DAY, file_columns)
    assert len(result.clean) + len(result.quarantine) == len(raw)
    landed = set(zip(raw[SOURCE_FILE], raw[SOURCE_ROW], strict=True))
    kept = set(zip(result.clean[SOURCE_FILE], result.clean[SOURCE_ROW], strict=True))
    rejected = set(zip(result.quarantine[SOURCE_FILE], result.quarantine[SOURCE_ROW], strict=True))
    assert kept | rejected == landed and not kept & rejected
    assert (result.quarantine["_rejected_because"].str.len_chars() > 0).all()
