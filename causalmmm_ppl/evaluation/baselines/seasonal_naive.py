"""Seasonal-naive forecaster with bootstrapped seasonal residuals (a predictive distribution, for CRPS/coverage).

The point forecast of day ``k = 1..H`` after the origin repeats the last observed season:
``ŷ(o + k − 1) = y(o − m·⌈k/m⌉ + k − 1)`` (m = season length). Draws add residuals of the same rule in the history,
``y(t) − y(t − m)``, resampled per shop and scaled by ``sqrt(⌈k/m⌉)`` (the seasonal-naive variance grows with the
number of seasons ahead, Hyndman & Athanasopoulos, FPP3 §5.5). Every node that is not a channel is forecast; channels
are copied from the plan.
"""

from __future__ import annotations

import numpy as np

from causalmmm_ppl.data.panel import Panel


def default_season(panel: Panel) -> int:
    """7 on daily grids, 52 on weekly grids, else 1."""
    f = str(panel.freq).upper()
    if f.startswith("D"):
        return 7
    if f.startswith("W"):
        return 52
    return 1


def forecast(history: Panel, plan: Panel, num_draws: int = 200, season: int | None = None, seed: int = 0
             ) -> np.ndarray:
    """Seasonal-naive draws ``(draw, shop, horizon, node)`` in original units.

    Raises
    ------
    ValueError
        When the history is shorter than one season plus one day.
    """
    m = default_season(history) if season is None else int(season)
    t, h = history.n_time, plan.n_time
    if t < m + 1:
        raise ValueError(f"seasonal naive: the history has {t} steps, needs more than one season ({m})")
    rng = np.random.default_rng(seed)
    y = history.values  # (shop, time, node)
    k = np.arange(1, h + 1)
    seasons_ahead = np.ceil(k / m).astype(int)
    src = t - m * seasons_ahead + k - 1  # (horizon,)
    point = y[:, src]  # (shop, horizon, node)
    ok = history.observed[:, m:] & history.observed[:, :-m]
    resid = np.where(ok, y[:, m:] - y[:, :-m], np.nan)  # (shop, time − m, node)
    s, n_res, v = resid.shape
    pick = rng.integers(0, n_res, size=(num_draws, s, h))
    sampled = resid[np.arange(s)[None, :, None], pick]  # (draw, shop, horizon, node)
    sampled = np.where(np.isnan(sampled), 0.0, sampled)
    draws = point[None] + sampled * np.sqrt(seasons_ahead)[None, None, :, None]
    ch = plan.channel_index
    draws[..., ch] = plan.values[None][..., ch]
    return draws
