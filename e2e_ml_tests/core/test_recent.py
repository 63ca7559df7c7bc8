"""Recent outcomes as features: rates from labels known before the day, and nothing later."""

from dataclasses import replace
from datetime import date

import numpy as np
import pandas as pd
import pytest

from e2e_ml.core.features import event_days, feature_frame
from e2e_ml.core.labels import labels_known_by
from e2e_ml.core.recent import recent_outcome_rates, with_recent_outcomes
from e2e_ml_tests.core.test_model_inputs import orders, orders_contract

RECENT = {"recent_outcomes": {"segments": ["channel"], "days": 2}}


@pytest.fixture
def contract(tmp_path):
    return orders_contract(tmp_path, training=RECENT)


def test_the_rates_for_a_day_come_from_the_last_labelled_days_before_it_only(contract):
    history = orders(days=6)  # Mar 1 .. Mar 6
    day = date(2026, 3, 5)
    rates = recent_outcome_rates(labels_known_by(history, None, contract, day), contract, day)
    days = event_days(history, contract)
    window = history[(days >= date(2026, 3, 3)) & (days <= date(2026, 3, 4))]
    expected = window.groupby("channel")["reordered"].mean()
    got = rates.set_index("segment_value")["rate"]
    assert got.to_dict() == pytest.approx(expected.to_dict())
    assert set(rates["first_day"].dt.date) == {date(2026, 3, 3)}

    # Rewriting every label from the day on changes nothing offered to that day.
    later = (days >= day).to_numpy()
    rewritten = history.assign(reordered=history["reordered"].where(~later, 1 - history["reordered"]))
    again = recent_outcome_rates(labels_known_by(rewritten, None, contract, day), contract, day)
    pd.testing.assert_frame_equal(again, rates)


def test_a_label_delay_moves_the_window_back(tmp_path):
    contract = orders_contract(tmp_path, training=RECENT)
    delayed = replace(contract, time=replace(contract.time, label_delay_days=2))
    history = orders(days=6)
    day = date(2026, 3, 6)
    rates = recent_outcome_rates(labels_known_by(history, None, delayed, day), delayed, day)
    # Labels of Mar 3 are known from the end of Mar 5: the last two known days are Mar 2 and 3.
    assert set(rates["first_day"].dt.date) == {date(2026, 3, 2)}
    assert set(rates["last_day"].dt.date) == {date(2026, 3, 3)}


def test_each_row_gets_the_rates_offered_to_its_own_day(contract):
    history = orders(days=6)
    offered = pd.concat(
        recent_outcome_rates(labels_known_by(history, None, contract, day), contract, day)
        for day in (date(2026, 3, 4), date(2026, 3, 5))
    )
    rows = history[event_days(history, contract).isin([date(2026, 3, 4), date(2026, 3, 5)]).to_numpy()]
    joined = with_recent_outcomes(rows, offered, contract)
    inputs = feature_frame(joined, contract)
    column = "recent_reordered_by_channel"
    assert column in inputs.columns
    for day in (date(2026, 3, 4), date(2026, 3, 5)):
        of_day = event_days(joined, contract) == day
        table = offered[offered["for_day"].dt.date == day].set_index("segment_value")["rate"]
        assert np.allclose(
            joined.loc[of_day.to_numpy(), column], joined.loc[of_day.to_numpy(), "channel"].map(table)
        )


def test_rows_without_joined_rates_are_refused_by_the_feature_frame(contract):
    with pytest.raises(ValueError, match="recent-outcome inputs"):
        feature_frame(orders(days=1), contract)
