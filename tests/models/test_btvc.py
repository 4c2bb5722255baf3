"""The BTVC model's pieces: knots and kernels, Fourier terms, the model function, its spec."""

from __future__ import annotations

import json

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest
from numpyro.infer import Predictive

from causalmmm_ppl.errors import InputError
from causalmmm_ppl.models.btvc import (
    LATENT_SITES,
    SITE_DIMS,
    BTVCData,
    btvc_model,
    btvc_paths,
    coef_knot_sd_prior,
    fourier_features,
    kernel_weights,
    knot_positions,
    knot_values,
    random_walk_knots,
)
from causalmmm_ppl.models.btvc_spec import BTVCInference, BTVCSpec, split_config
from causalmmm_ppl.transforms import np_ops


def _data(s: int = 2, t: int = 40, k: int = 2, m: int = 1, seed: int = 0) -> BTVCData:
    rng = np.random.default_rng(seed)
    tt = np.arange(t, dtype=float)
    lk, ck = knot_positions(t, 10), knot_positions(t, 20)
    seasonal, _ = fourier_features(pd.date_range("2023-01-02", periods=t, freq="D"), weekly_order=1, yearly_order=1)
    return BTVCData(
        level_weights=jnp.asarray(kernel_weights(tt, lk, 10.0, t)),
        coef_weights=jnp.asarray(kernel_weights(tt, ck, 20.0, t)),
        seasonal=jnp.asarray(seasonal),
        media=jnp.asarray(rng.gamma(2.0, 0.5, (s, t, k))),
        controls=jnp.asarray(rng.normal(size=(s, t, m))),
        mask=jnp.ones((s, t), bool),
    )


def test_knots_cover_the_training_range():
    k = knot_positions(100, 10)
    assert k[0] == 0 and k[-1] == 99 and len(k) == 11
    assert np.allclose(np.diff(k), 9.9)
    assert knot_positions(1, 10).tolist() == [0.0]
    with pytest.raises(ValueError):
        knot_positions(0, 10)


def test_kernel_weights_are_normalised_and_flat_beyond_the_data():
    knots = knot_positions(50, 7)
    t = np.arange(60, dtype=float)
    w = kernel_weights(t, knots, 7.0, n_train=50)
    assert w.shape == (60, len(knots))
    assert np.allclose(w.sum(1), 1.0) and (w >= 0).all()
    # forecast steps take the last training step's weights (flat extrapolation)
    assert np.allclose(w[50:], w[49])
    # the weight peaks at the nearest knot
    assert w[0].argmax() == 0 and w[49].argmax() == len(knots) - 1


def test_fourier_terms_follow_the_calendar_not_the_grid_position():
    dates = pd.date_range("2023-03-01", periods=30, freq="D")
    f_all, names = fourier_features(dates, weekly_order=2, yearly_order=1)
    f_tail, _ = fourier_features(dates[10:], weekly_order=2, yearly_order=1)
    assert names == ["weekly_sin1", "weekly_cos1", "weekly_sin2", "weekly_cos2", "yearly_sin1", "yearly_cos1"]
    assert np.allclose(f_all[10:], f_tail)
    assert np.allclose(f_all[7:, :4], f_all[:-7, :4], atol=1e-9)  # weekly period
    empty, none = fourier_features(dates, weekly_order=0, yearly_order=0)
    assert empty.shape == (30, 0) and none == []


@pytest.mark.parametrize("knots", ["centered", "noncentered"])
def test_model_samples_every_site_with_its_named_dims(knots):
    data = _data()
    spec = BTVCSpec(knots=knots, likelihood_df=None)
    pred = Predictive(btvc_model, num_samples=3)
    out = jax.jit(lambda key: pred(key, data, None, spec=spec, l_max=7, record=True))(jax.random.PRNGKey(0))
    assert out["y"].shape == (3, 2, 40)
    sizes = {"shop": 2, "time": 40, "channel": 2, "control": 1, "season_term": 4,
             "level_knot": data.level_weights.shape[1], "level_step": data.level_weights.shape[1] - 1,
             "coef_knot": data.coef_weights.shape[1]}
    for name, value in out.items():
        if name == "y":
            continue
        assert name in SITE_DIMS, name
        assert value.shape == (3,) + tuple(sizes[d] for d in SITE_DIMS[name]), name
    latent = {n for n in out if n in LATENT_SITES}
    expected_knot_site = "level_centered" if knots == "centered" else "level_steps"
    assert expected_knot_site in latent and "nu" in latent
    assert np.isfinite(np.asarray(out["y"])).all()


