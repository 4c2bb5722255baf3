"""The BTVC baseline as a NumPyro model: Orbit's KTR with adstock, Hill saturation and a shop axis.

For shop ``s`` and grid step ``t`` (all on a per-shop scale: the target divided by its training mean, each channel
divided by its training mean)::

    y[s, t] ~ StudentT(nu, mu[s, t], sigma[s])
    mu[s, t] = level[s, t] + season[s, t] + sum_m c[s, m] x_m[s, t] + sum_k b[s, t, k] * h[s, t, k] / hbar[s, k]
    h[s, t, k]    = Hill(adstock(x_k))[s, t],  hbar[s, k] = mean of h[s, :, k] over the training steps
    level[s, t]   = sum_j Wl[t, j] l[s, j],   l[s, j] = l[s, j-1] + rw_sd[s] * eps   (random-walk knots,
                    anchored at l[s, 0] = level_init, or, non-centred with level_anchor="mean", at their mean)
    b[s, t, k]    = sum_j Wc[t, j] b[s, k, j], log b[s, k, j] ~ Normal(log m[s, k], tau[s, k])   (pooled knots)

With ``coef_at_average`` (default) the knots ``b`` are a channel's contribution on a day whose saturation equals its
training average (``hbar``); the reported coefficient ``beta[s, t, k] = b[s, t, k] * Hill(1) / hbar[s, k]`` is the
contribution at mean spend (``hill_at_mean``) as before, so ``beta * saturation`` with
``saturation = h / Hill(1)`` is the same contribution. Without it, ``b`` is ``beta`` itself and ``hbar`` is replaced
by ``Hill(1)`` (or 1 without ``hill_at_mean``).

``W`` are row-normalised Gaussian kernels over knots (Ng, Wang & Dai, KDD 2021). Time is handled with vectorized ops
(no Python loop over time). The carryover and saturation come from :mod:`causalmmm_ppl.transforms.jax_ops`, the twin
of the transforms the CausalMMM model uses.

Shops are independent a priori: every parameter is drawn in ``numpyro.plate("shop", dim=-1)``, and its other named
dims (``channel``, ``coef_knot``, ``control``, ``season_term``, ``level_step``) are event dims, so each site's value
has the shape :data:`SITE_DIMS` names. Those dims are not plates because a plate keeps one dim across the model's
latent sites (NumPyro's autoguides assert it) and ``shop`` leads every value: with ``channel`` a plate at dim -1,
``shop`` would be one at dim -2 and a ``(shop,)`` site would take the shape ``(shop, 1)``. The likelihood, an
observed site, is drawn in the plates ``shop`` (dim -2) and ``time`` (dim -1), masked where the target is
unobserved.

The non-centred coefficient knots are NumPyro's ``LocScaleReparam`` of the centred ones (:func:`sample_params`).

Dims used throughout: ``shop``, ``time``, ``channel`` (media channels), ``control`` (linear regressors),
``level_knot``, ``level_step`` (the level knots after the first), ``coef_knot``, ``season_term``.
"""

from __future__ import annotations

import contextlib
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
import pandas as pd
from numpyro import handlers
from numpyro.infer.reparam import LocScaleReparam

from causalmmm_ppl.models.btvc_spec import BTVCSpec
from causalmmm_ppl.transforms import jax_ops

LATENT_SITES: tuple[str, ...] = (
    "level_init",
    "level_rw_sd",
    "level_steps",
    "level_centered",
    "season_coef",
    "control_coef",
    "coef_mean",
    "coef_knot_sd",
    "coef_log_knots",
    "coef_log_knots_decentered",
    "decay",
    "hill_alpha",
    "hill_gamma",
    "sigma",
    "nu",
)
"""Names of the latent sample sites (those present depend on the data, no controls: no ``control_coef``, and on
``knots``: ``coef_log_knots`` when centred, ``coef_log_knots_decentered`` when not)."""

