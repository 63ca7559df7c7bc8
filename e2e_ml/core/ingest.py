"""Reading landed dumps into raw rows: every value kept as text, every row traceable.

Parsing types is the contract's job (see cleaning); here a file is either read whole, with the
file and line each row came from, or refused whole with the reason. Rows are polars frames of
text columns: a day can hold millions of rows, and Arrow strings cost a fraction of Python ones.
"""

from __future__ import annotations

import bz2
import gzip
import io
import json
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import fastavro
import polars as pl
import zstandard

from e2e_ml.core.cleaning import SOURCE_FILE, SOURCE_ROW

LINEAGE_SCHEMA = {SOURCE_FILE: pl.String, SOURCE_ROW: pl.Int64}
DELIMITERS = (",", ";", "\t", "|")


class UnreadableFileError(ValueError):
    """A landed file that cannot be read as a table; the message says why."""


@dataclass(frozen=True)
class ReadDump:
    rows: pl.DataFrame
    columns: list[str]


def read_dump(name: str, content: bytes) -> ReadDump:
    """Read one dump into text columns plus lineage (source file, 1-based row/line number)."""
    file_format, compression = dump_format(name)
    if not content:
        raise UnreadableFileError(f"{name}: empty file (0 bytes)")
    if compression is not None:
        try:
            content = DECOMPRESSORS[compression](content)
        except (OSError, EOFError, ValueError, zlib.error, zstandard.ZstdError) as error:
            raise UnreadableFileError(f"{name}: not a readable .{compression} file ({error})") from error
        if not content:
            raise UnreadableFileError(f"{name}: empty file (0 bytes once decompressed)")
    try:
        frame, first_row = READERS[file_format](content)
    except UnicodeDecodeError as error:
        raise _encoding_error(name, content, error) from error
    except (ValueError, EOFError, pl.exceptions.PolarsError) as error:
        if file_format in TEXT_FORMATS:
            try:
                content.decode("utf-8")  # polars says only "invalid utf-8": find the line and byte
            except UnicodeDecodeError as decoding:
                raise _encoding_error(name, content, decoding) from error
        message = str(error).strip()
        first_line = message.splitlines()[0] if message else type(error).__name__
        raise UnreadableFileError(f"{name}: not a readable {file_format} file ({first_line})") from error
    columns = frame.columns
    frame = frame.with_columns(
        pl.lit(name, pl.String).alias(SOURCE_FILE),
        pl.int_range(first_row, first_row + frame.height, dtype=pl.Int64).alias(SOURCE_ROW),
    )
    return ReadDump(rows=frame, columns=columns)


def dump_format(name: str) -> tuple[str, str | None]:
    """The table format and compression a dump's name declares: `x.csv.gz` is gzip'd CSV."""
    suffixes = name.rsplit("/", 1)[-1].lower().split(".")[1:]
    compression = suffixes.pop() if suffixes and suffixes[-1] in DECOMPRESSORS else None
    file_format = suffixes[-1] if suffixes else ""
    if file_format not in READERS:
        raise UnreadableFileError(
            f"{name}: unknown format '.{file_format}', expected one of {', '.join(READERS)}"
            f", optionally compressed as {', '.join(DECOMPRESSORS)}"
        )
    return file_format, compression


def combine(dumps: Sequence[ReadDump]) -> pl.DataFrame:
    """One day's rows from its dumps; a column some files lack is null in their rows."""
    if not dumps:
        return pl.DataFrame(schema=LINEAGE_SCHEMA)
    return pl.concat([dump.rows for dump in dumps], how="diagonal")


def _encoding_error(name: str, content: bytes, error: UnicodeDecodeError) -> UnreadableFileError:
    line = content[: error.start].count(b"\n") + 1
    found = content[error.start : error.start + 4]
    return UnreadableFileError(
        f"{name}: line {line}: encoding: not UTF-8 text (byte {error.start}: {found!r})"
    )


