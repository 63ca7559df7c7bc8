"""Model inputs from clean rows, chosen by the contract's roles (never by column name).

A missing value stays missing: the gradient-boosted model handles it natively, and a feature
the contract asks to impute is filled inside the model, with a value learned in training.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from e2e_ml.core.contract import Contract

# The contract's calendar parts (CALENDAR_PARTS) as pandas names them; only the asked ones are computed.
CALENDAR_ATTRIBUTES = {"hour": "hour", "day_of_week": "dayofweek", "day_of_month": "day", "month": "month"}


def feature_frame(clean: pd.DataFrame, contract: Contract) -> pd.DataFrame:
    """The model's inputs: floats for numbers (NaN when missing), text for categories (NaN when
    missing), the contract's calendar parts of the event time in its zone, and the recent outcome
    rates already joined to the rows."""
    numeric = {c: clean[c].astype("Float64").astype("float64") for c in contract.numeric_features}
    categorical = {c: _text_or_missing(clean[c]) for c in contract.categorical_features}
    calendar = {}
    if contract.training.calendar:
        local = local_times(clean, contract).dt
        calendar = {
            f"calendar_{part}": getattr(local, CALENDAR_ATTRIBUTES[part]).astype("float64")
            for part in contract.training.calendar
        }
    missing = [c for c in contract.recent_inputs if c not in clean]
    if missing:
        raise ValueError(f"rows lack the recent-outcome inputs {missing}: join them first (core.recent)")
    recent = {c: clean[c].astype("float64") for c in contract.recent_inputs}
    return pd.DataFrame({**numeric, **categorical, **calendar, **recent}, index=clean.index)[
        contract.model_inputs
    ]


def _text_or_missing(values: pd.Series) -> pd.Series:
    text = values.astype("string")
    return text.astype(object).where(text.notna(), np.nan)


def local_times(rows: pd.DataFrame, contract: Contract) -> pd.Series:
    """The event time on the wall clock of the contract's zone."""
    instants = rows[contract.roles.event_time]
    if instants.dt.tz is None:  # written before the lake kept zones: those were UTC
        instants = instants.dt.tz_localize("UTC")
    return instants.dt.tz_convert(contract.time.zone)


def event_days(rows: pd.DataFrame, contract: Contract) -> pd.Series:
    """Each row's business day: its event time's calendar day in the contract's zone."""
    return local_times(rows, contract).dt.date


def labelled(clean: pd.DataFrame, contract: Contract) -> pd.DataFrame:
    """Rows whose target is present. When it became known is `core.labels`' question."""
    return clean.loc[clean[contract.roles.target].notna()]


def target(clean: pd.DataFrame, contract: Contract) -> pd.Series:
    values = clean[contract.roles.target]
    if contract.roles.task == "classification":
        return values.astype("int64")
    return values.astype("float64")


def split_by_time(clean: pd.DataFrame, contract: Contract) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train on every day but the latest; hold the latest day out, as production would."""
    days = event_days(clean, contract)
    if days.nunique() < 2:
        raise ValueError(f"need at least 2 days of labelled rows to split by time, got {days.nunique()}")
    latest = days.max()
    return clean.loc[days < latest], clean.loc[days == latest]