SITE_DIMS: dict[str, tuple[str, ...]] = {
    "level_init": ("shop",),
    "level_rw_sd": ("shop",),
    "level_steps": ("shop", "level_step"),
    "level_centered": ("shop", "level_step"),
    "season_coef": ("shop", "season_term"),
    "control_coef": ("shop", "control"),
    "coef_mean": ("shop", "channel"),
    "coef_knot_sd": ("shop", "channel"),
    "coef_log_knots": ("shop", "channel", "coef_knot"),
    "coef_log_knots_decentered": ("shop", "channel", "coef_knot"),
    "decay": ("shop", "channel"),
    "hill_alpha": ("shop", "channel"),
    "hill_gamma": ("shop", "channel"),
    "sigma": ("shop",),
    "nu": ("shop",),
    # derived (deterministic) quantities
    "level_knots": ("shop", "level_knot"),
    "coef_knots": ("shop", "channel", "coef_knot"),
    "level": ("shop", "time"),
    "seasonality": ("shop", "time"),
    "control_contribution": ("shop", "time", "control"),
    "beta": ("shop", "time", "channel"),
    "saturation": ("shop", "time", "channel"),
    "contribution": ("shop", "time", "channel"),
    "mu": ("shop", "time"),
}
"""Named dims of every site, without the leading sample dims."""


class BTVCData(NamedTuple):
    """Model inputs on the per-shop scale (all arrays; a pytree).

    Attributes
    ----------
    level_weights : (time, level_knot)
        Row-normalised Gaussian-kernel weights of the level knots.
    coef_weights : (time, coef_knot)
        Row-normalised Gaussian-kernel weights of the coefficient knots.
    seasonal : (time, season_term)
        Fourier features (may have zero columns).
    media : (shop, time, channel)
        Scaled media spend (>= 0). On forecast grids: history followed by the plan.
    controls : (shop, time, control)
        Scaled linear regressors (may have zero columns).
    mask : (shop, time) bool
        Steps that enter the likelihood (target observed).
    train_weights : (time,) or None
        Weights of the training steps in the saturation's training average ``hbar`` (``1 / n_train`` on the
        training steps, 0 on forecast steps); ``None`` averages over every step of the grid.
    media_lags : (shop, channel, lag, time) or None
        The media's lag windows, lag-major (:func:`media_lag_windows`: ``media_lags[s, k, l, t] = media[s, t - l,
        k]`` with the model's ``l_max``), computed once because the media are fixed data and only the decay is
        latent; ``None`` rebuilds them from ``media`` at every evaluation. Replace both together
        (``_replace(media=...)`` alone leaves stale windows). Lag-major (time last) makes the carryover a
        contraction over the short lag axis with time contiguous (the faster layout for the gradient).
    """

    level_weights: jax.Array
    coef_weights: jax.Array
    seasonal: jax.Array
    media: jax.Array
    controls: jax.Array
    mask: jax.Array
    train_weights: jax.Array | None = None
    media_lags: jax.Array | None = None


def media_lag_windows(media: jax.Array, l_max: int) -> jax.Array:
    """Lag-major windows of the media: ``(shop, time, channel) -> (shop, channel, lag, time)``.

    ``out[s, k, l, t] = media[s, t - l, k]`` (0 before the first step); see :attr:`BTVCData.media_lags`.
    """
    return jnp.swapaxes(jax_ops.lag_windows(jnp.swapaxes(jnp.asarray(media), 1, 2), l_max), -1, -2)


# --------------------------------------------------------------------------------------------- design (numpy)
def knot_positions(n_train: int, spacing_steps: float) -> np.ndarray:
    """Evenly spaced knot positions over grid steps ``0 .. n_train - 1``: ``(knot,)``.

    The number of knots is ``round((n_train - 1) / spacing_steps) + 1`` (at least 1); the first and the last knot sit
    on the first and the last training step.
    """
    if n_train < 1:
        raise ValueError("need at least one training step")
    n = max(1, int(round((n_train - 1) / max(spacing_steps, 1e-9))) + 1)
    if n == 1:
        return np.zeros(1)
    return np.linspace(0.0, n_train - 1.0, n)


