import bz2
import gzip
import io
import json

import fastavro
import pandas as pd
import polars as pl
import pytest
import zstandard

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


def test_a_file_with_a_header_and_no_row_keeps_its_columns():
    """The ledger compares a file's columns with the contract's, rows or not."""
    empty_parquet = io.BytesIO()
    pl.DataFrame(schema={"player_id": pl.String, "sessions": pl.Int64}).write_parquet(empty_parquet)
    for dump in (
        read_dump("d/header.csv", b"player_id,sessions\n"),
        read_dump("d/none.parquet", empty_parquet.getvalue()),
    ):
        assert dump.columns == ["player_id", "sessions"] and dump.rows.is_empty()


def test_a_byte_order_mark_is_not_part_of_the_first_column():
    dump = read_dump("d/excel.csv", "\ufeff".encode() + CSV)
    assert dump.columns == ["player_id", "sessions"]


def gzipped(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)  # the same bytes every time: test ids stay stable


# Shapes real upstream systems write, made here by hand (not by our simulator).
def _event_hubs_capture_avro(bodies: list[dict]) -> bytes:
    """An Avro file in Event Hubs Capture's schema: the payload is a JSON document in `Body`."""
    schema = {
        "type": "record",
        "name": "EventData",
        "namespace": "Microsoft.ServiceBus.Messaging",
        "fields": [
            {"name": "SequenceNumber", "type": "long"},
            {"name": "Offset", "type": "string"},
            {"name": "EnqueuedTimeUtc", "type": "string"},
            {
                "name": "SystemProperties",
                "type": {"type": "map", "values": ["long", "double", "string", "bytes"]},
            },
            {
                "name": "Properties",
                "type": {"type": "map", "values": ["long", "double", "string", "bytes", "null"]},
            },
            {"name": "Body", "type": ["null", "bytes"]},
        ],
    }
    records = [
        {
            "SequenceNumber": n,
            "Offset": str(n * 100),
            "EnqueuedTimeUtc": "1/5/2026 10:00:00 PM",
            "SystemProperties": {},
            "Properties": {},
            "Body": json.dumps(body).encode(),
        }
        for n, body in enumerate(bodies)
    ]
    buffer = io.BytesIO()
    fastavro.writer(buffer, fastavro.parse_schema(schema), records)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("name", "compress"),
    [
        ("d/a.csv.gz", gzipped),
        ("d/a.csv.bz2", bz2.compress),
        ("d/a.csv.zst", lambda data: zstandard.ZstdCompressor().compress(data)),
        ("d/A.CSV.GZ", gzipped),
    ],
)
def test_compressed_dumps_read_like_plain_ones_with_the_same_lines(name, compress):
    dump = read_dump(name, compress(CSV))
    assert dump.rows["sessions"].to_list() == ["3", None]
    assert dump.rows[SOURCE_ROW].to_list() == [2, 3]


def test_compressed_json_lines_read():
    jsonl = b'{"player_id": "p000001", "sessions": 3}\n{"player_id": "p000002"}\n'
    rows = read_dump("dt=2026-01-05/hour=03/part-00001.jsonl.gz", gzipped(jsonl)).rows
    assert rows["player_id"].to_list() == ["p000001", "p000002"]
    assert rows["sessions"].to_list() == ["3", None]


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("d/a.tsv", b"player_id\tsessions\np000001\t3\np000002\t\n"),
        ("d/a.csv", b"player_id;sessions\np000001;3\np000002;\n"),  # a European Excel export
        ("d/a.csv", b"player_id|sessions\np000001|3\np000002|\n"),
    ],
)
def test_other_delimiters_are_declared_by_suffix_or_detected(name, content):
    dump = read_dump(name, content)
    assert dump.columns == ["player_id", "sessions"]
    assert dump.rows["sessions"].to_list() == ["3", None]


def test_event_hubs_capture_avro_rows_are_the_event_bodies():
    content = _event_hubs_capture_avro([{"player_id": "p000001", "sessions": 3}, {"player_id": "p000002"}])
    dump = read_dump("ns/hub/0/2026/01/05/22/00/00.avro", content)
    assert dump.columns == ["player_id", "sessions"]
    assert dump.rows["sessions"].to_list() == ["3", None]
    assert dump.rows[SOURCE_ROW].to_list() == [1, 2]


def test_plain_avro_records_are_rows():
    schema = {"type": "record", "name": "r", "fields": [{"name": "player_id", "type": "string"}]}
    buffer = io.BytesIO()
    fastavro.writer(buffer, fastavro.parse_schema(schema), [{"player_id": "p000001"}])
    assert read_dump("d/a.avro", buffer.getvalue()).rows["player_id"].to_list() == ["p000001"]


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("d/a.csv.gz", gzipped(CSV)[:-12], "not a readable .gz file"),
        ("d/a.csv.gz", b"not gzip at all", "not a readable .gz file"),
        ("d/a.csv.zst", b"not zstd", "not a readable .zst file"),
        ("d/a.csv.zst", zstandard.ZstdCompressor().compress(CSV)[:-4], "truncated"),  # not fewer rows
        ("d/a.csv.bz2", bz2.compress(CSV)[:-8], "not a readable .bz2 file"),
        ("d/a.csv.gz", gzipped(b""), "empty file (0 bytes once decompressed)"),
        ("d/a.avro", b"Obj\x01 broken", "not a readable avro file"),
        ("d/a.gz", gzipped(CSV), "unknown format"),
    ],
)
def test_broken_compressed_and_avro_files_are_refused_with_the_reason(name, content, reason):
    with pytest.raises(UnreadableFileError) as refused:
        read_dump(name, content)
    assert name in str(refused.value) and reason in str(refused.value)


def test_a_zstd_file_of_several_frames_reads_whole():
    half = CSV.index(b"p000002")
    frames = zstandard.ZstdCompressor().compress(CSV[:half]) + zstandard.ZstdCompressor().compress(CSV[half:])
    assert read_dump("d/a.csv.zst", frames).rows["player_id"].to_list() == ["p000001", "p000002"]
