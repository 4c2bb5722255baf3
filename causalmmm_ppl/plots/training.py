"""The optimisation trace of an SVI fit: ELBO per step (``sample_stats.elbo``, dim ``step``)."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

__all__ = ["elbo_values", "elbo_trace"]


def elbo_values(idata: Any) -> np.ndarray:
    """The ELBO per SVI step, (step,).

    Raises
    ------
    ValueError
        The InferenceData has no ``sample_stats.elbo`` (e.g. a NUTS fit).
    """
    if "sample_stats" not in idata.groups() or "elbo" not in idata.sample_stats:
        raise ValueError("no ELBO trace in this InferenceData (sample_stats.elbo is written by SVI fits)")
    return np.asarray(idata.sample_stats["elbo"].values, dtype=float).ravel()


def elbo_trace(source: Any, *, smooth: int | None = None, ax: plt.Axes | None = None) -> Figure:
    """ELBO against SVI step, raw and as a rolling mean, with a zoomed panel of the last half.

    Parameters
    ----------
    source : InferenceData with ``sample_stats.elbo``, or a (step,) array of ELBO values (or ``-loss``)
    smooth : rolling-mean window (default: 2% of the steps, at least 5)
    """
    elbo = np.asarray(source, dtype=float).ravel() if isinstance(source, (np.ndarray, list)) else elbo_values(source)
    if elbo.size == 0:
        raise ValueError("the ELBO trace is empty")
    window = smooth or max(5, elbo.size // 50)
    rolled = pd.Series(elbo).rolling(window, min_periods=1).mean().to_numpy()
    steps = np.arange(elbo.size)
    if ax is not None:
        fig, axes = ax.figure, [ax]
    else:
        fig, axes = plt.subplots(1, 2, figsize=(9, 3))
    for k, a in enumerate(axes):
        start = 0 if k == 0 else elbo.size // 2
        a.plot(steps[start:], elbo[start:], color="0.7", lw=0.6, label="ELBO per step")
        a.plot(steps[start:], rolled[start:], color="tab:blue", lw=1.4, label=f"rolling mean ({window})")
        a.set_xlabel("SVI step")
        a.set_title("ELBO (per observation)" if k == 0 else "second half", fontsize=9)
        a.tick_params(labelsize=7)
    axes[0].set_ylabel("ELBO")
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    return fig
