"""The ArviZ module: BTVC InferenceData groups, dims, coords, attrs, and the netCDF round trip."""

from __future__ import annotations

import dataclasses
import json
import warnings

import numpy as np
import pytest

from causalmmm_ppl.evaluation.inference_data import (
    az,
    TARGET_VAR,
    build_inference_data,
    latent_vars,
    panel_coords,
    read_inference_data,
    write_inference_data,
)
from causalmmm_ppl.inference.btvc import fit_btvc
from causalmmm_ppl.models.btvc_spec import BTVCSpec
from tests.inference.test_btvc import make_tvc_panel


@pytest.fixture(scope="module")
def nuts_fit():
    panel, _ = make_tvc_panel(n_shops=2, n_days=60, seed=4)
    # a ragged panel: shop s1 has no target on its first 5 days
    observed = panel.observed.copy()
    observed[1, :5, -1] = False
    panel = dataclasses.replace(panel, observed=observed)  # promo stays a control column
    return fit_btvc(panel, BTVCSpec(yearly_order=0), num_chains=2, num_warmup=30,
                    num_samples=20, seed=0, progress=False)


def test_btvc_inference_data_has_the_contract_groups(nuts_fit, tmp_path):
    idata = nuts_fit.to_inference_data()
    for group in ("posterior", "posterior_predictive", "observed_data", "log_likelihood", "sample_stats"):
        assert group in idata.groups(), group
    ll = idata.log_likelihood[TARGET_VAR]
    # one entry per scored observation: shop s0's 60 days and s1's 55 (it starts five days late)
    assert ll.dims == ("chain", "draw", "obs") and ll.shape == (2, 20, 115) and np.isfinite(ll.values).all()
    shops = list(ll["obs_shop"].values)
    assert shops.count("s0") == 60 and shops.count("s1") == 55
    assert ll["obs_date"].values[shops.index("s1")] == idata.posterior["date"].values[5]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert np.isfinite(az.loo(idata).elpd_loo)  # ArviZ reads it as it is
    assert idata.observed_data[TARGET_VAR].dims == ("shop", "date")
    assert list(idata.posterior["shop"].values) == ["s0", "s1"]
    assert np.issubdtype(idata.posterior["date"].dtype, np.datetime64)
    assert idata.posterior["beta"].dims == ("chain", "draw", "shop", "date", "channel")
    assert list(idata.posterior["channel"].values) == ["x"] and list(idata.posterior["control"].values) == ["promo"]
    assert {"diverging", "energy", "lp"} <= set(idata.sample_stats.data_vars)
    for group in idata.groups():
        assert idata[group].attrs["model"] == "btvc" and idata[group].attrs["target_name"] == "y"
    assert "beta" not in latent_vars(idata) and "decay" in latent_vars(idata)
    # the contribution in idata is the one in the contributions table
    table = nuts_fit.contributions()
    row = table[(table["shop"] == "s0") & (table["channel"] == "x")].iloc[10]
    post = idata.posterior["contribution"].sel(shop="s0", channel="x", date=row["date"])
    assert np.isclose(float(post.mean()), row["mean"])

    path = write_inference_data(idata, tmp_path / "idata.nc")
    again = read_inference_data(path)
    assert set(again.groups()) == set(idata.groups())
    np.testing.assert_allclose(again.log_likelihood[TARGET_VAR].values, ll.values)
    assert again.log_likelihood.attrs["target_name"] == "y"
    assert list(again.posterior["control"].values) == ["promo"]
    assert "controls" not in json.loads(again.posterior.attrs["btvc_spec"])  # columns of the data, not a setting
    assert list(again.posterior["shop"].values) == ["s0", "s1"]


def test_log_likelihood_is_in_original_units(nuts_fit):
    """Rescaling the target shifts the log density by -log(scale): the stored values include that Jacobian."""
    from scipy import stats

    ll = nuts_fit.log_likelihood()
    s = nuts_fit.samples
    mu = nuts_fit.paths()["mu"]  # original units
    sigma = s["sigma"][..., None] * nuts_fit.scales.target[:, None]
    y = nuts_fit.observed_target()
    expected = stats.t.logpdf(y, df=nuts_fit.spec.likelihood_df, loc=mu, scale=sigma)
    np.testing.assert_allclose(ll[:, :, 0], expected[:, :, 0], rtol=1e-4, atol=1e-4)


def test_read_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.nc"):
        read_inference_data(tmp_path / "missing.nc")
    bad = tmp_path / "bad.nc"
    bad.write_text("not netcdf")
    with pytest.raises(ValueError, match="bad.nc"):
        read_inference_data(bad)


def test_build_inference_data_is_generic():
    coords = panel_coords(["a"], np.array(["2024-01-01", "2024-01-02"], dtype="datetime64[D]"))
    idata = build_inference_data(
        posterior={"w": np.zeros((1, 3, 2))}, dims={"w": ["edge"]}, coords=coords, model="causalmmm",
        target_name="gmv", inference="svi", log_likelihood=np.zeros((1, 3, 1, 2)), observed=np.ones((1, 2)),
        latent=["w"])
    assert idata.log_likelihood.attrs["model"] == "causalmmm"
    assert idata.log_likelihood[TARGET_VAR].dims == ("chain", "draw", "obs")
    assert list(idata.log_likelihood["obs_shop"].values) == ["a", "a"]
    assert latent_vars(idata) == ["w"]
