"""Response curves (saturation) and carryover (adstock weights) with credible bands, from the posterior.

Reads the curve parameters from InferenceData and evaluates the curves with
:mod:`causalmmm_ppl.transforms.np_ops` (the same math the models use):

* CausalMMM: the parameters of the run's response family by name (:mod:`causalmmm_ppl.models.response`; default
  ``decay``, ``alpha``, ``gamma``) with dims ``(chain, draw, shop, node)``; levels such as ``gamma`` in the cause's
  original units; carryover weights normalised (``causalmmm_spec.l_max`` lags). The curve of node ``i`` is the
  signal it sends along its edges at a sustained level ``x`` (normalised carryover keeps a constant level).
* BTVC: ``decay``, ``hill_alpha``, ``hill_gamma`` (geometric carryover and Hill) with dims ``(chain, draw, shop,
  channel)``, on the per-shop scale (spend ÷ the shop's mean spend); with ``hill_at_mean`` the model divides the
  curve by its value at mean spend (a constant absorbed by β(t)); the plot shows the saturation shape itself and
  marks mean spend (x = 1).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from causalmmm_ppl.models.response import ResponseFamily, family_of
from causalmmm_ppl.plots._common import band, model_name, new_axes, select_shops, spec_of, stacked_draws
from causalmmm_ppl.transforms import np_ops

__all__ = ["CurveParams", "curve_params", "response_curves", "adstock_decay"]

#: BTVC's curve parameters under the names of the response family they are (geometric carryover, Hill)
BTVC_NAMES = {"decay": "decay", "alpha": "hill_alpha", "gamma": "hill_gamma"}


@dataclass(frozen=True)
class CurveParams:
    """Posterior draws of one shop's curve parameters.

    Attributes
    ----------
    names : (node,) the causes
    family : the response family the parameters belong to
    values : ``{parameter: (sample, node)}`` by the family's parameter names
    x_units : what the x axis of a response curve is in
    l_max : carryover lags; normalize : carryover weights sum to one
    at_mean : the model divides the curve by its value at x = 1 (mean spend)
    """

    names: list[str]
    family: ResponseFamily
    values: dict[str, np.ndarray]
    x_units: str
    l_max: int
    normalize: bool
    at_mean: bool

    def weights(self) -> np.ndarray:
        """``(sample, node, lag)`` carryover weights.

        Raises
        ------
        ValueError
            The family has no carryover.
        """
        if not self.normalize:  # BTVC without normalisation: geometric weights as they are
            return np_ops.geometric_weights(self.values["decay"], self.l_max)
        w = self.family.weights(np_ops, self.values, self.l_max)
        if w is None:
            raise ValueError(f"the response family has no carryover (adstock {self.family.adstock!r})")
        return w

    def curve(self, x: np.ndarray) -> np.ndarray:
        """The saturation curve at ``x: (node, grid)``: ``(sample, node, grid)``.

        Raises
        ------
        ValueError
            The family has no saturation curve.
        """
        if self.family.curve.curve is None:
            raise ValueError(f"the response family has no saturation curve (saturation {self.family.saturation!r})")
        return self.family.saturate(np_ops, x[None], self.values)


def curve_params(idata: Any, shop: str | None = None, nodes: Sequence[str] | None = None) -> tuple[str, CurveParams]:
    """One shop's carryover and saturation parameters from a CausalMMM or BTVC InferenceData.

    Parameters
    ----------
    shop : default the first shop
    nodes : causes to keep (default: CausalMMM every node but the target; BTVC every media channel)

    Raises
    ------
    ValueError
        The posterior has no curve parameters.
    """
    post = idata.posterior
    model = model_name(idata)
    spec = spec_of(idata)
    if model == "causalmmm" or "causalmmm_spec" in post.attrs:
        family = family_of(spec)
        stored, dim = {k: k for k in family.names}, "node"
        target = str(post.attrs.get("target_name", ""))
        default = [str(n) for n in post[dim].values if str(n) != target]
        units, l_max, normalize, at_mean = "sustained level (original units)", int(spec.get("l_max", 14)), True, False
    else:
        family, stored, dim = ResponseFamily("geometric", "hill"), BTVC_NAMES, "channel"
        default = [str(n) for n in post[dim].values] if dim in post.dims else []
        units = "sustained spend ÷ the shop's mean spend"
        l_max = int(spec.get("l_max") or 14)
        normalize, at_mean = bool(spec.get("adstock_normalize", True)), bool(spec.get("hill_at_mean", True))
    missing = [v for v in stored.values() if v not in post.data_vars]
    if missing or not stored:
        raise ValueError(f"the {model} posterior has no carryover/saturation parameters "
                         f"({', '.join(stored.values()) or 'its family has none'})")
    shop = select_shops(post["shop"].values, shop, 1)[0]
    keep = default if nodes is None else [str(n) for n in nodes]
    unknown = [n for n in keep if n not in [str(v) for v in post[dim].values]]
    if unknown:
        raise ValueError(f"node {unknown[0]!r} has no curve parameters")
    sel = {"shop": shop, dim: keep}
    values = {name: stacked_draws(post[var].sel(sel)) for name, var in stored.items()}
    return shop, CurveParams(keep, family, values, units, l_max, normalize, at_mean)


def response_curves(idata: Any, shop: str | None = None, *, nodes: Sequence[str] | None = None,
                    interval: float = 0.9, grid: int = 120, ncols: int = 4) -> Figure:
    """Saturation curve of each cause for one shop: posterior mean and central credible band.

    The x range of each panel runs to three times the posterior median half-saturation (for BTVC at least to three
    times mean spend, which is marked with a dashed line).

    Raises
    ------
    ValueError
        The posterior has no curve parameters, or the response family no saturation curve.
    """
    shop, p = curve_params(idata, shop, nodes)
    if "gamma" not in p.values:
        raise ValueError(f"the response family has no saturation curve (saturation {p.family.saturation!r})")
    gamma = p.values["gamma"]
    x_max = 3.0 * np.median(gamma, axis=0)  # (node,)
    if p.at_mean:
        x_max = np.maximum(x_max, 3.0)
    x = np.linspace(0.0, 1.0, grid)[None, :] * x_max[:, None]  # (node, grid)
    y = p.curve(x)  # (sample, node, grid)
    mean, lo, hi = band(y, interval)
    fig, axes = new_axes(len(p.names), ncols, panel_size=(3.2, 2.5), sharey=True)
    for k, ax in enumerate(axes):
        ax.fill_between(x[k], lo[k], hi[k], alpha=0.3, color="tab:blue", label=f"{interval:.0%} interval")
        ax.plot(x[k], mean[k], color="tab:blue", label="posterior mean")
        ax.axvline(np.median(gamma[:, k]), color="0.5", lw=0.8, ls=":")
        if p.at_mean:
            ax.axvline(1.0, color="tab:red", lw=0.8, ls="--")
        ax.set_title(p.names[k], fontsize=9)
        ax.tick_params(labelsize=7)
    axes[0].legend(fontsize=7, loc="lower right")
    fig.supylabel(f"saturation ({p.family.saturation.replace('_', '–')})", fontsize=9)
    marks = "dotted: median half-saturation γ" + ("; dashed: mean spend" if p.at_mean else "")
    fig.supxlabel(f"{p.x_units}; {marks}", fontsize=9)
    fig.suptitle(f"response curves, shop {shop} ({model_name(idata)})", fontsize=10)
    fig.tight_layout()
    return fig


def adstock_decay(idata: Any, shop: str | None = None, *, nodes: Sequence[str] | None = None,
                  interval: float = 0.9) -> Figure:
    """Carryover weight of each lag for each cause of one shop (posterior mean and credible band); the legend gives
    each cause's posterior median mean lag, Σ_l l · w_l.

    Raises
    ------
    ValueError
        The posterior has no curve parameters, or the response family no carryover.
    """
    shop, p = curve_params(idata, shop, nodes)
    w = p.weights()  # (sample, node, lag)
    mean_lag = np.median((w * np.arange(p.l_max)).sum(-1) / w.sum(-1), axis=0)  # (node,)
    mean, lo, hi = band(w, interval)
    lags = np.arange(p.l_max)
    fig, ax = plt.subplots(figsize=(7, 3.5))
    colors = matplotlib.colormaps["tab10"]
    for k, name in enumerate(p.names):
        c = colors(k % 10)
        ax.fill_between(lags, lo[k], hi[k], color=c, alpha=0.15)
        ax.plot(lags, mean[k], color=c, marker="o", ms=2.5, label=f"{name} (mean lag {mean_lag[k]:.1f})")
    ax.set_xlabel("lag (steps)")
    ax.set_ylabel("normalised carryover weight" if p.normalize else "carryover weight")
    ax.set_title(f"carryover, shop {shop}: mean and {interval:.0%} interval", fontsize=10)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return fig
