"""Labels as they become known, whichever way they arrive.

A label carried in a row is known the contract's label delay after the row's day (a churn label
"in the next 7 days" is written with the row, but nobody could know it before 7 days had passed).
A label from the outcomes feed (files of key and target that land later) is known from the day it
landed. Every use of a label (training, judging a model, realized performance, recent-outcome
features) asks here what was known at the end of a given day, and never sees more.
"""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd

from e2e_ml.core.contract import Contract

KNOWN_ON = "label_known_on"  # the day a label became known (midnight of it): known from its end
_ID, _TIME, _LABEL = "_label_id", "_label_time", "_label"


def with_known_labels(
    rows: pd.DataFrame,
    outcomes: pd.DataFrame | None,
    contract: Contract,
    as_of: date,
    id_column: str | None = None,
    time_column: str | None = None,
    label_column: str | None = None,
) -> pd.DataFrame:
    """`rows` with their label as it was known at the end of `as_of` (missing if it was not yet)
    and the day it became known (`KNOWN_ON`).

    `outcomes` holds the feed's rows (the contract's key and target, and `KNOWN_ON`), or None
    where nothing comes by the feed; a label
    corrected by a later delivery takes the latest value known by `as_of`; a label both carried
    and delivered counts from the earlier of the two. The columns default to the contract's roles;
    predictions name theirs `entity_id`, `event_time` and `actual`.
    """
    id_column = id_column or contract.roles.id
    time_column = time_column or contract.roles.event_time
    label_column = label_column or contract.roles.target
    cutoff = pd.Timestamp(as_of)
    row_days = pd.to_datetime(rows[time_column], utc=True).dt.tz_convert(contract.time.zone)
    carried_on = row_days.dt.tz_localize(None).dt.normalize() + pd.Timedelta(
        days=contract.time.label_delay_days
    )
    carried = rows[label_column].notna() & (carried_on <= cutoff)
    delivered = (
        _keys(rows[id_column], rows[time_column])
        .merge(_arrived(outcomes, contract, cutoff), on=[_ID, _TIME], how="left")
        .set_index(rows.index)
    )
    label = rows[label_column].astype("Float64").where(carried).fillna(delivered[_LABEL].astype("Float64"))
    known_on = pd.concat([carried_on.where(carried), delivered[KNOWN_ON]], axis=1).min(axis=1)
    return rows.assign(**{label_column: label.astype(rows[label_column].dtype), KNOWN_ON: known_on})


def labels_known_by(
    rows: pd.DataFrame, outcomes: pd.DataFrame, contract: Contract, day: date
) -> pd.DataFrame:
    """The rows a model for `day` may learn from or be judged on: labels known before `day` began."""
    known = with_known_labels(rows, outcomes, contract, as_of=day - timedelta(days=1))
    return known.loc[known[contract.roles.target].notna()].drop(columns=KNOWN_ON)


def label_predictions(
    served: pd.DataFrame, clean: pd.DataFrame, outcomes: pd.DataFrame, contract: Contract, as_of: date
) -> pd.DataFrame:
    """The predictions as served, with `actual` as known at the end of `as_of`: labels carried
    in the clean rows once the contract's delay has passed, or delivered by the outcomes feed."""
    if served.empty:
        return served
    roles = contract.roles
    carried = (
        clean[[roles.id, roles.event_time, roles.target]]
        .rename(columns={roles.id: "entity_id", roles.event_time: "event_time"})
        .astype({"entity_id": "string"})
        .drop_duplicates(["entity_id", "event_time"])
        if len(clean)
        else pd.DataFrame({"entity_id": pd.Series(dtype="string"), "event_time": [], roles.target: []})
    )
    rows = served.drop(columns="actual").merge(
        carried.astype({"event_time": "datetime64[ns, UTC]"}), on=["entity_id", "event_time"], how="left"
    )
    known = with_known_labels(
        rows,
        outcomes,
        contract,
        as_of,
        id_column="entity_id",
        time_column="event_time",
        label_column=roles.target,
    )
    return known.rename(columns={roles.target: "actual"})


def _arrived(outcomes: pd.DataFrame | None, contract: Contract, cutoff: pd.Timestamp) -> pd.DataFrame:
    """One label per key: the latest delivered by the end of `cutoff`."""
    if outcomes is None or outcomes.empty:
        return pd.DataFrame(
            {
                _ID: pd.Series(dtype="string"),
                _TIME: pd.Series(dtype="datetime64[ns, UTC]"),
                _LABEL: pd.Series(dtype="float64"),
                KNOWN_ON: pd.Series(dtype="datetime64[ns]"),
            }
        )
    landed = outcomes.loc[pd.to_datetime(outcomes[KNOWN_ON]) <= cutoff]
    frame = _keys(landed[contract.roles.id], landed[contract.roles.event_time]).assign(
        **{
            _LABEL: landed[contract.roles.target].astype("float64").to_numpy(),
            KNOWN_ON: pd.to_datetime(landed[KNOWN_ON]).to_numpy(),
        }
    )
    return frame.sort_values(KNOWN_ON, kind="stable").drop_duplicates([_ID, _TIME], keep="last")


def _keys(ids: pd.Series, times: pd.Series) -> pd.DataFrame:
    return pd.DataFrame(
        {
            _ID: pd.array(ids.astype("string").to_numpy(), dtype="string"),
            # `.array`, not `.to_numpy()`: a zoned column's numpy form is one Timestamp object a row
            _TIME: pd.to_datetime(times, utc=True).astype("datetime64[ns, UTC]").array,
        }
    )
