"""Reading landed dumps into raw rows: every value kept as text, every row traceable.

Parsing types is the contract's job (see cleaning); here a file is either read whole, with the
file and line each row came from, or refused whole with the reason. Rows are polars frames of
text columns: a day can hold millions of rows, and Arrow strings cost a fraction of Python ones.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from e2e_ml.core.cleaning import SOURCE_FILE, SOURCE_ROW

FORMATS = ("csv", "parquet", "jsonl")
LINEAGE_SCHEMA = {SOURCE_FILE: pl.String, SOURCE_ROW: pl.Int64}


class UnreadableFileError(ValueError):
    """A landed file that cannot be read as a table; the message says why."""


@dataclass(frozen=True)
class ReadDump:
    rows: pl.DataFrame
    columns: list[str]


def read_dump(name: str, content: bytes) -> ReadDump:
    """Read one dump into text columns plus lineage (source file, 1-based row/line number)."""
    file_format = name.rsplit(".", 1)[-1].lower()
    if file_format not in FORMATS:
        raise UnreadableFileError(f"{name}: unknown format '.{file_format}', expected one of {FORMATS}")
    if not content:
        raise UnreadableFileError(f"{name}: empty file (0 bytes)")
    try:
        frame, first_row = _read(file_format, content)
    except UnicodeDecodeError as error:
        raise _encoding_error(name, content, error) from error
    except (ValueError, pl.exceptions.PolarsError) as error:
        if file_format != "parquet":
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


def _read(file_format: str, content: bytes) -> tuple[pl.DataFrame, int]:
    if file_format == "csv":
        # All columns as text; a byte-order mark (Excel exports) is dropped; an empty cell is null.
        # polars checks the rows' encoding but reads a header lossily, so the header is checked here.
        header_end = content.find(b"\n")
        (content if header_end < 0 else content[:header_end]).decode("utf-8")
        frame = pl.read_csv(io.BytesIO(content), infer_schema=False, encoding="utf8")
        return frame, 2  # line 1 is the header
    if file_format == "jsonl":
        text = content.decode("utf-8-sig")  # a BOM (Excel exports) is not data
        records = [json.loads(line) for line in text.splitlines() if line.strip()]
        if not all(isinstance(record, dict) for record in records):
            raise ValueError("every line must be a JSON object")
        names = list(dict.fromkeys(key for record in records for key in record))
        return pl.DataFrame(
            {key: [_as_text(record.get(key)) for record in records] for key in names},
            schema=dict.fromkeys(names, pl.String),
        ), 1
    frame = pl.read_parquet(io.BytesIO(content))
    return pl.DataFrame([_text_of(frame.get_column(column)) for column in frame.columns]), 1


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
