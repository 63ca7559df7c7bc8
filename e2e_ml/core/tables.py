"""Arrow tables as pandas frames, one way for every table the pipeline hands to pandas code.

Polars integers are nullable; pandas' match is `Int64`, not the float64 a plain conversion
makes of an integer column with a null.
"""

from __future__ import annotations

from typing import Final

import pandas as pd
import polars as pl
import pyarrow as pa

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
