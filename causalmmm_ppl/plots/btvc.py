"""BTVC's time-varying media coefficients β(t) (``posterior.beta``, dims ``(chain, draw, shop, date, channel)``, on
the per-shop scale) with credible bands, and the contribution shares of ``contribution_shares.csv``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from causalmmm_ppl.plots._common import band, new_axes, select_shops, stacked_draws

__all__ = ["beta_paths", "contribution_shares"]


def beta_paths(idata: Any, shops: str | Sequence[str] | None = None, *, channels: Sequence[str] | None = None,
               interval: float = 0.9, max_shops: int = 2) -> Figure:
    """β(t) of each media channel, one panel per shop: posterior mean and central credible band.

    Raises
    ------
    ValueError
        The posterior has no ``beta`` (not a BTVC run, or fitted without paths).
    """
    post = idata.posterior
    if "beta" not in post:
        raise ValueError("no time-varying coefficients: posterior.beta is written by BTVC runs")
    beta = post["beta"]
    chosen = select_shops(beta["shop"].values, shops, max_shops)
    names = [str(c) for c in beta["channel"].values] if channels is None else [str(c) for c in channels]
    draws = stacked_draws(beta.sel(shop=chosen, channel=names).transpose("chain", "draw", "shop", "date", "channel"))
    mean, lo, hi = band(draws, interval)  # (shop, date, channel)
    dates = pd.DatetimeIndex(beta["date"].values)
    colors = matplotlib.colormaps["tab10"]
    fig, axes = new_axes(len(chosen), 1, panel_size=(9.0, 2.8))
    for s, (ax, shop) in enumerate(zip(axes, chosen)):
        for k, name in enumerate(names):
            ax.fill_between(dates, lo[s, :, k], hi[s, :, k], color=colors(k % 10), alpha=0.15)
            ax.plot(dates, mean[s, :, k], color=colors(k % 10), lw=1.2, label=name)
        ax.set_title(f"β(t), shop {shop}: mean and {interval:.0%} interval (per-shop scaled units)", fontsize=9)
        ax.tick_params(labelsize=7)
    axes[0].legend(fontsize=7, ncol=min(len(names), 6))
    fig.tight_layout()
    return fig


def contribution_shares(shares: pd.DataFrame, *, max_shops: int = 12) -> Figure:
    """Share of the target attributed to each channel per shop (``contribution_shares.csv``: ``shop, channel,
    mean, lower, upper``), as grouped bars with interval whiskers."""
    missing = [c for c in ("shop", "channel", "mean", "lower", "upper") if c not in shares.columns]
    if missing:
        raise ValueError(f"contribution-share table has no column {missing[0]!r}")
    shops = list(pd.unique(shares["shop"].astype(str)))[:max_shops]
    channels = list(pd.unique(shares["channel"].astype(str)))
    table = shares.assign(shop=shares["shop"].astype(str), channel=shares["channel"].astype(str))
    table = table[table["shop"].isin(shops)]
    wide = {c: table.pivot(index="shop", columns="channel", values=c).reindex(index=shops, columns=channels)
            for c in ("mean", "lower", "upper")}
    width = 0.8 / len(channels)
    x = np.arange(len(shops))
    fig, ax = plt.subplots(figsize=(max(6.0, 0.8 * len(shops) * max(1, len(channels) / 3)), 3.2))
    colors = matplotlib.colormaps["tab10"]
    for k, ch in enumerate(channels):
        m = wide["mean"][ch].to_numpy()
        err = np.stack([m - wide["lower"][ch].to_numpy(), wide["upper"][ch].to_numpy() - m])
        ax.bar(x + (k - (len(channels) - 1) / 2) * width, m, width, yerr=np.clip(err, 0, None), capsize=1.5,
               color=colors(k % 10), label=ch, error_kw={"lw": 0.6})
    ax.set_xticks(x, shops, fontsize=7, rotation=30)
    ax.set_ylabel("share of target")
    ax.set_title("media contribution shares (mean and interval)", fontsize=9)
    ax.legend(fontsize=7, ncol=min(len(channels), 6))
    fig.tight_layout()
    return fig
