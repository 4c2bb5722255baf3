"""Fitting the BTVC baseline: NUTS (several chains) or SVI, then contributions, forecasts, save and load.

Entry point: :func:`fit_btvc` returns a :class:`BTVCFit` holding the posterior draws (``(chain, draw, ...)``) and
everything needed to recompute the model's paths on the training grid or on a forecast grid (history + plan).

The design (grid, knots, scales) lives in :mod:`causalmmm_ppl.inference.btvc_design`, the NUTS and SVI engines in
:mod:`causalmmm_ppl.inference.btvc_sampling`. Contributions, forecasts and the log-likelihood are reported in the
target's original units.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from causalmmm_ppl.data.panel import Panel
from causalmmm_ppl.errors import InputError
from causalmmm_ppl.inference.mmm_fit import run_format
from causalmmm_ppl.inference.btvc_design import BTVCDesign, BTVCScales, prepare_design, scaled_inputs
from causalmmm_ppl.inference.btvc_sampling import (
    chain_groups,
    chain_method_for,
    draw_mapper,
    map_draws,
    merge_shops,
    run_nuts,
    run_svi,
)
from causalmmm_ppl.models.btvc import (
    BTVCData,
    btvc_model,
    btvc_paths,
    knot_values,
    pointwise_log_likelihood,
)
from causalmmm_ppl.models.btvc_spec import BTVCInference, BTVCSpec

__all__ = ["BTVCDesign", "BTVCScales", "BTVCFit", "fit_btvc", "prepare_design", "chain_method_for",
           "chain_groups"]

#: The run format ``btvc.json`` declares: 2 stores the non-centred coefficient knots as ``coef_log_knots_decentered``;
#: 1 (no ``format`` key) as ``coef_knots_raw``. Both are read.
RUN_FORMAT = 2


def fit_btvc(panel: Panel, spec: BTVCSpec | None = None, inference: BTVCInference | None = None, *,
             seed: int = 0, progress: bool = True, **overrides: Any) -> "BTVCFit":
    """Fit the BTVC model to every shop of a training panel.

    Parameters
    ----------
    panel
        The training panel (all of its days are training days; rows with an unobserved target are left out of the
        likelihood).
    spec
        Model structure and priors (default :class:`BTVCSpec`).
    inference
        Inference settings (default :class:`BTVCInference`: NUTS with 4 chains × 1000 warm-up + 1000 draws on
        panels of at most ``NUTS_MAX_SHOPS`` shops, SVI on larger ones; the fit's ``inference`` says which ran).
    seed
        Seed of the JAX PRNG key (``jax.random.PRNGKey(seed)``).
    progress
        Show progress bars.
    **overrides
        Fields of :class:`BTVCInference` to override (``method="svi"``, ``num_chains=2``, ...).

    Returns
    -------
    BTVCFit
    """
    spec = spec or BTVCSpec()
    inf = dataclasses.replace(inference or BTVCInference(), **overrides).resolved(panel.n_shops)
    design, scales = prepare_design(panel, spec)
    spec = dataclasses.replace(
        spec, knots=spec.resolved_knots(design.n_train, len(design.coef_knots), len(design.media)))
    media, controls = scaled_inputs(panel, design, scales)
    mask = panel.mask & panel.target_observed
    y = np.where(mask, panel.values[..., -1], 0.0) / scales.target[:, None]
    runner = run_nuts if inf.method == "nuts" else run_svi
    key = jax.random.PRNGKey(seed)
    t0 = time.perf_counter()
    if inf.shop_mode == "joint" or panel.n_shops == 1:
        data = design.data(design.dates, media, controls, mask)
        samples, stats = runner(data, jnp.asarray(y), spec, design.l_max, inf, key, progress)
    else:
        from causalmmm_ppl._progress import progress as progress_bar

        parts = []
        for s in progress_bar(range(panel.n_shops), desc="btvc shops", disable=not progress):
            data = design.data(design.dates, media[s:s + 1], controls[s:s + 1], mask[s:s + 1])
            parts.append(runner(data, jnp.asarray(y[s:s + 1]), spec, design.l_max, inf,
                                jax.random.fold_in(key, s), False))
        samples, stats = merge_shops(parts)
    wall = time.perf_counter() - t0
    return BTVCFit(spec=spec, inference=inf, design=design, scales=scales, media=media, controls=controls,
                   y=y, mask=mask, row_mask=panel.mask.copy(), samples=samples, sample_stats=stats, seed=seed,
                   wall_time_s=wall)


# ------------------------------------------------------------------------------------------------- results
def _flat(samples: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {k: np.asarray(v).reshape((-1,) + np.shape(v)[2:]) for k, v in samples.items()}


@dataclass
class _PlanGrid:
    """BTVC inputs over the stored history followed by a plan's days (``media``, ``controls``: (shop, day, k)), and
    for every training shop its row in the plan (``order``, -1 when absent; ``have``: present)."""

    dates: pd.DatetimeIndex
    media: np.ndarray
    controls: np.ndarray
    order: list[int]

    @property
    def have(self) -> np.ndarray:
        return np.asarray(self.order) >= 0


@dataclass
class BTVCFit:
    """A fitted BTVC model: posterior draws plus the design to recompute paths and forecasts.

    Attributes
    ----------
    spec, inference
        The settings used.
    design, scales
        Grid, knots and per-shop scales (see :class:`BTVCDesign`, :class:`BTVCScales`).
    media : (shop, time, channel), controls : (shop, time, control), y : (shop, time)
        Scaled training inputs (``y`` is 0 where unobserved).
    mask : (shop, time) bool
        Steps in the likelihood (target observed). ``row_mask``: steps where the shop has a row.
    samples
        Latent draws, each ``(chain, draw, *site dims)`` (see :data:`causalmmm_ppl.models.btvc.SITE_DIMS`).
    sample_stats
        NUTS: ``diverging``, ``energy``, ``tree_size``, ``acceptance_rate``, ``lp``, each ``(chain, draw)``;
        SVI: ``svi_loss`` ``(step,)``.
    seed, wall_time_s
        The seed, and the inference wall time (compilation included).
    """

    spec: BTVCSpec
    inference: BTVCInference
    design: BTVCDesign
    scales: BTVCScales
    media: np.ndarray
    controls: np.ndarray
    y: np.ndarray
    mask: np.ndarray
    row_mask: np.ndarray
    samples: dict[str, np.ndarray]
    sample_stats: dict[str, np.ndarray]
    seed: int = 0
    wall_time_s: float = math.nan
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    # ------------------------------------------------------------------------------------------ basics
    @property
    def method(self) -> str:
        return self.inference.method

    @property
    def n_chains(self) -> int:
        return next(iter(self.samples.values())).shape[0]

    @property
    def n_draws(self) -> int:
        return next(iter(self.samples.values())).shape[1]

    def _grouped(self, a: np.ndarray) -> np.ndarray:
        return a.reshape((self.n_chains, self.n_draws) + a.shape[1:])

    def training_data(self) -> BTVCData:
        return self.design.data(self.design.dates, self.media, self.controls, self.mask)

    # ------------------------------------------------------------------------------------------ paths
    def paths(self) -> dict[str, np.ndarray]:
        """Derived paths on the training grid, each ``(chain, draw, shop, time[, channel|control])``.

        ``level``, ``seasonality``, ``beta`` and ``saturation`` are on the per-shop scale (``beta[t]`` is a
        channel's contribution at mean spend with ``hill_at_mean``, else at full saturation, in units of the
        shop's mean target); ``contribution``,
        ``control_contribution`` and ``mu`` are in the target's original units. Also ``level_knots`` and
        ``coef_knots``.
        """
        if "paths" not in self._cache:
            data = self.training_data()

            def one(q: dict[str, jax.Array]) -> dict[str, jax.Array]:
                q = knot_values(q, self.spec.level_anchor)
                out = self._draw_paths(q, data)
                out["level_knots"], out["coef_knots"] = q["level_knots"], q["coef_knots"]
                return out

            raw = map_draws(one, _flat(self.samples))
            out = {k: self._grouped(np.asarray(v)) for k, v in raw.items()}
            ys = self.scales.target[:, None]
            out["contribution"] = out["contribution"] * ys[..., None]
            out["control_contribution"] = out["control_contribution"] * ys[..., None]
            out["mu"] = out["mu"] * ys
            self._cache["paths"] = out
        return self._cache["paths"]

    def log_likelihood(self) -> np.ndarray:
        """Pointwise log-likelihood of the target in original units: ``(chain, draw, shop, time)``.

        NaN where the target was not observed (not in the likelihood).
        """
        if "loglik" not in self._cache:
            ll = self._scaled_log_likelihood(self.training_data(), self.y) - np.log(self.scales.target)[:, None]
            self._cache["loglik"] = np.where(self.mask, self._grouped(ll), np.nan)
        return self._cache["loglik"]

    def _draw_paths(self, q: dict[str, jax.Array], data: BTVCData) -> dict[str, jax.Array]:
        """The model's deterministic paths (:func:`~causalmmm_ppl.models.btvc.btvc_paths`) on ``data``'s grid for
        one draw ``q`` with its knot values."""
        spec = self.spec
        return btvc_paths(q, data, l_max=self.design.l_max, normalize=spec.adstock_normalize,
                          hill_at_mean=spec.hill_at_mean, coef_at_average=spec.coef_at_average)

    def _scaled_log_likelihood(self, data: BTVCData, y: np.ndarray, start: int = 0) -> np.ndarray:
        """Each draw's log density of ``y: (shop, time)`` (per-shop scale) at its mean on ``data``'s grid from step
        ``start`` on: ``(draw, shop, time)``, draws flattened over chains."""
        y, df = jnp.asarray(y), self.spec.likelihood_df

        def one(q: dict[str, jax.Array]) -> jax.Array:
            mu = self._draw_paths(knot_values(q, self.spec.level_anchor), data)["mu"]
            return pointwise_log_likelihood(q, mu[:, start:], y, df)

        return np.asarray(map_draws(one, _flat(self.samples)))

    def _predict(self, data: BTVCData, key: jax.Array) -> np.ndarray:
        """Draws of the target (scaled) on ``data``'s grid: ``(chain, draw, shop, time)`` (obs=None)."""
        fn = self.__dict__.get("_predict_fn")
        if fn is None:  # compiled once per fit (and again per new grid shape), reused by every scenario
            from numpyro.infer import Predictive

            model = partial(btvc_model, spec=self.spec, l_max=self.design.l_max)
            pred = Predictive(model, posterior_samples=_flat(self.samples), return_sites=["y"], batch_ndims=1)
            fn = self.__dict__["_predict_fn"] = jax.jit(lambda k, d: pred(k, d, None)["y"])
        return self._grouped(np.asarray(fn(key, data)))

    def posterior_predictive(self, seed: int | None = None) -> np.ndarray:
        """Replicated target on the training grid in original units: ``(chain, draw, shop, time)``."""
        key = jax.random.PRNGKey(self.seed + 1 if seed is None else seed)
        return self._predict(self.training_data(), key) * self.scales.target[:, None]

    def observed_target(self) -> np.ndarray:
        """The training target in original units, NaN where unobserved: ``(shop, time)``."""
        return np.where(self.mask, self.y * self.scales.target[:, None], np.nan)

    # ------------------------------------------------------------------------------------------ tables
    def contributions(self, interval: float = 0.9) -> pd.DataFrame:
        """Each channel's contribution to the target, per shop and training day, with a central interval.

        Returns
        -------
        pandas.DataFrame
            Columns ``shop, date, channel, mean, lower, upper`` (original target units); media channels, then
            controls; rows for the days each shop has data.
        """
        from causalmmm_ppl.inference.effects import contribution_table

        p = self.paths()
        contrib = np.concatenate([p["contribution"], p["control_contribution"]], axis=-1)
        names = list(self.design.media) + list(self.design.controls)
        flat = contrib.reshape((-1,) + contrib.shape[2:])  # (draw, shop, time, channel)
        return contribution_table(flat, self.design.shops, self.design.dates, names, interval, self.row_mask)

    def contribution_shares(self, interval: float = 0.9) -> pd.DataFrame:
        """Each channel's total contribution over the training days as a share of the total observed target.

        Returns
        -------
        pandas.DataFrame
            Columns ``shop, channel, mean, lower, upper`` (shares, e.g. 0.29).
        """
        p = self.paths()
        contrib = np.concatenate([p["contribution"], p["control_contribution"]], axis=-1)
        names = list(self.design.media) + list(self.design.controls)
        m = self.mask[None, None, :, :, None]
        totals = np.where(m, contrib, 0.0).sum(3)  # (chain, draw, shop, channel)
        y_total = np.nansum(self.observed_target(), axis=1)  # (shop,)
        share = (totals / y_total[:, None]).reshape((-1,) + totals.shape[2:])
        lo, hi = np.quantile(share, [(1 - interval) / 2, (1 + interval) / 2], axis=0)
        rows = []
        for s, shop in enumerate(self.design.shops):
            for k, name in enumerate(names):
                rows.append({"shop": shop, "channel": name, "mean": share[:, s, k].mean(), "lower": lo[s, k],
                             "upper": hi[s, k]})
        return pd.DataFrame(rows)

    def forecast(self, history: Panel | None, plan: Panel, *, interval: float = 0.9,
                 seed: int | None = None, progress: bool = False) -> pd.DataFrame:
        """Forecast the target on the days of ``plan`` after the training end, given their channel values.

        Parameters
        ----------
        history
            Not used: BTVC's history is its stored training data, which the plan must continue (the argument keeps
            the call of :class:`~causalmmm_ppl.inference.mmm_fit.MMMFit`).
        plan
            A panel with the training shops (any order, extra shops are an error) and the media and control
            columns; its days after the last training day, which must continue the training grid, are forecast
            (it may also hold the training days, e.g. the full panel of a holdout run). Adstock runs over the
            stored history followed by the plan.
        interval
            Central interval mass (0.9: the 5% and 95% quantiles of the posterior predictive).
        seed
            Seed of the predictive draws (default: the fit's seed + 2).
        progress
            Not used: the forecast is one vectorised pass over the draws (the argument keeps the call of
            :class:`~causalmmm_ppl.inference.mmm_fit.MMMFit`).

        Returns
        -------
        pandas.DataFrame
            Columns ``shop, date, node, observed, mean, lower, upper`` in original units; ``observed`` is NaN where
            the plan has no target value.
        """
        d = self.design
        plan, grid = self._plan_grid(plan)
        flat = self.forecast_samples(plan, seed=seed)
        order, have = grid.order, grid.have
        lo, hi = np.quantile(flat, [(1 - interval) / 2, (1 + interval) / 2], axis=0)
        mean = flat.mean(0)
        rows = []
        for s, shop in enumerate(d.shops):
            if not have[s]:
                continue
            ps = order[s]
            obs = np.where(plan.target_observed[ps], plan.values[ps, :, -1], np.nan)
            keep = plan.mask[ps]
            rows.append(pd.DataFrame({"shop": shop, "date": plan.dates[keep], "node": d.target,
                                      "observed": obs[keep], "mean": mean[s, keep], "lower": lo[s, keep],
                                      "upper": hi[s, keep]}))
        return pd.concat(rows, ignore_index=True)

    def forecast_samples(self, plan: Panel, *, seed: int | None = None) -> np.ndarray:
        """Predictive draws of the target in original units over the plan's days after the training end (see
        :meth:`forecast`): ``(draw, shop, day)``, shops in the training order (a shop absent from the plan gets the
        draws of the plan's first shop's inputs; :meth:`forecast` leaves it out)."""
        _, grid = self._plan_grid(plan)
        draws = self._plan_draws(grid, grid.media, jax.random.PRNGKey(self.seed + 2 if seed is None else seed))
        return draws.reshape((-1,) + draws.shape[2:])

    @property
    def training_end(self) -> pd.Timestamp:
        """The last period of the training data."""
        return self.design.dates[-1]

    def predictive_log_density(self, history: Panel | None, plan: Panel, *, num_draws: int | None = None,
                               seed: int | None = None, progress: bool = False) -> np.ndarray:
        """Log density of the plan's observed target values under each posterior draw, in original units:
        ``(draw, plan shop, day)`` over the plan's days after the training end, NaN where the plan has no target.

        Given a draw, BTVC's target on a future day depends on the inputs alone (its level and coefficients are
        functions of the parameters and the calendar), so the draw's density of an h-step-ahead value is the
        likelihood at that day's mean; the mean of its exponential over draws is the posterior predictive density
        (:func:`causalmmm_ppl.evaluation.compare.compare_forecasts` takes it). ``history``, ``num_draws``, ``seed``
        and ``progress`` keep the call of :class:`~causalmmm_ppl.inference.mmm_fit.MMMFit` (every stored draw is
        used; nothing is sampled).
        """
        d = self.design
        plan, grid = self._plan_grid(plan)
        rows = [d.shops.index(s) for s in plan.shops]
        data = d.data(grid.dates, grid.media, grid.controls, np.zeros(grid.media.shape[:2], bool))
        scale = self.scales.target[rows][:, None]
        observed = plan.target_observed & plan.mask
        y = np.zeros((len(d.shops), plan.n_time))
        y[rows] = np.where(observed, plan.values[..., -1], 0.0) / scale
        ll = self._scaled_log_likelihood(data, y, start=d.n_train).astype(np.float64)[:, rows] - np.log(scale)
        return np.where(observed[None], ll, np.nan)

    def _plan_grid(self, plan: Panel) -> tuple[Panel, "_PlanGrid"]:
        """The plan's days after the training end, checked, and the inputs over the stored history followed by them.

        Raises InputError when the plan does not continue the training grid, lacks a column, or has an unknown shop.
        """
        d = self.design
        future = np.flatnonzero(plan.dates > d.dates[-1])
        if len(future) == 0:
            raise InputError(f"btvc forecast: no dates after the training end {d.dates[-1].date()}")
        plan = plan.select_time(int(future[0]), plan.n_time)
        expected = pd.date_range(d.dates[-1], periods=plan.n_time + 1, freq=plan.freq or d.freq)[1:]
        if not plan.dates.equals(expected):
            raise InputError(f"btvc forecast: the plan must continue the training grid from "
                             f"{expected[0].date()} every {d.step_days:g} days")
        missing = [c for c in d.media if c not in plan.nodes]
        if missing:
            raise InputError(f"btvc forecast: the plan has no column {missing[0]!r}")
        missing = [c for c in d.controls if c not in plan.control_names and c not in plan.nodes]
        if missing:
            raise InputError(f"btvc forecast: the plan has no control column {missing[0]!r} (--controls); the "
                             f"model's controls must be known on the plan's days")
        unknown = [s for s in plan.shops if s not in d.shops]
        if unknown:
            raise InputError(f"btvc forecast: shop {unknown[0]!r} was not in the training data")
        order = [plan.shops.index(s) if s in plan.shops else -1 for s in d.shops]
        plan_media, plan_controls = scaled_inputs(plan.select_shops([max(o, 0) for o in order]), d, self.scales)
        grid = _PlanGrid(dates=d.dates.append(plan.dates), media=np.concatenate([self.media, plan_media], axis=1),
                         controls=np.concatenate([self.controls, plan_controls], axis=1), order=order)
        return plan, grid

    def _plan_draws(self, grid: "_PlanGrid", media: np.ndarray, key: jax.Array) -> np.ndarray:
        """Predictive draws of the target over the plan's days in original units: ``(chain, draw, shop, day)``."""
        d = self.design
        mask = np.zeros(media.shape[:2], bool)
        draws = self._predict(d.data(grid.dates, media, grid.controls, mask), key)[:, :, :, d.n_train:]
        return draws * self.scales.target[:, None]

    def _plan_contributions(self, grid: "_PlanGrid", media: np.ndarray) -> np.ndarray:
        """Each channel's contribution over the plan's days in original units: ``(draw, shop, day, channel)`` (draws
        flattened over chains). A channel's contribution depends on its own spend alone (the model is additive),
        and the saturation's training average on the training days alone."""
        d, spec = self.design, self.spec
        data = d.data(grid.dates, media, grid.controls, np.zeros(media.shape[:2], bool))
        mapped = self.__dict__.get("_contribution_map")
        if mapped is None:  # compiled once per fit (and again per new grid shape), reused by every scenario

            def one(q: dict[str, jax.Array], data: BTVCData) -> jax.Array:
                return self._draw_paths(knot_values(q, spec.level_anchor), data)["contribution"]

            mapped = self.__dict__["_contribution_map"] = draw_mapper(one, 1)
        out = np.asarray(map_draws(mapped, _flat(self.samples), args=(data,)))[:, :, d.n_train:]
        return out * self.scales.target[:, None, None]

    #: BTVC's level and coefficients are indexed by its training days: plans follow them (see ``MMMFit``)
    fixed_history = True

    @property
    def channel_names(self) -> list[str]:
        """The media channels, in the design's order."""
        return list(self.design.media)

    def effect_samples(
        self,
        history: Panel | None,
        plan: Panel,
        scenarios: list[tuple[str, str, float]],
        *,
        num_draws: int | None = None,
        seed: int | None = None,
        progress: bool = False,
        by_step: bool = False,
    ) -> tuple[np.ndarray, dict[tuple[str, str, float], np.ndarray]]:
        """The target summed over the plan's days after the training end, at the plan and under each scenario, with
        the same predictive noise on every path (the same call as
        :meth:`~causalmmm_ppl.inference.causalmmm_results.CausalMMMFit.effect_samples`).

        Parameters
        ----------
        history : not used: BTVC's history is its stored training data, which the plan must continue
        plan : the plan's shops (training shops) and channel values
        scenarios : ``(kind, channel, spend multiplier)``; the model is additive, so the kind does not matter, and a
            scenario's path is the factual one minus what the channel's contribution loses: each multiplier's
            contributions are computed once for every channel together
        num_draws : the first ``num_draws`` posterior draws (default: all of the run's)
        seed : seed of the predictive noise (default: the fit's seed + 2)
        progress : a tqdm bar over the scenarios
        by_step : keep the plan's days apart instead of summing them

        Returns
        -------
        factual : (draw, shop) in the plan's shop order, (draw, shop, step) with ``by_step``; counterfactual :
        ``{scenario: (draw, shop)}``, the same
        """
        channels = self.channel_names
        unknown = sorted({c for _, c, _ in scenarios} - set(channels))
        if unknown:
            raise InputError(f"unknown channel(s) {', '.join(map(repr, unknown))}; the run's channels are "
                             f"{', '.join(channels)}")
        plan, grid = self._plan_grid(plan)
        d = self.design
        key = jax.random.PRNGKey(self.seed + 2 if seed is None else seed)
        rows = [d.shops.index(s) for s in plan.shops]  # the plan's shops in the training grid
        n = num_draws

        def window_sum(draws: np.ndarray) -> np.ndarray:  # (draw, shop, day) -> (draw, plan shop) over its rows
            kept = np.where(plan.mask[None], draws[:n, rows], 0.0)
            return kept if by_step else kept.sum(-1)

        from causalmmm_ppl._progress import progress as progress_bar

        factual = self._plan_draws(grid, grid.media, key)
        factual = window_sum(factual.reshape((-1,) + factual.shape[2:]))
        by_multiplier: dict[float, list[tuple[str, str]]] = {}
        for kind, c, m in scenarios:
            by_multiplier.setdefault(float(m), []).append((kind, c))
        base = self._plan_contributions(grid, grid.media) if scenarios else None
        counter = {}
        for mult, which in progress_bar(by_multiplier.items(), desc="spend multipliers", leave=False,
                                        disable=not progress):
            media = grid.media.copy()
            media[:, d.n_train:] *= mult
            lost = base - self._plan_contributions(grid, media)  # (draw, shop, day, channel)
            for kind, c in which:
                counter[(kind, c, mult)] = factual - window_sum(lost[..., channels.index(c)])
        return factual, counter

    def effects(self, history: Panel | None, plan: Panel, *, interval: float = 0.9, num_draws: int | None = None,
                seed: int | None = None, progress: bool = False) -> pd.DataFrame:
        """Every shop's and channel's effect on the target over the plan's days after the training end: the target
        summed over those days minus the same sum with the channel's planned spend at 0 there, under the posterior,
        with the same predictive noise on both paths (``causalmmm effects``' table; arguments as in
        :meth:`effect_samples`). The model is additive, so the ``total``, ``held`` and ``direct`` rows agree.

        Returns
        -------
        DataFrame ``shop, channel, kind, mean, lower, upper, spend, roas, mroas`` in the plan's shop order (see
        :func:`causalmmm_ppl.inference.effects.effects_table`)
        """
        return self.effect_draws(history, plan, num_draws=num_draws, seed=seed, progress=progress).table(interval)

    def effect_draws(self, history: Panel | None, plan: Panel, *, num_draws: int | None = None,
                     seed: int | None = None, progress: bool = False):
        """The draws behind :meth:`effects` (arguments as there), before they are summarised
        (:class:`~causalmmm_ppl.inference.effects.EffectDraws`)."""
        from causalmmm_ppl.inference.effects import EFFECT_KINDS, EffectDraws, effect_scenarios

        channels = self.channel_names
        kinds = EFFECT_KINDS
        # one path per channel and multiplier: the kinds of an additive model share it
        base = effect_scenarios(channels, ("total",))
        factual, counter = self.effect_samples(history, plan, base, num_draws=num_draws, seed=seed, progress=progress)
        counter = {(kind, c, m): counter[("total", c, m)] for _, c, m in base for kind in kinds}
        window, _ = self._plan_grid(plan)
        spend = window.values[..., [window.nodes.index(c) for c in channels]].sum(1)  # (shop, channel)
        return EffectDraws.from_samples(factual, counter, spend, plan.shops, channels, kinds)

    def response_curves(self, history: Panel | None, plan: Panel, *, interval: float = 0.9,
                        num_draws: int | None = None, seed: int | None = None, progress: bool = False) -> pd.DataFrame:
        """The target summed over the plan's window against 0, 0.25, …, 2 × each channel's planned spend, with
        intervals (see :func:`causalmmm_ppl.inference.effects.response_curves`)."""
        from causalmmm_ppl.inference.effects import response_curves

        return response_curves(self, history, plan, interval=interval, num_draws=num_draws, seed=seed,
                               progress=progress)

    # ------------------------------------------------------------------------------------------ export
    def to_inference_data(self, *, include_paths: bool = True, posterior_predictive: bool = True) -> Any:
        """An ArviZ ``InferenceData`` (see :func:`causalmmm_ppl.evaluation.inference_data.btvc_to_inference_data`)."""
        from causalmmm_ppl.evaluation.inference_data import btvc_to_inference_data

        return btvc_to_inference_data(self, include_paths=include_paths,
                                      posterior_predictive=posterior_predictive)

    def save(self, directory: str | Path) -> None:
        """Write everything needed to reload and forecast into ``directory`` (created if missing).

        Files: ``btvc.json`` (spec, inference settings, design, seed, wall time), ``scaler.json``,
        ``inputs.npz`` (scaled training inputs and masks), ``posterior.npz`` (latent draws, ``(chain, draw, ...)``),
        ``sample_stats.npz``.
        """
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        meta = {"model": "btvc", "format": RUN_FORMAT, "spec": self.spec.to_dict(),
                "inference": self.inference.to_dict(), "design": self.design.to_dict(), "seed": self.seed,
                "wall_time_s": self.wall_time_s}
        (out / "btvc.json").write_text(json.dumps(meta, indent=2))
        (out / "scaler.json").write_text(json.dumps(self.scales.to_dict(), indent=2))
        np.savez_compressed(out / "inputs.npz", media=self.media, controls=self.controls, y=self.y,
                            mask=self.mask, row_mask=self.row_mask)
        np.savez_compressed(out / "posterior.npz", **self.samples)
        np.savez_compressed(out / "sample_stats.npz", **self.sample_stats)

    @classmethod
    def load(cls, directory: str | Path) -> "BTVCFit":
        """Read a fit written by :meth:`save`."""
        d = Path(directory)
        if not (d / "btvc.json").is_file():
            raise InputError(f"{d}: not a BTVC model directory (no btvc.json)")
        meta = json.loads((d / "btvc.json").read_text())
        run_format(meta, RUN_FORMAT, d / "btvc.json")
        scales = BTVCScales.from_dict(json.loads((d / "scaler.json").read_text()))
        with np.load(d / "inputs.npz", allow_pickle=False) as z:
            inputs = {k: z[k] for k in z.files}
        with np.load(d / "posterior.npz", allow_pickle=False) as z:
            # ``coef_knots_raw``: the non-centred coefficient knots' standard normals in fits saved with the
            # hand-written non-centring, the draws of ``coef_log_knots_decentered``
            samples = {("coef_log_knots_decentered" if k == "coef_knots_raw" else k): z[k] for k in z.files}
        with np.load(d / "sample_stats.npz", allow_pickle=False) as z:
            stats = {k: z[k] for k in z.files}
        # fits saved before these settings used these values
        spec = {"coef_at_average": False, "level_anchor": "first", "coef_knot_prior": "halfnormal", **meta["spec"]}
        spec.pop("controls", None)  # fits saved when controls were a setting: the design names them
        return cls(spec=BTVCSpec.from_dict(spec), inference=BTVCInference.from_dict(meta["inference"]),
                   design=BTVCDesign.from_dict(meta["design"]), scales=scales, media=inputs["media"],
                   controls=inputs["controls"], y=inputs["y"], mask=inputs["mask"].astype(bool),
                   row_mask=inputs["row_mask"].astype(bool), samples=samples, sample_stats=stats,
                   seed=int(meta["seed"]), wall_time_s=float(meta["wall_time_s"]))
