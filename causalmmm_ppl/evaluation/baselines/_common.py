"""Helpers shared by the baselines."""

from __future__ import annotations

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
    from tqdm.auto import tqdm

    return tqdm(iterable, desc=desc, disable=not progress, total=total)