@pytest.mark.parametrize("knots", ["centered", "noncentered"])
def test_trace_sites_have_their_named_dims_in_the_shop_plate(knots):
    """A 2-shop, 2-channel design: every latent site's value has the shape ``SITE_DIMS`` names and sits in the
    ``shop`` plate (dim -1); the non-centred coefficient knots are ``LocScaleReparam``'s decentred site, their
    ``coef_log_knots`` a deterministic site; the likelihood is in the plates ``shop`` and ``time``."""
    from numpyro import handlers

    data = _data(s=2, k=2, m=1)
    spec = BTVCSpec(knots=knots, likelihood_df=None)
    y = jnp.zeros(data.mask.shape)
    tr = handlers.trace(handlers.seed(btvc_model, 0)).get_trace(data, y, spec=spec, l_max=7)
    sizes = {"shop": 2, "channel": 2, "control": 1, "season_term": 4, "level_step": data.level_weights.shape[1] - 1,
             "coef_knot": data.coef_weights.shape[1]}
    latent = {name: site for name, site in tr.items() if site["type"] == "sample" and not site["is_observed"]}
    assert set(latent) <= set(LATENT_SITES)
    for name, site in latent.items():
        assert site["value"].shape == tuple(sizes[d] for d in SITE_DIMS[name]), name
        assert [(f.name, f.dim, f.size) for f in site["cond_indep_stack"]] == [("shop", -1, 2)], name
    coef_site = "coef_log_knots" if knots == "centered" else "coef_log_knots_decentered"
    assert coef_site in latent and ("level_centered" if knots == "centered" else "level_steps") in latent
    if knots == "noncentered":
        assert "coef_log_knots" not in latent and tr["coef_log_knots"]["type"] == "deterministic"
        p = {k: site["value"] for k, site in latent.items()}
        assert np.allclose(tr["coef_log_knots"]["value"], np.log(knot_values(p)["coef_knots"]), atol=1e-6)
    assert {(f.name, f.dim) for f in tr["y"]["cond_indep_stack"]} == {("shop", -2), ("time", -1)}


def test_a_fit_saved_with_the_old_knot_name_loads_and_predicts_the_same(tmp_path):
    """Non-centred coefficient knots saved as ``coef_knots_raw`` (the same standard normals) load as
    ``coef_log_knots_decentered`` and give the same forecasts."""
    from causalmmm_ppl.inference.btvc import BTVCFit, fit_btvc
    from tests.inference.test_btvc import make_tvc_panel

    panel, _ = make_tvc_panel(n_shops=1, n_days=60, seed=4)
    fit = fit_btvc(panel.select_time(0, 50), BTVCSpec(knots="noncentered", yearly_order=0), method="svi",
                   svi_steps=20, svi_draws=10, seed=0, progress=False)
    assert "coef_log_knots_decentered" in fit.samples and "coef_knots_raw" not in fit.samples
    fit.save(tmp_path / "model")
    posterior = tmp_path / "model" / "posterior.npz"
    with np.load(posterior) as z:
        old = {("coef_knots_raw" if k == "coef_log_knots_decentered" else k): z[k] for k in z.files}
    np.savez_compressed(posterior, **old)
    again = BTVCFit.load(tmp_path / "model")
    assert set(again.samples) == set(fit.samples)
    assert np.array_equal(again.samples["coef_log_knots_decentered"], fit.samples["coef_log_knots_decentered"])
    pd.testing.assert_frame_equal(again.forecast(None, panel, seed=5), fit.forecast(None, panel, seed=5))


