"""Carryover and saturation in numpy (the reference twin; the simulators use it)."""

from __future__ import annotations

import numpy as np

EPS = 1e-12


def geometric_weights(decay: np.ndarray, l_max: int, normalize: bool = False) -> np.ndarray:
    """Geometric carryover weights ``decay**l`` for lags ``l = 0..l_max-1``.

    Parameters
    ----------
    decay : (...) in [0, 1)
    l_max : number of lags kept
    normalize : divide by the sum of weights (so a constant input keeps its level)

    Returns
    -------
    (..., lag)
    """
    decay = np.asarray(decay, dtype=float)
    w = decay[..., None] ** np.arange(l_max)
    return w / w.sum(-1, keepdims=True) if normalize else w


def buildup_weights(decay: np.ndarray, buildup: np.ndarray, l_max: int, normalize: bool = True) -> np.ndarray:
    """Build-up carryover weights ``decay**l * (1 - buildup**(l + 1))``, lags ``0..l_max-1``.

    Geometric carryover at rate ``decay`` fed through a second geometric stage at rate ``decay * buildup`` (the two
    kernels convolved: ``sum_k (decay * buildup)**k * decay**(l - k)``, up to a constant): ``buildup = 0`` is
    geometric carryover, a larger ``buildup`` moves the peak to later lags, and the tail falls at ``decay`` as
    geometric carryover's does.

    Returns
    -------
    (..., lag)
    """
    decay = np.asarray(decay, dtype=float)
    buildup = np.asarray(buildup, dtype=float)
    lags = np.arange(l_max)
    w = decay[..., None] ** lags * (1.0 - buildup[..., None] ** (lags + 1.0))
    return w / w.sum(-1, keepdims=True) if normalize else w


def delayed_weights(decay: np.ndarray, delay: np.ndarray, l_max: int, normalize: bool = True) -> np.ndarray:
    """Delayed carryover weights ``decay**((l - delay)**2)`` (peak at lag ``delay``), lags ``0..l_max-1``.

    Returns
    -------
    (..., lag)
    """
    decay = np.asarray(decay, dtype=float)
    delay = np.asarray(delay, dtype=float)
    lags = np.arange(l_max)
    w = decay[..., None] ** ((lags - delay[..., None]) ** 2)
    return w / w.sum(-1, keepdims=True) if normalize else w


def adstock(x: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Carryover: ``y[..., t] = sum_l weights[..., l] * x[..., t - l]`` (zeros before the first step).

    Parameters
    ----------
    x : (..., time)
    weights : (..., lag), broadcast against ``x[..., 0]``

    Returns
    -------
    (..., time)
    """
    x = np.asarray(x, dtype=float)
    weights = np.asarray(weights, dtype=float)
    l_max = weights.shape[-1]
    t = x.shape[-1]
    padded = np.concatenate([np.zeros(x.shape[:-1] + (l_max - 1,)), x], axis=-1)
    # windows[..., t, l] = x[..., t - l]
    idx = np.arange(t)[:, None] + (l_max - 1) - np.arange(l_max)[None, :]
    windows = padded[..., idx]
    return np.einsum("...tl,...l->...t", windows, np.broadcast_to(weights, np.broadcast_shapes(weights.shape, x.shape[:-1] + (l_max,))))


def geometric_adstock(x: np.ndarray, decay: np.ndarray, l_max: int = 28, normalize: bool = False) -> np.ndarray:
    """Geometric carryover of ``x: (..., time)`` with ``decay: (...)``; see :func:`adstock`."""
    return adstock(x, geometric_weights(decay, l_max, normalize))


def hill(x: np.ndarray, alpha: np.ndarray, gamma: np.ndarray) -> np.ndarray:
    """Hill saturation ``x**alpha / (x**alpha + gamma**alpha)`` for ``x >= 0``, in (0, 1).

    Computed as ``sigmoid(alpha * (log x - log gamma))`` for stability; 0 at ``x = 0``.

    Parameters
    ----------
    x : (..., time), >= 0
    alpha : (...) shape, > 0; broadcast as ``alpha[..., None]`` against time
    gamma : (...) half-saturation, > 0
    """
    x = np.asarray(x, dtype=float)
    a = np.asarray(alpha, dtype=float)[..., None]
    g = np.asarray(gamma, dtype=float)[..., None]
    z = a * (np.log(np.maximum(x, EPS)) - np.log(g))
    out = 1.0 / (1.0 + np.exp(-np.clip(z, -700, 700)))
    return np.where(x > 0, out, 0.0)
