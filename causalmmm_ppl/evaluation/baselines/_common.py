"""Helpers shared by the baselines."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from causalmmm_ppl.data.panel import Panel
from causalmmm_ppl.evaluation.granger import standardize


def shop_series(panel: Panel) -> list[np.ndarray]:
    """Per shop, the z-scored ``(time, node)`` rows on which every node is observed (the layout per-series libraries
    want)."""
    rows = panel.observed.all(-1)
    z = standardize(panel.values, rows)
    return [z[s][rows[s]] for s in range(panel.n_shops)]


def progress_bar(iterable, desc: str, progress: bool, total: int | None = None):
    from causalmmm_ppl._progress import progress as report

    return report(iterable, desc=desc, disable=not progress, total=total)


def per_shop_scores(
    panel: Panel, score_one: Callable[[np.ndarray], np.ndarray], desc: str, progress: bool = False
) -> np.ndarray:
    """Run a one-series scorer (libraries that fit one multivariate series at a time) on every shop's z-scored
    ``(time, node)`` rows: returns ``(shop, cause, effect)``."""
    out = np.zeros((panel.n_shops, panel.n_nodes, panel.n_nodes))
    for s, z in enumerate(progress_bar(shop_series(panel), desc, progress)):
        out[s] = score_one(z)
    return out
