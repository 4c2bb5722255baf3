"""Convergence diagnostics per parameter group: R-hat, bulk and tail ESS, divergences, and the warnings they raise.

A parameter group is one posterior variable (e.g. ``decay`` with dims ``(shop, channel)``); its row reports the worst
element (largest R-hat, smallest ESS). Only latent variables are summarised (the ``latent_vars`` attr of the
posterior, see :mod:`causalmmm_ppl.evaluation.inference_data`); a last row ``all`` summarises every group.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from causalmmm_ppl.evaluation.inference_data import az, latent_vars

__all__ = ["DIAGNOSTIC_COLUMNS", "RHAT_MAX", "diagnostics_table", "diagnostic_warnings", "count_divergences"]

RHAT_MAX = 1.01
"""R-hat above this is reported as not converged."""

DIAGNOSTIC_COLUMNS = ("group", "parameters", "rhat_max", "ess_bulk_min", "ess_bulk_median", "ess_tail_min",
                      "divergences", "chains", "draws")
"""Columns of ``diagnostics.csv``. ``divergences`` is the number of divergent transitions after warm-up (the same
for every group: a divergence is a property of a transition, not of a parameter); NaN when the inference has no
sampler statistics (SVI)."""


def count_divergences(idata: az.InferenceData) -> float:
    """Divergent transitions after warm-up (NaN without ``sample_stats.diverging``)."""
    if "sample_stats" not in idata.groups() or "diverging" not in idata.sample_stats:
        return float("nan")
    return float(np.asarray(idata.sample_stats["diverging"]).sum())


def diagnostics_table(idata: az.InferenceData, var_names: Sequence[str] | None = None) -> pd.DataFrame:
    """R-hat (rank-normalised, split), bulk and tail ESS per parameter group, and divergences.

    Parameters
    ----------
    idata
        With a ``posterior`` group ``(chain, draw, ...)``.
    var_names
        Variables to summarise (default: the latent variables).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`DIAGNOSTIC_COLUMNS`, one row per variable, then a row ``all``.
    """
    names = list(var_names) if var_names is not None else latent_vars(idata)
    post = idata.posterior[names]
    chains, draws = int(post.sizes["chain"]), int(post.sizes["draw"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # R-hat needs several chains (one chain, e.g. SVI draws: NaN)
        rhat = az.rhat(post) if chains > 1 else post.map(lambda v: v.isel(chain=0, draw=0) * np.nan)
        bulk = az.ess(post, method="bulk")
        tail = az.ess(post, method="tail")
    div = count_divergences(idata)
    rows = []
    for name in names:
        r = np.asarray(rhat[name]).ravel()
        b = np.asarray(bulk[name]).ravel()
        t = np.asarray(tail[name]).ravel()
        rows.append({"group": name, "parameters": int(r.size), "rhat_max": _nanmax(r), "ess_bulk_min": _nanmin(b),
                     "ess_bulk_median": float(np.nanmedian(b)) if np.isfinite(b).any() else np.nan,
                     "ess_tail_min": _nanmin(t), "divergences": div, "chains": chains, "draws": draws})
    table = pd.DataFrame(rows, columns=list(DIAGNOSTIC_COLUMNS))
    if rows:
        all_b = np.concatenate([np.asarray(bulk[n]).ravel() for n in names])
        total = {"group": "all", "parameters": int(table["parameters"].sum()),
                 "rhat_max": _nanmax(table["rhat_max"].to_numpy()),
                 "ess_bulk_min": _nanmin(table["ess_bulk_min"].to_numpy()),
                 "ess_bulk_median": float(np.nanmedian(all_b)) if np.isfinite(all_b).any() else np.nan,
                 "ess_tail_min": _nanmin(table["ess_tail_min"].to_numpy()), "divergences": div,
                 "chains": chains, "draws": draws}
        table = pd.concat([table, pd.DataFrame([total])], ignore_index=True)
    return table


def diagnostic_warnings(table: pd.DataFrame, *, rhat_max: float = RHAT_MAX) -> list[str]:
    """Lines to print on stderr: groups with R-hat above ``rhat_max`` and divergent transitions.

    Returns an empty list when the table shows convergence (R-hat is NaN, so silent, with one chain).
    """
    out: list[str] = []
    groups = table[table["group"] != "all"]
    bad = groups[groups["rhat_max"] > rhat_max].sort_values("rhat_max", ascending=False)
    if len(bad):
        listing = ", ".join(f"{g} ({r:.3f})" for g, r in zip(bad["group"], bad["rhat_max"]))
        out.append(f"warning: R-hat > {rhat_max:g} (not converged; run longer or more warm-up): {listing}")
    div = table["divergences"].iloc[0] if len(table) else np.nan
    if np.isfinite(div) and div > 0:
        n = int(table["chains"].iloc[0] * table["draws"].iloc[0])
        out.append(f"warning: {int(div)} divergent transitions after warm-up (of {n}); the posterior may be "
                   f"biased (raise target_accept_prob)")
    return out


def _nanmax(a: np.ndarray) -> float:
    a = np.asarray(a, float)
    return float(np.nanmax(a)) if np.isfinite(a).any() else float("nan")


def _nanmin(a: np.ndarray) -> float:
    a = np.asarray(a, float)
    return float(np.nanmin(a)) if np.isfinite(a).any() else float("nan")
