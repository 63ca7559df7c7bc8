import io

import pandas as pd
import polars as pl
import pytest

from e2e_ml.core.cleaning import SOURCE_FILE, SOURCE_ROW
from e2e_ml.core.ingest import UnreadableFileError, read_dump

CSV = b"player_id,sessions\np000001,3\np000002,\n"


def test_csv_values_stay_text_with_file_and_line():
    dump = read_dump("2026/01/01/a.csv", CSV)
    assert dump.columns == ["player_id", "sessions"]
    assert dump.rows["sessions"].to_list() == ["3", None]
    assert dump.rows[SOURCE_FILE].unique().to_list() == ["2026/01/01/a.csv"]
    assert dump.rows[SOURCE_ROW].to_list() == [2, 3]  # line 1 is the header


def test_jsonl_and_parquet_read_to_the_same_text():
    frame = pd.DataFrame({"player_id": ["p000001", "p000002"], "sessions": [3, None]})
    jsonl = frame.to_json(orient="records", lines=True).encode()
    buffer = io.BytesIO()
    frame.to_parquet(buffer)
    from_jsonl = read_dump("x/a.jsonl", jsonl).rows
    from_parquet = read_dump("x/a.parquet", buffer.getvalue()).rows
    assert from_jsonl["player_id"].to_list() == from_parquet["player_id"].to_list() == ["p000001", "p000002"]
    assert from_jsonl["sessions"].to_list() == from_parquet["sessions"].to_list() == ["3.0", None]


def test_nested_values_become_json_text_in_parquet_and_jsonl():
    frame = pl.DataFrame({"player_id": ["p000001"], "tags": [["a", "b"]], "extra": [{"k": 1}]})
    buffer = io.BytesIO()
    frame.write_parquet(buffer)
    jsonl = b'{"player_id": "p000001", "tags": ["a", "b"], "extra": {"k": 1}}\n'
    for rows in (read_dump("x/a.parquet", buffer.getvalue()).rows, read_dump("x/a.jsonl", jsonl).rows):
        assert rows.select("tags", "extra").row(0) == ('["a", "b"]', '{"k": 1}')


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("d/empty.csv", b"", "empty file"),
        ("d/binary.csv", bytes(range(128, 256)), "line 1: encoding: not UTF-8"),
        (
            "d/latin1.csv",
            "player_id,region\np000001,eu\np000002,café\n".encode("latin-1"),
            "line 3: encoding",
        ),
        ("d/utf16.csv", "player_id\np000001\n".encode("utf-16"), "line 1: encoding"),
        ("d/ragged.csv", b"a,b\n1,2\n1,2,3,4\n", "not a readable csv"),
        ("d/broken.parquet", b"PAR1 not really", "not a readable parquet"),
        ("d/broken.jsonl", b'{"a": 1}\n{"a": \n', "not a readable jsonl"),
        ("d/notes.txt", b"hello", "unknown format"),
    ],
)
def test_unreadable_files_are_refused_with_the_file_and_the_reason(name, content, reason):
    with pytest.raises(UnreadableFileError) as refused:
        read_dump(name, content)
    assert name in str(refused.value)
    assert reason in str(refused.value)


def test_a_byte_order_mark_is_not_part_of_the_first_column():
    dump = read_dump("d/excel.csv", "\ufeff".encode() + CSV)
    assert dump.columns == ["player_id", "sessions"]