def test_model_refuses_an_unresolved_knot_setting():
    with pytest.raises(ValueError, match="auto"):
        Predictive(btvc_model, num_samples=1)(jax.random.PRNGKey(0), _data(), None, spec=BTVCSpec(), l_max=7)


def test_paths_use_the_shared_transforms_and_add_up():
    data = _data(s=1, t=30, k=2, m=1)
    p = {
        "level_init": jnp.array([0.5]), "level_rw_sd": jnp.array([0.1]),
        "level_steps": jnp.zeros((1, data.level_weights.shape[1] - 1)),
        "season_coef": jnp.full((1, 4), 0.1), "control_coef": jnp.array([[0.3]]),
        "coef_mean": jnp.array([[0.2, 0.4]]), "coef_knot_sd": jnp.array([[0.1, 0.1]]),
        "coef_log_knots_decentered": jnp.zeros((1, 2, data.coef_weights.shape[1])),
        "decay": jnp.array([[0.3, 0.6]]), "hill_alpha": jnp.array([[1.5, 0.8]]),
        "hill_gamma": jnp.array([[1.0, 2.0]]), "sigma": jnp.array([0.1]),
    }
    out = btvc_paths(knot_values(p), data, l_max=5, normalize=True, hill_at_mean=False)
    x = np.asarray(data.media)[0].T  # (channel, time)
    expected = np_ops.hill(np_ops.geometric_adstock(x, np.array([0.3, 0.6]), l_max=5, normalize=True),
                           np.array([1.5, 0.8]), np.array([1.0, 2.0])).T
    assert np.allclose(out["saturation"][0], expected, atol=1e-6)
    assert np.allclose(out["beta"][0], [0.2, 0.4])  # constant knots -> constant coefficients
    assert np.allclose(out["level"], 0.5)
    assert np.allclose(out["contribution"], out["beta"] * out["saturation"])
    total = out["level"] + out["seasonality"] + out["control_contribution"].sum(-1) + out["contribution"].sum(-1)
    assert np.allclose(out["mu"], total)
    # normalised at the mean spend: the saturation of a steady unit spend is one
    ones = data._replace(media=jnp.ones_like(data.media))
    at_mean = btvc_paths(knot_values(p), ones, l_max=5, normalize=True, hill_at_mean=True)["saturation"]
    assert np.allclose(at_mean[:, 5:], 1.0, atol=1e-6)


def test_precomputed_lag_windows_and_the_training_average_reference():
    """Precomputed media lag windows give the same paths; with ``coef_at_average`` a constant knot value is the
    channel's average contribution over the training steps, and β keeps its at-mean-spend meaning."""
    from causalmmm_ppl.models.btvc import media_lag_windows, saturation_reference
    from causalmmm_ppl.transforms import jax_ops

    data = _data(s=1, t=30, k=2, m=1)
    p = knot_values({
        "level_init": jnp.array([0.5]), "level_rw_sd": jnp.array([0.1]),
        "level_steps": jnp.zeros((1, data.level_weights.shape[1] - 1)),
        "coef_mean": jnp.array([[0.2, 0.4]]), "coef_knot_sd": jnp.array([[0.1, 0.1]]),
        "coef_log_knots_decentered": jnp.zeros((1, 2, data.coef_weights.shape[1])),
        "decay": jnp.array([[0.3, 0.6]]), "hill_alpha": jnp.array([[1.5, 0.8]]),
        "hill_gamma": jnp.array([[1.0, 2.0]]), "sigma": jnp.array([0.1]),
    })
    lagged = data._replace(media_lags=media_lag_windows(data.media, 5))
    windows = jax_ops.lag_windows(jnp.swapaxes(data.media, 1, 2), 5)  # (shop, channel, time, lag)
    assert np.array_equal(np.asarray(lagged.media_lags), np.swapaxes(np.asarray(windows), -1, -2))
    plain = btvc_paths(p, data, l_max=5)
    fast = btvc_paths(p, lagged, l_max=5)
    for name in ("saturation", "contribution", "mu"):
        assert np.allclose(plain[name], fast[name], atol=1e-6)
    train = jnp.asarray((np.arange(30) < 20) / 20.0)  # the last 10 steps play a forecast
    avg = btvc_paths(p, lagged._replace(train_weights=train), l_max=5, coef_at_average=True)
    assert np.allclose(avg["contribution"][0, :20].mean(0), [0.2, 0.4], atol=1e-6)
    assert np.allclose(avg["contribution"], avg["beta"] * avg["saturation"], atol=1e-6)
    x = np.asarray(data.media)[0].T
    h = np_ops.hill(np_ops.geometric_adstock(x, np.array([0.3, 0.6]), l_max=5, normalize=True),
                    np.array([1.5, 0.8]), np.array([1.0, 2.0]))
    h1 = np_ops.hill(np.ones((2, 1)), np.array([1.5, 0.8]), np.array([1.0, 2.0]))[:, 0]
    assert np.allclose(avg["beta"][0, 0], np.array([0.2, 0.4]) * h1 / h[:, :20].mean(1), rtol=1e-5)
    # a channel never spent in training keeps a finite (zero) contribution
    assert np.allclose(saturation_reference(jnp.zeros((1, 2, 5)), None), 1.0)


