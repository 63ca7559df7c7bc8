"""The partition a check judges, and the trailing days it compares it with.

A check on a daily asset runs in that day's run but is not partitioned itself, so an asset
input would load every partition: checks read their day (and its history) from the store.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

import dagster as dg
import pandas as pd

from e2e_ml.resources.storage import StorageLocation, table_path


def trailing_days(partition_key: str, days: int) -> list[str]:
    """The `days` partition keys before `partition_key`, oldest first."""
    day = date.fromisoformat(partition_key)
    return [(day - timedelta(days=back)).isoformat() for back in range(days, 0, -1)]


def read_day(
    store: StorageLocation, asset: str, partition_key: str, columns: list[str] | None = None
) -> pd.DataFrame:
    """One partition, read directly: no listing of the asset's whole history for a single day."""
    try:
        return store.read_table(table_path(asset, partition_key), columns)
    except FileNotFoundError:
        return pd.DataFrame(columns=columns)


def read_sample(
    store: StorageLocation,
    asset: str,
    partition_keys: list[str],
    columns: list[str] | None,
    rows_per_day: int,
) -> tuple[pd.DataFrame, list[str]]:
    """The days that exist, at most `rows_per_day` rows of each (a fixed random sample), and
    which days had rows: a drift statistic's or a model's memory then does not grow with day size."""
    present = store.present_partitions(asset, partition_keys)
    days = {key: read_day_sample(store, asset, key, columns, rows_per_day) for key in present}
    non_empty = {key: day for key, day in days.items() if len(day)}
    sample = pd.concat(non_empty.values(), ignore_index=True) if non_empty else pd.DataFrame(columns=columns)
    return sample, list(non_empty)


def read_day_sample(
    store: StorageLocation, asset: str, partition_key: str, columns: list[str] | None, rows: int
) -> pd.DataFrame:
    """At most `rows` rows of one partition, a fixed random sample read as a stream."""
    try:
        return store.read_table_sample(table_path(asset, partition_key), columns, rows)
    except FileNotFoundError:
        return pd.DataFrame(columns=columns)


def count_day(store: StorageLocation, asset: str, partition_key: str) -> int:
    """Rows in one partition (0 if it does not exist), without reading them."""
    try:
        return store.row_count(table_path(asset, partition_key))
    except FileNotFoundError:
        return 0


@dataclass(frozen=True)
class CheckOutcome:
    """One stored evaluation of a check, with the day it judged."""

    record_id: int
    partition: str | None
    evaluation: dg.AssetCheckEvaluation
    timestamp: float


def check_outcomes(
    instance: dg.DagsterInstance,
    check_key: dg.AssetCheckKey,
    limit: int = 100,
    after: int = 0,
    run_partitions: dict[str, str | None] | None = None,
) -> Iterator[CheckOutcome]:
    """Stored evaluations of a check newer than record `after`, oldest first (SQLite or Postgres).

    `run_partitions` caches each run's partition across calls: a daily run evaluates every check.
    """
    known = {} if run_partitions is None else run_partitions
    history = instance.event_log_storage.get_asset_check_execution_history(check_key, limit=limit)
    for record in sorted((r for r in history if r.id > after), key=lambda r: r.id):
        event = record.event.dagster_event if record.event else None
        evaluation = event.event_specific_data if event else None
        if isinstance(evaluation, dg.AssetCheckEvaluation):
            if not evaluation.partition and record.run_id not in known:
                known[record.run_id] = _run_partition(instance, record.run_id)
            partition = evaluation.partition or known[record.run_id]
            yield CheckOutcome(record.id, partition, evaluation, record.create_timestamp)


def _run_partition(instance: dg.DagsterInstance, run_id: str) -> str | None:
    """Checks evaluated in a daily run carry no partition of their own: the run's is theirs."""
    run = instance.get_run_by_id(run_id) if run_id else None
    return run.tags.get("dagster/partition") if run else None
