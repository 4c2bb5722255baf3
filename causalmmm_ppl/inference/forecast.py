"""Posterior draws from the amortized guide, and posterior-predictive rollouts under a spend plan.

A plan is an intervention: the channels' future values are set with ``poutine.do`` on the model's ``channels_<k>``
sites, while mediators and the target are sampled forward with the sampled graph, response curves and noise.
"""

from __future__ import annotations

import pyro
import torch
from pyro import poutine

from causalmmm_ppl.inference.guide import AmortizedGuide
from causalmmm_ppl.models.causalmmm import CausalMMM, ChannelResponse, ModelBatch
from causalmmm_ppl.models.likelihood import Prediction


#: the model's shop-level latent sites, which the guide samples
LATENT_SITES = ("edge_logit", "edge_gain", "edge_beta", "response", "weekly", "switching")


@torch.no_grad()
def guide_draws(guide: AmortizedGuide, batch: ModelBatch, num_draws: int) -> dict[str, torch.Tensor]:
    """Vectorised posterior draws of the latent sites.

    Returns
    -------
    ``{"edge_logit": (draw, shop, edge), "response": (draw, shop, node, 3)}`` and, when the model has them, log edge
    gains ``"edge_gain": (draw, shop, edge)``, log additive effect sizes ``"edge_beta": (draw, shop, additive edge)``,
    weekly profiles ``"weekly": (draw, shop, node, harmonic)`` and on/off
    persistence ``"switching": (draw, shop, switching channel, 2)``
    """
    with pyro.plate("draws", num_draws, dim=-2):
        trace = poutine.trace(guide).get_trace(batch)
    return {name: trace.nodes[name]["value"] for name in LATENT_SITES if name in trace.nodes}


@torch.no_grad()
def forecast_trace(
    model: CausalMMM,
    guide: AmortizedGuide,
    history: ModelBatch,
    plan: torch.Tensor,
    calendar_future: torch.Tensor,
    num_draws: int,
    graph: torch.Tensor | None = None,
    latents: dict[str, torch.Tensor] | None = None,
) -> poutine.Trace:
    """Sample forecast paths: the trace of their rollout, whose paths are :func:`trace_paths` and whose future days'
    sites (``target_<k>``, ...) hold the distribution each day was drawn from.

    Parameters
    ----------
    model, guide : a fitted model and guide
    history : the days before the forecast origin, ``x: (shop, time, node)`` scaled
    plan : (horizon, shop, channel) planned channel values, scaled
    calendar_future : (horizon, n_calendar), or (horizon, shop, n_calendar + control) with controls
    num_draws : posterior draws (each with its own graph, curves and noise path)
    graph : optional (shop, node, node) or (draw, shop, node, node) graph to impose with ``poutine.do`` (e.g. an
        edge cut), instead of the sampled one
    latents : optional draws from :func:`guide_draws` to reuse (common random numbers across scenarios)
    """
    draws = latents if latents is not None else guide_draws(guide, history, num_draws)
    return rollout_trace(model, draws, history, calendar_future, plan_interventions(plan, num_draws, graph),
                         num_draws)


def plan_interventions(plan: torch.Tensor, num_draws: int, graph: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
    """``poutine.do`` data setting the channels to a plan ``(horizon, shop, channel)`` on every future day
    (``channels_<k>`` sites), and the graph when given ((shop, node, node) or (draw, shop, node, node))."""
    out = {f"channels_{k}": plan[k].expand(num_draws, *plan[k].shape) for k in range(plan.shape[0])}
    if graph is not None:
        out["graph"] = graph.expand(num_draws, *graph.shape[-3:]) if graph.ndim == 3 else graph
    return out


def rollout_trace(
    model: CausalMMM, latents: dict[str, torch.Tensor], history: ModelBatch, calendar_future: torch.Tensor,
    interventions: dict[str, torch.Tensor], num_draws: int, respond: ChannelResponse | None = None,
    history_cache: dict | None = None, stepped: torch.Tensor | None = None,
) -> poutine.Trace:
    """The trace of one rollout of ``num_draws`` paths over ``calendar_future``'s days: latent sites conditioned on
    ``latents`` (guide draws), ``interventions`` applied with ``poutine.do``; ``respond``, ``history_cache`` and
    ``stepped`` as in :meth:`~causalmmm_ppl.models.causalmmm.CausalMMM.rollout`. Its paths: :func:`trace_paths`."""
    run = poutine.do(poutine.condition(model.rollout, data=latents), data=interventions)
    with pyro.plate("draws", num_draws, dim=-2):
        return poutine.trace(run).get_trace(history, calendar_future, calendar_future.shape[0], respond, history_cache,
                                            stepped)


@torch.no_grad()
def history_start(
    model: CausalMMM, latents: dict[str, torch.Tensor], history: ModelBatch, calendar_future: torch.Tensor,
    num_draws: int, chunk: int,
) -> dict:
    """The rollouts' shared pass over the history (the ``history_cache`` of
    :meth:`~causalmmm_ppl.models.causalmmm.CausalMMM.rollout`) for every draw of ``latents``, ``chunk`` draws at a
    time: that pass holds the whole history per draw, while a rollout from its end holds only the last days, so the
    rollouts can then run over many more draws at once than the pass itself.

    Returns
    -------
    ``{"start": (prediction of the first future day, recurrent state, recent values, recent additive contributions
    or None)}``, draws × shops flattened
    """
    parts = []
    for k in range(0, num_draws, chunk):
        m = min(chunk, num_draws - k)
        cache: dict = {}
        rollout_trace(model, {name: v[k : k + m] for name, v in latents.items()}, history, calendar_future[:1], {}, m,
                      history_cache=cache)
        parts.append(cache["start"])
    pred, *rest = zip(*parts)
    return {"start": (Prediction.cat(list(pred)), *(None if r[0] is None else torch.cat(r) for r in rest))}


def trace_paths(trace: poutine.Trace) -> torch.Tensor:
    """The paths a rollout trace returned: (draw, horizon, shop, node) scaled values; channels equal the plan."""
    return trace.nodes["_RETURN"]["value"]
