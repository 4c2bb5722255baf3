"""Forecast fan charts with the observed values, side-by-side model comparisons, and in-sample posterior predictive
checks.

Forecasts are the long table of ``forecast.csv`` (``shop, date, node, observed, mean, lower, upper``); the history
before the forecast origin and the in-sample fit come from InferenceData (``observed_data.target`` and
``posterior_predictive.target``, dims ``(shop, date)`` / ``(chain, draw, shop, date)``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib
import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure

from causalmmm_ppl.plots._common import band, new_axes, select_shops, stacked_draws

__all__ = ["FORECAST_COLUMNS", "check_forecast", "forecast_fan", "forecast_comparison", "in_sample_fit",
           "history_frame"]

FORECAST_COLUMNS = ("shop", "date", "node", "observed", "mean", "lower", "upper")


def check_forecast(forecast: pd.DataFrame, node: str | None = None) -> tuple[pd.DataFrame, str]:
    """Validate a forecast table and keep one node (default: the last node listed, the target).

    Returns
    -------
    the rows of ``node`` with ``date`` as datetime, and ``node``
    """
    missing = [c for c in FORECAST_COLUMNS if c not in forecast.columns]
    if missing:
        raise ValueError(f"forecast table has no column {missing[0]!r} (expected {', '.join(FORECAST_COLUMNS)})")
    nodes = list(pd.unique(forecast["node"].astype(str)))
    node = nodes[-1] if node is None else str(node)
    if node not in nodes:
        raise ValueError(f"forecast table has no node {node!r} (nodes: {', '.join(nodes)})")
    out = forecast[forecast["node"].astype(str) == node].copy()
    out["shop"] = out["shop"].astype(str)
    out["date"] = pd.to_datetime(out["date"])
    return out, node


def history_frame(idata: Any, days: int | None = None) -> pd.DataFrame:
    """``shop, date, observed`` of the observed target in an InferenceData (the last ``days`` dates)."""
    if "observed_data" not in idata.groups():
        raise ValueError("the InferenceData has no observed_data group")
    da = idata.observed_data["target"]
    if days is not None:
        da = da.isel(date=slice(-int(days), None))
    frame = da.to_dataframe(name="observed").reset_index()[["shop", "date", "observed"]]
    frame["shop"] = frame["shop"].astype(str)
    return frame


def _draw_history(ax: plt.Axes, history: pd.DataFrame | None, shop: str) -> None:
    if history is None:
        return
    h = history[history["shop"].astype(str) == shop]
    ax.plot(pd.to_datetime(h["date"]), h["observed"], color="0.35", lw=1.0, label="observed (training)")


def _draw_fan(ax: plt.Axes, rows: pd.DataFrame, color: Any, label: str, interval_label: str,
              observed: bool = True) -> None:
    ax.fill_between(rows["date"], rows["lower"], rows["upper"], color=color, alpha=0.25,
                    label=f"{label} {interval_label}")
    ax.plot(rows["date"], rows["mean"], color=color, lw=1.5, label=f"{label} mean")
    if observed and rows["observed"].notna().any():
        ax.scatter(rows["date"], rows["observed"], s=10, color="black", zorder=3, label="observed (held out)")


def _history(history: Any, days: int) -> pd.DataFrame | None:
    if history is None or isinstance(history, pd.DataFrame):
        return history
    return history_frame(history, days)


def forecast_fan(forecast: pd.DataFrame, shops: str | Sequence[str] | None = None, *, node: str | None = None,
                 history: Any = None, history_days: int = 42, max_shops: int = 4, interval_label: str = "90% interval",
                 ncols: int = 2) -> Figure:
    """Forecast of one node per shop: mean, credible band, held-out observations, and the recent history.

    Parameters
    ----------
    forecast : ``forecast.csv`` table
    shops : default the first ``max_shops`` shops
    node : default the target (the last node of the table)
    history : InferenceData (its observed target) or a ``shop, date, observed`` table, drawn before the origin
    history_days : how much history to draw
    """
    rows, node = check_forecast(forecast, node)
    chosen = select_shops(pd.unique(rows["shop"]), shops, max_shops)
    hist = _history(history, history_days)
    fig, axes = new_axes(len(chosen), ncols, panel_size=(5.0, 2.8))
    for ax, shop in zip(axes, chosen):
        _draw_history(ax, hist, shop)
        _draw_fan(ax, rows[rows["shop"] == shop], "tab:orange", "forecast", interval_label)
        ax.set_title(f"{node}, shop {shop}", fontsize=9)
        ax.tick_params(labelsize=7)
        ax.tick_params(axis="x", rotation=30)
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    return fig


def forecast_comparison(forecasts: Mapping[str, pd.DataFrame], shops: str | Sequence[str] | None = None, *,
                        node: str | None = None, history: Any = None, history_days: int = 28, max_shops: int = 4,
                        interval_label: str = "90% interval") -> Figure:
    """Several models' forecasts of the same days, one row per shop and one column per model (shared y axis)."""
    if not forecasts:
        raise ValueError("no forecasts to compare")
    node = check_forecast(next(iter(forecasts.values())), node)[1]
    tables = {name: check_forecast(f, node)[0] for name, f in forecasts.items()}
    first = next(iter(tables.values()))
    chosen = select_shops(pd.unique(first["shop"]), shops, max_shops)
    hist = _history(history, history_days)
    n = len(tables)
    fig, axes = plt.subplots(len(chosen), n, figsize=(4.2 * n, 2.6 * len(chosen)), squeeze=False, sharey="row")
    colors = matplotlib.colormaps["tab10"]
    for r, shop in enumerate(chosen):
        for c, (name, rows) in enumerate(tables.items()):
            ax = axes[r, c]
            _draw_history(ax, hist, shop)
            _draw_fan(ax, rows[rows["shop"] == shop], colors(c + 1), name, interval_label)
            ax.set_title(f"{name}: {node}, shop {shop}", fontsize=9)
            ax.tick_params(labelsize=7)
            ax.tick_params(axis="x", rotation=30)
    axes[0, 0].legend(fontsize=7)
    fig.tight_layout()
    return fig


