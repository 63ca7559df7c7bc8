"""The partition a check judges, and the trailing days it compares it with.

A check on a daily asset runs in that day's run but is not partitioned itself, so an asset
input would load every partition: checks read their day (and its history) from the store.
"""

from datetime import date, timedelta

import pandas as pd

from e2e_ml.resources.storage import StorageLocation


def trailing_days(partition_key: str, days: int) -> list[str]:
    """The `days` partition keys before `partition_key`, oldest first."""
    day = date.fromisoformat(partition_key)
    return [(day - timedelta(days=back)).isoformat() for back in range(days, 0, -1)]


def read_day(store: StorageLocation, asset: str, partition_key: str) -> pd.DataFrame:
    frame, _ = store.read_partitions(asset, [partition_key])
    return frame
