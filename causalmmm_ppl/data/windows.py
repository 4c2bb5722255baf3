"""Sliding windows over a panel's time axis, vectorized (no Python loop per window)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from causalmmm_ppl.data.panel import Panel
from causalmmm_ppl.errors import InputError

__all__ = ["window_starts", "gather_windows", "sliding_windows", "Holdout", "holdout_split"]


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


@dataclass(frozen=True)
class Holdout:
    """A panel split for ``fit --holdout H``: the fit's panel and the shops whose last H periods are forecast.

    Attributes
    ----------
    train : the panel without its last H periods (every shop)
    plan : the last H periods of the shops that have every channel on each of them (all periods, those shops)
    shops : (kept,) positions of those shops in the panel
    note : one line naming the shops left out of the forecast (ragged shops that end early or lack a channel value
        there), None when none is
    """

    train: Panel
    plan: Panel
    shops: np.ndarray
    note: str | None


def holdout_split(panel: Panel, holdout: int, min_train: int) -> Holdout:
    """Split off the last ``holdout`` periods to forecast, before any work is done.

    Shops without every channel on each held-out period (they end early, or a value is missing there) cannot be given
    a plan: they are fitted on their periods before the holdout and left out of its forecast, with one note.

    Raises InputError when ``holdout`` is negative, leaves fewer than ``min_train`` periods, or leaves no shop to
    forecast.
    """
    if isinstance(holdout, bool) or not isinstance(holdout, (int, np.integer)) or holdout < 0:
        raise InputError(f"--holdout {holdout}: must be an integer >= 0")
    if panel.n_time - holdout < min_train:
        raise InputError(f"the panel has {panel.n_time} periods, and with --holdout {holdout} {panel.n_time - holdout} "
                         f"remain for training; need at least {min_train}")
    train = panel.select_time(0, panel.n_time - holdout)
    complete = panel.mask[:, panel.n_time - holdout :].all(1) & train.mask.any(1)
    kept = np.flatnonzero(complete)
    if holdout and not kept.size:
        raise InputError(f"--holdout {holdout}: no shop has every channel on each of the last {holdout} periods "
                         f"(from {panel.dates[panel.n_time - holdout].date()}), so none can be forecast")
    left = [panel.shops[i] for i in np.flatnonzero(~complete)]
    note = None
    if holdout and left:
        who = f"shop {left[0]!r} and {len(left) - 1} more lack" if len(left) > 1 else f"shop {left[0]!r} lacks"
        note = (f"{who} a channel value in the last {holdout} periods (ended early, or a gap): fitted, but left out "
                f"of the holdout forecast")
    return Holdout(train=train, plan=panel.select_shops(kept), shops=kept, note=note)