def test_level_anchor_mean_centres_the_walk_on_level_init():
    """``level_anchor="mean"``: the non-centred level knots average to ``level_init``; ``"first"``: they start
    there; both have the same increments."""
    p = {"level_init": jnp.array([0.7]), "level_rw_sd": jnp.array([0.2]),
         "level_steps": jnp.array([[1.0, -0.5, 2.0]]), "coef_mean": jnp.array([[0.2]]),
         "coef_knot_sd": jnp.array([[0.1]]), "coef_log_knots_decentered": jnp.zeros((1, 1, 2))}
    mean = np.asarray(knot_values(p, "mean")["level_knots"])
    first = np.asarray(knot_values(p, "first")["level_knots"])
    assert np.allclose(mean.mean(-1), 0.7) and np.allclose(first[:, 0], 0.7)
    assert np.allclose(np.diff(mean), np.diff(first)) and np.allclose(np.diff(first), [[0.2, -0.1, 0.4]])


def test_coef_knot_sd_prior_keeps_the_spread_away_from_zero():
    """Default LogNormal(log 0.1, 0.7): median 0.1, almost no mass below 0.01 (the HalfNormal's mode is 0); the
    model's ``coef_knot_sd`` site has this prior; ``"halfnormal"`` gives the previous one."""
    import numpyro.distributions as dist
    from numpyro import handlers

    spec = BTVCSpec(knots="noncentered")
    prior = coef_knot_sd_prior(spec)
    assert isinstance(prior, dist.LogNormal) and prior.batch_shape == ()
    assert np.isclose(float(jnp.exp(prior.loc)), 0.1) and np.isclose(float(prior.scale), 0.7)
    draws = np.asarray(prior.sample(jax.random.PRNGKey(0), (20000,)))
    assert abs(np.median(draws) - 0.1) < 0.005 and np.mean(draws < 0.01) < 1e-3
    old = coef_knot_sd_prior(BTVCSpec(coef_knot_prior="halfnormal", coef_knot_scale=0.2))
    assert isinstance(old, dist.HalfNormal) and np.isclose(float(old.scale), 0.2)
    assert np.mean(np.asarray(old.sample(jax.random.PRNGKey(0), (20000,))) < 0.01) > 0.02
    for s in (spec, BTVCSpec(knots="noncentered", coef_knot_prior="halfnormal")):
        tr = handlers.trace(handlers.seed(btvc_model, 0)).get_trace(_data(), None, spec=s, l_max=7)
        site = tr["coef_knot_sd"]
        assert site["value"].shape == (2, 2)
        expected = coef_knot_sd_prior(s).log_prob(site["value"]).sum()
        assert np.isclose(float(site["fn"].log_prob(site["value"]).sum()), float(expected), rtol=1e-6)


