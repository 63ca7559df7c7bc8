"""Reading landed dumps into raw rows: every value kept as text, every row traceable.

Parsing types is the contract's job (see cleaning); here a file is either read whole, with the
file and line each row came from, or refused whole with the reason. A file is read from local
disk in batches of text columns (polars frames: Arrow strings cost a fraction of Python ones),
and a compressed one is first decompressed to disk as a stream, so no file has to fit in memory.
"""

from __future__ import annotations

import bz2
import codecs
import gzip
import json
import shutil
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import IO, Any, cast

import fastavro
import polars as pl
import pyarrow.parquet as pq
import zstandard

from e2e_ml.core.cleaning import SOURCE_FILE, SOURCE_ROW
from e2e_ml.core.scratch import scratch_folder

LINEAGE_SCHEMA = {SOURCE_FILE: pl.String, SOURCE_ROW: pl.Int64}
DELIMITERS = (",", ";", "\t", "|")
BATCH_ROWS = 250_000  # rows per batch read: ~60 MB of text columns at 14 columns
CHUNK_BYTES = 1 << 20  # of a stream copied or scanned


class UnreadableFileError(ValueError):
    """A landed file that cannot be read as a table; the message says why."""


@dataclass(frozen=True)
class ReadDump:
    rows: pl.DataFrame
    columns: list[str]


@dataclass(frozen=True)
class DumpBatches:
    """A dump being read: its columns (known once the first batch is out) and its batches of
    text rows with lineage. A file that turns out unreadable raises while batches are read."""

    name: str
    batches: Iterator[pl.DataFrame]
    columns: list[str]


def read_dump(name: str, content: bytes) -> ReadDump:
    """Read one dump's bytes into text columns plus lineage (source file, 1-based row/line)."""
    with scratch_folder() as folder:
        path = folder / "dump"
        path.write_bytes(content)
        return read_file(name, path)


def read_file(name: str, path: Path) -> ReadDump:
    """Read the local file at `path`, landed as `name`, whole into memory (a small file)."""
    with read_batches(name, path) as dump:
        batches = list(dump.batches)
    rows = pl.concat(batches, how="diagonal") if batches else pl.DataFrame(schema=LINEAGE_SCHEMA)
    return ReadDump(rows=rows, columns=dump.columns)


@contextmanager
def read_batches(name: str, path: Path, batch_rows: int = BATCH_ROWS) -> Iterator[DumpBatches]:
    """The landed file at `path` (named `name` in the landing zone), read in batches while the
    block runs; a compressed file's decompressed copy lives in scratch until then."""
    file_format, compression = dump_format(name)
    if path.stat().st_size == 0:
        raise UnreadableFileError(f"{name}: empty file (0 bytes)")
    with ExitStack() as scratch:
        if compression is not None:
            folder = scratch.enter_context(scratch_folder())
            path = _decompress(name, path, compression, folder / "dump")
        columns: list[str] = []
        yield DumpBatches(
            name=name, batches=_with_lineage(name, path, file_format, batch_rows, columns), columns=columns
        )


def _with_lineage(
    name: str, path: Path, file_format: str, batch_rows: int, columns: list[str]
) -> Iterator[pl.DataFrame]:
    """The reader's batches with the source file and row; `columns` is filled with every column
    seen, in order, as batches are read. Reader errors become UnreadableFileError."""
    try:
        reader = READERS[file_format](path, batch_rows)
        first_row = next(reader)  # each reader first says the line or record number of row one
        for batch in reader:
            columns.extend(c for c in batch.columns if c not in columns)  # a header-only file's too
            if batch.height == 0:
                continue
            yield batch.with_columns(
                pl.lit(name, pl.String).alias(SOURCE_FILE),
                pl.int_range(first_row, first_row + batch.height, dtype=pl.Int64).alias(SOURCE_ROW),
            )
            first_row += batch.height
    except UnicodeDecodeError as error:
        raise _encoding_error(name, path) from error
    except (ValueError, EOFError, OSError, pl.exceptions.PolarsError) as error:
        if isinstance(error, UnreadableFileError):
            raise
        if file_format in TEXT_FORMATS and _first_bad_utf8(path) is not None:
            raise _encoding_error(name, path) from error  # polars says only "invalid utf-8"
        message = str(error).strip()
        first_line = message.splitlines()[0] if message else type(error).__name__
        raise UnreadableFileError(f"{name}: not a readable {file_format} file ({first_line})") from error


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


def _encoding_error(name: str, path: Path) -> UnreadableFileError:
    found = _first_bad_utf8(path)
    if found is None:
        return UnreadableFileError(f"{name}: encoding: not UTF-8 text")
    line, offset, data = found
    return UnreadableFileError(f"{name}: line {line}: encoding: not UTF-8 text (byte {offset}: {data!r})")


