"""Sliding windows over a panel's time axis, vectorized (no Python loop per window)."""

from __future__ import annotations

import numpy as np

from causalmmm_ppl.data.panel import Panel
from causalmmm_ppl.errors import InputError

__all__ = ["window_starts", "gather_windows", "sliding_windows"]


def _check_length(length: int, stride: int) -> None:
    for name, v in (("window length", length), ("stride", stride)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise InputError(f"the {name} must be a positive integer, not {v!r}")


def window_starts(mask: np.ndarray, length: int, stride: int = 1) -> np.ndarray:
    """Where windows of ``length`` steps fit entirely inside the mask.

    Parameters
    ----------
    mask : (shop, time) bool
        Usable steps (e.g. every node observed).
    length
        Window length in steps (>= 1).
    stride
        Keep every ``stride``-th valid start of each shop, counting from that shop's first valid start.

    Returns
    -------
    (window, 2) int64
        Rows ``(shop, start)`` sorted by shop, then start; ``mask[shop, start:start + length]`` is all True.
    """
    _check_length(length, stride)
    mask = np.asarray(mask, dtype=bool)
    if mask.ndim != 2:
        raise ValueError(f"mask must be (shop, time), got shape {mask.shape}")
    n_shops, n_time = mask.shape
    if length > n_time:
        return np.zeros((0, 2), dtype=np.int64)
    csum = np.concatenate([np.zeros((n_shops, 1), dtype=np.int64), np.cumsum(mask, axis=1)], axis=1)
    full = (csum[:, length:] - csum[:, :-length]) == length  # (shop, time - length + 1)
    if stride > 1:
        t = np.arange(full.shape[1])
        first = np.argmax(full, axis=1)  # each shop's first valid start (0 where none: masked out anyway)
        full &= (t[None, :] - first[:, None]) % stride == 0
    shop, start = np.nonzero(full)
    return np.stack([shop, start], axis=1).astype(np.int64)


def gather_windows(values: np.ndarray, starts: np.ndarray, length: int) -> np.ndarray:
    """Cut windows out of a (shop, time, ...) array by fancy indexing.

    Parameters
    ----------
    values : (shop, time, ...)
    starts : (window, 2) int
        ``(shop, start)`` rows, e.g. from :func:`window_starts`.
    length
        Window length in steps.

    Returns
    -------
    (window, length, ...)
        ``out[w] == values[starts[w, 0], starts[w, 1]:starts[w, 1] + length]``.
    """
    _check_length(length, 1)
    values = np.asarray(values)
    starts = np.asarray(starts, dtype=np.int64).reshape(-1, 2)
    if starts.size and (starts[:, 1].min() < 0 or starts[:, 1].max() + length > values.shape[1]):
        raise ValueError("a window runs past the time axis")
    steps = starts[:, 1, None] + np.arange(length)[None, :]  # (window, length)
    return values[starts[:, 0, None], steps]


def sliding_windows(panel: Panel, length: int, stride: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """All windows of a panel in which every node is observed on every step.

    Parameters
    ----------
    panel
        Values (shop, time, node) in original units.
    length, stride
        See :func:`window_starts`.

    Returns
    -------
    windows : (window, length, node) float64
    starts : (window, 2) int64
        ``(shop, start)`` of each window; ``starts[:, 0]`` is the shop index for per-shop scalers and context.
    """
    starts = window_starts(panel.observed.all(-1), length, stride)
    return gather_windows(panel.values, starts, length), starts