def kernel_weights(t: np.ndarray, knots: np.ndarray, bandwidth: float, n_train: int) -> np.ndarray:
    """Row-normalised Gaussian-kernel weights ``(time, knot)``.

    Steps beyond the training range (``t > n_train - 1``, forecasts) get the weights of the last training step, so
    level and coefficients extrapolate flat from the end of the data.
    """
    tc = np.clip(np.asarray(t, dtype=float), 0.0, n_train - 1.0)
    z = (tc[:, None] - knots[None, :]) / bandwidth
    logw = -0.5 * z**2
    logw -= logw.max(1, keepdims=True)
    w = np.exp(logw)
    return w / w.sum(1, keepdims=True)


def fourier_features(dates: pd.DatetimeIndex, *, weekly_order: int, yearly_order: int) -> tuple[np.ndarray, list[str]]:
    """Weekly and yearly Fourier terms of absolute dates: ``(time, season_term)`` and the term names.

    Terms depend on the calendar date only, so a forecast grid gets the same phase as the training grid.
    """
    days = (dates.values.astype("datetime64[D]").astype(np.int64)).astype(float)
    cols: list[np.ndarray] = []
    names: list[str] = []
    for period, order, label in ((7.0, weekly_order, "weekly"), (365.25, yearly_order, "yearly")):
        for k in range(1, order + 1):
            ang = 2.0 * np.pi * k * days / period
            cols += [np.sin(ang), np.cos(ang)]
            names += [f"{label}_sin{k}", f"{label}_cos{k}"]
    feats = np.stack(cols, axis=1) if cols else np.zeros((len(dates), 0))
    return feats, names


