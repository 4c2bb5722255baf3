"""Counterfactual channel effects from CausalMMM's rollouts, with common random numbers.

For a window of future days (a spend plan) and a channel c, the effect of c is the target summed over the window on
the factual path (every channel at its plan) minus the same sum on the counterfactual path where c's planned spend
is multiplied by ``m`` (0: c switched off). Both paths use the same posterior draws (graph, response curves,
weekly profiles) and the same noise (the RNG is reset to one seed before each rollout, and every rollout samples the
same sites in the same order), so a difference is the channel's effect, not Monte-Carlo noise. Three kinds:

- ``total``: the other channels respond to c through the learned channel → channel edges, their own exogenous part
  held (:class:`~causalmmm_ppl.models.causalmmm.ChannelResponse`); mediators and the target respond;
- ``held``: every other channel stays at its plan; mediators and the target respond;
- ``direct``: as ``held``, and the mediators stay at their factual paths (``poutine.do`` on ``mediators_<k>``):
  only what flows along c → target.

Interventions are ``poutine.do`` on the rollout's ``channels_<k>`` (and ``mediators_<k>``) sites.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyro
import torch
from pyro import poutine

from causalmmm_ppl.errors import InputError
from causalmmm_ppl.inference.forecast import (
    guide_draws, history_start, plan_interventions, rollout_trace, trace_paths,
)
from causalmmm_ppl.inference.guide import AmortizedGuide
from causalmmm_ppl.models.causalmmm import CausalMMM, ChannelResponse, ModelBatch

EFFECT_KINDS = ("total", "held", "direct")
#: Spend multiplier of the marginal effect (mROAS): the effect of +10% spend, per unit of the extra spend.
MARGINAL_STEP = 0.1


def _rollout(model: CausalMMM, latents: dict, history: ModelBatch, calendar: torch.Tensor,
             interventions: dict, respond: ChannelResponse | None, num_draws: int, seed: int,
             cache: dict, stepped: torch.Tensor | None = None) -> poutine.Trace:
    """One rollout from the common seed (every scenario samples the same sites in the same order)."""
    pyro.set_rng_seed(seed)
    return rollout_trace(model, latents, history, calendar, interventions, num_draws, respond, cache, stepped)


@torch.no_grad()
def effect_paths(
    model: CausalMMM,
    guide: AmortizedGuide,
    history: ModelBatch,
    plan: torch.Tensor,
    calendar_future: torch.Tensor,
    num_draws: int,
    scenarios: Sequence[tuple[str, int, float]],
    *,
    seed: int = 0,
    graph: torch.Tensor | None = None,
    progress: bool = False,
    history_chunk: int | None = None,
) -> tuple[torch.Tensor, dict[tuple[str, int, float], torch.Tensor]]:
    """Factual and counterfactual rollouts of every node over a plan's window.

    Parameters
    ----------
    model, guide : a fitted model and guide
    history : the days before the window, ``x: (shop, time, node)`` scaled
    plan : (horizon, shop, channel) planned channel values, scaled
    calendar_future : (horizon, n_calendar), or (horizon, shop, n_calendar + control) with controls
    num_draws : posterior draws
    scenarios : ``(kind, channel position among the channels, spend multiplier)`` of each counterfactual; kind one of
        :data:`EFFECT_KINDS`, multiplier 0 switches the channel off
    seed : the one seed of every rollout (common random numbers)
    graph : optional (shop, node, node) graph imposed with ``poutine.do`` (e.g. channel → target edges only)
    progress : a tqdm bar over the scenarios
    history_chunk : draws per chunk of the pass over the history (whose memory grows with its length); the
        rollouts then run over all ``num_draws`` at once. None: all at once

    Returns
    -------
    factual : (draw, horizon, shop, node) scaled values
    counterfactual : ``{scenario: (draw, horizon, shop, node)}``
    """
    unknown = sorted({kind for kind, _, _ in scenarios} - set(EFFECT_KINDS))
    if unknown:
        raise InputError(f"unknown effect kind(s) {', '.join(unknown)}; expected {', '.join(EFFECT_KINDS)}")
    pyro.set_rng_seed(seed)
    latents = guide_draws(guide, history, num_draws)
    horizon = plan.shape[0]
    base = plan_interventions(plan, num_draws, graph)
    # the pass over the history, shared by every rollout below (same history, same draws)
    cache = history_start(model, latents, history, calendar_future, num_draws, history_chunk or num_draws)
    factual_trace = _rollout(model, latents, history, calendar_future, base, None, num_draws, seed, cache)
    factual = trace_paths(factual_trace)
    hurdle = model.hurdle_mask[model.channel_mask]
    loc = torch.stack([factual_trace.nodes[f"channel_loc_{k}"]["value"] for k in range(horizon)], dim=-3)
    residual = ChannelResponse.abduct(factual[..., model.channel_mask], loc, hurdle)  # (draw, horizon, shop, channel)
    mediators = {
        f"mediators_{k}": factual[:, k][..., model.mediator_mask] for k in range(horizon)
    } if bool(model.mediator_mask.any()) else {}
    n_channels = int(model.channel_mask.sum())
    out = {}
    from causalmmm_ppl._progress import progress as progress_bar

    for kind, c, m in progress_bar(scenarios, desc="scenarios", unit="rollout", leave=False, disable=not progress):
        changed = plan.clone()
        changed[..., c] = changed[..., c] * float(m)
        sites = dict(base, **plan_interventions(changed, num_draws))
        respond, stepped = None, ~model.channel_mask  # held: the plan sets every channel
        if kind == "total":
            mask = torch.ones(n_channels, dtype=torch.bool)
            mask[c] = False
            respond, stepped = ChannelResponse(residual, mask), None
        if kind == "direct":
            sites.update(mediators)
            stepped = ~(model.channel_mask | model.mediator_mask)
        out[(kind, c, float(m))] = trace_paths(
            _rollout(model, latents, history, calendar_future, sites, respond, num_draws, seed, cache, stepped)
        )
    return factual, out


#: The shop name of the portfolio rows (draws summed over shops).
PORTFOLIO = "ALL"


def effects_table(
    effect: dict[str, np.ndarray], spend: np.ndarray, marginal: np.ndarray | None, shops: Sequence[str],
    channels: Sequence[str], interval: float,
) -> pd.DataFrame:
    """Summarise effect draws into ``shop, channel, kind, mean, lower, upper, spend, roas, mroas``, one row per given
    shop, channel and kind (portfolio rows: :meth:`EffectDraws.table`).

    Parameters
    ----------
    effect : ``{kind: (draw, shop, channel)}`` effect on the target summed over the window (target units)
    spend : (shop, channel) the channels' planned spend in the window
    marginal : (draw, shop, channel) the ``total`` effect of +:data:`MARGINAL_STEP` spend, or None
    shops, channels : names
    interval : central credible interval
    """
    if not 0.0 < interval < 1.0:
        raise InputError(f"--interval must be in (0, 1), got {interval}")
    q = [(1 - interval) / 2, (1 + interval) / 2]
    names = list(shops)
    with np.errstate(divide="ignore", invalid="ignore"):
        mroas = None
        if marginal is not None:
            mroas = np.where(spend > 0, marginal.mean(0) / (MARGINAL_STEP * spend), np.nan)
        rows = []
        for kind, d in effect.items():  # d: (draw, shop, channel)
            mean = d.mean(0)
            lo, hi = np.quantile(d, q, axis=0)
            si, ci = np.meshgrid(np.arange(len(names)), np.arange(len(channels)), indexing="ij")
            rows.append(pd.DataFrame({
                "shop": np.asarray(names, dtype=object)[si.ravel()],
                "channel": np.asarray(channels, dtype=object)[ci.ravel()],
                "kind": kind,
                "mean": mean.ravel(),
                "lower": lo.ravel(),
                "upper": hi.ravel(),
                "spend": spend.ravel(),
                "roas": np.where(spend > 0, mean / spend, np.nan).ravel(),
                "mroas": (mroas if mroas is not None else np.full(mean.shape, np.nan)).ravel()
                if kind == "total" else np.full(mean.size, np.nan),
            }))
    table = pd.concat(rows, ignore_index=True)
    order = {"shop": {s: i for i, s in enumerate(names)}, "channel": {c: i for i, c in enumerate(channels)},
             "kind": {k: i for i, k in enumerate(EFFECT_KINDS)}}
    return table.sort_values(["shop", "channel", "kind"], key=lambda c: c.map(order[c.name]),
                             kind="stable").reset_index(drop=True)


def effect_scenarios(channels: Sequence[str], kinds: Sequence[str] = EFFECT_KINDS) -> list[tuple[str, str, float]]:
    """The scenarios of an effects table: every channel off in every kind, and +:data:`MARGINAL_STEP` of its spend
    (``total``) for the mROAS."""
    scenarios = [(kind, c, 0.0) for c in channels for kind in kinds]
    if "total" in kinds:
        scenarios += [("total", c, 1.0 + MARGINAL_STEP) for c in channels]
    return scenarios


@dataclass(frozen=True)
class EffectDraws:
    """Posterior draws of every shop's and channel's effect over a window, before they are summarised.

    Attributes
    ----------
    effect : ``{kind: (draw, shop, channel)}`` the target summed over the window minus the same with the channel off
    marginal : (draw, shop, channel) the ``total`` effect of +:data:`MARGINAL_STEP` spend, or None
    spend : (shop, channel) the channels' planned spend in the window
    shops, channels : names
    """

    effect: dict[str, np.ndarray]
    marginal: np.ndarray | None
    spend: np.ndarray
    shops: tuple[str, ...]
    channels: tuple[str, ...]

    @classmethod
    def from_samples(
        cls, factual: np.ndarray, counter: dict[tuple[str, str, float], np.ndarray], spend: np.ndarray,
        shops: Sequence[str], channels: Sequence[str], kinds: Sequence[str],
    ) -> "EffectDraws":
        """From the draws of :func:`effect_scenarios`' scenarios (any model's ``effect_samples``): ``factual``
        (draw, shop), the target summed over the window at the plan; ``counter`` ``{(kind, channel, multiplier):
        (draw, shop)}``, the same under each scenario."""
        effect = {kind: np.stack([factual - counter[(kind, c, 0.0)] for c in channels], axis=-1) for kind in kinds}
        marginal = None
        if "total" in kinds:
            marginal = np.stack([counter[("total", c, 1.0 + MARGINAL_STEP)] - factual for c in channels], axis=-1)
        return cls(effect, marginal, np.asarray(spend, dtype=float), tuple(shops), tuple(channels))

    def table(self, interval: float, portfolio: bool = True) -> pd.DataFrame:
        """The effects table (:func:`effects_table`); ``portfolio``: with the ``shop = "ALL"`` rows (of
        :meth:`portfolio`) last."""
        table = effects_table(self.effect, self.spend, self.marginal, self.shops, self.channels, interval)
        if not portfolio:
            return table
        return pd.concat([table, self.portfolio().table(interval, portfolio=False)], ignore_index=True)

    def portfolio(self) -> "EffectDraws":
        """The draws summed over shops: one shop, ``"ALL"``."""
        return EffectDraws({k: v.sum(1, keepdims=True) for k, v in self.effect.items()},
                           None if self.marginal is None else self.marginal.sum(1, keepdims=True),
                           self.spend.sum(0, keepdims=True), (PORTFOLIO,), self.channels)

    def __add__(self, other: "EffectDraws") -> "EffectDraws":
        """Draw by draw sums of two sets of the same shops (e.g. the portfolios of two parts of a panel, whose draws
        are independent)."""
        if (self.shops, self.channels, set(self.effect)) != (other.shops, other.channels, set(other.effect)):
            raise ValueError("effect draws of different shops, channels or kinds do not add")
        return EffectDraws({k: v + other.effect[k] for k, v in self.effect.items()},
                           None if self.marginal is None else self.marginal + other.marginal,
                           self.spend + other.spend, self.shops, self.channels)


#: Spend multipliers of a response curve: the channel's planned spend times 0, 0.25, …, 2.
CURVE_MULTIPLIERS = tuple(float(m) for m in np.linspace(0.0, 2.0, 9))


def curve_table(
    factual: np.ndarray, counter: dict[tuple[str, float], np.ndarray], shops: Sequence[str], channels: Sequence[str],
    multipliers: Sequence[float], interval: float,
) -> pd.DataFrame:
    """Summarise response-curve draws into ``shop, channel, multiplier, mean, lower, upper``: the target summed over
    the window with the channel's planned spend times ``multiplier`` (others respond through the graph, ``total``),
    with portfolio rows (``shop = "ALL"``, draws summed over shops).

    Parameters
    ----------
    factual : (draw, shop) the target at the plan (multiplier 1)
    counter : ``{(channel, multiplier): (draw, shop)}`` for every other multiplier
    """
    if not 0.0 < interval < 1.0:
        raise InputError(f"--interval must be in (0, 1), got {interval}")
    q = [(1 - interval) / 2, (1 + interval) / 2]
    names = np.asarray(list(shops) + ["ALL"], dtype=object)
    rows = []
    for c in channels:
        for m in multipliers:
            d = factual if float(m) == 1.0 else counter[(c, float(m))]
            d = np.concatenate([d, d.sum(1, keepdims=True)], axis=1)  # (draw, shop + 1)
            lo, hi = np.quantile(d, q, axis=0)
            rows.append(pd.DataFrame({"shop": names, "channel": c, "multiplier": float(m), "mean": d.mean(0),
                                      "lower": lo, "upper": hi}))
    return pd.concat(rows, ignore_index=True)


def response_curves(
    fit, history, plan, *, multipliers: Sequence[float] = CURVE_MULTIPLIERS, interval: float = 0.9,
    num_draws: int | None = None, seed: int | None = None, progress: bool = False,
) -> pd.DataFrame:
    """Response curves of any fit with ``effect_samples`` and ``channel_names`` (CausalMMM, BTVC): the target summed
    over the plan's window against a multiplier of each channel's planned spend (``total``: the other channels respond
    through the graph where the model has one), with intervals.

    Returns
    -------
    DataFrame ``shop, channel, multiplier, mean, lower, upper`` (see :func:`curve_table`); ``shop = "ALL"`` rows sum
    over shops
    """
    channels = fit.channel_names
    scenarios = [("total", c, float(m)) for c in channels for m in multipliers if float(m) != 1.0]
    factual, counter = fit.effect_samples(history, plan, scenarios, num_draws=num_draws, seed=seed, progress=progress)
    curves = {(c, m): v for (_, c, m), v in counter.items()}
    return curve_table(factual, curves, plan.shops, channels, multipliers, interval)


def contribution_table(
    draws: np.ndarray, shops: Sequence[str], dates: pd.DatetimeIndex, channels: Sequence[str], interval: float,
    present: np.ndarray | None = None,
) -> pd.DataFrame:
    """Summarise per-day contribution draws into ``shop, date, channel, mean, lower, upper``.

    Parameters
    ----------
    draws : (draw, shop, time, channel) each channel's contribution to the target on each day (target units)
    shops, dates, channels : names of the shop, time and channel axes
    interval : central credible interval
    present : (shop, time) bool, the rows to keep (default: all)

    Returns
    -------
    DataFrame sorted by shop and date, the channels of a day in ``channels``' order
    """
    if not 0.0 < interval < 1.0:
        raise InputError(f"--interval must be in (0, 1), got {interval}")
    lo, hi = np.quantile(draws, [(1 - interval) / 2, (1 + interval) / 2], axis=0)
    mean = draws.mean(0)
    keep = np.ones(mean.shape[:2], dtype=bool) if present is None else np.asarray(present, dtype=bool)
    s_idx, t_idx = np.nonzero(keep)
    frames = [pd.DataFrame({
        "shop": np.asarray(shops, dtype=object)[s_idx],
        "date": dates[t_idx],
        "channel": name,
        "mean": mean[s_idx, t_idx, k],
        "lower": lo[s_idx, t_idx, k],
        "upper": hi[s_idx, t_idx, k],
    }) for k, name in enumerate(channels)]
    return pd.concat(frames, ignore_index=True).sort_values(["shop", "date"], kind="stable").reset_index(drop=True)


def contribution_series(
    fit, history, plan, *, kind: str = "total", interval: float = 0.9, num_draws: int | None = None,
    seed: int | None = None, progress: bool = False,
) -> pd.DataFrame:
    """Each channel's contribution to the target on each day of a window, for any fit with ``effect_samples`` and
    ``channel_names`` (CausalMMM, BTVC): the target on that day minus the target on the same day when the channel's
    spend is 0 over the whole window (carryover from before the window stays), with the same draws and noise.

    Parameters
    ----------
    fit : a fitted model; history, plan : as for its ``effects``
    kind : ``total``, ``held`` or ``direct`` (see :data:`EFFECT_KINDS`)

    Returns
    -------
    DataFrame ``shop, date, channel, mean, lower, upper`` over the window's days (a model with a fixed history: the
    plan's days after its training end); summed over days, a channel's rows give its ``effects`` row of that kind
    """
    if kind not in EFFECT_KINDS:
        raise InputError(f"unknown effect kind {kind!r}; expected {', '.join(EFFECT_KINDS)}")
    channels = fit.channel_names
    scenarios = [(kind, c, 0.0) for c in channels]
    factual, counter = fit.effect_samples(history, plan, scenarios, num_draws=num_draws, seed=seed,
                                          progress=progress, by_step=True)
    draws = np.stack([factual - counter[s] for s in scenarios], axis=-1)  # (draw, shop, step, channel)
    return contribution_table(draws, plan.shops, plan.dates[plan.n_time - draws.shape[2]:], channels, interval)
