"""Naive baselines a model must beat: the training mean, and the historical rate per segment.

A constant scores ROC AUC 0.5 by construction, so beating it says little; the target's rate
(or mean) per segment, learned from the training window, is what a person would build in a
spreadsheet, and a model that does not beat it is not worth serving.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

BINS = 10  # numeric inputs are cut at their training deciles
PRIOR_ROWS = 20.0  # a segment's rate is shrunk toward the overall rate as if it had this many more rows
MISSING = "(missing)"


@dataclass(frozen=True)
class SegmentRates:
    """The target's smoothed mean per segment of `columns`, learned from training rows."""

    columns: tuple[str, ...]
    edges: dict[str, np.ndarray]  # decile edges of the numeric columns
    rates: dict[str, float]
    overall: float

    def score(self, inputs: pd.DataFrame) -> np.ndarray:
        keys = segment_keys(inputs, self.columns, self.edges)
        return keys.map(self.rates).fillna(self.overall).to_numpy(dtype=float)


def segment_keys(inputs: pd.DataFrame, columns: Sequence[str], edges: dict[str, np.ndarray]) -> pd.Series:
    parts = []
    for column in columns:
        values = inputs[column]
        if column in edges:
            bins = pd.Series(np.digitize(values.to_numpy(dtype=float), edges[column]), index=inputs.index)
            parts.append(bins.astype(str).where(values.notna(), MISSING))
        else:
            parts.append(values.astype(object).where(values.notna(), MISSING).astype(str))
    key = parts[0]
    for part in parts[1:]:
        key = key + "|" + part
    return key


def bin_label(key: str, edges: np.ndarray) -> str:
    """A person's name for a decile key: the range of values it holds."""
    if key == MISSING:
        return key
    index = int(key)
    low = f"{edges[index - 1]:g}" if index > 0 else "-inf"
    high = f"{edges[index]:g}" if index < len(edges) else "inf"
    return f"[{low}, {high})"


def fit_segment_rates(inputs: pd.DataFrame, target: pd.Series, columns: Sequence[str]) -> SegmentRates:
    numeric = [c for c in columns if pd.api.types.is_numeric_dtype(inputs[c])]
    edges = {c: decile_edges(inputs[c]) for c in numeric}
    keys = segment_keys(inputs, columns, edges)
    overall = float(target.mean())
    grouped = pd.DataFrame({"key": keys, "y": target.to_numpy(dtype=float)}).groupby("key")["y"]
    sums, counts = grouped.sum(), grouped.count()
    rates = (sums + PRIOR_ROWS * overall) / (counts + PRIOR_ROWS)
    return SegmentRates(tuple(columns), edges, rates.to_dict(), overall)


def decile_edges(values: pd.Series) -> np.ndarray:
    present = values.dropna().to_numpy(dtype=float)
    if not len(present):
        return np.array([])
    return np.unique(np.quantile(present, np.linspace(0, 1, BINS + 1)[1:-1]))