# ------------------------------------------------------------------------------------------------ the model
def sample_params(n_shops: int, n_channels: int, n_controls: int, n_level_knots: int, n_coef_knots: int,
                  n_season: int, spec: BTVCSpec) -> dict[str, jax.Array]:
    """Draw every latent site, each in the ``shop`` plate, and return them with the knot values.

    Knots are parameterised as ``spec.knots`` says: ``"centered"`` samples the level knots after the first
    (``level_centered``, a Gaussian random walk from ``level_init``) and the log coefficient knots
    (``coef_log_knots ~ Normal(log coef_mean, coef_knot_sd)``) directly, which suits informative data (long daily
    series); ``"noncentered"`` samples standard normals scaled by the spreads, which suits weak data. The
    non-centred coefficient knots are ``LocScaleReparam(centered=0)`` of the same ``coef_log_knots`` site: the
    latent site is ``coef_log_knots_decentered ~ Normal(0, 1)`` and ``coef_log_knots`` its deterministic value
    ``log coef_mean + coef_knot_sd * coef_log_knots_decentered``. The non-centred level is written out by hand
    (standard normals ``level_steps`` whose scaled cumulative sum is the walk, :func:`knot_values`) because
    ``LocScaleReparam`` applies to loc-scale distributions and a walk anchored at its mean
    (``level_anchor="mean"``) is not one. The spreads ``coef_knot_sd`` have the prior :func:`coef_knot_sd_prior`.

    Returns
    -------
    dict
        The sites present for these sizes (``coef_log_knots`` in both parameterisations, not
        ``coef_log_knots_decentered``), plus ``level_knots`` ``(shop, level_knot)`` and ``coef_knots``
        ``(shop, channel, coef_knot)``.
    """
    s, k = n_shops, n_channels
    if spec.knots not in ("centered", "noncentered"):
        raise ValueError(f"btvc model: knots={spec.knots!r}; resolve 'auto' first (BTVCSpec.resolved_knots)")
    centered = spec.knots == "centered"
    reparam = (contextlib.nullcontext() if centered
               else handlers.reparam(config={"coef_log_knots": LocScaleReparam(centered=0)}))
    p: dict[str, jax.Array] = {}
    with reparam, numpyro.plate("shop", s, dim=-1):
        p["level_init"] = numpyro.sample(  # the first knot, or their mean (non-centred, level_anchor="mean")
            "level_init", dist.Normal(spec.level_init_mean, spec.level_init_scale))
        p["level_rw_sd"] = numpyro.sample("level_rw_sd", dist.HalfNormal(spec.level_rw_scale))
        if n_level_knots > 1:
            if centered:
                p["level_centered"] = numpyro.sample(
                    "level_centered", random_walk_knots(p["level_init"], p["level_rw_sd"], n_level_knots))
            else:
                p["level_steps"] = numpyro.sample(
                    "level_steps", dist.Normal(0.0, 1.0).expand([n_level_knots - 1]).to_event(1))
        if n_season:
            p["season_coef"] = numpyro.sample(
                "season_coef", dist.Normal(0.0, spec.seasonality_scale).expand([n_season]).to_event(1))
        if n_controls:
            p["control_coef"] = numpyro.sample(
                "control_coef", dist.Normal(0.0, spec.control_scale).expand([n_controls]).to_event(1))
        p["coef_mean"] = numpyro.sample(
            "coef_mean",
            dist.LogNormal(float(np.log(spec.coef_prior_mean)), spec.coef_prior_log_sd).expand([k]).to_event(1))
        p["coef_knot_sd"] = numpyro.sample("coef_knot_sd", coef_knot_sd_prior(spec).expand([k]).to_event(1))
        p["coef_log_knots"] = numpyro.sample(
            "coef_log_knots", dist.Normal(jnp.log(p["coef_mean"])[..., None], p["coef_knot_sd"][..., None])
            .expand([s, k, n_coef_knots]).to_event(2))
        a, b = spec.decay_prior
        p["decay"] = numpyro.sample("decay", dist.Beta(a, b).expand([k]).to_event(1))
        p["hill_alpha"] = numpyro.sample("hill_alpha", dist.LogNormal(*spec.hill_alpha_prior).expand([k]).to_event(1))
        p["hill_gamma"] = numpyro.sample("hill_gamma", dist.LogNormal(*spec.hill_gamma_prior).expand([k]).to_event(1))
        p["sigma"] = numpyro.sample("sigma", dist.HalfNormal(spec.noise_scale))
        if spec.likelihood_df is None:
            p["nu"] = numpyro.sample("nu", dist.Gamma(2.0, 0.1))
    return knot_values(p, spec.level_anchor)


def coef_knot_sd_prior(spec: BTVCSpec) -> dist.Distribution:
    """The prior of one channel's knot spread ``coef_knot_sd``, a scalar distribution (batch shape ``()``).

    ``spec.coef_knot_prior="lognormal"``: LogNormal(log ``coef_knot_scale``, ``coef_knot_log_sd``), which keeps
    the spread away from 0; ``"halfnormal"``: HalfNormal(``coef_knot_scale``). See :class:`BTVCSpec`.
    """
    if spec.coef_knot_prior == "halfnormal":
        return dist.HalfNormal(spec.coef_knot_scale)
    return dist.LogNormal(float(np.log(spec.coef_knot_scale)), spec.coef_knot_log_sd)


def random_walk_knots(start: jax.Array, step_sd: jax.Array, n_knots: int) -> dist.Distribution:
    """Knots ``2..n`` of a Gaussian random walk from ``start`` with step ``step_sd``, as one multivariate normal.

    ``start, step_sd: (shop,)`` → a distribution with batch shape ``(shop,)`` (the ``shop`` plate) and event shape
    ``(level_step,)`` = ``(n_knots - 1,)``; ``cov[i, j] = step_sd**2 * (min(i, j) + 1)``. Sampling the knots
    themselves (not their increments) keeps the posterior close to independent when the data pin each knot down.
    """
    j = jnp.arange(1, n_knots)
    base = jnp.linalg.cholesky(jnp.minimum(j[:, None], j[None, :]).astype(float))  # (knot-1, knot-1)
    tril = step_sd[..., None, None] * base
    loc = jnp.broadcast_to(start[..., None], start.shape + (n_knots - 1,))
    return dist.MultivariateNormal(loc, scale_tril=tril)


