"""Forecast fans, model comparison, in-sample fit, ELBO trace and BTVC β(t)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from causalmmm_ppl.plots import (beta_paths, contribution_shares, elbo_trace, forecast_comparison, forecast_fan,
                                 in_sample_fit)
from causalmmm_ppl.plots.forecast import check_forecast
from tests.plots.test_common import btvc_idata, causalmmm_idata, forecast_table


def test_check_forecast_defaults_to_the_last_node():
    rows, node = check_forecast(forecast_table())
    assert node == "gmv" and set(rows["node"]) == {"gmv"}
    with pytest.raises(ValueError, match="'upper'"):
        check_forecast(forecast_table().drop(columns="upper"))
    with pytest.raises(ValueError, match="no node 'x'"):
        check_forecast(forecast_table(), "x")


def test_forecast_fan_draws_band_mean_observed_and_history():
    fig = forecast_fan(forecast_table(), history=causalmmm_idata(), max_shops=2)
    assert len(fig.axes) == 2
    labels = [ln.get_label() for ln in fig.axes[0].lines]
    assert "observed (training)" in labels and "forecast mean" in labels
    assert len(fig.axes[0].collections) >= 2  # band + held-out points
    plt.close(fig)


def test_forecast_comparison_one_column_per_model():
    fc = forecast_table()
    fig = forecast_comparison({"A": fc, "B": fc.assign(mean=fc["mean"] * 1.1)}, shops=["s1"])
    assert [ax.get_title() for ax in fig.axes] == ["A: gmv, shop s1", "B: gmv, shop s1"]
    plt.close(fig)


def test_in_sample_fit_and_elbo():
    fig = in_sample_fit(causalmmm_idata(), "s0")
    assert len(fig.axes) == 1
    plt.close(fig)
    fig = elbo_trace(causalmmm_idata())
    raw = fig.axes[0].lines[0].get_ydata()
    assert raw.size == 200
    plt.close(fig)
    with pytest.raises(ValueError, match="ELBO"):
        elbo_trace(btvc_idata())


def test_beta_paths_band_contains_mean():
    idata = btvc_idata()
    fig = beta_paths(idata, "s1")
    ax = fig.axes[0]
    assert [ln.get_label() for ln in ax.lines] == ["c0", "c1"]
    mean = ax.lines[0].get_ydata()
    expected = idata.posterior["beta"].sel(shop="s1", channel="c0").mean(("chain", "draw")).values
    np.testing.assert_allclose(mean, expected)
    plt.close(fig)
    with pytest.raises(ValueError, match="beta"):
        beta_paths(causalmmm_idata())


def test_contribution_shares_bars():
    shares = pd.DataFrame({"shop": ["a", "a", "b", "b"], "channel": ["x", "y", "x", "y"],
                           "mean": [0.1, 0.2, 0.3, 0.1], "lower": [0.05, 0.1, 0.2, 0.0], "upper": [0.2, 0.3, 0.4, 0.2]})
    fig = contribution_shares(shares)
    assert len(fig.axes[0].patches) == 4
    plt.close(fig)
