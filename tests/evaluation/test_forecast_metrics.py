"""Forecast metrics against hand-computed values, scikit-learn and closed forms."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy import stats
from sklearn.metrics import mean_absolute_error, mean_squared_error

from causalmmm_ppl.evaluation.forecast_metrics import (
    coverage,
    crps,
    crps_draws,
    forecast_report,
    interval_width,
    mae,
    mse,
    wape,
)


def test_mse_mae_hand_computed_and_sklearn():
    y = np.array([[1.0, 2.0, 3.0], [0.0, -1.0, 4.0]])
    p = np.array([[1.5, 2.0, 1.0], [0.0, 1.0, 4.0]])
    assert mse(p, y) == pytest.approx((0.25 + 0 + 4 + 0 + 4 + 0) / 6)
    assert mae(p, y) == pytest.approx((0.5 + 0 + 2 + 0 + 2 + 0) / 6)
    assert mse(p, y) == pytest.approx(mean_squared_error(y.ravel(), p.ravel()))
    assert mae(p, y) == pytest.approx(mean_absolute_error(y.ravel(), p.ravel()))


def test_wape_hand_computed_pooled_and_scale_free():
    y = np.array([[10.0, 20.0], [100.0, 0.0]])
    p = np.array([[12.0, 20.0], [90.0, 5.0]])
    assert wape(p, y) == pytest.approx((2 + 0 + 10 + 5) / 130)  # pooled: the large shop weighs more
    assert wape(3 * p, 3 * y) == pytest.approx(wape(p, y))
    assert wape(y, y) == 0.0
    assert math.isnan(wape(p[:, 1], np.zeros(2)))
    assert wape(p, y, np.array([[True, True], [False, False]])) == pytest.approx(2 / 30)


def test_forecast_report_wape_reads_the_median():
    y = np.array([1.0, 2.0])
    draws = np.array([[1.0, 2.0], [1.0, 2.0], [100.0, 2.0]])  # one wild draw moves the mean, not the median
    r = forecast_report(draws, y)
    assert r["wape"] == 0.0 and r["mae"] > 10


def test_mask_and_nan_are_left_out():
    y = np.array([1.0, np.nan, 3.0, 10.0])
    p = np.array([2.0, 5.0, 3.0, 0.0])
    m = np.array([True, True, True, False])
    assert mse(p, y, m) == pytest.approx(0.5)  # (1 + 0) / 2: NaN and masked values skipped
    assert math.isnan(mse(p, y, np.zeros(4, bool)))
    with pytest.raises(ValueError):
        mse(p[:3], y)


def test_crps_hand_computed():
    draws = np.array([0.0, 1.0])[:, None]
    # E|X - 0.5| = 0.5; E|X - X'| = (0 + 1 + 1 + 0) / 4 = 0.5  →  0.5 - 0.25
    assert crps_draws(draws, np.array([0.5]))[0] == pytest.approx(0.25)
    # y = 2: E|X - y| = 1.5  →  1.5 - 0.25
    assert crps_draws(draws, np.array([2.0]))[0] == pytest.approx(1.25)
    # a single draw is the absolute error
    assert crps(np.array([[3.0, -1.0]]), np.array([1.0, 1.0])) == pytest.approx(2.0)


@given(
    draws=hnp.arrays(np.float64, (7, 3), elements=st.floats(-50, 50)),
    y=hnp.arrays(np.float64, (3,), elements=st.floats(-50, 50)),
)
def test_crps_sorted_form_equals_the_pairwise_sum(draws, y):
    pair = np.abs(draws[:, None, :] - draws[None, :, :]).mean((0, 1))
    brute = np.abs(draws - y).mean(0) - 0.5 * pair
    np.testing.assert_allclose(crps_draws(draws, y), brute, atol=1e-9)
    assert np.all(crps_draws(draws, y) >= -1e-9)


def test_crps_matches_the_normal_closed_form():
    rng = np.random.default_rng(0)
    mu, sigma, y = 1.0, 2.0, np.array([0.0, 1.0, 4.0])
    draws = rng.normal(mu, sigma, size=(40000, 3))
    z = (y - mu) / sigma
    exact = sigma * (z * (2 * stats.norm.cdf(z) - 1) + 2 * stats.norm.pdf(z) - 1 / np.sqrt(np.pi))
    np.testing.assert_allclose(crps_draws(draws, y), exact, atol=0.02)


def test_coverage_and_width_hand_computed():
    draws = np.tile(np.arange(101.0)[:, None], (1, 4))  # quantiles 5% = 5, 95% = 95
    y = np.array([4.0, 5.0, 50.0, 96.0])
    assert coverage(draws, y, 0.9) == pytest.approx(0.5)  # 5 and 50 inside (bounds included)
    assert interval_width(draws, y, 0.9) == pytest.approx(90.0)
    with pytest.raises(ValueError):
        coverage(draws, y, 1.5)


def test_calibrated_draws_cover_about_the_nominal_share():
    rng = np.random.default_rng(1)
    draws = rng.standard_normal((400, 5000))
    y = rng.standard_normal(5000)
    assert coverage(draws, y, 0.9) == pytest.approx(0.9, abs=0.02)


def test_forecast_report_scaled_units():
    rng = np.random.default_rng(2)
    y = rng.uniform(1, 2, size=(3, 5))
    draws = y[None] + rng.normal(0, 0.1, size=(50, 3, 5))
    scale = np.array([10.0, 20.0, 30.0])[:, None]
    r = forecast_report(draws * scale, y * scale, scale=scale)
    assert r["n"] == 15
    assert r["mse_scaled"] == pytest.approx(mse(draws.mean(0), y))
    assert r["crps_scaled"] == pytest.approx(crps(draws, y))
    assert r["mse"] == pytest.approx(mse((draws * scale).mean(0), y * scale))
    assert 0.0 <= r["coverage"] <= 1.0