def test_random_walk_knots_have_random_walk_covariance():
    d = random_walk_knots(jnp.array([1.0]), jnp.array([0.5]), 4)
    assert d.batch_shape == (1,) and d.event_shape == (3,)  # (shop,), (level_step,)
    cov = np.asarray(d.covariance_matrix[0])
    j = np.arange(1, 4)
    assert np.allclose(cov, 0.25 * np.minimum(j[:, None], j[None, :]))


def test_spec_round_trips_and_rejects_unknown_settings():
    spec = BTVCSpec(decay_prior=(3.0, 2.0), yearly_order=0, likelihood_df=None)
    again = BTVCSpec.from_dict(json.loads(json.dumps(spec.to_dict())))
    assert again == spec
    with pytest.raises(InputError, match="knot_days"):
        BTVCSpec(level_knot_days=0)
    spec2, inf = split_config({"model": {"yearly_order": 1}, "num_chains": 2, "method": "svi"})
    assert spec2.yearly_order == 1 and inf.num_chains == 2 and inf.method == "svi"
    with pytest.raises(InputError, match="'nope'"):
        split_config({"nope": 1})
    with pytest.raises(InputError, match="method"):
        BTVCInference(method="mh")
    with pytest.raises(InputError, match="level_anchor"):
        BTVCSpec(level_anchor="last")
    with pytest.raises(InputError, match="coef_knot_prior"):
        BTVCSpec(coef_knot_prior="gamma")
    with pytest.raises(InputError, match="coef_knot_log_sd"):
        BTVCSpec(coef_knot_log_sd=0.0)
    assert BTVCSpec.from_dict({"coef_knot_prior": "halfnormal"}).coef_knot_prior == "halfnormal"
    with pytest.raises(InputError, match="nuts_init"):
        BTVCInference(nuts_init="map")
    with pytest.raises(InputError, match="nuts_reparam"):
        BTVCInference(nuts_reparam="level")
    assert BTVCInference.from_dict({"nuts_reparam": "none"}).nuts_reparam == "none"
    with pytest.raises(InputError, match="svi_engine"):
        BTVCInference(svi_engine="pyro")
    assert BTVCInference.from_dict({"svi_engine": "numpyro"}).svi_engine == "numpyro"
    assert BTVCInference.from_dict({"max_tree_depth": [8, 10]}).max_tree_depth == (8, 10)  # warm-up, sampling
    for depth in ([8], [0, 10], 0):
        with pytest.raises(InputError, match="max_tree_depth"):
            BTVCInference(max_tree_depth=depth)
    assert BTVCSpec().resolved_knots(700, 8) == "centered"
    assert BTVCSpec().resolved_knots(179, 14) == "noncentered"
    assert BTVCSpec().resolved_knots(676, 8, n_channels=12) == "noncentered"  # channels share the data
    assert BTVCSpec(knots="centered").resolved_knots(179, 14) == "centered"
    assert BTVCSpec().resolved_l_max(1.0) == 28 and BTVCSpec().resolved_l_max(7.0) == 8


def test_auto_samples_small_panels_by_nuts_and_fits_larger_ones_by_svi():
    from causalmmm_ppl.models.btvc_spec import NUTS_MAX_SHOPS, BTVCInference

    auto = BTVCInference()
    assert auto.method == "auto"
    assert auto.resolved(1).method == "nuts" and auto.resolved(NUTS_MAX_SHOPS).method == "nuts"
    assert auto.resolved(NUTS_MAX_SHOPS + 1).method == "svi"
    assert BTVCInference(method="nuts").resolved(30).method == "nuts"
    assert BTVCInference(method="svi").resolved(1).method == "svi"
    with pytest.raises(InputError, match="'auto', 'nuts' or 'svi'"):
        BTVCInference(method="hmc")
