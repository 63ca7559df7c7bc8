"""Statistics behind the checks: robust bounds, drift, staleness. No Dagster here."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
from scipy import stats

MAD_TO_SIGMA = 1.4826  # scales the median absolute deviation to a normal's standard deviation


@dataclass(frozen=True)
class Bounds:
    low: float
    high: float
    method: str

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high


def robust_bounds(
    history: Iterable[float],
    k: float = 5.0,
    min_history: int = 5,
    floor: float = 0.0,
    ceiling: float = float("inf"),
    min_ratio: float = 4.0,
) -> Bounds:
    """median x/÷ exp(k * MAD) of the history, in log space: sizes vary by factors, not amounts.

    The band is never narrower than x/÷ `min_ratio`, so a very regular source does not alert on
    ordinary variation; until `min_history` values exist, the absolute floor/ceiling apply.
    """
    values = np.asarray([v for v in history if v == v and v > 0], dtype=float)
    if len(values) < min_history:
        return Bounds(
            floor, ceiling, f"absolute bounds (only {len(values)} past values, {min_history} needed)"
        )
    logs = np.log(values)
    median = float(np.median(logs))
    half_width = max(k * MAD_TO_SIGMA * float(np.median(np.abs(logs - median))), float(np.log(min_ratio)))
    return Bounds(
        max(floor, float(np.exp(median - half_width))),
        min(ceiling, float(np.exp(median + half_width))),
        f"median {np.exp(median):.0f} x/÷ {np.exp(half_width):.1f} (log-space MAD) over {len(values)} values",
    )


DRIFT_COLUMNS = [
    "feature",
    "psi",
    "test",
    "statistic",
    "p_value",
    "null_share",
    "reference_null_share",
    "drifted",
]


def population_stability(
    reference: pd.Series, current: pd.Series, categorical: bool, bins: int = 10
) -> float:
    """PSI: 0 for the same distribution; above 0.2 is usually read as a real shift."""
    reference, current = reference.dropna(), current.dropna()
    if reference.empty or current.empty:
        return float("nan")
    if categorical:
        categories = sorted(set(reference.astype(str)) | set(current.astype(str)))
        expected = reference.astype(str).value_counts().reindex(categories, fill_value=0).to_numpy()
        actual = current.astype(str).value_counts().reindex(categories, fill_value=0).to_numpy()
    else:
        edges = np.unique(np.quantile(reference.astype(float), np.linspace(0, 1, bins + 1)))
        if len(edges) < 2:
            edges = np.array([edges[0] - 0.5, edges[0] + 0.5])
        edges[0], edges[-1] = -np.inf, np.inf
        expected = np.histogram(reference.astype(float), edges)[0]
        actual = np.histogram(current.astype(float), edges)[0]
    expected_share = (expected + 0.5) / (expected.sum() + 0.5 * len(expected))
    actual_share = (actual + 0.5) / (actual.sum() + 0.5 * len(actual))
    return float(np.sum((actual_share - expected_share) * np.log(actual_share / expected_share)))


def distribution_test(
    reference: pd.Series, current: pd.Series, categorical: bool
) -> tuple[str, float, float]:
    """Kolmogorov-Smirnov for numbers, chi-square for categories: (test, statistic, p-value)."""
    reference, current = reference.dropna(), current.dropna()
    if reference.empty or current.empty:
        return ("none", float("nan"), float("nan"))
    if categorical:
        table = pd.crosstab(
            pd.concat([reference.astype(str), current.astype(str)]),
            np.repeat(["reference", "current"], [len(reference), len(current)]),
        )
        if table.shape[0] < 2:
            return ("chi-square", 0.0, 1.0)
        chi2, p_value, _, _ = stats.chi2_contingency(table.to_numpy())
        return ("chi-square", float(chi2), float(p_value))
    result = stats.ks_2samp(reference.astype(float), current.astype(float))
    return ("ks", float(result.statistic), float(result.pvalue))


def null_share_shift(reference: pd.Series, current: pd.Series) -> tuple[float, float, float]:
    """Missing values are information, so their share is watched on its own:
    (reference share, current share, chi-square p-value of the difference)."""
    counts = np.array(
        [[reference.isna().sum(), reference.notna().sum()], [current.isna().sum(), current.notna().sum()]]
    )
    shares = counts[:, 0] / np.maximum(counts.sum(axis=1), 1)
    if counts[:, 0].sum() == 0 or counts[:, 1].sum() == 0 or counts.sum(axis=1).min() == 0:
        return float(shares[0]), float(shares[1]), 1.0
    return float(shares[0]), float(shares[1]), float(stats.chi2_contingency(counts)[1])


def feature_drift(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    numeric: Sequence[str],
    categorical: Sequence[str],
    psi_threshold: float = 0.2,
    p_value_threshold: float = 0.01,
    null_share_threshold: float = 0.1,
) -> pd.DataFrame:
    """Per feature: PSI and a distribution test of the values present, and the share missing;
    drifted when either shift is both large and significant."""
    rows = []
    for column in [*numeric, *categorical]:
        is_categorical = column in categorical
        psi = population_stability(reference[column], current[column], is_categorical)
        test, statistic, p_value = distribution_test(reference[column], current[column], is_categorical)
        reference_nulls, nulls, nulls_p = null_share_shift(reference[column], current[column])
        values_drifted = psi > psi_threshold and p_value < p_value_threshold
        nulls_drifted = abs(nulls - reference_nulls) > null_share_threshold and nulls_p < p_value_threshold
        rows.append(
            {
                "feature": column,
                "psi": round(psi, 4),
                "test": test,
                "statistic": round(statistic, 4),
                "p_value": float(f"{p_value:.3g}") if p_value == p_value else p_value,
                "null_share": round(nulls, 4),
                "reference_null_share": round(reference_nulls, 4),
                "drifted": bool(values_drifted or nulls_drifted),
            }
        )
    return pd.DataFrame(rows, columns=DRIFT_COLUMNS)


def silence(newest: datetime | None, now: datetime) -> timedelta | None:
    """How long since the newest landed file; None when nothing ever landed."""
    return None if newest is None else now - newest