def _read_delimited(content: bytes, delimiter: str | None = None) -> tuple[pl.DataFrame, int]:
    """All columns as text; a byte-order mark (Excel exports) is dropped; an empty cell is null.

    Without a declared delimiter, the header tells: the most frequent of `DELIMITERS` in it.
    polars checks the rows' encoding but reads a header lossily, so the header is checked here.
    """
    header_end = content.find(b"\n")
    header = (content if header_end < 0 else content[:header_end]).decode("utf-8")
    if delimiter is None:
        delimiter = max(DELIMITERS, key=header.count) if any(d in header for d in DELIMITERS) else ","
    frame = pl.read_csv(io.BytesIO(content), infer_schema=False, encoding="utf8", separator=delimiter)
    return frame, 2  # line 1 is the header


def _read_json_lines(content: bytes) -> tuple[pl.DataFrame, int]:
    text = content.decode("utf-8-sig")  # a BOM (Excel exports) is not data
    return _records_frame(json.loads(line) for line in text.splitlines() if line.strip()), 1


def _read_parquet(content: bytes) -> tuple[pl.DataFrame, int]:
    frame = pl.read_parquet(io.BytesIO(content))
    return pl.DataFrame([_text_of(frame.get_column(column)) for column in frame.columns]), 1


def _read_avro(content: bytes) -> tuple[pl.DataFrame, int]:
    """Avro records, one row each. Event Hubs Capture wraps each event's payload in a `Body`
    (bytes) beside its own fields: there the rows are the bodies, read as JSON objects."""
    reader = fastavro.reader(io.BytesIO(content))
    schema = reader.writer_schema if isinstance(reader.writer_schema, dict) else {}
    fields = {field["name"] for field in schema.get("fields", [])}
    records = cast(Iterable[dict[str, Any]], reader)
    if {"Body", "EnqueuedTimeUtc", "SequenceNumber"} <= fields:
        records = (json.loads(bytes(record["Body"]).decode("utf-8")) for record in records)
    return _records_frame(records), 1


def _records_frame(records: Iterable[Any]) -> pl.DataFrame:
    rows = list(records)
    if not all(isinstance(record, dict) for record in rows):
        raise ValueError("every record must be a JSON object")
    names = list(dict.fromkeys(key for record in rows for key in record))
    return pl.DataFrame(
        {key: [_as_text(record.get(key)) for record in rows] for key in names},
        schema=dict.fromkeys(names, pl.String),
    )


def _unzstd(content: bytes) -> bytes:
    """Every frame of a zstd file, one after the other; a frame cut short is an error, not
    fewer rows (zstandard's streaming readers stop quietly at the cut)."""
    parts, rest = [], content
    while rest:
        frame = zstandard.ZstdDecompressor().decompressobj()
        parts.append(frame.decompress(rest))
        if not frame.eof:
            raise zstandard.ZstdError("truncated: a frame ends before its end mark")
        rest = frame.unused_data
    return b"".join(parts)


# One small reader per format and one decompressor per suffix: a new shape is one entry here.
READERS: dict[str, Callable[[bytes], tuple[pl.DataFrame, int]]] = {
    "csv": _read_delimited,
    "tsv": lambda content: _read_delimited(content, "\t"),
    "jsonl": _read_json_lines,
    "ndjson": _read_json_lines,
    "parquet": _read_parquet,
    "avro": _read_avro,
}
TEXT_FORMATS = ("csv", "tsv", "jsonl", "ndjson")
DECOMPRESSORS: dict[str, Callable[[bytes], bytes]] = {
    "gz": gzip.decompress,
    "bz2": bz2.decompress,
    "zst": _unzstd,
}


def _text_of(values: pl.Series) -> pl.Series:
    if values.dtype.is_nested():  # lists and structs as JSON, as in a JSON-lines dump
        return pl.Series(values.name, [_as_text(value) for value in values.to_list()], dtype=pl.String)
    if values.dtype.is_float():
        return values.fill_nan(None).cast(pl.String)  # NaN is how pandas writes "missing"
    return values.cast(pl.String)


def _as_text(value: object) -> str | None:
    if value is None or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)
