"""Shared helpers of the plot modules: figure output, posterior draws, credible bands, run metadata.

Everything here reads InferenceData or plain arrays; nothing imports a model or an inference engine.
"""

from __future__ import annotations

import io
import json
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr

__all__ = [
    "DEFAULT_DPI",
    "figure_png",
    "save_figure",
    "stacked_draws",
    "band",
    "model_name",
    "spec_of",
    "select_shops",
    "new_axes",
    "number_periods",
]

from causalmmm_ppl.data.panel import PERIOD_ORIGIN, period_step

DEFAULT_DPI = 90
"""Resolution of saved figures: readable, and small enough to embed in a report or a committed notebook."""


def figure_png(fig: matplotlib.figure.Figure, *, dpi: int = DEFAULT_DPI, close: bool = True) -> bytes:
    """The figure as PNG bytes (closed afterwards unless ``close=False``)."""
    buf = io.BytesIO()
    try:
        fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    finally:
        if close:
            plt.close(fig)
    return buf.getvalue()


def save_figure(fig: matplotlib.figure.Figure, path: str | os.PathLike[str], *, dpi: int = DEFAULT_DPI) -> Path:
    """Save the figure (format from the suffix) and close it."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    try:
        fig.savefig(p, dpi=dpi, bbox_inches="tight")
    finally:
        plt.close(fig)
    return p


def stacked_draws(da: xr.DataArray) -> np.ndarray:
    """Posterior draws with chain and draw merged into a leading ``sample`` axis.

    Parameters
    ----------
    da : (chain, draw, *dims)

    Returns
    -------
    (sample, *dims) with ``sample = chain * draw``
    """
    other = [d for d in da.dims if d not in ("chain", "draw")]
    arr = np.asarray(da.transpose("chain", "draw", *other).values, dtype=float)
    return arr.reshape((-1,) + arr.shape[2:])


def band(draws: np.ndarray, interval: float = 0.9, axis: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Posterior mean and central credible interval along ``axis``.

    Parameters
    ----------
    draws : (..., sample, ...)
    interval : mass of the central interval, in (0, 1)

    Returns
    -------
    mean, lower, upper : the shape of ``draws`` without ``axis``
    """
    if not 0.0 < interval < 1.0:
        raise ValueError(f"interval must be in (0, 1), got {interval}")
    q = (1.0 - interval) / 2.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices (days a model does not predict) stay NaN
        lower, upper = np.nanquantile(draws, [q, 1.0 - q], axis=axis)
        mean = np.nanmean(draws, axis=axis)
    return mean, lower, upper


def model_name(idata: Any) -> str:
    """``"causalmmm"`` or ``"btvc"`` (the ``model`` attr of the posterior), else ``"unknown"``."""
    group = idata.posterior if "posterior" in idata.groups() else idata[idata.groups()[0]]
    return str(group.attrs.get("model", "unknown"))


def spec_of(idata: Any) -> dict[str, Any]:
    """The model settings stored in the posterior attrs (``causalmmm_spec`` or ``btvc_spec``), else ``{}``."""
    attrs = idata.posterior.attrs
    for key in ("causalmmm_spec", "btvc_spec"):
        if key in attrs:
            return dict(json.loads(attrs[key]))
    return {}


def select_shops(available: Sequence[str], shops: str | Sequence[str] | None, limit: int | None = None) -> list[str]:
    """The shops to draw: ``shops`` (one name or several) checked against ``available``, or the first ``limit``.

    Raises
    ------
    ValueError
        A requested shop is not in ``available``.
    """
    available = [str(s) for s in available]
    if shops is None:
        return available[:limit] if limit else available
    wanted = [shops] if isinstance(shops, str) else [str(s) for s in shops]
    missing = [s for s in wanted if s not in available]
    if missing:
        shown = ", ".join(available[:8]) + (" ..." if len(available) > 8 else "")
        raise ValueError(f"shop {missing[0]!r} is not in the data (shops: {shown})")
    return wanted


def new_axes(n: int, ncols: int, panel_size: tuple[float, float] = (4.0, 3.0), **kwargs: Any
             ) -> tuple[matplotlib.figure.Figure, np.ndarray]:
    """A grid of ``n`` axes (``ncols`` wide; unused cells hidden); returns the figure and the flat array of axes."""
    ncols = max(1, min(ncols, n))
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(panel_size[0] * ncols, panel_size[1] * nrows), squeeze=False,
                             **kwargs)
    flat = axes.ravel()
    for ax in flat[n:]:
        ax.set_visible(False)
    return fig, flat[:n]


def number_periods(fig: matplotlib.figure.Figure, freq: str) -> matplotlib.figure.Figure:
    """Label the date axes of ``fig`` with period numbers (a run fitted with ``--freq``, whose dates are the nominal
    calendar of its period numbers: :func:`~causalmmm_ppl.data.panel.period_days`); ``freq`` ``""``: unchanged.

    Every axis whose x axis carries dates gets about six whole-period ticks over its current limits, labelled with
    their numbers, and the x label "day" or "week". Call it once the figure is drawn (its limits set).
    """
    if not freq:
        return fig
    import matplotlib.dates as mdates
    from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator

    epoch = mdates.date2num(np.datetime64("1970-01-01"))  # matplotlib's day number of 1970-01-01
    step = period_step(freq)
    to_num = lambda p: epoch + PERIOD_ORIGIN + step * np.asarray(p, dtype=float)  # noqa: E731
    to_period = lambda x: (np.asarray(x, dtype=float) - epoch - PERIOD_ORIGIN) / step  # noqa: E731
    for ax in fig.axes:
        if not isinstance(ax.xaxis.get_major_formatter(), (mdates.AutoDateFormatter, mdates.ConciseDateFormatter,
                                                            mdates.DateFormatter)):
            continue
        lo, hi = to_period(ax.get_xlim())
        ticks = [t for t in MaxNLocator(nbins=6, integer=True).tick_values(lo, hi) if lo - 1e-9 <= t <= hi + 1e-9]
        ax.xaxis.set_major_locator(FixedLocator(to_num(ticks)))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _pos: f"{int(round(float(to_period(x))))}"))
        ax.xaxis.set_minor_locator(FixedLocator([]))
        ax.set_xlabel("day" if step == 1 else "week", fontsize=8)
    return fig