def _first_bad_utf8(path: Path) -> tuple[int, int, bytes] | None:
    """The line, byte offset and first bytes of the first invalid UTF-8 sequence, read as a stream."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    line, offset = 1, 0
    with path.open("rb") as file:
        while chunk := file.read(CHUNK_BYTES):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as error:
                start = max(error.start, 0)
                line += chunk[:start].count(b"\n")
                return line, offset + start, chunk[start : start + 4]
            line += chunk.count(b"\n")
            offset += len(chunk)
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return line, offset, b""
    return None


def _read_delimited(path: Path, batch_rows: int, delimiter: str | None = None) -> Iterator[Any]:
    """All columns as text; a byte-order mark (Excel exports) is dropped; an empty cell is null.

    Without a declared delimiter, the header tells: the most frequent of `DELIMITERS` in it.
    polars checks the rows' encoding but reads a header lossily, so the header is checked here.
    """
    with path.open("rb") as file:
        header = file.readline().decode("utf-8")
    if delimiter is None:
        delimiter = max(DELIMITERS, key=header.count) if any(d in header for d in DELIMITERS) else ","
    yield 2  # line 1 is the header
    scan = pl.scan_csv(path, infer_schema=False, encoding="utf8", separator=delimiter)
    yield pl.DataFrame(schema=scan.collect_schema())  # the header's columns, even with no row
    yield from scan.collect_batches(chunk_size=batch_rows)


def _read_json_lines(path: Path, batch_rows: int) -> Iterator[Any]:
    yield 1
    with path.open(encoding="utf-8-sig") as text:  # a BOM (Excel exports) is not data
        records = (json.loads(line) for line in text if line.strip())
        while batch := list(islice(records, batch_rows)):
            yield _records_frame(batch)


def _read_parquet(path: Path, batch_rows: int) -> Iterator[Any]:
    yield 1
    parquet = pq.ParquetFile(path)
    yield pl.DataFrame(schema=dict.fromkeys(parquet.schema_arrow.names, pl.String))  # even with no row
    for batch in parquet.iter_batches(batch_size=batch_rows):
        frame = cast(pl.DataFrame, pl.from_arrow(batch))
        yield pl.DataFrame([_text_of(frame.get_column(column)) for column in frame.columns])


def _read_avro(path: Path, batch_rows: int) -> Iterator[Any]:
    """Avro records, one row each. Event Hubs Capture wraps each event's payload in a `Body`
    (bytes) beside its own fields: there the rows are the bodies, read as JSON objects."""
    yield 1
    with path.open("rb") as file:
        reader = fastavro.reader(file)
        schema = reader.writer_schema if isinstance(reader.writer_schema, dict) else {}
        fields = {field["name"] for field in schema.get("fields", [])}
        records = cast(Iterable[dict[str, Any]], reader)
        if {"Body", "EnqueuedTimeUtc", "SequenceNumber"} <= fields:
            records = (json.loads(bytes(record["Body"]).decode("utf-8")) for record in records)
        while batch := list(islice(records, batch_rows)):
            yield _records_frame(batch)


def _records_frame(rows: list[Any]) -> pl.DataFrame:
    if not all(isinstance(record, dict) for record in rows):
        raise ValueError("every record must be a JSON object")
    names = list(dict.fromkeys(key for record in rows for key in record))
    return pl.DataFrame(
        {key: [_as_text(record.get(key)) for record in rows] for key in names},
        schema=dict.fromkeys(names, pl.String),
    )


def _decompress(name: str, path: Path, compression: str, target: Path) -> Path:
    """The decompressed file, written to `target` as a stream; a cut or corrupt one is refused."""
    try:
        with path.open("rb") as source, target.open("wb") as sink:
            DECOMPRESSORS[compression](source, sink)
    except (OSError, EOFError, ValueError, zlib.error, zstandard.ZstdError) as error:
        raise UnreadableFileError(f"{name}: not a readable .{compression} file ({error})") from error
    if target.stat().st_size == 0:
        raise UnreadableFileError(f"{name}: empty file (0 bytes once decompressed)")
    return target


def _copy_from(opener: Callable[[IO[bytes]], IO[bytes]]) -> Callable[[IO[bytes], IO[bytes]], None]:
    def copy(source: IO[bytes], sink: IO[bytes]) -> None:
        with opener(source) as stream:
            shutil.copyfileobj(stream, sink, CHUNK_BYTES)

    return copy


def _unzstd(source: IO[bytes], sink: IO[bytes]) -> None:
    """Every frame of a zstd file, one after the other; a frame cut short is an error, not
    fewer rows (zstandard's streaming readers stop quietly at the cut)."""
    frame = None
    while chunk := source.read(CHUNK_BYTES):
        while chunk:
            frame = frame or zstandard.ZstdDecompressor().decompressobj()
            sink.write(frame.decompress(chunk))
            chunk = frame.unused_data if frame.eof else b""
            frame = None if frame.eof else frame
    if frame is not None:
        raise zstandard.ZstdError("truncated: a frame ends before its end mark")


# One small reader per format and one decompressor per suffix: a new shape is one entry here.
READERS: dict[str, Callable[[Path, int], Iterator[Any]]] = {
    "csv": _read_delimited,
    "tsv": lambda path, batch_rows: _read_delimited(path, batch_rows, "\t"),
    "jsonl": _read_json_lines,
    "ndjson": _read_json_lines,
    "parquet": _read_parquet,
    "avro": _read_avro,
}
TEXT_FORMATS = ("csv", "tsv", "jsonl", "ndjson")
DECOMPRESSORS: dict[str, Callable[[IO[bytes], IO[bytes]], None]] = {
    "gz": _copy_from(lambda source: cast(IO[bytes], gzip.GzipFile(fileobj=source))),
    "bz2": _copy_from(lambda source: cast(IO[bytes], bz2.BZ2File(source))),
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
