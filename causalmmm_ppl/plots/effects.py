"""Channel effects (``causalmmm effects``' table): the portfolio effect of each channel by kind, with intervals."""

from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

EFFECT_COLUMNS = ("shop", "channel", "kind", "mean", "lower", "upper", "spend", "roas", "mroas")


def channel_effects(effects: pd.DataFrame, *, shop: str = "ALL") -> Figure:
    """Horizontal bars of each channel's effect on the target over the window (``total``, ``held``, ``direct``) for
    one shop (default: the portfolio rows), with interval whiskers."""
    missing = [c for c in EFFECT_COLUMNS if c not in effects.columns]
    if missing:
        raise ValueError(f"effects table has no column {missing[0]!r}")
    rows = effects[effects["shop"].astype(str) == shop]
    if rows.empty:
        raise ValueError(f"effects table has no rows for shop {shop!r}")
    channels = list(pd.unique(rows["channel"].astype(str)))
    kinds = [k for k in ("total", "held", "direct") if k in set(rows["kind"])]
    height = 0.8 / len(kinds)
    y = np.arange(len(channels))
    fig, ax = plt.subplots(figsize=(6.0, 0.5 + 0.45 * len(channels) * max(1, len(kinds) / 2)))
    colors = matplotlib.colormaps["tab10"]
    for k, kind in enumerate(kinds):
        part = rows[rows["kind"] == kind]
        part = part.set_index(part["channel"].astype(str)).reindex(channels)
        m = part["mean"].to_numpy(float)
        err = np.clip(np.stack([m - part["lower"].to_numpy(float), part["upper"].to_numpy(float) - m]), 0, None)
        ax.barh(y + (k - (len(kinds) - 1) / 2) * height, m, height, xerr=err, capsize=1.5, color=colors(k),
                label=kind, error_kw={"lw": 0.6})
    ax.axvline(0.0, color="0.4", lw=0.6)
    ax.set_yticks(y, channels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("effect on the target over the window")
    ax.set_title(f"channel effects, {'all shops' if shop == 'ALL' else shop} (mean and interval)", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def response_curve(curves: pd.DataFrame, *, shop: str = "ALL") -> Figure:
    """The target over the window against a multiplier of each channel's planned spend (``causalmmm effects
    --curves``' table), one line with its interval band per channel, for one shop (default: the portfolio)."""
    missing = [c for c in ("shop", "channel", "multiplier", "mean", "lower", "upper") if c not in curves.columns]
    if missing:
        raise ValueError(f"response-curve table has no column {missing[0]!r}")
    rows = curves[curves["shop"].astype(str) == shop]
    if rows.empty:
        raise ValueError(f"response-curve table has no rows for shop {shop!r}")
    fig, ax = plt.subplots(figsize=(6.0, 3.4))
    colors = matplotlib.colormaps["tab10"]
    for k, (channel, part) in enumerate(rows.groupby(rows["channel"].astype(str), sort=False)):
        part = part.sort_values("multiplier")
        ax.plot(part["multiplier"], part["mean"], color=colors(k % 10), lw=1.2, label=channel)
        ax.fill_between(part["multiplier"], part["lower"], part["upper"], color=colors(k % 10), alpha=0.15, lw=0)
    ax.axvline(1.0, color="0.4", lw=0.6, ls=":")
    ax.set_xlabel("multiplier of the channel's planned spend")
    ax.set_ylabel("target over the window")
    ax.set_title(f"response curves, {'all shops' if shop == 'ALL' else shop}", fontsize=9)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return fig
