"""Synthetic InferenceData in the project's conventions (fast, no fitting) for the plot tests, and tests of the
shared helpers."""

from __future__ import annotations

import json

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import xarray as xr

from causalmmm_ppl.data.panel import period_dates, period_numbers
from causalmmm_ppl.evaluation.inference_data import build_inference_data, panel_coords
from causalmmm_ppl.plots._common import (
    band,
    figure_png,
    number_periods,
    save_figure,
    select_shops,
    stacked_draws,
)

SHOPS = ("s0", "s1", "s2")
NODES = ("c0", "c1", "pv", "gmv")
KINDS = ("channel", "channel", "mediator", "target")
CHANNELS = ("c0", "c1")


def causalmmm_idata(n_draws: int = 20, n_days: int = 30, seed: int = 0):
    """A CausalMMM-shaped InferenceData: edge probabilities, curve parameters, target groups, ELBO trace."""
    rng = np.random.default_rng(seed)
    s, v = len(SHOPS), len(NODES)
    coords = panel_coords(SHOPS, pd.date_range("2022-01-01", periods=n_days, freq="D"))
    coords.update({"node": np.array(NODES), "cause": np.array(NODES), "effect": np.array(NODES)})
    prob = rng.uniform(0, 1, (s, v, v))
    prob[:, np.arange(v), np.arange(v)] = 0.0
    edge = (rng.uniform(0, 1, (1, n_draws, s, v, v)) < prob).astype(np.int8)
    obs = rng.gamma(5.0, 100.0, (s, n_days))
    obs[:, 0] = np.nan
    posterior = {
        "edge": edge, "edge_probability": np.broadcast_to(prob, (1, n_draws, s, v, v)).copy(),
        "decay": rng.uniform(0.1, 0.8, (1, n_draws, s, v)), "alpha": rng.uniform(1, 3, (1, n_draws, s, v)),
        "gamma": rng.uniform(50, 500, (1, n_draws, s, v)),
    }
    dims = {"edge": ["shop", "cause", "effect"], "edge_probability": ["shop", "cause", "effect"],
            "decay": ["shop", "node"], "alpha": ["shop", "node"], "gamma": ["shop", "node"]}
    idata = build_inference_data(
        posterior=posterior, dims=dims, coords=coords, model="causalmmm", target_name="gmv", inference="svi",
        log_likelihood=rng.normal(-5, 1, (1, n_draws, s, n_days)), observed=obs,
        posterior_predictive=obs[None, None] + rng.normal(0, 30, (1, n_draws, s, n_days)),
        latent=["edge", "decay", "alpha", "gamma"],
        attrs={"causalmmm_spec": json.dumps({"l_max": 10, "prior_prob": 0.1})})
    elbo = -np.exp(-np.arange(200) / 50.0) * 10 - 2 + rng.normal(0, 0.1, 200)
    idata.add_groups({"sample_stats": xr.Dataset({"elbo": ("step", elbo)}, coords={"step": np.arange(200)})})
    return idata


def btvc_idata(n_chains: int = 2, n_draws: int = 25, n_days: int = 30, seed: int = 1):
    """A BTVC-shaped InferenceData: curve parameters per channel, β(t), several chains."""
    rng = np.random.default_rng(seed)
    s, k = len(SHOPS), len(CHANNELS)
    coords = panel_coords(SHOPS, pd.date_range("2022-01-01", periods=n_days, freq="D"))
    coords["channel"] = np.array(CHANNELS)
    shape = (n_chains, n_draws, s, k)
    posterior = {"decay": rng.uniform(0.1, 0.8, shape), "hill_alpha": rng.uniform(0.5, 2, shape),
                 "hill_gamma": rng.uniform(0.5, 2, shape), "sigma": rng.uniform(0.05, 0.2, (n_chains, n_draws, s)),
                 "beta": rng.gamma(2, 0.1, (n_chains, n_draws, s, n_days, k))}
    dims = {"decay": ["shop", "channel"], "hill_alpha": ["shop", "channel"], "hill_gamma": ["shop", "channel"],
            "sigma": ["shop"], "beta": ["shop", "date", "channel"]}
    obs = rng.gamma(5.0, 100.0, (s, n_days))
    return build_inference_data(
        posterior=posterior, dims=dims, coords=coords, model="btvc", target_name="gmv", inference="nuts",
        log_likelihood=rng.normal(-5, 1, (n_chains, n_draws, s, n_days)), observed=obs,
        posterior_predictive=obs[None, None] + rng.normal(0, 30, (n_chains, n_draws, s, n_days)),
        latent=["decay", "hill_alpha", "hill_gamma", "sigma"],
        attrs={"btvc_spec": json.dumps({"l_max": None, "adstock_normalize": True, "hill_at_mean": True})})


