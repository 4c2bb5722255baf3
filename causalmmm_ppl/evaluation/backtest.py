"""Rolling-origin backtests: for each origin o, a model is fitted on the days before o only and forecasts days
o..o+h−1 given the channel plan; the forecasts are scored against what happened.

A *forecaster* is any callable ``forecaster(history, plan, seed) -> draws`` where

- ``history`` is the panel restricted to days ``< o`` (all the model may learn from),
- ``plan`` is days ``o..o+H−1`` with the channel values (the spend plan) and **every other node blanked**
  (values 0, ``observed`` False), so no model can see the mediators or the target it forecasts,
- ``draws`` is ``(draw, shop, horizon, node)`` in original units (a point forecast is one draw).

Only the node(s) in ``nodes`` (default: the target) are scored. Every model gets the same origins, the same
history and the same plan.
"""

from __future__ import annotations

import dataclasses

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from causalmmm_ppl.data.panel import Panel
from causalmmm_ppl.evaluation.forecast_metrics import forecast_report

Forecaster = Callable[[Panel, Panel, int], np.ndarray]


def rolling_origins(n_time: int, horizon: int, n_origins: int, step: int | None = None,
                    min_train: int = 28) -> list[int]:
    """Forecast origins (first forecast day, 0-based), latest last, each leaving ``horizon`` days to score.

    The last origin is ``n_time − horizon``; earlier ones are ``step`` days apart (default ``horizon``, so the scored
    windows of successive origins do not overlap).

    Raises
    ------
    ValueError
        When an origin would leave fewer than ``min_train`` training days.
    """
    if horizon < 1 or n_origins < 1:
        raise ValueError("horizon and n_origins must be >= 1")
    step = horizon if step is None else int(step)
    if step < 1:
        raise ValueError(f"step must be >= 1, got {step}")
    last = n_time - horizon
    origins = [last - k * step for k in range(n_origins)][::-1]
    if origins[0] < min_train:
        raise ValueError(
            f"{n_origins} origins {step} days apart with horizon {horizon} leave {origins[0]} training days "
            f"(< {min_train}) on a panel of {n_time} days"
        )
    return origins


def blind_plan(panel: Panel, start: int, stop: int) -> Panel:
    """Days ``start:stop`` of ``panel`` with only the channels kept: other nodes are 0 and unobserved."""
    part = panel.select_time(start, stop)
    keep = np.zeros(panel.n_nodes, dtype=bool)
    keep[panel.channel_index] = True
    values = np.where(keep, part.values, 0.0)
    observed = part.observed & keep
    return dataclasses.replace(part, values=values, observed=observed)


def training_scale(history: Panel, node: int) -> np.ndarray:
    """(shop,) mean of |node| over the history's observed days: the "scaled units" of the report (1 if none)."""
    obs = history.observed[..., node]
    vals = np.where(obs, np.abs(history.values[..., node]), 0.0)
    n = obs.sum(1)
    mean = np.where(n > 0, vals.sum(1) / np.maximum(n, 1), 1.0)
    return np.where(mean > 0, mean, 1.0)


def score_origin(draws: np.ndarray, truth: Panel, history: Panel, horizons: Sequence[int],
                 nodes: Sequence[int], level: float = 0.9) -> list[dict]:
    """Metrics of one origin's draws ``(draw, shop, H, node)`` over days 1..h for each ``h`` in ``horizons``."""
    rows = []
    for h in horizons:
        for j in nodes:
            obs = np.where(truth.observed[:, :h, j], truth.values[:, :h, j], np.nan)
            scale = training_scale(history, j)[:, None]
            rep = forecast_report(draws[:, :, :h, j], obs, scale=scale, level=level)
            rows.append({"horizon": int(h), "node": truth.nodes[j], **rep})
    return rows


def rolling_backtest(
    panel: Panel,
    forecasters: dict[str, Forecaster],
    horizons: Sequence[int] = (7, 14, 30),
    n_origins: int = 2,
    step: int | None = None,
    nodes: Sequence[int] | None = None,
    seed: int = 0,
    level: float = 0.9,
    min_train: int = 28,
    progress: bool = False,
) -> pd.DataFrame:
    """Backtest several forecasters on the same rolling origins.

    Parameters
    ----------
    panel : the whole panel (truth for every origin)
    forecasters : ``{name: forecaster}``, see the module docstring
    horizons : scored horizons; each origin forecasts ``max(horizons)`` days and is scored over days 1..h
    n_origins, step, min_train : see :func:`rolling_origins` (horizon = ``max(horizons)``)
    nodes : node indices to score (default: the target)
    seed : passed to every forecaster (origin k gets ``seed + k``)
    level : interval mass for coverage

    Returns
    -------
    DataFrame, one row per model, origin, horizon and node: ``model, origin, origin_date, train_days, horizon,
    node, n, mse, mae, crps, coverage, width, mse_scaled, mae_scaled, crps_scaled, seconds``
    """
    import time

    from causalmmm_ppl._progress import progress as progress_bar

    h_max = int(max(horizons))
    nodes = [panel.n_nodes - 1] if nodes is None else list(nodes)
    origins = rolling_origins(panel.n_time, h_max, n_origins, step, min_train)
    rows = []
    jobs = [(k, o, name) for k, o in enumerate(origins) for name in forecasters]
    for k, o, name in progress_bar(jobs, desc="backtest", disable=not progress):
        history = panel.select_time(0, o)
        plan = blind_plan(panel, o, o + h_max)
        truth = panel.select_time(o, o + h_max)
        t0 = time.perf_counter()
        draws = np.asarray(forecasters[name](history, plan, seed + k), dtype=float)
        seconds = time.perf_counter() - t0
        expected = (panel.n_shops, h_max, panel.n_nodes)
        if draws.ndim != 4 or draws.shape[1:] != expected:
            raise ValueError(f"forecaster {name!r} returned shape {draws.shape}, expected (draw,) + {expected}")
        for row in score_origin(draws, truth, history, horizons, nodes, level):
            rows.append({"model": name, "origin": o, "origin_date": panel.dates[o], "train_days": o, **row,
                         "seconds": seconds})
    return pd.DataFrame(rows)


def summarize(results: pd.DataFrame, metrics: Sequence[str] = ("mse", "mse_scaled", "crps", "crps_scaled",
                                                              "coverage")) -> pd.DataFrame:
    """Mean of each metric over origins (and nodes), per model and horizon."""
    return results.groupby(["model", "horizon"], sort=False)[list(metrics)].mean().reset_index()
