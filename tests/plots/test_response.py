"""Response curves and carryover plots computed from posterior parameters with the shared transforms."""

from __future__ import annotations

import json

import matplotlib.pyplot as plt
import numpy as np
import pytest

from causalmmm_ppl.plots import adstock_decay, response_curves
from causalmmm_ppl.plots.response import curve_params
from causalmmm_ppl.transforms import np_ops
from causalmmm_ppl.transforms.np_ops import hill
from tests.plots.test_common import CHANNELS, btvc_idata, causalmmm_idata


def test_curve_params_causalmmm_leaves_out_the_target():
    shop, p = curve_params(causalmmm_idata(), "s1")
    assert shop == "s1" and p.names == ["c0", "c1", "pv"]
    assert p.values["alpha"].shape == (20, 3) and p.l_max == 10 and p.normalize and not p.at_mean
    assert p.family.names == ("decay", "alpha", "gamma")


def test_curve_params_btvc_uses_hill_sites_and_spec():
    shop, p = curve_params(btvc_idata())
    assert shop == "s0" and p.names == list(CHANNELS) and p.values["decay"].shape == (50, 2)
    assert p.at_mean and "mean spend" in p.x_units


def test_response_curve_mean_is_the_posterior_mean_of_hill():
    idata = causalmmm_idata()
    fig = response_curves(idata, "s0", nodes=["c1"])
    line = [ln for ln in fig.axes[0].lines if ln.get_label() == "posterior mean"][0]
    x, y = line.get_data()
    post = idata.posterior.sel(shop="s0", node="c1")
    expected = hill(x[None], post["alpha"].values.ravel()[:, None][:, 0], post["gamma"].values.ravel()).mean(0)
    np.testing.assert_allclose(y, expected, rtol=1e-6)
    plt.close(fig)


def test_btvc_curve_shows_mean_spend():
    idata = btvc_idata()
    fig = response_curves(idata, "s2")
    for k, ax in enumerate(fig.axes[:2]):
        x, y = [ln for ln in ax.lines if ln.get_label() == "posterior mean"][0].get_data()
        assert x.max() >= 3.0 and 0.0 <= y.min() and y.max() <= 1.0
        assert any(np.allclose(ln.get_xdata(), 1.0) for ln in ax.lines)  # the mean-spend marker
    plt.close(fig)


def test_adstock_weights_sum_to_one_when_normalised():
    fig = adstock_decay(causalmmm_idata(), "s0")
    lines = fig.axes[0].lines
    assert len(lines) == 3
    for ln in lines:
        assert ln.get_ydata().sum() == pytest.approx(1.0, abs=1e-6)
        assert len(ln.get_xdata()) == 10
    plt.close(fig)


def test_missing_parameters_are_a_clear_error():
    idata = causalmmm_idata()
    with pytest.raises(ValueError, match="'zz'"):
        curve_params(idata, nodes=["zz"])
    del idata.posterior["alpha"]
    with pytest.raises(ValueError, match="carryover/saturation"):
        response_curves(idata)


def test_another_family_is_plotted_from_its_own_parameters():
    """A run with delayed carryover and Michaelis–Menten saturation: the curves and weights come from its named
    parameters through the family's own numpy twin, and a family without a curve says so."""
    idata = causalmmm_idata()
    post = idata.posterior
    post["delay"] = post["decay"] * 4  # peaks between lags 0.4 and 3.2
    post.attrs["causalmmm_spec"] = json.dumps({"l_max": 10, "adstock": "delayed", "saturation": "michaelis_menten"})
    fig = response_curves(idata, "s0", nodes=["c1"])
    x, y = [ln for ln in fig.axes[0].lines if ln.get_label() == "posterior mean"][0].get_data()
    gamma = post["gamma"].sel(shop="s0", node="c1").values.ravel()
    np.testing.assert_allclose(y, (x[None] / (x[None] + gamma[:, None])).mean(0), rtol=1e-6)
    plt.close(fig)
    fig = adstock_decay(idata, "s0", nodes=["c1"])
    w = fig.axes[0].lines[0].get_ydata()
    sel = {"shop": "s0", "node": "c1"}
    expected = np_ops.delayed_weights(post["decay"].sel(sel).values.ravel(), post["delay"].sel(sel).values.ravel(), 10)
    np.testing.assert_allclose(w, expected.mean(0), rtol=1e-6)
    plt.close(fig)
    post.attrs["causalmmm_spec"] = json.dumps({"l_max": 10, "adstock": "none", "saturation": "hill"})
    with pytest.raises(ValueError, match="no carryover"):
        adstock_decay(idata, "s0")
