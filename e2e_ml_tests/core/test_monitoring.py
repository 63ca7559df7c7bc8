import numpy as np
import pandas as pd
import pytest

from e2e_ml.core.monitoring import distribution_test, feature_drift, population_stability, robust_bounds


def test_bounds_are_absolute_until_there_is_history():
    bounds = robust_bounds([100, 110], floor=1, ceiling=1_000)
    assert (bounds.low, bounds.high) == (1, 1_000) and "absolute" in bounds.method


def test_bounds_follow_the_history_by_factors_and_are_never_too_tight():
    regular = robust_bounds([1000] * 10)
    assert regular.low == pytest.approx(250) and regular.high == pytest.approx(4000)
    assert regular.contains(1500) and not regular.contains(20_000) and not regular.contains(0)


def test_psi_is_small_for_the_same_distribution_and_large_for_a_shift():
    rng = np.random.default_rng(0)
    reference = pd.Series(rng.gamma(2, 12, 5000))
    assert population_stability(reference, pd.Series(rng.gamma(2, 12, 5000)), categorical=False) < 0.02
    assert population_stability(reference, pd.Series(rng.gamma(2, 24, 5000)), categorical=False) > 0.2
    cats = pd.Series(rng.choice(["a", "b", "c"], 5000, p=[0.6, 0.3, 0.1]))
    shifted = pd.Series(rng.choice(["a", "b", "c"], 5000, p=[0.2, 0.3, 0.5]))
    assert population_stability(cats, shifted, categorical=True) > 0.2


def test_distribution_tests():
    rng = np.random.default_rng(1)
    a, b = pd.Series(rng.normal(0, 1, 2000)), pd.Series(rng.normal(0.5, 1, 2000))
    assert distribution_test(a, b, categorical=False)[0] == "ks"
    assert distribution_test(a, b, categorical=False)[2] < 1e-6
    assert distribution_test(a, a, categorical=False)[2] == pytest.approx(1.0)
    name, _, p_value = distribution_test(
        pd.Series(["x", "y"] * 500), pd.Series(["x"] * 1000), categorical=True
    )
    assert name == "chi-square" and p_value < 1e-6


def test_feature_drift_names_the_drifted_feature_only():
    rng = np.random.default_rng(2)
    reference = pd.DataFrame({"minutes": rng.gamma(2, 12, 3000), "platform": rng.choice(["ios", "pc"], 3000)})
    current = pd.DataFrame({"minutes": rng.gamma(2, 30, 3000), "platform": rng.choice(["ios", "pc"], 3000)})
    report = feature_drift(reference, current, ["minutes"], ["platform"])
    assert report.set_index("feature")["drifted"].to_dict() == {"minutes": True, "platform": False}
