"""Sampler diagnostics: trace and rank plots of a few representative parameters, and the R-hat / ESS summary of
``diagnostics.csv`` (:func:`causalmmm_ppl.evaluation.diagnostics.diagnostics_table`)."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.figure import Figure

from causalmmm_ppl.evaluation.diagnostics import RHAT_MAX
from causalmmm_ppl.evaluation.inference_data import az, latent_vars

__all__ = ["representative_draws", "trace_plot", "rank_plot", "diagnostics_summary"]

ESS_MIN = 400
"""Bulk/tail ESS below this is flagged (Vehtari et al. 2021 recommend ≥ 100 per chain with 4 chains)."""


def representative_draws(idata: Any, var_names: Sequence[str] | None = None, *, max_vars: int = 6,
                         max_size: int = 10_000) -> xr.Dataset:
    """One element of each latent variable (the first of every dim except chain and draw), as scalars per draw.

    Parameters
    ----------
    var_names : default the latent variables (the ``latent_vars`` attr), at most ``max_vars``
    max_size : variables with more elements per draw than this are skipped (e.g. paths)

    Returns
    -------
    Dataset of ``(chain, draw)`` variables named ``var[shop=..., ...]``
    """
    post = idata.posterior
    names = list(var_names) if var_names is not None else latent_vars(idata)
    out: dict[str, xr.DataArray] = {}
    for name in names:
        da = post[name]
        other = [d for d in da.dims if d not in ("chain", "draw")]
        if int(np.prod([da.sizes[d] for d in other])) > max_size:
            continue
        first = {d: 0 for d in other}
        label = ", ".join(f"{d}={da[d].values[0]}" for d in other)
        out[f"{name}[{label}]" if label else name] = da.isel(first).drop_vars(other, errors="ignore").astype(float)
        if len(out) >= max_vars:
            break
    if not out:
        raise ValueError("no latent variables to plot")
    return xr.Dataset(out)


def _plot(kind: str, idata: Any, var_names: Sequence[str] | None, max_vars: int) -> Figure:
    data = az.convert_to_inference_data(representative_draws(idata, var_names, max_vars=max_vars))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if kind == "trace":
            axes = az.plot_trace(data, compact=False, figsize=(9, 1.7 * len(data.posterior.data_vars)),
                                 backend_kwargs={"constrained_layout": True})
        else:
            n = len(data.posterior.data_vars)
            axes = az.plot_rank(data, kind="vlines", figsize=(3.2 * min(n, 3), 2.6 * int(np.ceil(n / 3))),
                                grid=(int(np.ceil(n / 3)), min(n, 3)))
    fig = np.asarray(axes).ravel()[0].figure
    for ax in fig.axes:
        ax.title.set_fontsize(8)
        ax.xaxis.label.set_fontsize(8)
        ax.yaxis.label.set_fontsize(8)
        ax.tick_params(labelsize=7)
    if kind == "rank":
        fig.tight_layout()
    return fig


def trace_plot(idata: Any, var_names: Sequence[str] | None = None, *, max_vars: int = 6) -> Figure:
    """Trace and marginal density per chain of one element of each of a few latent variables."""
    return _plot("trace", idata, var_names, max_vars)


def rank_plot(idata: Any, var_names: Sequence[str] | None = None, *, max_vars: int = 6) -> Figure:
    """Rank plots (Vehtari et al. 2021) of one element of each of a few latent variables; needs ≥ 2 chains.

    Raises
    ------
    ValueError
        Fewer than two chains (ranks across chains are then meaningless).
    """
    if int(idata.posterior.sizes.get("chain", 1)) < 2:
        raise ValueError("rank plots need at least two chains")
    return _plot("rank", idata, var_names, max_vars)


def diagnostics_summary(table: pd.DataFrame) -> Figure:
    """Worst R-hat and smallest bulk/tail ESS per parameter group, with the thresholds (R-hat 1.01, ESS 400).

    Parameters
    ----------
    table : ``diagnostics.csv`` (columns ``group, rhat_max, ess_bulk_min, ess_tail_min``; the ``all`` row is
        dropped)
    """
    missing = [c for c in ("group", "rhat_max", "ess_bulk_min", "ess_tail_min") if c not in table.columns]
    if missing:
        raise ValueError(f"diagnostics table has no column {missing[0]!r}")
    t = table[table["group"] != "all"].reset_index(drop=True)
    y = np.arange(len(t))
    fig, axes = plt.subplots(1, 2, figsize=(9, 0.35 * len(t) + 1.4), sharey=True)
    rhat = t["rhat_max"].to_numpy(dtype=float)
    if np.isfinite(rhat).any():
        axes[0].barh(y, rhat - 1.0, left=1.0, color=np.where(rhat > RHAT_MAX, "crimson", "tab:green"))
        axes[0].axvline(RHAT_MAX, color="0.3", ls="--", lw=0.8)
        axes[0].set_title(f"max R-hat (dashed: {RHAT_MAX})", fontsize=9)
    else:
        axes[0].text(0.5, 0.5, "R-hat needs ≥ 2 chains\n(not defined for one chain of SVI draws)",
                     ha="center", va="center", transform=axes[0].transAxes, fontsize=8)
        axes[0].set_title("max R-hat", fontsize=9)
    h = 0.38
    axes[1].barh(y - h / 2, t["ess_bulk_min"], h, color="tab:blue", label="bulk ESS (min)")
    axes[1].barh(y + h / 2, t["ess_tail_min"], h, color="tab:purple", label="tail ESS (min)")
    axes[1].axvline(ESS_MIN, color="0.3", ls="--", lw=0.8)
    axes[1].set_xscale("log")
    axes[1].set_title(f"smallest ESS (dashed: {ESS_MIN})", fontsize=9)
    axes[1].legend(fontsize=7)
    axes[0].set_yticks(y, t["group"].astype(str), fontsize=7)
    axes[0].invert_yaxis()
    for ax in axes:
        ax.tick_params(labelsize=7)
    fig.tight_layout()
    return fig
