"""Carryover and saturation in jax (the NumPyro model's twin of :mod:`np_ops`)."""

from __future__ import annotations

import jax
import jax.numpy as jnp

EPS = 1e-12


def geometric_weights(decay: jax.Array, l_max: int, normalize: bool = False) -> jax.Array:
    """``decay**l`` for ``l = 0..l_max-1``: ``(...) -> (..., lag)``."""
    w = jnp.asarray(decay)[..., None] ** jnp.arange(l_max)
    return w / w.sum(-1, keepdims=True) if normalize else w


def buildup_weights(decay: jax.Array, buildup: jax.Array, l_max: int, normalize: bool = True) -> jax.Array:
    """``decay**l * (1 - buildup**(l + 1))``: ``(...) -> (..., lag)``."""
    lags = jnp.arange(l_max)
    w = jnp.asarray(decay)[..., None] ** lags * (1.0 - jnp.asarray(buildup)[..., None] ** (lags + 1.0))
    return w / w.sum(-1, keepdims=True) if normalize else w


def delayed_weights(decay: jax.Array, delay: jax.Array, l_max: int, normalize: bool = True) -> jax.Array:
    """``decay**((l - delay)**2)``: ``(...) -> (..., lag)``."""
    lags = jnp.arange(l_max)
    w = jnp.asarray(decay)[..., None] ** ((lags - jnp.asarray(delay)[..., None]) ** 2)
    return w / w.sum(-1, keepdims=True) if normalize else w


def lag_windows(x: jax.Array, l_max: int) -> jax.Array:
    """The lagged copies of a series: ``windows[..., t, l] = x[..., t - l]`` (0 before the start).

    ``x: (..., time) -> (..., time, lag)``. When ``x`` is fixed data and only the carryover weights are latent,
    compute this once and use :func:`adstock_from_windows` inside the likelihood: the gather then stays out of
    every gradient evaluation.
    """
    t = x.shape[-1]
    padded = jnp.pad(x, [(0, 0)] * (x.ndim - 1) + [(l_max - 1, 0)])
    idx = jnp.arange(t)[:, None] + (l_max - 1) - jnp.arange(l_max)[None, :]
    return padded[..., idx]


def adstock_from_windows(windows: jax.Array, weights: jax.Array) -> jax.Array:
    """``y[..., t] = sum_l weights[..., l] * windows[..., t, l]``; ``windows: (..., time, lag)`` from
    :func:`lag_windows`, ``weights: (..., lag)`` → ``(..., time)``."""
    return jnp.einsum("...tl,...l->...t", windows, weights)


def adstock(x: jax.Array, weights: jax.Array) -> jax.Array:
    """``y[..., t] = sum_l weights[..., l] * x[..., t - l]``; ``x: (..., time)``, ``weights: (..., lag)``."""
    return adstock_from_windows(lag_windows(x, weights.shape[-1]), weights)


def geometric_adstock(x: jax.Array, decay: jax.Array, l_max: int = 28, normalize: bool = False) -> jax.Array:
    """Geometric carryover of ``x: (..., time)`` with ``decay: (...)``."""
    return adstock(x, geometric_weights(decay, l_max, normalize))


def hill(x: jax.Array, alpha: jax.Array, gamma: jax.Array) -> jax.Array:
    """``x**alpha / (x**alpha + gamma**alpha)`` for ``x >= 0``; ``alpha, gamma: (...)`` against ``x: (..., time)``."""
    z = jnp.asarray(alpha)[..., None] * (jnp.log(jnp.maximum(x, EPS)) - jnp.log(jnp.asarray(gamma))[..., None])
    return jnp.where(x > 0, jax.nn.sigmoid(z), 0.0)