def in_sample_fit(idata: Any, shops: str | Sequence[str] | None = None, *, interval: float = 0.9,
                  max_shops: int = 2, days: int | None = 90) -> Figure:
    """Posterior predictive band of the target against the observed target over the training days."""
    for group in ("posterior_predictive", "observed_data"):
        if group not in idata.groups():
            raise ValueError(f"the InferenceData has no {group} group")
    pp = idata.posterior_predictive["target"]
    obs = idata.observed_data["target"]
    if days is not None:
        pp, obs = pp.isel(date=slice(-int(days), None)), obs.isel(date=slice(-int(days), None))
    chosen = select_shops(pp["shop"].values, shops, max_shops)
    draws = stacked_draws(pp.sel(shop=chosen).transpose("chain", "draw", "shop", "date"))  # (sample, shop, date)
    mean, lo, hi = band(draws, interval)
    dates = pd.DatetimeIndex(pp["date"].values)
    fig, axes = new_axes(len(chosen), 1, panel_size=(9.0, 2.6))
    for k, (ax, shop) in enumerate(zip(axes, chosen)):
        ax.fill_between(dates, lo[k], hi[k], color="tab:blue", alpha=0.25, label=f"posterior predictive {interval:.0%}")
        ax.plot(dates, mean[k], color="tab:blue", lw=1.0, label="posterior predictive mean")
        ax.plot(dates, obs.sel(shop=shop).values, color="black", lw=0.8, label="observed")
        ax.set_title(f"in-sample fit of {idata.observed_data.attrs.get('target_name', 'target')}, shop {shop}",
                     fontsize=9)
        ax.tick_params(labelsize=7)
    axes[0].legend(fontsize=7, ncol=3)
    fig.tight_layout()
    return fig
