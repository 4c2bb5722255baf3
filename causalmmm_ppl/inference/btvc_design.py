"""BTVC's design: the grid, knots, kernels, seasonality and per-shop scales fixed from a training panel, and the
scaled inputs of any panel on that design (the arrays of :class:`~causalmmm_ppl.models.btvc.BTVCData`).

Scaling (per shop, exact inverse): the target is divided by its mean over the training days where it is observed,
each media channel by its mean over the shop's training days (1 if never spent), each control by its largest absolute
value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jax.numpy as jnp
import numpy as np
import pandas as pd

from causalmmm_ppl.data.panel import Panel
from causalmmm_ppl.errors import InputError
from causalmmm_ppl.models.btvc import BTVCData, fourier_features, kernel_weights, knot_positions, media_lag_windows
from causalmmm_ppl.models.btvc_spec import BTVCSpec

__all__ = ["BTVCDesign", "BTVCScales", "prepare_design", "scaled_inputs"]


# ------------------------------------------------------------------------------------------------- design
@dataclass(frozen=True)
class BTVCScales:
    """Per-shop scales (original units = scaled value × scale).

    Attributes
    ----------
    target : (shop,)
    media : (shop, channel)
    controls : (shop, control)
    """

    target: np.ndarray
    media: np.ndarray
    controls: np.ndarray

    def to_dict(self) -> dict[str, Any]:
        return {"method": "btvc-per-shop-mean", "target": self.target.tolist(), "media": self.media.tolist(),
                "controls": self.controls.tolist()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "BTVCScales":
        s = len(d["target"])
        return cls(np.asarray(d["target"], float), np.asarray(d["media"], float).reshape(s, -1),
                   np.asarray(d["controls"], float).reshape(s, -1))


@dataclass(frozen=True)
class BTVCDesign:
    """The training grid and the model's fixed structure (knots, kernels, seasonality, column roles).

    Attributes
    ----------
    shops : (shop,)
    dates : (time,) training dates
    freq, step_days
        Grid frequency and its step in days.
    target, media, controls
        Column names (media: every channel of the panel, through adstock + Hill; controls: the panel's control
        columns, ``ColumnSpec.controls`` / ``--controls``, linear).
    l_max
        Adstock window (grid steps).
    level_knots, coef_knots
        Knot positions (grid steps) of the level and the coefficients; ``level_bandwidth``, ``coef_bandwidth``
        their kernel bandwidths (grid steps).
    season_terms
        Names of the Fourier terms.
    weekly_order, yearly_order
        Fourier orders actually used (weekly is 0 on grids coarser than a day).
    """

    shops: tuple[str, ...]
    dates: pd.DatetimeIndex
    freq: str
    step_days: float
    target: str
    media: tuple[str, ...]
    controls: tuple[str, ...]
    l_max: int
    level_knots: np.ndarray
    coef_knots: np.ndarray
    level_bandwidth: float
    coef_bandwidth: float
    season_terms: tuple[str, ...]
    weekly_order: int
    yearly_order: int

    @property
    def n_train(self) -> int:
        return len(self.dates)

    def data(self, dates: pd.DatetimeIndex, media: np.ndarray, controls: np.ndarray, mask: np.ndarray) -> BTVCData:
        """Model inputs on a grid that starts at the first training date (training grid, or history + plan)."""
        t = np.arange(len(dates), dtype=float)
        train = (t < self.n_train) / self.n_train
        seasonal, _ = fourier_features(dates, weekly_order=self.weekly_order, yearly_order=self.yearly_order)
        return BTVCData(
            level_weights=jnp.asarray(kernel_weights(t, self.level_knots, self.level_bandwidth, self.n_train)),
            coef_weights=jnp.asarray(kernel_weights(t, self.coef_knots, self.coef_bandwidth, self.n_train)),
            seasonal=jnp.asarray(seasonal),
            media=jnp.asarray(media),
            controls=jnp.asarray(controls),
            mask=jnp.asarray(mask, dtype=bool),
            train_weights=jnp.asarray(train),
            media_lags=media_lag_windows(media, self.l_max),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "shops": list(self.shops),
            "dates": [d.strftime("%Y-%m-%d") for d in self.dates],
            "freq": self.freq,
            "step_days": self.step_days,
            "target": self.target,
            "media": list(self.media),
            "controls": list(self.controls),
            "l_max": self.l_max,
            "level_knots": self.level_knots.tolist(),
            "coef_knots": self.coef_knots.tolist(),
            "level_bandwidth": self.level_bandwidth,
            "coef_bandwidth": self.coef_bandwidth,
            "season_terms": list(self.season_terms),
            "weekly_order": self.weekly_order,
            "yearly_order": self.yearly_order,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "BTVCDesign":
        return cls(
            shops=tuple(d["shops"]), dates=pd.DatetimeIndex(pd.to_datetime(d["dates"])), freq=d["freq"],
            step_days=float(d["step_days"]), target=d["target"], media=tuple(d["media"]),
            controls=tuple(d["controls"]), l_max=int(d["l_max"]), level_knots=np.asarray(d["level_knots"], float),
            coef_knots=np.asarray(d["coef_knots"], float), level_bandwidth=float(d["level_bandwidth"]),
            coef_bandwidth=float(d["coef_bandwidth"]), season_terms=tuple(d["season_terms"]),
            weekly_order=int(d["weekly_order"]), yearly_order=int(d["yearly_order"]))


def _step_days(dates: pd.DatetimeIndex) -> float:
    if len(dates) < 2:
        return 1.0
    return float((dates[1] - dates[0]) / pd.Timedelta(days=1))


def _roles(panel: Panel) -> tuple[list[int], list[int]]:
    """Node indices of the media channels (every channel of the panel) and indices of the controls in
    ``panel.control_names`` (every control column: ``ColumnSpec.controls``, ``--controls``)."""
    media = [int(i) for i in panel.channel_index]
    if not media:
        raise InputError("btvc: at least one channel (--channels) is needed")
    return media, list(range(len(panel.control_names)))


def prepare_design(panel: Panel, spec: BTVCSpec) -> tuple[BTVCDesign, BTVCScales]:
    """Fix the grid, knots, kernels, seasonality and per-shop scales from a training panel.

    Raises
    ------
    InputError
        A shop whose target is never observed or has a mean <= 0; a panel without channels.
    """
    media_idx, control_idx = _roles(panel)
    step = _step_days(panel.dates)
    n = panel.n_time
    mask = panel.mask & panel.target_observed
    y = np.where(mask, panel.values[..., -1], 0.0)
    counts = mask.sum(1)
    for s, shop in enumerate(panel.shops):
        if counts[s] == 0:
            raise InputError(f"btvc: shop {shop!r} has no observed {panel.target!r} in the training days")
    y_scale = y.sum(1) / counts
    for s, shop in enumerate(panel.shops):
        if not y_scale[s] > 0:
            raise InputError(f"btvc: shop {shop!r}: the mean of {panel.target!r} over the training days is "
                             f"{y_scale[s]:.4g}; BTVC needs a positive mean target")
    rows = panel.mask[..., None]
    media = np.where(rows, panel.values[..., media_idx], 0.0)
    m_scale = media.sum(1) / np.maximum(panel.mask.sum(1), 1)[:, None]
    m_scale = np.where(m_scale > 0, m_scale, 1.0)
    ctrl = np.where(rows, panel.controls[..., control_idx], 0.0)
    c_scale = np.abs(ctrl).max(1) if ctrl.shape[1] else np.ones((panel.n_shops, 0))
    c_scale = np.where(c_scale > 0, c_scale, 1.0)
    weekly = spec.weekly_order if step <= 1.0 else 0
    _, terms = fourier_features(panel.dates[:1], weekly_order=weekly, yearly_order=spec.yearly_order)
    lk = knot_positions(n, spec.level_knot_days / step)
    ck = knot_positions(n, spec.coef_knot_days / step)
    bw = lambda knots, days: spec.kernel_scale * (float(knots[1] - knots[0]) if len(knots) > 1 else days / step)
    design = BTVCDesign(
        shops=tuple(panel.shops), dates=panel.dates, freq=panel.freq, step_days=step, target=panel.target,
        media=tuple(panel.nodes[i] for i in media_idx),
        controls=tuple(panel.control_names[i] for i in control_idx),
        l_max=spec.resolved_l_max(step), level_knots=lk, coef_knots=ck,
        level_bandwidth=bw(lk, spec.level_knot_days), coef_bandwidth=bw(ck, spec.coef_knot_days),
        season_terms=tuple(terms), weekly_order=weekly, yearly_order=spec.yearly_order)
    return design, BTVCScales(y_scale, m_scale, c_scale)


def scaled_inputs(panel: Panel, design: BTVCDesign, scales: BTVCScales) -> tuple[np.ndarray, np.ndarray]:
    """Scaled media ``(shop, time, channel)`` and controls ``(shop, time, control)`` of a panel (0 off-range).

    Media are the panel's channel columns, controls its control columns (``panel.controls``). A control that is
    not a control column of ``panel`` but a channel of it is read from the channel: the schema of runs saved
    before controls were columns of their own (``columns.json`` listed them with the channels).
    """
    rows = panel.mask[..., None]
    mi = [panel.nodes.index(c) for c in design.media]
    media = np.where(rows, panel.values[..., mi], 0.0) / scales.media[:, None, :]
    ctrl = np.zeros(panel.mask.shape + (len(design.controls),))
    for k, c in enumerate(design.controls):
        ctrl[..., k] = (panel.controls[..., panel.control_names.index(c)] if c in panel.control_names
                        else panel.values[..., panel.nodes.index(c)])
    controls = np.where(rows, ctrl, 0.0) / scales.controls[:, None, :]
    return media, controls
