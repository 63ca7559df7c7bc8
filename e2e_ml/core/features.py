"""Model inputs from clean rows, chosen by the contract's roles (never by column name)."""

from __future__ import annotations

import pandas as pd

from e2e_ml.core.contract import Contract


def feature_frame(clean: pd.DataFrame, contract: Contract) -> pd.DataFrame:
    """Features as plain numpy dtypes: floats for numbers, text for categories."""
    numeric = {c: clean[c].astype("float64") for c in contract.numeric_features}
    categorical = {c: clean[c].astype(str) for c in contract.categorical_features}
    return pd.DataFrame({**numeric, **categorical}, index=clean.index)[list(contract.roles.features)]


def labelled(clean: pd.DataFrame, contract: Contract) -> pd.DataFrame:
    """Rows whose target is known: the only rows a model may learn from or be judged on."""
    return clean.loc[clean[contract.roles.target].notna()]


def target(clean: pd.DataFrame, contract: Contract) -> pd.Series:
    values = clean[contract.roles.target]
    if contract.roles.task == "classification":
        return values.astype("int64")
    return values.astype("float64")


def event_days(rows: pd.DataFrame, contract: Contract) -> pd.Series:
    """Each row's business day: its event time's calendar day in the contract's zone."""
    instants = rows[contract.roles.event_time]
    if instants.dt.tz is None:  # written before the lake kept zones: those were UTC
        instants = instants.dt.tz_localize("UTC")
    return instants.dt.tz_convert(contract.time.zone).dt.date


def split_by_time(clean: pd.DataFrame, contract: Contract) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train on every day but the latest; hold the latest day out, as production would."""
    days = event_days(clean, contract)
    if days.nunique() < 2:
        raise ValueError(f"need at least 2 days of labelled rows to split by time, got {days.nunique()}")
    latest = days.max()
    return clean.loc[days < latest], clean.loc[days == latest]