def knot_values(p: dict[str, jax.Array], level_anchor: str = "first") -> dict[str, jax.Array]:
    """Add ``level_knots`` ``(..., shop, level_knot)`` and ``coef_knots`` ``(..., shop, channel, coef_knot)``
    computed from the latent sites (either parameterisation).

    ``coef_knots = exp(coef_log_knots)``; without ``coef_log_knots`` (non-centred draws), ``coef_log_knots`` is
    ``log coef_mean + coef_knot_sd * coef_log_knots_decentered``, the value ``LocScaleReparam`` gives it in the
    model. ``level_anchor`` (non-centred knots only): ``"first"``: ``level_init`` is the first level knot;
    ``"mean"``: it is the mean of the level knots (the walk of ``level_steps`` is centred on its mean).
    """
    out = dict(p)
    if "level_centered" in p:
        out["level_knots"] = jnp.concatenate([p["level_init"][..., None], p["level_centered"]], -1)
    elif "level_steps" in p:
        steps = p["level_steps"] * p["level_rw_sd"][..., None]
        zeros = jnp.zeros(steps.shape[:-1] + (1,))
        walk = jnp.concatenate([zeros, jnp.cumsum(steps, -1)], -1)
        if level_anchor == "mean":
            walk = walk - walk.mean(-1, keepdims=True)
        out["level_knots"] = p["level_init"][..., None] + walk
    else:
        out["level_knots"] = p["level_init"][..., None]
    if "coef_log_knots" in p:
        log_knots = p["coef_log_knots"]
    else:
        log_knots = (jnp.log(p["coef_mean"])[..., None]
                     + p["coef_knot_sd"][..., None] * p["coef_log_knots_decentered"])
    out["coef_knots"] = jnp.exp(log_knots)
    return out


def btvc_paths(p: dict[str, jax.Array], data: BTVCData, *, l_max: int, normalize: bool = True,
               hill_at_mean: bool = True, coef_at_average: bool = False) -> dict[str, jax.Array]:
    """The deterministic parts of the model for one draw of the parameters.

    Parameters
    ----------
    p
        Latent sites plus ``level_knots`` and ``coef_knots`` (see :func:`sample_params`, :func:`knot_values`).
    data
        The inputs (:class:`BTVCData`).
    l_max
        Adstock window (grid steps).
    normalize
        Normalise the adstock weights.
    hill_at_mean
        Divide the Hill curve by its value at the channel's mean spend (scaled spend 1), so ``beta`` is the
        contribution at mean spend; this decorrelates ``beta`` from the half-saturation point.
    coef_at_average
        The knots ``p["coef_knots"]`` are the contribution at the channel's training-average saturation
        (see :func:`saturation_reference`); ``beta`` is rescaled to the ``hill_at_mean`` meaning. ``False``: the
        knots are ``beta``.

    Returns
    -------
    dict
        ``level`` (shop, time), ``seasonality`` (shop, time), ``control_contribution`` (shop, time, control),
        ``beta`` (shop, time, channel), ``saturation`` (shop, time, channel),
        ``contribution`` (shop, time, channel) and ``mu`` (shop, time), on the per-shop scale.
    """
    level = jnp.einsum("tj,sj->st", data.level_weights, p["level_knots"])
    if "season_coef" in p:
        season = jnp.einsum("tf,sf->st", data.seasonal, p["season_coef"])
    else:
        season = jnp.zeros_like(level)
    if "control_coef" in p:
        control = data.controls * p["control_coef"][:, None, :]
    else:
        control = jnp.zeros(data.controls.shape)
    beta = jnp.einsum("tj,skj->stk", data.coef_weights, p["coef_knots"])
    weights = jax_ops.geometric_weights(p["decay"], l_max, normalize)  # (shop, channel, lag)
    lags = data.media_lags
    if lags is None or lags.shape[-2] != l_max:
        lags = media_lag_windows(data.media, l_max)
    carried = jnp.einsum("sklt,skl->skt", lags, weights)  # (shop, channel, time)
    h = jax_ops.hill(carried, p["hill_alpha"], p["hill_gamma"])  # (shop, channel, time)
    h_ref = (jax_ops.hill(jnp.ones(carried.shape[:-1] + (1,)), p["hill_alpha"], p["hill_gamma"])[..., 0]
             if hill_at_mean else jnp.ones(carried.shape[:-1]))  # (shop, channel)
    if coef_at_average:
        beta = beta * (h_ref / saturation_reference(h, data.train_weights))[:, None, :]
    sat = jnp.swapaxes(h / h_ref[..., None], 1, 2)  # (shop, time, channel)
    contrib = beta * sat
    mu = level + season + control.sum(-1) + contrib.sum(-1)
    return {"level": level, "seasonality": season, "control_contribution": control, "beta": beta,
            "saturation": sat, "contribution": contrib, "mu": mu}