def forecast_table(nodes=("pv", "gmv"), horizon: int = 7, seed: int = 2) -> pd.DataFrame:
    """A ``forecast.csv``-shaped table (shops × days × nodes)."""
    rng = np.random.default_rng(seed)
    idx = pd.MultiIndex.from_product([SHOPS, pd.date_range("2022-01-31", periods=horizon), nodes],
                                     names=["shop", "date", "node"]).to_frame(index=False)
    mean = rng.gamma(5.0, 100.0, len(idx))
    return idx.assign(observed=mean + rng.normal(0, 50, len(idx)), mean=mean, lower=mean - 80, upper=mean + 80)


def test_stacked_draws_merges_chain_and_draw():
    da = xr.DataArray(np.arange(24).reshape(2, 3, 4), dims=("chain", "draw", "shop"))
    out = stacked_draws(da)
    assert out.shape == (6, 4)
    np.testing.assert_array_equal(out[3], np.arange(12, 16))


def test_band_orders_lower_mean_upper():
    draws = np.random.default_rng(0).normal(size=(500, 3))
    mean, lo, hi = band(draws, 0.9)
    assert mean.shape == lo.shape == hi.shape == (3,)
    assert (lo < mean).all() and (mean < hi).all()
    with pytest.raises(ValueError, match="interval"):
        band(draws, 1.5)


def test_select_shops_names_a_missing_shop():
    assert select_shops(["a", "b", "c"], None, 2) == ["a", "b"]
    assert select_shops(["a", "b"], "b") == ["b"]
    with pytest.raises(ValueError, match="'z'"):
        select_shops(["a", "b"], ["z"])


def test_figure_output_closes_the_figure(tmp_path):
    fig, ax = plt.subplots()
    ax.plot([0, 1])
    png = figure_png(fig)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and not plt.fignum_exists(fig.number)
    fig, _ = plt.subplots()
    path = save_figure(fig, tmp_path / "a" / "f.png")
    assert path.stat().st_size > 0 and not plt.fignum_exists(fig.number)


@pytest.mark.parametrize("freq", ["W", "D"])
def test_number_periods_labels_date_axes_with_whole_period_numbers(freq):
    """A run fitted on numbered periods (``--freq``) draws its dates on the nominal calendar; the labels are its
    period numbers, at whole periods, and axes without dates are left alone."""
    fig, (ax, other) = plt.subplots(1, 2)
    ax.plot(period_dates(np.arange(40, 61), freq), np.arange(21.0))
    other.plot(np.arange(5.0), np.arange(5.0))
    fig.canvas.draw()
    before = [t.get_text() for t in other.get_xticklabels()]
    assert number_periods(fig, freq) is fig
    fig.canvas.draw()
    labels = [int(t.get_text()) for t in ax.get_xticklabels()]
    assert len(labels) >= 3 and labels == sorted(labels) and 40 <= labels[0] and labels[-1] <= 60
    nums = period_numbers(pd.DatetimeIndex(mdates.num2date(ax.get_xticks())).tz_localize(None), freq)
    assert list(nums) == labels  # each tick sits on the period it names
    assert ax.get_xlabel() == ("week" if freq == "W" else "day")
    assert [t.get_text() for t in other.get_xticklabels()] == before
    plt.close(fig)


def test_number_periods_leaves_a_dated_run_alone():
    fig, ax = plt.subplots()
    ax.plot(pd.date_range("2024-01-01", periods=10), np.arange(10.0))
    formatter = ax.xaxis.get_major_formatter()
    number_periods(fig, "")
    assert ax.xaxis.get_major_formatter() is formatter
    plt.close(fig)
