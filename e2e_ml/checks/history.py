"""The trailing days a check compares a partition with."""

from datetime import date, timedelta


def trailing_days(partition_key: str, days: int) -> list[str]:
    """The `days` partition keys before `partition_key`, oldest first."""
    day = date.fromisoformat(partition_key)
    return [(day - timedelta(days=back)).isoformat() for back in range(days, 0, -1)]
