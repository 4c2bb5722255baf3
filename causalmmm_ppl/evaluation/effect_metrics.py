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
    t = truth[truth["kind"] == kind].set_index(["shop", "channel"])
    e = estimate[(estimate["kind"] == kind) & (estimate["shop"] != "ALL")].set_index(["shop", "channel"])
    missing = t.index.difference(e.index)
    if len(missing):
        raise ValueError(f"the estimate has no {kind} effect for shop {missing[0][0]!r}, channel {missing[0][1]!r}")
    e = e.loc[t.index]
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
