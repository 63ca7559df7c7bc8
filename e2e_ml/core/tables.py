"""Arrow tables as pandas frames, one way for every table the pipeline hands to pandas code.

Polars integers are nullable; pandas' match is `Int64`, not the float64 a plain conversion
makes of an integer column with a null.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Final

import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

# Every table the lake publishes is compressed the way pandas writes Parquet: every reader has it
# (Power BI, DuckDB, Spark); polars would default to zstd.
LAKE_COMPRESSION: Final = "snappy"
_NULLABLE_INTEGERS = {pa.int64(): pd.Int64Dtype(), pa.int32(): pd.Int32Dtype()}


def pandas_table(table: pa.Table) -> pd.DataFrame:
    if b"pandas" in (table.schema.metadata or {}):
        return table.to_pandas()  # written from pandas: its own dtypes are recorded
    return table.to_pandas(types_mapper=_NULLABLE_INTEGERS.get)


def as_pandas(frame: pl.DataFrame) -> pd.DataFrame:
    return pandas_table(frame.to_arrow())


def write_frames(frames: Iterable[pd.DataFrame], path: Path, schema_of: pd.DataFrame) -> int:
    """Frames with `schema_of`'s columns and dtypes as one Parquet file, a row group each, that
    reads back as pandas would have written them whole; the rows written."""
    schema = pa.Schema.from_pandas(schema_of, preserve_index=False)
    rows = 0
    with pq.ParquetWriter(path, schema, compression=LAKE_COMPRESSION) as writer:
        for frame in frames:
            writer.write_table(pa.Table.from_pandas(frame, schema=schema, preserve_index=False))
            rows += len(frame)
    return rows
