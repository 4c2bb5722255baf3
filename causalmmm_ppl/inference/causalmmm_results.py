"""What a fitted CausalMMM answers (:class:`CausalMMMFit`): edge probabilities and graph templates, forecasts,
counterfactual effects and response curves, posterior draws, InferenceData, and its run directory; the tables those
answers are written as (:func:`edge_table`, :func:`forecast_table`). :func:`~causalmmm_ppl.inference.causalmmm_fit.
fit_causalmmm` makes one; :meth:`CausalMMMFit.load` reads one back.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable, Iterable, Iterator

import numpy as np
import pandas as pd
import pyro
import torch
from pyro import poutine

from causalmmm_ppl._progress import progress as progress_bar
from causalmmm_ppl.data.panel import Panel
from causalmmm_ppl.data.scaling import PanelScaler
from causalmmm_ppl.errors import InputError
from causalmmm_ppl.inference.causalmmm_data import (
    Schema,
    Standardisation,
    link_values,
    unlink_values,
)
from causalmmm_ppl.inference.causalmmm_pooling import encoder_logits, pool_edges
from causalmmm_ppl.inference.causalmmm_store import read_run, write_run
from causalmmm_ppl.inference.effects import (
    CURVE_MULTIPLIERS,
    EFFECT_KINDS,
    EffectDraws,
    effect_paths,
    effect_scenarios,
    response_curves,
)
from causalmmm_ppl.inference.forecast import forecast_trace, guide_draws, trace_paths
from causalmmm_ppl.inference.guide import AmortizedGuide
from causalmmm_ppl.inference.svi import TrainingData, TrainingLog
from causalmmm_ppl.models.causalmmm import CausalMMM, ModelBatch
from causalmmm_ppl.models.likelihood import Prediction
from causalmmm_ppl.models.settings import CausalMMMSettings
from causalmmm_ppl.models.spec import CausalMMMSpec

IDATA_DRAWS = 100
POSTERIOR_CHUNK_ELEMENTS = 5e7
#: Numbers a rollout step holds per draw, shop and node besides its paths (recent days, inputs, state)
ROLLOUT_STATE = 96


class CausalMMMFit:
    """A fitted CausalMMM model: graph posteriors, forecasts, ArviZ export, save/load.

    Attributes
    ----------
    model, guide : the Pyro model and its amortized guide
    settings : the model, inference and output settings fitted with (``spec``: the model's alone); schema : nodes,
        kinds, context, frequency
    standardisation : how the run puts a panel on the model's scale (node scaling, context and controls)
    train_panel : the panel the model was fitted on (original units)
    log : SVI loss per step and wall time (of the kept run)
    seed : the fit's seed (outputs are seeded from it)
    svi_runs : every SVI run of the fit (``restarts``, ``collapse_restarts``): its seed, ``edge_information``
        (nats per candidate pair), full-panel ``loss`` (None where runs were not compared), whether it was
        ``kept`` and its ``order`` among the kept runs (:meth:`runs`; None where not kept); empty for runs saved
        before fits recorded them
    mixed_runs : ``(model, guide)`` of the other runs the fit keeps (``keep_runs = "all"``; empty with the best run
        alone). The posterior is the equal mixture of the kept runs': draws are shared out evenly between them
        (:meth:`runs`), edge probabilities are their mean; ``model`` and ``guide`` are the best run's, which alone
        answers for graph templates, the training log and the model's learned constants.

    What the fit already holds (none needed: each is computed, or read, when first asked for):
    ``train_data`` the training panel's tensors (:meth:`training_data`), ``train_logits`` the encoder's logits of
    the training shops (:meth:`training_logits`) and ``mixed_logits`` those of the mixed runs' encoders, ``train_parts`` the training panel in parts of shops
    (:meth:`train_panel_parts`; a fit read shard by shard, whose process 0 never holds the whole panel).
    """

    def __init__(
        self,
        model: CausalMMM,
        guide: AmortizedGuide,
        settings: CausalMMMSettings,
        schema: Schema,
        standardisation: Standardisation,
        train_panel: Panel | Callable[..., Panel],
        log: TrainingLog,
        seed: int = 0,
        svi_runs: tuple[dict, ...] = (),
        *,
        train_data: TrainingData | None = None,
        train_logits: torch.Tensor | None = None,
        train_parts: Callable[[], Iterable[Panel]] | None = None,
        mixed_runs: tuple[tuple[CausalMMM, AmortizedGuide], ...] = (),
        mixed_logits: tuple[torch.Tensor, ...] | None = None,
    ) -> None:
        self.model, self.guide, self.settings, self.schema = model, guide, settings, schema
        self.standardisation = standardisation
        self._train_panel, self.log, self.seed, self.svi_runs = train_panel, log, seed, tuple(svi_runs)
        self._cached_train, self._train_parts = train_data, train_parts
        self.mixed_runs = tuple(mixed_runs)
        # each kept run's encoder logits of the training shops, computed when first asked for where not given
        self._train_logits: list[torch.Tensor | None] = [train_logits, *(mixed_logits or [None] * len(mixed_runs))]

    @property
    def spec(self) -> CausalMMMSpec:
        """The model's settings (``settings.model``)."""
        return self.settings.model

    def svi_runs_note(self) -> str:
        """One line on the fit's SVI runs when there was more than one ('' otherwise): which were collapsed and
        which were kept."""
        if len(self.svi_runs) < 2:
            return ""
        limit = self.settings.inference.collapse_information
        parts = [f"seed {run['seed']}: {run['edge_information']:.3f} nats per candidate pair"
                 f"{' (collapsed)' if run['edge_information'] < limit else ''}, loss {run['loss']:.3f}"
                 f"{' (kept)' if run['kept'] else ''}" for run in self.svi_runs]
        kept = ("the runs that did not collapse are kept and mixed" if self.settings.inference.keep_runs == "all"
                else "the lowest full-panel loss is kept")
        return (f"{len(self.svi_runs)} SVI runs (collapsed: the encoder's edges within {limit:g} nats of the "
                f"prior; {kept}): " + "; ".join(parts))

    @property
    def run_seeds(self) -> tuple[int, ...]:
        """SVI seeds of the runs the fit keeps, in :meth:`runs` order (the best first); empty for a run saved
        before fits recorded that order."""
        kept = [run for run in self.svi_runs if run.get("order") is not None]
        return tuple(run["seed"] for run in sorted(kept, key=lambda run: run["order"]))

    def runs(self) -> tuple[tuple[CausalMMM, AmortizedGuide], ...]:
        """``(model, guide)`` of every run the fit keeps: the best run first, then :attr:`mixed_runs`."""
        return ((self.model, self.guide), *self.mixed_runs)

    def draw_shares(self, num_draws: int) -> list[int]:
        """How many of ``num_draws`` draws each kept run (:meth:`runs`) gives: an even share, the earlier runs one
        more where they do not divide."""
        k = len(self.mixed_runs) + 1
        return [num_draws // k + (i < num_draws % k) for i in range(k)]

    def _run_chunks(self, num_draws: int, chunks_of: Callable[[int], list[tuple[int, int]]]
                    ) -> list[tuple[CausalMMM, AmortizedGuide, int, int]]:
        """``(model, guide, first draw, draws)``: each kept run's share of ``num_draws`` in the chunks
        ``chunks_of(share)`` makes of it, numbered over the whole mixture."""
        out, first = [], 0
        for (model, guide), share in zip(self.runs(), self.draw_shares(num_draws)):
            out += [(model, guide, first + k, m) for k, m in (chunks_of(share) if share else [])]
            first += share
        return out

    @property
    def scaler(self) -> PanelScaler:
        """Per-shop, per-node scaling of the training shops."""
        return self.standardisation.scaler

    @property
    def train_panel(self) -> Panel:
        """The panel the model was fitted on (a reloaded run reads it when first asked)."""
        if callable(self._train_panel):
            self._train_panel = self._train_panel()
        return self._train_panel

    @property
    def training_end(self) -> pd.Timestamp:
        """The last period of the training panel."""
        return self.train_panel.dates[-1]

    # ---------------------------------------------------------------------------------------- data → tensors
    def prepare(self, panel: Panel, scaler: PanelScaler | None = None) -> TrainingData:
        """Tensors for ``panel`` (scaled with ``scaler``, default
        :meth:`~causalmmm_ppl.inference.causalmmm_data.Standardisation.scaler_for`), encoder features included."""
        self.schema.check(panel)
        return self.standardisation.prepare(panel, self.spec, scaler or self.standardisation.scaler_for(panel))

    # -------------------------------------------------------------------------------------------- edges
    def edge_probability_array(self, panel: Panel | None = None, pooled: bool = True,
                               run: int | None = None) -> np.ndarray:
        """q(z_nij = 1) for every ordered pair: (shop, cause, effect), the mean over the kept runs; forbidden pairs
        and the diagonal are 0.

        ``panel`` defaults to the training panel; any panel with the run's schema works (amortized inference).
        ``pooled=False`` gives the encoder's own probabilities, before the population layer (``outputs.edge_pooling``).
        ``run``: one kept run's probabilities alone (its index in :meth:`runs`; 0: the best run).
        """
        data = None if panel is None else self.prepare(panel)
        which = range(len(self.runs())) if run is None else [run]
        with torch.no_grad():
            q = torch.stack([torch.sigmoid(self.runs()[r][1].reported_logits(own) if pooled else own)
                             for r, own in zip(which, self._run_logits(data, which))]).mean(0)
            return self.model.edges_to_matrix(q).numpy().astype(np.float64)

    def _run_logits(self, data: TrainingData | None, which: Iterable[int] | None = None) -> list[torch.Tensor]:
        """The encoder logits ``(shop, edge)`` of ``data`` (None: the training shops, :meth:`training_logits`) of
        the kept runs ``which`` (indices in :meth:`runs`; None: all)."""
        which = range(len(self.runs())) if which is None else which
        if data is not None:
            return [encoder_logits(self.runs()[run][1], data, self.spec) for run in which]
        return [self.training_logits(run) for run in which]

    def edge_probabilities(self, panel: Panel | None = None) -> pd.DataFrame:
        """Long table ``shop, cause, effect, probability`` over all ordered pairs i ≠ j."""
        shops = panel.shops if panel is not None else self.scaler.shops
        return edge_table(self.edge_probability_array(panel), shops, self.schema.nodes)

    def train_panel_parts(self) -> Iterator[Panel]:
        """The training panel in parts of shops (what :meth:`save` writes): the whole panel as one part, or, for a
        fit read shard by shard (:mod:`~causalmmm_ppl.inference.causalmmm_shards`), its reader's parts."""
        return iter(self._train_parts()) if self._train_parts is not None else iter([self.train_panel])

    def training_logits(self, run: int = 0) -> torch.Tensor:
        """The encoder's own edge logits of the training shops, ``(shop, edge)`` (before any population layer), of
        kept run ``run`` (:meth:`runs`; 0: the best): what its population layer was fitted on; computed once."""
        if self._train_logits[run] is None:
            self._train_logits[run] = encoder_logits(self.runs()[run][1], self.training_data(), self.spec)
        return self._train_logits[run]

    @property
    def has_templates(self) -> bool:
        """Whether shops are assigned to graph templates: the model's (``graph_templates``) or the population
        layer's (``edge_pooling``, when it was fitted)."""
        return bool(self.spec.graph_templates) or self.guide.population is not None

    def template_probabilities(self, panel: Panel | None = None, num_draws: int | None = None,
                               seed: int | None = None) -> pd.DataFrame:
        """Which graph template each shop follows: long table ``shop, template, share, probability``, with ``share``
        the template's population share π_k and ``probability`` the shop's posterior membership.

        With ``spec.graph_templates > 0`` the templates are the model's and the membership is averaged over draws of
        the shop's edges from the guide; otherwise they are the population layer's (``outputs.edge_pooling``), whose
        membership is exact given the shop's encoder logits. ``panel`` defaults to the training panel; new shops work
        as for :meth:`edge_probabilities`.
        """
        if not self.has_templates:
            raise InputError("this run has no graph templates (fit with graph_templates > 0 or edge_pooling > 0 in "
                             "--config, on at least 10 shops)")
        shops = panel.shops if panel is not None else self.scaler.shops
        with torch.no_grad():
            if self.spec.graph_templates:
                data = self.prepare(panel) if panel is not None else self.training_data()
                batch = data.full_batch(temperature=self.spec.temperature)
                pyro.set_rng_seed(self.seed if seed is None else seed)
                n = num_draws or self.settings.outputs.num_draws
                y = guide_draws(self.guide, batch, n)["edge_logit"]  # (draw, shop, edge)
                member = self.model.template_membership(y, self.spec.temperature).mean(0).numpy()  # (shop, template)
                share = self.model.template_weights().numpy()
            else:
                own = (self.training_logits() if panel is None
                       else encoder_logits(self.guide, self.prepare(panel), self.spec))
                member = self.guide.membership_of(own).numpy()
                share = self.guide.population.weights
        s, k = member.shape
        return pd.DataFrame({
            "shop": np.repeat(np.asarray(shops, dtype=object), k),
            "template": np.tile(np.arange(k), s),
            "share": np.tile(share, s).astype(np.float64),
            "probability": member.ravel().astype(np.float64),
        })

    # ---------------------------------------------------------------------------------------- forecasts
    def forecast(
        self,
        history: Panel,
        plan: Panel,
        *,
        interval: float = 0.9,
        num_draws: int | None = None,
        seed: int | None = None,
        graph: np.ndarray | None = None,
        progress: bool = False,
    ) -> pd.DataFrame:
        """Forecast mediators and the target over ``plan``'s days, given its channel values.

        Parameters
        ----------
        history : days before the forecast origin, same shops as ``plan`` (in the same order)
        plan : the days to forecast; channel values are the plan, other nodes are ignored (their observed values,
            where present, are reported beside the forecast)
        interval : central credible interval (default 90%)
        num_draws : posterior draws (default ``outputs.num_draws``)
        seed : defaults to the fit's seed
        graph : optional (shop, cause, effect) graph to impose instead of the posterior one (``poutine.do``)
        progress : report progress over the chunks of draws

        Returns
        -------
        DataFrame ``shop, date, node, observed, mean, lower, upper`` (original units), mediators and target only
        """
        draws = self.forecast_samples(history, plan, num_draws=num_draws, seed=seed, graph=graph, progress=progress)
        return forecast_table(draws, plan, interval)

    def forecast_samples(
        self,
        history: Panel,
        plan: Panel,
        *,
        num_draws: int | None = None,
        seed: int | None = None,
        graph: np.ndarray | None = None,
        progress: bool = False,
    ) -> np.ndarray:
        """Forecast paths in original units: (draw, shop, horizon, node); ``progress`` reports the chunks of draws."""
        scaler, data, plan_t, cal = self._plan_inputs(history, plan)
        traces = self._plan_traces(data, plan_t, cal, num_draws, seed, "forecast", progress, graph)
        parts = [trace_paths(trace) for trace in traces]
        paths = torch.cat(parts)  # (draw, horizon, shop, node)
        return scaler.inverse(unlink_values(paths.transpose(1, 2).numpy().astype(np.float64), self.spec.link))

    @torch.no_grad()
    def _plan_traces(self, data: TrainingData, plan_t: torch.Tensor, cal: torch.Tensor, num_draws: int | None,
                     seed: int | None, desc: str, progress: bool, graph: np.ndarray | None = None
                     ) -> Iterator[poutine.Trace]:
        """The plan's rollouts (:func:`~causalmmm_ppl.inference.forecast.forecast_trace`) from the end of ``data``,
        ``num_draws`` (default ``outputs.num_draws``) in chunks of draws so that memory stays bounded: every draw runs
        over the history's last days of every shop. Seeded with ``seed`` (default: the fit's)."""
        pyro.set_rng_seed(self.seed if seed is None else seed)
        n = num_draws or self.settings.outputs.num_draws
        g = None if graph is None else torch.as_tensor(graph, dtype=torch.float32)
        batch = self._rollout_batch(data)
        chunks = self._run_chunks(n, lambda share: self._draw_chunks(share, self._rollout_history(data)))
        for model, guide, k, m in progress_bar(chunks, desc=desc, unit="chunk", disable=not progress):
            yield forecast_trace(model, guide, batch, plan_t, cal, m, graph=_chunk_graph(g, k, m))

    @torch.no_grad()
    def predictive_log_density(
        self,
        history: Panel,
        plan: Panel,
        *,
        num_draws: int | None = None,
        seed: int | None = None,
        progress: bool = False,
    ) -> np.ndarray:
        """Log density of the plan's observed target values, day by day, in original units: ``(draw, shop, day)``,
        NaN where the plan has no target.

        Each draw is a posterior draw of the shop's latents and a rollout from the end of ``history`` under the
        plan's channels (and controls): the mediators and the target of the plan's earlier days are the rollout's
        own draws, not the observed ones, so day h is scored h steps ahead. A draw's value is the likelihood of the
        observed target under that draw's prediction of the day; the mean of its exponential over draws is a Monte
        Carlo estimate of the h-step-ahead posterior predictive density
        (:func:`causalmmm_ppl.evaluation.compare.compare_forecasts` takes it).
        """
        scaler, data, plan_t, cal = self._plan_inputs(history, plan)
        tgt = plan.n_nodes - 1
        observed = plan.target_observed
        y = link_values(np.where(observed, scaler.transform(plan.values)[..., tgt], 0.0), self.spec.link)
        y_t = torch.as_tensor(y, dtype=torch.float32).transpose(0, 1).unsqueeze(-1)  # (day, shop, 1) modelled units
        parts = []
        for trace in self._plan_traces(data, plan_t, cal, num_draws, seed, "predictive density", progress):
            # each day's likelihood of the observed target: (draw, shop, day)
            parts.append(torch.stack([trace.nodes[f"target_{h}"]["fn"].log_prob(y_t[h]) for h in range(plan.n_time)],
                                     dim=-1))
        lp = torch.cat(parts).numpy().astype(np.float64)
        jacobian = np.log(scaler.scale[:, tgt])[:, None] + (y if self.spec.link == "log1p" else 0.0)
        return np.where(observed[None], lp - jacobian[None], np.nan)

    # ---------------------------------------------------------------------------------------- effects
    def effect_samples(
        self,
        history: Panel,
        plan: Panel,
        scenarios: list[tuple[str, str, float]],
        *,
        num_draws: int | None = None,
        seed: int | None = None,
        graph: np.ndarray | None = None,
        progress: bool = False,
        by_step: bool = False,
    ) -> tuple[np.ndarray, dict[tuple[str, str, float], np.ndarray]]:
        """The target summed over the plan's window, factual and under each scenario (see
        :mod:`causalmmm_ppl.inference.effects`), in original units.

        Parameters
        ----------
        history, plan : as in :meth:`forecast` (the plan gives every channel on every window day)
        scenarios : ``(kind, channel name, spend multiplier)``: kind ``total``, ``held`` or ``direct``; the channel's
            planned spend is multiplied on the window (0: switched off)
        num_draws, seed : posterior draws (default ``outputs.num_draws``) and the seed (default: the fit's)
        graph : optional (shop, cause, effect) graph imposed instead of the posterior one
        progress : a tqdm bar over the scenarios' rollouts
        by_step : keep the window's days apart instead of summing them

        Returns
        -------
        factual : (draw, shop) target summed over the window; (draw, shop, step) with ``by_step``
        counterfactual : ``{scenario: (draw, shop)}`` the same under each scenario
        """
        channels = self.channel_names
        unknown = sorted({c for _, c, _ in scenarios} - set(channels))
        if unknown:
            raise InputError(f"unknown channel(s) {', '.join(map(repr, unknown))}; the run's channels are "
                             f"{', '.join(channels)}")
        scaler, data, plan_t, cal = self._plan_inputs(history, plan)
        n = num_draws or self.settings.outputs.num_draws
        seed = self.seed if seed is None else int(seed)
        g = None if graph is None else torch.as_tensor(graph, dtype=torch.float32)
        batch = self._rollout_batch(data)
        tgt = len(self.schema.nodes) - 1
        by_position = [(kind, channels.index(c), float(m)) for kind, c, m in scenarios]

        def target_sum(path: torch.Tensor) -> np.ndarray:  # (draw, horizon, shop, node) scaled -> (draw, shop)
            x = scaler.inverse(unlink_values(path.transpose(1, 2).numpy().astype(np.float64), self.spec.link))
            return x[..., tgt] if by_step else x[..., tgt].sum(-1)

        factual, counter = [], {}
        history_chunk = self._draw_chunks(n, self._rollout_history(data))[0][1]
        kept = (len(scenarios) + 1) * plan_t.shape[0]  # values of the paths per draw, shop and node
        chunks = self._run_chunks(n, lambda share: self._rollout_chunks(share, data.x.shape[0], kept))
        for i, (model, guide, k, m) in enumerate(chunks):
            f, cf = effect_paths(model, guide, batch, plan_t, cal, m, by_position, seed=seed + i,
                                 graph=_chunk_graph(g, k, m),
                                 progress=progress, history_chunk=history_chunk)
            factual.append(target_sum(f))
            for (kind, c, mult), path in cf.items():
                counter.setdefault((kind, channels[c], mult), []).append(target_sum(path))
        return np.concatenate(factual), {k: np.concatenate(v) for k, v in counter.items()}

    def response_curves(
        self,
        history: Panel,
        plan: Panel,
        *,
        multipliers: tuple[float, ...] = CURVE_MULTIPLIERS,
        interval: float = 0.9,
        num_draws: int | None = None,
        seed: int | None = None,
        progress: bool = False,
    ) -> pd.DataFrame:
        """The target summed over the plan's window against a multiplier of each channel's planned spend (the other
        channels respond through the graph: ``total``), with intervals (see
        :func:`causalmmm_ppl.inference.effects.response_curves`)."""
        return response_curves(self, history, plan, multipliers=multipliers, interval=interval, num_draws=num_draws,
                               seed=seed, progress=progress)

    #: the rollout starts from any history (see ``MMMFit``)
    fixed_history = False

    @property
    def channel_names(self) -> list[str]:
        """The run's channels, in the panel's order."""
        return [n for n, k in zip(self.schema.nodes, self.schema.node_kinds) if k == "channel"]

    def effects(
        self,
        history: Panel,
        plan: Panel,
        *,
        interval: float = 0.9,
        kinds: tuple[str, ...] = EFFECT_KINDS,
        num_draws: int | None = None,
        seed: int | None = None,
        graph: np.ndarray | None = None,
        progress: bool = False,
    ) -> pd.DataFrame:
        """Every shop's and channel's effect on the target over the plan's window, with intervals, ROAS and mROAS.

        Returns
        -------
        DataFrame ``shop, channel, kind, mean, lower, upper, spend, roas, mroas`` (see
        :func:`causalmmm_ppl.inference.effects.effects_table`); ``shop = "ALL"`` rows sum over shops
        """
        return self.effect_draws(history, plan, kinds=kinds, num_draws=num_draws, seed=seed, graph=graph,
                                 progress=progress).table(interval)

    def effect_draws(
        self,
        history: Panel,
        plan: Panel,
        *,
        kinds: tuple[str, ...] = EFFECT_KINDS,
        num_draws: int | None = None,
        seed: int | None = None,
        graph: np.ndarray | None = None,
        progress: bool = False,
    ) -> EffectDraws:
        """The draws behind :meth:`effects` (arguments as there), before they are summarised."""
        channels = self.channel_names
        factual, counter = self.effect_samples(history, plan, effect_scenarios(channels, kinds), num_draws=num_draws,
                                               seed=seed, graph=graph, progress=progress)
        spend = plan.values[..., [plan.nodes.index(c) for c in channels]].sum(1)  # (shop, channel)
        return EffectDraws.from_samples(factual, counter, spend, plan.shops, channels, kinds)

    # -------------------------------------------------------------------------------------- posteriors
    def posterior_samples(self, panel: Panel | None = None, num_draws: int | None = None, seed: int | None = None,
                          progress: bool = False) -> dict[str, np.ndarray]:
        """Posterior draws for ``panel`` (default: training panel); ``progress`` reports the chunks of draws.

        Returns
        -------
        dict with ``edge`` (draw, shop, cause, effect) 0/1 draws of the graph, ``edge_probability``
        (shop, cause, effect), the response family's parameters by name
        (:attr:`~causalmmm_ppl.models.response.ResponseFamily.names`; default ``decay``/``alpha``/``gamma``)
        (draw, shop, node) (levels such as gamma in the cause's original units), and for the target ``mu``
        (draw, shop, time), the one-step-ahead location mapped to original units (the predictive median),
        ``predictive`` (draw, shop, time), one-step-ahead predictive draws, and ``loglik``
        (draw, shop, time), the pointwise log-likelihood, all in original units; ``[..., t]`` refers to day t, and
        day 0 (no past) is NaN. With graph templates, ``template`` (draw, shop, template): each shop's membership
        given that draw's edges. Draws are processed in chunks so memory stays bounded on long panels. A fit that
        keeps several runs gives each run's share of the draws in turn (:meth:`draw_shares`) and their mean
        ``edge_probability``.
        """
        data = self.prepare(panel) if panel is not None else self.training_data()
        panel = panel if panel is not None else self.train_panel
        scaler = self.standardisation.scaler_for(panel)
        n = num_draws or self.settings.outputs.num_draws
        pyro.set_rng_seed(self.seed if seed is None else seed)
        parts = [self._run_posterior(model, guide, data, scaler, share, progress)
                 for (model, guide), share in zip(self.runs(), self.draw_shares(n)) if share]
        if len(parts) == 1:
            return parts[0]
        mixed = {k: np.concatenate([part[k] for part in parts]) for k in parts[0] if k != "edge_probability"}
        return mixed | {"edge_probability": np.mean([part["edge_probability"] for part in parts], axis=0)}

    def _run_posterior(self, model: CausalMMM, guide: AmortizedGuide, data: TrainingData, scaler: PanelScaler,
                       n: int, progress: bool) -> dict[str, np.ndarray]:
        """:meth:`posterior_samples`' draws from one kept run, ``n`` of them."""
        batch = data.full_batch(temperature=self.spec.temperature)
        s_, t_, v_ = data.x.shape
        tgt = v_ - 1
        with torch.no_grad():
            latents = guide_draws(guide, batch, n)
            q = guide.edge_probabilities(batch)
            z = model.edges_to_matrix(torch.bernoulli(q.expand(n, *q.shape)))  # (draw, shop, node, node)
            if "edge_gain" in latents:
                z = model.with_gains(z, latents["edge_gain"])
            additive = None if "edge_beta" not in latents else model.additive_matrix(z, latents["edge_beta"])
            u = latents["response"]
            weekly, switching = latents.get("weekly"), latents.get("switching")
            mu = torch.empty(n, s_, t_)
            ll = torch.empty(n, s_, t_ - 1)
            for k, m in progress_bar(self._draw_chunks(n, data.x.shape), desc="posterior draws", unit="chunk",
                                     disable=not progress):
                pred_k, _ = model.one_step_means(
                    data.x.expand(m, -1, -1, -1).reshape(m * s_, t_, v_), u[k : k + m].reshape(m * s_, v_, u.shape[-1]),
                    z[k : k + m].reshape(m * s_, v_, v_), data.calendar,
                    None if weekly is None else weekly[k : k + m].reshape(m * s_, v_, -1),
                    switching=None if switching is None else switching[k : k + m].reshape(m * s_, -1, 2),
                    additive=None if additive is None else additive[k : k + m].reshape(m * s_, v_, v_),
                )
                pred_k = pred_k.reshape(m, s_, t_, v_)
                mu[k : k + m] = pred_k.loc[..., tgt]
                ll[k : k + m] = model.observation(pred_k[:, :, :-1]).log_prob(data.x[:, 1:])[..., tgt]
            response = {k: v.numpy() for k, v in self.spec.response.constrain(u).items()}
        nan = np.full((n, s_, 1), np.nan)
        loc, scale = scaler.loc[:, tgt][None, :, None], scaler.scale[:, tgt][None, :, None]
        link = self.spec.link
        mu_y = mu[:, :, :-1].numpy().astype(np.float64)
        at_zero = Prediction(torch.zeros(v_), torch.zeros(v_))
        noise = model.observation(at_zero).sample((n, s_, t_ - 1))[..., tgt].numpy()
        pred = unlink_values(mu_y + noise, link) * scale + loc
        mu_orig = unlink_values(mu_y, link) * scale + loc
        y_obs = data.x[:, 1:, tgt].numpy()[None]
        jacobian = np.log(scale) + (y_obs if link == "log1p" else 0.0)  # log |dx/dy| of the inverse link and scaling
        ok = (data.observed[:, 1:, tgt] & data.observed[:, :-1, tgt]).numpy()
        ll = np.where(ok, ll.numpy() - jacobian, np.nan)
        out = {}
        if self.spec.graph_templates:
            with torch.no_grad():
                out["template"] = model.template_membership(latents["edge_logit"], self.spec.temperature).numpy()
        return out | {
            "edge": z.numpy().astype(np.int8),
            "edge_probability": model.edges_to_matrix(q).numpy(),
            **{k: v * scaler.scale[None] if k in self.spec.response.levels else v for k, v in response.items()},
            "mu": np.concatenate([nan, mu_orig], axis=2),
            "predictive": np.concatenate([nan, pred], axis=2),
            "loglik": np.concatenate([nan, ll], axis=2),
        }

    def _draw_chunks(self, num_draws: int, shape: tuple[int, ...]) -> list[tuple[int, int]]:
        """``(first draw, draws)`` chunks so that one chunk's decoder pass over ``shape = (shop, time, node)`` holds
        about ``POSTERIOR_CHUNK_ELEMENTS`` numbers (memory stays bounded for many shops or long panels)."""
        return _chunks(num_draws, int(np.prod(shape)) * (self.spec.hidden + 32))

    def read_with(self, **changes) -> "CausalMMMFit":
        """This fit read with other output settings that need no refit (``READ_SETTINGS``): the same model and data;
        ``self`` is unchanged. The population layer's settings (``POOLING_SETTINGS``) pool the same encoder logits
        of the training shops again (:func:`~causalmmm_ppl.inference.causalmmm_pooling.pool_edges`) into a copy of
        the guide: what a fit with those settings would have reported after the same SVI run."""
        other = sorted(set(changes) - set(READ_SETTINGS + POOLING_SETTINGS))
        if other:
            raise InputError(f"read_with changes only {', '.join(READ_SETTINGS)}; {', '.join(other)} need(s) a new "
                             f"fit (the population layer's {', '.join(POOLING_SETTINGS)} are read by pooling again)")
        fit = copy.copy(self)
        fit.settings = self.settings.replace(**changes)
        if set(changes) & set(POOLING_SETTINGS):
            guides = [copy.deepcopy(guide) for _, guide in self.runs()]
            for (model, _), guide, logits in zip(self.runs(), guides, self._run_logits(None)):
                pool_edges(model, guide, logits, fit.settings, self.seed)
            fit.guide, fit.mixed_runs = guides[0], tuple((m, g) for (m, _), g in zip(self.mixed_runs, guides[1:]))
        return fit

    def _rollout_batch(self, data: TrainingData) -> ModelBatch:
        """The batch a rollout (forecast, effects, allocation) starts from: all of ``data``'s shops, the edges drawn
        as ``outputs.edge_draws`` says."""
        return data.full_batch(temperature=self.spec.temperature, hard_edges=self.settings.outputs.edge_draws == "hard")

    def _rollout_history(self, data: TrainingData) -> tuple[int, int, int]:
        """``(shop, day, node)`` shape of the history a rollout's state runs over (its last days, see
        :meth:`~causalmmm_ppl.models.causalmmm.CausalMMM.rollout_history_days`)."""
        s, t, v = data.x.shape
        return s, self.model.rollout_history_days(t), v

    def _rollout_chunks(self, num_draws: int, n_shops: int, kept: int) -> list[tuple[int, int]]:
        """``(first draw, draws)`` chunks of rollouts from a history's end that keep ``kept`` values per draw, shop and
        node: about ``POSTERIOR_CHUNK_ELEMENTS`` numbers each (far more draws than a pass over the history)."""
        return _chunks(num_draws, n_shops * len(self.schema.nodes) * (kept + ROLLOUT_STATE))

    def to_inference_data(self, num_draws: int | None = None, progress: bool = False):
        """ArviZ InferenceData of the training panel (see :mod:`causalmmm_ppl.evaluation.inference_data`).

        ``num_draws`` defaults to ``min(outputs.num_draws, IDATA_DRAWS)``: pointwise log-likelihoods and predictive
        draws of every shop-day are stored, so the file grows with draws × shops × days. ``progress`` reports the
        chunks of draws. A fit that mixes several runs stores each run's draws as one chain (``num_draws`` rounded
        down to a multiple of the runs), so that ArviZ's R-hat compares the runs.
        """
        from causalmmm_ppl.evaluation.inference_data import causalmmm_to_inference_data

        k = len(self.runs())
        n = num_draws or min(self.settings.outputs.num_draws, IDATA_DRAWS)
        n = max(k, n - n % k)
        return causalmmm_to_inference_data(self, self.posterior_samples(num_draws=n, progress=progress), chains=k)

    # ------------------------------------------------------------------------------------------ saving
    def save(self, directory: str | os.PathLike) -> None:
        """Write everything needed to reload and predict (:func:`~causalmmm_ppl.inference.causalmmm_store.write_run`:
        weights, settings, schema, scalers, training panel)."""
        write_run(self, directory)

    @classmethod
    def load(cls, directory: str | os.PathLike) -> "CausalMMMFit":
        """Reload a fit written by :meth:`save` (:func:`~causalmmm_ppl.inference.causalmmm_store.read_run`). Nothing
        in ``directory`` is executed.

        Raises
        ------
        InputError
            ``directory`` is not a CausalMMM model directory, or a file in it is damaged or of another version
            (the message names the file and says to fit the run again).
        """
        saved = read_run(directory)
        return cls(*saved[:-1], mixed_runs=saved.mixed_runs)

    # ------------------------------------------------------------------------------------------ internals
    def _plan_inputs(self, history: Panel, plan: Panel) -> tuple[PanelScaler, TrainingData, torch.Tensor, torch.Tensor]:
        """History scaled and prepared, the plan's channels ``(horizon, shop, channel)`` scaled and its calendar
        (``(horizon, n_calendar)``, or ``(horizon, shop, n_calendar + control)`` with the plan's controls).

        Raises InputError for an empty plan, shops that differ, or a plan day without a channel value.
        """
        if not 0 < plan.n_time:
            raise InputError("the plan has no days to forecast")
        if history.shops != plan.shops:
            raise InputError("history and plan must hold the same shops in the same order")
        scaler = self.standardisation.scaler_for(history)
        data = self.prepare(history, scaler)
        ch = plan.channel_index
        if not plan.observed[..., ch].all():
            s, t = np.argwhere(~plan.observed[..., ch].all(-1))[0]
            raise InputError(
                f"plan: shop {plan.shops[s]!r} has no channel values on {plan.label(int(t))}: "
                "the plan must give every channel on every forecast day"
            )
        plan_scaled = link_values(scaler.transform(plan.values), self.spec.link)[..., ch]  # (shop, horizon, channel)
        plan_t = torch.as_tensor(plan_scaled, dtype=torch.float32).transpose(0, 1)
        calendar = self.standardisation.calendar(plan)
        return scaler, data, plan_t, calendar.transpose(0, 1) if calendar.ndim == 3 else calendar

    def training_data(self) -> TrainingData:
        """The training panel as the model's tensors (scaled, standardised, with the encoder's features), prepared
        once: what the fit's ELBO (:func:`~causalmmm_ppl.inference.svi.evaluation_loss`), its edge information and
        its population layer are computed on."""
        if self._cached_train is None:
            self._cached_train = self.standardisation.prepare(self.train_panel, self.spec)
        return self._cached_train


# --------------------------------------------------------------------------------------------------- helpers
#: the output settings a fit can be read with again without refitting (:meth:`CausalMMMFit.read_with`)
READ_SETTINGS = ("edge_draws", "num_draws")
#: the population layer's output settings, which :meth:`CausalMMMFit.read_with` applies by pooling again
POOLING_SETTINGS = ("edge_pooling", "edge_miss_rate", "edge_false_rate", "edge_score_df", "edge_template_prior")


def _chunk_graph(graph: torch.Tensor | None, first: int, draws: int) -> torch.Tensor | None:
    """The imposed graph of draws ``first`` to ``first + draws``: a per-draw graph's ``(draw, shop, node, node)``
    slice, or the one graph (``(shop, node, node)``, or None) that every draw shares."""
    return graph[first : first + draws] if graph is not None and graph.ndim == 4 else graph


def _chunks(num_draws: int, per_draw: int) -> list[tuple[int, int]]:
    """``(first draw, draws)`` chunks of about ``POSTERIOR_CHUNK_ELEMENTS`` numbers, ``per_draw`` numbers a draw."""
    chunk = max(1, int(POSTERIOR_CHUNK_ELEMENTS // per_draw))
    return [(k, min(chunk, num_draws - k)) for k in range(0, num_draws, chunk)]


def edge_table(prob: np.ndarray, shops: tuple[str, ...], nodes: tuple[str, ...]) -> pd.DataFrame:
    """``(shop, cause, effect)`` probabilities → long table over ordered pairs i ≠ j."""
    s, v, _ = prob.shape
    si, ci, ei = np.meshgrid(np.arange(s), np.arange(v), np.arange(v), indexing="ij")
    keep = ci != ei
    nodes_a = np.asarray(nodes, dtype=object)
    return pd.DataFrame(
        {
            "shop": np.asarray(shops, dtype=object)[si[keep]],
            "cause": nodes_a[ci[keep]],
            "effect": nodes_a[ei[keep]],
            "probability": prob[keep],
        }
    )


def forecast_table(draws: np.ndarray, plan: Panel, interval: float) -> pd.DataFrame:
    """Summarise forecast draws ``(draw, shop, horizon, node)`` into ``shop, date, node, observed, mean, lower, upper``
    for the mediators and the target."""
    if not 0.0 < interval < 1.0:
        raise InputError(f"--interval must be in (0, 1), got {interval}")
    lo, hi = np.quantile(draws, [(1 - interval) / 2, (1 + interval) / 2], axis=0)
    mean = draws.mean(0)
    nodes = [k for k, kind in enumerate(plan.node_kinds) if kind != "channel"]
    s, h = plan.n_shops, plan.n_time
    si, ti, ni = np.meshgrid(np.arange(s), np.arange(h), np.asarray(nodes), indexing="ij")
    si, ti, ni = si.ravel(), ti.ravel(), ni.ravel()
    observed = np.where(plan.observed[si, ti, ni], plan.values[si, ti, ni], np.nan)
    return pd.DataFrame(
        {
            "shop": np.asarray(plan.shops, dtype=object)[si],
            "date": plan.dates[ti],
            "node": np.asarray(plan.nodes, dtype=object)[ni],
            "observed": observed,
            "mean": mean[si, ti, ni],
            "lower": lo[si, ti, ni],
            "upper": hi[si, ti, ni],
        }
    )


