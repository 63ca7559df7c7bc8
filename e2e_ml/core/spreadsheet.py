"""CSV meant for spreadsheets: text cells that a spreadsheet would run as a formula are defused."""

from __future__ import annotations

import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_csv(frame: pd.DataFrame) -> bytes:
    """CSV bytes with every text cell starting like a formula prefixed by a quote (OWASP's advice)."""
    safe = frame.copy()
    for column in safe.columns:
        if safe[column].dtype == object or pd.api.types.is_string_dtype(safe[column]):
            safe[column] = safe[column].map(_defuse)
    return safe.to_csv(index=False).encode()


def _defuse(value: object) -> object:
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
