"""Carryover and saturation in jax (the NumPyro model's twin of :mod:`np_ops`)."""

from __future__ import annotations

import jax
import jax.numpy as jnp

EPS = 1e-12


def geometric_weights(decay: jax.Array, l_max: int, normalize: bool = False) -> jax.Array:
    """``decay**l`` for ``l = 0..l_max-1``: ``(...) -> (..., lag)``."""
    w = jnp.asarray(decay)[..., None] ** jnp.arange(l_max)
    return w / w.sum(-1, keepdims=True) if normalize else w


def delayed_weights(decay: jax.Array, delay: jax.Array, l_max: int, normalize: bool = True) -> jax.Array:
    """``decay**((l - delay)**2)``: ``(...) -> (..., lag)``."""
    lags = jnp.arange(l_max)
    w = jnp.asarray(decay)[..., None] ** ((lags - jnp.asarray(delay)[..., None]) ** 2)
    return w / w.sum(-1, keepdims=True) if normalize else w


def adstock(x: jax.Array, weights: jax.Array) -> jax.Array:
    """``y[..., t] = sum_l weights[..., l] * x[..., t - l]``; ``x: (..., time)``, ``weights: (..., lag)``."""
    l_max = weights.shape[-1]
    t = x.shape[-1]
    padded = jnp.pad(x, [(0, 0)] * (x.ndim - 1) + [(l_max - 1, 0)])
    idx = jnp.arange(t)[:, None] + (l_max - 1) - jnp.arange(l_max)[None, :]
    windows = padded[..., idx]  # (..., time, lag)
    return (windows * weights[..., None, :]).sum(-1)


def geometric_adstock(x: jax.Array, decay: jax.Array, l_max: int = 28, normalize: bool = False) -> jax.Array:
    """Geometric carryover of ``x: (..., time)`` with ``decay: (...)``."""
    return adstock(x, geometric_weights(decay, l_max, normalize))


def hill(x: jax.Array, alpha: jax.Array, gamma: jax.Array) -> jax.Array:
    """``x**alpha / (x**alpha + gamma**alpha)`` for ``x >= 0``; ``alpha, gamma: (...)`` against ``x: (..., time)``."""
    z = jnp.asarray(alpha)[..., None] * (jnp.log(jnp.maximum(x, EPS)) - jnp.log(jnp.asarray(gamma))[..., None])
    return jnp.where(x > 0, jax.nn.sigmoid(z), 0.0)
