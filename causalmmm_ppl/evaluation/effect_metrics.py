"""How well estimated channel effects recover the true ones (tables of ``causalmmm effects`` and of the simulators'
``effects.csv``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import spearmanr


def effect_report(estimate: pd.DataFrame, truth: pd.DataFrame, kind: str = "total") -> dict[str, float]:
    """Metrics of one kind of effect over shop × channel.

    Parameters
    ----------
    estimate : ``shop, channel, kind, mean, lower, upper`` (``shop = "ALL"`` rows are ignored)
    truth : ``shop, channel, kind, effect, spend``
    kind : ``total``, ``held`` or ``direct``

    Returns
    -------
    dict with ``spearman`` (rank correlation of estimated and true effects; NaN when either is constant),
    ``roas_rel_error`` (median over channels of |estimated − true| / |true| portfolio ROAS: all shops' effect over all
    shops' spend), ``coverage`` (share of true effects inside the interval) and ``error_share``
    (Σ|estimate − truth| / Σ|truth|)
    """
    t, e = _aligned(estimate, truth, kind)
    true, mean = t["effect"].to_numpy(float), e["mean"].to_numpy(float)
    inside = (e["lower"].to_numpy(float) <= true) & (true <= e["upper"].to_numpy(float))
    by_channel = t.groupby("channel")[["effect", "spend"]].sum()
    est_effect = e.groupby("channel")["mean"].sum().loc[by_channel.index]
    rel = (est_effect - by_channel["effect"]).abs() / by_channel["effect"].abs()
    constant = np.ptp(mean) == 0 or np.ptp(true) == 0
    return {
        "spearman": float("nan") if constant else float(spearmanr(mean, true).statistic),
        "roas_rel_error": float(rel.median()),
        "coverage": float(inside.mean()),
        "error_share": float(np.abs(mean - true).sum() / max(np.abs(true).sum(), 1e-12)),
    }


def effect_size_ratio(estimate: pd.DataFrame, truth: pd.DataFrame, kind: str = "total") -> float:
    """Σ estimated / Σ true effect of one kind over shop × channel (the tables of :func:`effect_report`): below 1,
    the estimates fall short of the truth in total."""
    t, e = _aligned(estimate, truth, kind)
    return float(e["mean"].to_numpy(float).sum() / t["effect"].to_numpy(float).sum())


def _aligned(estimate: pd.DataFrame, truth: pd.DataFrame, kind: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The truth's and the estimate's rows of one kind, indexed by (shop, channel) in the truth's order (the
    estimate's portfolio rows, ``shop = "ALL"``, left out); ValueError naming the first shop and channel the
    estimate lacks."""
    t = truth[truth["kind"] == kind].set_index(["shop", "channel"])
    e = estimate[(estimate["kind"] == kind) & (estimate["shop"] != "ALL")].set_index(["shop", "channel"])
    missing = t.index.difference(e.index)
    if len(missing):
        raise ValueError(f"the estimate has no {kind} effect for shop {missing[0][0]!r}, channel {missing[0][1]!r}")
    return t, e.loc[t.index]