def saturation_reference(h: jax.Array, train_weights: jax.Array | None) -> jax.Array:
    """A channel's average saturation over the training steps: ``(shop, channel, time) -> (shop, channel)``.

    ``train_weights: (time,)`` weights the steps (``None``: uniform over the grid). A channel with no spend in
    training (average 0) gets 1, which leaves its (zero) contribution unscaled.
    """
    w = jnp.full(h.shape[-1], 1.0 / h.shape[-1]) if train_weights is None else train_weights
    hbar = jnp.einsum("skt,t->sk", h, w)
    return jnp.where(hbar > 1e-12, hbar, 1.0)


def btvc_model(data: BTVCData, y: jax.Array | None = None, *, spec: BTVCSpec, l_max: int,
               record: bool = False) -> None:
    """The BTVC model for a batch of shops.

    Parameters
    ----------
    data
        Inputs on the per-shop scale (:class:`BTVCData`).
    y : (shop, time) or None
        Scaled target; unobserved entries (``data.mask`` False) may hold anything finite. ``None`` samples the
        target (prediction and forecasts).
    spec
        Structure and priors.
    l_max
        Adstock window in grid steps.
    record
        Also record the derived paths (``beta``, ``contribution``, ``mu``, ...) as deterministic sites. Off during
        MCMC (they are recomputed from the draws afterwards, which keeps the chains small).
    """
    s, _, k = data.media.shape
    p = sample_params(s, k, data.controls.shape[-1], data.level_weights.shape[-1], data.coef_weights.shape[-1],
                      data.seasonal.shape[-1], spec)
    paths = btvc_paths(p, data, l_max=l_max, normalize=spec.adstock_normalize, hill_at_mean=spec.hill_at_mean,
                       coef_at_average=spec.coef_at_average)
    if record:
        for name in ("level_knots", "coef_knots"):
            numpyro.deterministic(name, p[name])
        for name, value in paths.items():
            numpyro.deterministic(name, value)
    nu = p["nu"][:, None] if "nu" in p else spec.likelihood_df
    with numpyro.plate("shop", s, dim=-2), numpyro.plate("time", data.mask.shape[-1], dim=-1):
        numpyro.sample("y", dist.StudentT(nu, paths["mu"], p["sigma"][:, None]).mask(data.mask), obs=y)


def pointwise_log_likelihood(p: dict[str, jax.Array], mu: jax.Array, y: jax.Array,
                             likelihood_df: float | None) -> jax.Array:
    """Student-t log density of every ``y[s, t]`` for one draw: ``(shop, time)`` on the per-shop scale."""
    nu = p["nu"][:, None] if "nu" in p else likelihood_df
    return dist.StudentT(nu, mu, p["sigma"][:, None]).log_prob(y)
