"""Recent outcomes as features: each segment's target rate over the last days with known labels.

What daily models gain most from on real data is often yesterday's outcome rate of the row's
segment (the store, the carrier, the route). It is leak-free by construction: the rates offered
to the rows of day D are computed from labels known before D began (`core.labels`), once per day,
and a row of day X in training gets day X's rates, never later ones.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from e2e_ml.core.contract import Contract
from e2e_ml.core.features import event_days, target

RECENT_COLUMNS = ["for_day", "segment_column", "segment_value", "rate", "rows", "first_day", "last_day"]


def recent_outcome_rates(known: pd.DataFrame, contract: Contract, day: date) -> pd.DataFrame:
    """The rates offered to day `day`'s rows. `known` holds rows whose labels were known before
    `day` (`labels_known_by`); the last `recent_days` of their event days count."""
    segments, days_kept = contract.training.recent_outcomes, contract.training.recent_days
    if not segments or known.empty:
        return _typed(pd.DataFrame(columns=RECENT_COLUMNS))
    days = event_days(known, contract)
    recent_days = sorted(set(days[days < day]))[-days_kept:]
    recent = known.loc[days.isin(recent_days).to_numpy()]
    if recent.empty:
        return _typed(pd.DataFrame(columns=RECENT_COLUMNS))
    y = target(recent, contract).astype("float64")
    frames = []
    for column in segments:
        values = recent[column].astype("string").fillna("")
        grouped = y.groupby(values.to_numpy()).agg(["mean", "size"])
        frames.append(
            pd.DataFrame(
                {
                    "segment_column": column,
                    "segment_value": grouped.index.astype(str),
                    "rate": grouped["mean"].to_numpy(),
                    "rows": grouped["size"].to_numpy(),
                }
            )
        )
    return _typed(
        pd.concat(frames, ignore_index=True).assign(
            for_day=day, first_day=recent_days[0], last_day=recent_days[-1]
        )[RECENT_COLUMNS]
    )


def with_recent_outcomes(
    rows: pd.DataFrame, rates: pd.DataFrame, contract: Contract, offered_days_only: bool = False
) -> pd.DataFrame:
    """`rows` with a `recent_<target>_by_<segment>` column per contract segment: the rate offered to
    the row's own day for its value (missing for a value without recent labels).

    With `offered_days_only` (training), only rows of days that were offered rates at all: a
    model learns what the inputs say from days that had them, not from days before any label
    was known (scikit-learn's gradient boosting also refuses an input that is never present).
    """
    if not contract.training.recent_outcomes:
        return rows
    days = pd.Series(event_days(rows, contract).to_numpy(), index=rows.index)
    offered = rates.assign(for_day=pd.to_datetime(rates["for_day"]).dt.date) if len(rates) else None
    if offered is None:  # no labels known yet: every rate is missing
        empty = rows.iloc[0:0] if offered_days_only else rows
        return empty.assign(**{name: np.nan for name in contract.recent_inputs})
    if offered_days_only:
        rows, days = rows.loc[days.isin(set(offered["for_day"]))], days[days.isin(set(offered["for_day"]))]
    added = {}
    for column, name in zip(contract.training.recent_outcomes, contract.recent_inputs, strict=True):
        table = offered[offered["segment_column"] == column].set_index(["for_day", "segment_value"])["rate"]
        keys = pd.MultiIndex.from_arrays([days, rows[column].astype("string").fillna("").to_numpy()])
        added[name] = table.reindex(keys).to_numpy(dtype="float64")
    return rows.assign(**added)


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.astype(
        {
            "for_day": "datetime64[ns]",
            "segment_column": "string",
            "segment_value": "string",
            "rate": "float64",
            "rows": "int64",
            "first_day": "datetime64[ns]",
            "last_day": "datetime64[ns]",
        }
    )
