"""Reading landed dumps into raw rows: every value kept as text, every row traceable.

Parsing types is the contract's job (see cleaning); here a file is either read whole, with the
file and line each row came from, or refused whole with the reason.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from e2e_ml.core.cleaning import SOURCE_FILE, SOURCE_ROW

FORMATS = ("csv", "parquet", "jsonl")


class UnreadableFileError(ValueError):
    """A landed file that cannot be read as a table; the message says why."""


@dataclass(frozen=True)
class ReadDump:
    rows: pd.DataFrame
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
        line = content[: error.start].count(b"\n") + 1
        found = content[error.start : error.start + 4]
        raise UnreadableFileError(
            f"{name}: line {line}: encoding: not UTF-8 text (byte {error.start}: {found!r})"
        ) from error
    except (ValueError, pa.ArrowException, pd.errors.ParserError) as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error)
        raise UnreadableFileError(f"{name}: not a readable {file_format} file ({first_line})") from error
    columns = [str(c) for c in frame.columns]
    frame.columns = columns
    frame = frame.astype(object).replace({np.nan: None})
    frame[SOURCE_FILE] = name
    frame[SOURCE_ROW] = range(first_row, first_row + len(frame))
    return ReadDump(rows=frame, columns=columns)


def _read(file_format: str, content: bytes) -> tuple[pd.DataFrame, int]:
    if file_format == "csv":
        text = content.decode("utf-8-sig")  # a BOM (Excel exports) is not data
        frame = pd.read_csv(
            io.StringIO(text),
            dtype=str,
            keep_default_na=False,
            na_values=[""],
            on_bad_lines="error",
        )
        return frame, 2  # line 1 is the header
    if file_format == "jsonl":
        text = content.decode("utf-8-sig")  # a BOM (Excel exports) is not data
        records = [json.loads(line) for line in text.splitlines() if line.strip()]
        frame = pd.DataFrame.from_records(records)
        return frame.apply(lambda col: col.map(_as_text)), 1
    frame = pd.read_parquet(io.BytesIO(content))
    return frame.apply(lambda col: col.map(_as_text)), 1


def _as_text(value: object) -> str | None:
    if value is None or (isinstance(value, float) and value != value):
        return None
    return str(value)
