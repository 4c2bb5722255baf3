"""The CausalMMM generative model in Pyro.

For every shop n (a batch dimension, in ``pyro.plate("shop")`` with subsampling):

1. Graph. For each candidate edge i → j (prior probability ρ_ij > 0, i ≠ j), a relaxed-Bernoulli edge
   z_nij = sigmoid(y_nij), y_nij ~ Logistic(logit(ρ_ij) / τ, 1 / τ) — the binary Concrete distribution written in
   logit space (Maddison et al. 2017, app. C), where its density and the KL to the guide are well behaved. The KL of
   this site is weighted by λ (``kl_weight``). ``graph`` is a deterministic site holding the full (cause, effect)
   matrix: ``poutine.do(model, data={"graph": g})`` cuts or forces edges. With ``spec.graph_templates = K`` the
   prior of a shop's edge logits is a population mixture, Σ_k π_k Π_ij Logistic(logit(ρ_kij) / τ, 1 / τ), of K
   learned graph templates (expert, required and forbidden pairs keep their ρ in every template).
2. Response. Per shop and node, the unconstrained parameters of the response family (``spec.adstock``,
   ``spec.saturation``; by default mixed carryover's decay, delay and delayed share and Hill's alpha and gamma,
   :mod:`~causalmmm_ppl.models.response`) ~ Normal(context network(c_n), s): carryover and saturation of that node when it acts as a cause. Weekly profile (``spec.seasonality``): per shop and
   node, coefficients w_nj of two day-of-week harmonics ~ Normal(0, ``seasonality_scale``): the shop's own weekday
   pattern S_nj(t) (a shop's nodes share one, which no population-level calendar term can capture). On/off
   persistence (``spec.switching``): per shop and hurdle channel, two shifts b_nj = (b⁺_nj, b⁻_nj) ~ Normal(0,
   ``switching_scale``) of the channel's on-logit after an active and after an off day (the shop's own flighting).
3. Dynamics. s_i(t) = saturation(adstock(x_i))(t); effect j receives m_j(t) = Σ_i z_ij W_ij s_i(t) and updates its own
   recurrent state from its own value and the message; μ_j(t + 1) = readout(h_j(t + 1)) + S_nj(t + 1) − S_nj(t)
   (the readout is relative to the node's own latest value, which holds S_nj(t); a channel that was off holds none).
4. Likelihood. Mediators and the target: x_j(t + 1) ~ StudentT(df, μ_j(t + 1), σ_j) (or Normal) on per-shop,
   per-node scaled data. Channels (``spend_model="hurdle"``, default): zero with probability 1 - sigmoid(l_j(t + 1)
   + b_nj(t)), with b_nj(t) = b⁺_nj on the day after an active day and b⁻_nj after an off day, else log x_j(t + 1) ~ StudentT(df, μ_j(t + 1), σ_j) — spend is off on some days and budget effects are
   multiplicative (:mod:`causalmmm_ppl.models.likelihood`). ``spend_model="same"`` scores channels like the others.

Forecasting (:meth:`CausalMMM.rollout`) continues the recurrence day by day: channels come from the plan through
``poutine.do`` on the ``channels_<k>`` sites, mediators and the target are sampled from the likelihood.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pyro
import pyro.distributions as dist
import torch
from pyro import poutine
from pyro.nn import PyroModule
from torch import nn

from causalmmm_ppl.data.calendar import WEEKDAY_COLUMNS
from causalmmm_ppl.models.components import Decoder, ResponsePrior, weekly_profile
from causalmmm_ppl.models.likelihood import LOG_CLAMP, NodeLikelihood, Prediction, holds_level, spend_view
from causalmmm_ppl.models.settings import CausalMMMInference
from causalmmm_ppl.models.spec import CausalMMMSpec

PROB_CLAMP = 1e-3
MAX_DF = 200.0  # learned Student-t degrees of freedom stop here (a Normal, for all practical purposes)
TEMPLATE_INIT_SD = 0.5  # spread of the graph templates' starting offsets (before tanh) around the prior's logit
ADDITIVE_INIT = 0.1  # where the population's additive effect sizes β start (scaled target per unit of signal)


class EdgeLogistic(dist.Logistic):
    """The Logistic distribution of edge logits, with reparameterised draws that are always finite.

    ``torch``'s float32 ``uniform_`` returns exactly 0 with probability 2^-24, and the inverse CDF then gives -inf
    and a NaN log-density. A default fit on sim2 draws about 8 million edge logits in the guide (32 shops × 169
    candidates × 1500 steps): 0.5 zeros expected, enough for a NaN loss in a sizeable share of fits without the clamp.
    """

    @classmethod
    def relaxed(cls, logits: torch.Tensor, temperature: float) -> dist.Distribution:
        """Relaxed-Bernoulli edges with probabilities ``sigmoid(logits)`` at temperature τ, in logit space:
        Logistic(logits / τ, 1 / τ), ``(..., edge)`` as one event."""
        return cls(logits / temperature, torch.full_like(logits, 1.0 / temperature)).to_event(1)

    def rsample(self, sample_shape: torch.Size = torch.Size()) -> torch.Tensor:
        finfo = torch.finfo(self.loc.dtype)
        u = self.loc.new_empty(self._extended_shape(sample_shape)).uniform_().clamp(finfo.tiny, 1.0 - finfo.eps)
        return self.icdf(u)


class ShopLatents(NamedTuple):
    """One draw of a batch's shop-level latent sites.

    Attributes
    ----------
    z : (..., shop, node, node) graph, times each edge's gain with ``spec.edge_gain``; u : (..., shop, node, param)
        unconstrained response parameters
    weekly : (..., shop, node, harmonic) weekly profiles, None when ``spec.seasonality`` is off
    switching : (..., shop, switching channel, 2) on/off persistence, None without hurdle channels or
        ``spec.switching``
    additive : (..., shop, node, node) additive effect sizes z_nij · β_nij (cause, effect), None without
        ``spec.additive``
    """

    z: torch.Tensor
    u: torch.Tensor
    weekly: torch.Tensor | None
    switching: torch.Tensor | None
    additive: torch.Tensor | None = None


@dataclass
class ModelBatch:
    """What the model and guide see for one minibatch of shops.

    Attributes
    ----------
    x : (shop, time, node) scaled values (0 where not observed)
    observed : (shop, time, node) bool
    context : (shop, k) standardised context
    calendar : (time, n_calendar) or (shop, time, n_calendar) calendar features of the days in ``x``
    shop_idx : (shop,) long, positions of these shops among the ``n_shops`` of the plate
    n_shops : size of the shop plate
    score_from : first day whose value is scored (days before only warm up carryover and state)
    time_scale : likelihood weight so that a window stands for the whole series
    temperature : τ of the relaxed edges
    kl_weight : λ × warm-up factor applied to the graph site (model and guide alike)
    features : encoder inputs for these shops (see :mod:`causalmmm_ppl.inference.features`)
    hard_edges : draw the graph's edges as 0 or 1, the discrete limit (τ → 0) of the same draw: an edge is on where
        its relaxed logit is positive, which happens with probability q(z = 1). False: the relaxed value in (0, 1)
        that SVI trains with
    multistep : K, the days of the free-running paths that SVI scores beside the one-step likelihood
        (:meth:`CausalMMM.path_means`; ``CausalMMMInference.multistep``); below 2: none
    multistep_weight : the weight of each day a path scores, relative to a day of the one-step likelihood
    """

    x: torch.Tensor
    observed: torch.Tensor
    context: torch.Tensor
    calendar: torch.Tensor
    shop_idx: torch.Tensor
    n_shops: int
    score_from: int = 1
    time_scale: float = 1.0
    temperature: float = 0.5
    kl_weight: float = 1.0
    features: object = None
    hard_edges: bool = False
    multistep: int = 0
    multistep_weight: float = 1.0


class CausalMMM(PyroModule):
    """The generative model. Global networks are learned by maximum likelihood inside SVI (type-II).

    Parameters
    ----------
    nodes, node_kinds : (node,) names and kinds (channel/mediator/target), target last
    n_context : number of context variables
    n_calendar : number of calendar features
    rho : (cause, effect) prior edge probabilities; 0 forbids an edge, 1 requires it
    spec : model settings
    fixed : (cause, effect) bool, the pairs whose ρ the user set (expert, required; ``spec.pair_priors``): a
        population prior, the model's (``spec.graph_templates``) or the edge pooling layer, keeps them; None: none
    n_controls : time-varying controls, read by the mediators' and the target's decoder after the calendar
        features: a calendar input is ``(..., n_calendar + n_controls)``, the controls those of the same day (the
        model reads the next day's, the day it predicts)
    window : days per SVI training window (:class:`~causalmmm_ppl.models.settings.CausalMMMInference`; None: its
        default): a rollout's recurrent state runs over as many days as SVI fits (:meth:`rollout_history_days`)
    """

    def __init__(
        self,
        nodes: tuple[str, ...],
        node_kinds: tuple[str, ...],
        n_context: int,
        n_calendar: int,
        rho: np.ndarray,
        spec: CausalMMMSpec,
        fixed: np.ndarray | None = None,
        n_controls: int = 0,
        window: int | None = None,
    ) -> None:
        super().__init__()
        self.nodes, self.node_kinds, self.spec = tuple(nodes), tuple(node_kinds), spec
        self.window = int(CausalMMMInference().window if window is None else window)
        self.n_controls = int(n_controls)
        v = len(nodes)
        rho_t = torch.as_tensor(rho, dtype=torch.float32)
        cand = torch.nonzero(rho_t > 0, as_tuple=False)  # (edge, 2): cause, effect
        self.register_buffer("rho", rho_t)
        self.register_buffer("edge_index", cand)
        self.register_buffer("prior_logit", torch.logit(rho_t[cand[:, 0], cand[:, 1]].clamp(PROB_CLAMP, 1 - PROB_CLAMP)))
        # (edge,) the candidates whose ρ the user set: no population prior moves them
        expert = torch.as_tensor(np.zeros_like(rho, dtype=bool) if fixed is None else fixed)[cand[:, 0], cand[:, 1]]
        self.register_buffer("expert_edges", expert, persistent=False)
        if spec.graph_templates:
            self.register_buffer("template_learned", ~expert & (rho_t[cand[:, 0], cand[:, 1]] < 1.0))
            # unequal starts break the templates' symmetry (equal ones would receive equal gradients for ever)
            self.template_offset = nn.Parameter(TEMPLATE_INIT_SD * torch.randn(spec.graph_templates, len(cand)))
            self.template_weight_logit = nn.Parameter(torch.zeros(spec.graph_templates))
        kinds = np.asarray(node_kinds)
        self.register_buffer("channel_mask", torch.as_tensor(kinds == "channel"))
        self.register_buffer("mediator_mask", torch.as_tensor(kinds == "mediator"), persistent=False)
        self.register_buffer("hurdle_mask", torch.as_tensor(spec.hurdle_nodes(node_kinds)))
        self.register_buffer("switch_mask", self.hurdle_mask & bool(spec.switching), persistent=False)
        # additive response (spec.additive): the candidate edges into mediators and the target carry a β each
        on = spec.additive != "off"
        additive = ~self.channel_mask[cand[:, 1]] & on
        self.register_buffer("additive_edges", additive, persistent=False)
        cut = ~self.channel_mask & on & (not spec.additive_messages)  # (effect,): the nodes whose messages are cut
        self.register_buffer("message_keep", (~cut).float() if bool(cut.any()) else None, persistent=False)
        if on:
            self.additive_loc = nn.Parameter(torch.full((int(additive.sum()),), float(np.log(ADDITIVE_INIT))))
        self.response_prior = ResponsePrior(v, n_context, spec.response)
        self.decoder = Decoder(v, n_calendar + self.n_controls, spec.hidden, spec.msg_dim, spec.node_emb,
                               log_nodes=self.hurdle_mask, n_controls=self.n_controls,
                               control_nodes=~self.channel_mask, memory=spec.decoder_memory)
        self.log_sigma = nn.Parameter(torch.full((v,), float(np.log(0.3))))
        if spec.edge_gain and spec.learn_gain_scale:  # the log gains' prior scale, type-II
            self.log_gain_scale = nn.Parameter(torch.tensor(float(np.log(spec.edge_gain))))
        if spec.learn_df and spec.likelihood == "studentt":  # per node, starting at spec.df, kept above 2
            self.log_df_excess = nn.Parameter(torch.full((v,), float(np.log(spec.df - 2.0))))

    # ------------------------------------------------------------------------------------------------ pieces
    @property
    def n_nodes(self) -> int:
        return len(self.nodes)

    @property
    def n_edges(self) -> int:
        return int(self.edge_index.shape[0])

    def edges_to_matrix(self, z_edges: torch.Tensor) -> torch.Tensor:
        """Scatter candidate-edge values ``(..., edge)`` into a ``(..., cause, effect)`` matrix (zeros elsewhere)."""
        out = z_edges.new_zeros(z_edges.shape[:-1] + (self.n_nodes, self.n_nodes))
        out[..., self.edge_index[:, 0], self.edge_index[:, 1]] = z_edges
        return out

    def unlink(self, y: torch.Tensor) -> torch.Tensor:
        """Modelled values (see ``spec.link``) → per-shop scaled values, on which carryover and saturation act."""
        return torch.expm1(y.clamp_min(0.0)) if self.spec.link == "log1p" else y

    def template_logits(self) -> torch.Tensor:
        """Logits of the graph templates' edge probabilities, ``(template, edge)``: the prior's logit moved by at most
        ``spec.template_spread`` on ordinary candidates, the prior's own elsewhere."""
        moved = self.prior_logit + self.spec.template_spread * torch.tanh(self.template_offset)
        return torch.where(self.template_learned, moved, self.prior_logit)

    def template_weights(self) -> torch.Tensor:
        """π, the population share of each graph template: ``(template,)``."""
        return torch.softmax(self.template_weight_logit, -1)

    def template_membership(self, edge_logit: torch.Tensor, temperature: float) -> torch.Tensor:
        """Posterior probability of each graph template given a shop's edge logits: ``(..., edge)`` →
        ``(..., template)``, ∝ π_k Π_ij Logistic(y_ij; logit(ρ_kij) / τ, 1 / τ)."""
        joint = torch.log_softmax(self.template_weight_logit, -1) + self._templates(temperature).log_prob(
            edge_logit.unsqueeze(-2))
        return torch.softmax(joint, dim=-1)

    def edge_prior(self, temperature: float) -> dist.Distribution:
        """Relaxed-Bernoulli prior of the candidate edges in logit space: ``(edge,)`` event; with
        ``spec.graph_templates``, a mixture over the templates of such priors."""
        if not self.spec.graph_templates:
            return EdgeLogistic.relaxed(self.prior_logit, temperature)
        return dist.MixtureSameFamily(dist.Categorical(logits=self.template_weight_logit), self._templates(temperature))

    def _templates(self, temperature: float) -> dist.Distribution:
        """The templates' relaxed-Bernoulli edge logits: batch ``(template,)``, event ``(edge,)``."""
        return EdgeLogistic.relaxed(self.template_logits(), temperature)

    def observation(self, pred: Prediction) -> NodeLikelihood:
        """Likelihood of scaled values given the decoder's prediction (tensors ``(..., node)``)."""
        sigma = torch.exp(self.log_sigma).clamp_min(1e-3)
        return NodeLikelihood(pred, sigma, self.hurdle_mask, self.degrees_of_freedom())

    def degrees_of_freedom(self) -> torch.Tensor | float | None:
        """Student-t degrees of freedom: ``(node,)`` when learned, ``spec.df`` otherwise; None for a Normal."""
        if self.spec.likelihood == "normal":
            return None
        if hasattr(self, "log_df_excess"):
            return 2.0 + torch.exp(self.log_df_excess.clamp(max=np.log(MAX_DF - 2.0)))
        return self.spec.df

    def one_step_means(
        self, x: torch.Tensor, u: torch.Tensor, z: torch.Tensor, calendar: torch.Tensor,
        weekly: torch.Tensor | None = None, calendar_next: torch.Tensor | None = None, last_only: bool = False,
        switching: torch.Tensor | None = None, additive: torch.Tensor | None = None, all_states: bool = False,
    ) -> tuple[Prediction, torch.Tensor]:
        """Teacher-forced predictions: ``pred[:, t]`` predicts ``x[:, t + 1]``.

        Parameters
        ----------
        x : (batch, time, node); u : (batch, node, param); z : (batch, node, node)
        calendar : (time, n_calendar) shared by the batch, or (shop, time, n_calendar) with batch = draws × shop
            (with controls: ``n_calendar + n_controls`` columns, each day's own controls)
        weekly : (batch, node, harmonic) the shops' weekly profiles (the ``weekly`` site); None: no shop profile
        calendar_next : (n_calendar,) or (shop, n_calendar) calendar of the day after the last (for the last day's
            prediction, e.g. the first day of a forecast); None: the harmonics of the day a week before it, which
            has the same weekday (with fewer than 7 days, the last day's), and the last day's controls
        last_only : predict the day after the last only (``pred`` has time 1): what a rollout starts from
        switching : (batch, switching channel, 2) the shops' on/off persistence (the ``switching`` site); None: none
        additive : (batch, cause, effect) additive effect sizes (:meth:`additive_matrix`); None: none. Each
            prediction gets the next day's contribution added; with ``spec.additive = "level"`` the decoder reads the
            effects' own past net of the contributions (their baseline)
        all_states : return the decoder's state after every day, ``(batch, node, time, hidden)``, instead of the last

        Returns
        -------
        pred : :class:`Prediction` with ``loc`` and ``on_logit`` (batch, time, node); h : (batch, node, hidden) the
            state after the last day (see ``all_states``)
        """
        cal = _per_batch(calendar, x.shape[0])
        after = None if calendar_next is None or not self.n_controls else _per_batch(calendar_next.unsqueeze(-2),
                                                                                    x.shape[0])
        s = self.signals(x, u)
        if additive is None:
            pred, h = self.decoder(x, s, z, self.controls_ahead(cal, after), last_only=last_only, all_states=all_states)
        else:
            carried = self.contributions(s, additive)  # (batch, time, node): [:, t] is added to day t + 1
            if self.spec.additive == "level":  # what each day's value holds (day 0: day 1's)
                x = x - torch.cat([carried[:, :1], carried[:, :-1]], dim=1)
            pred, h = self.decoder(x, s, self.message_graph(z), self.controls_ahead(cal, after), last_only=last_only,
                                   all_states=all_states)
            pred = pred.shifted(carried[:, -1:] if last_only else carried)
        if switching is not None:
            pred = pred.switched(self.switch_shift(x[:, -1:] if last_only else x, self.switch_table(switching)[:, None]))
        if weekly is None:
            return pred, h
        season = weekly_profile(weekly, cal[..., WEEKDAY_COLUMNS])  # (batch, time, node)
        if calendar_next is not None:
            weekday_next = calendar_next[..., WEEKDAY_COLUMNS]
            after_last = weekly_profile(weekly, weekday_next.reshape(-1, weekday_next.shape[-1])[:1])
        else:
            after_last = season[:, -7:-6] if x.shape[1] >= 7 else season[:, -1:]
        season_next = torch.cat([season[:, 1:], after_last], dim=1)
        if last_only:
            x, season, season_next = x[:, -1:], season[:, -1:], season_next[:, -1:]
        return pred.shifted(self.season_shift(x, season, season_next)), h

    def controls_ahead(self, calendar: torch.Tensor, after: torch.Tensor | None = None) -> torch.Tensor:
        """The decoder's calendar input: each day's calendar features with the controls of the day after (the day
        its prediction is for).

        Parameters
        ----------
        calendar : (..., time, n_calendar + n_controls) each day's own calendar and controls
        after : (..., 1, n_calendar + n_controls) the day after the last; None: the last day's controls again

        Returns
        -------
        (..., time, n_calendar + n_controls); ``calendar`` itself without controls
        """
        c = self.n_controls
        if not c:
            return calendar
        nxt = calendar[..., -1:, -c:] if after is None else after[..., -c:]
        return torch.cat([calendar[..., :-c], torch.cat([calendar[..., 1:, -c:], nxt], dim=-2)], dim=-1)

    def season_shift(self, x: torch.Tensor, season: torch.Tensor, season_next: torch.Tensor) -> torch.Tensor:
        """What the shop's weekly profile adds to the location predicted for the next day: S(t + 1) − S(t) for a
        node whose latest value holds S(t), S(t + 1) for a hurdle channel that was off.

        Parameters
        ----------
        x : (..., node) values on day t; season, season_next : (..., node) profile on days t and t + 1

        Returns
        -------
        (..., node)
        """
        return season_next - holds_level(x, self.hurdle_mask) * season

    def _held_contributions(self, x: torch.Tensor, u: torch.Tensor, additive: torch.Tensor) -> torch.Tensor:
        """What the causes added to the last ``lags`` days of a history and add to the day after it: ``x: (batch,
        time, node)``, ``u: (batch, node, param)``, ``additive: (batch, cause, effect)`` → ``(batch, node, lags + 1)``,
        oldest first (zeros before the history's first day). Only the days whose signals it needs are read."""
        lags = self.decoder.lags
        recent = x[:, -(self.spec.l_max + lags) :]
        carried = self.contributions(self.signals(recent, u), additive)  # (batch, time, node)
        return nn.functional.pad(carried.transpose(1, 2), (lags + 1, 0))[..., -(lags + 1) :]

    def rollout_history_days(self, n_days: int) -> int:
        """Days of history a rollout's recurrent state runs over: the last ``window + l_max`` (a training window and
        its warm-up, the longest run from a zero state that SVI fits), or all ``n_days`` if fewer."""
        return min(n_days, self.window + self.spec.l_max)

    def switching_prior(self, n_shops: torch.Size) -> dist.Distribution:
        """Prior of the shops' on/off persistence: ``(shop, switching channel, 2)`` events, the shifts of a channel's
        on-logit after an active day and after an off day."""
        loc = self.log_sigma.new_zeros(int(self.switch_mask.sum()), 2)
        return dist.Normal(loc, self.spec.switching_scale).expand(n_shops + loc.shape).to_event(2)

    def switch_table(self, switching: torch.Tensor) -> torch.Tensor:
        """The ``switching`` site ``(..., switching channel, 2)`` spread over every node: ``(..., node, 2)``, zero
        for the nodes without one."""
        table = switching.new_zeros(switching.shape[:-2] + (self.n_nodes, 2))
        table[..., self.switch_mask, :] = switching
        return table

    @staticmethod
    def switch_shift(x: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
        """What a shop's on/off persistence adds to the on-logit of the next day: ``x: (..., node)`` values on day t,
        ``table: (..., node, 2)`` (:meth:`switch_table`, broadcastable) → ``(..., node)``."""
        return torch.where(x > 0, table[..., 0], table[..., 1])

    def with_gains(self, z: torch.Tensor, log_gain: torch.Tensor) -> torch.Tensor:
        """The graph ``z: (..., cause, effect)`` with each candidate edge scaled by its gain, ``log_gain: (..., edge)``
        (the ``edge_gain`` site)."""
        return z * self.edges_to_matrix(torch.exp(log_gain))

    def gain_prior(self, n_shops: torch.Size) -> dist.Distribution:
        """Prior of the shops' log edge gains (``spec.edge_gain``, learned with ``spec.learn_gain_scale``):
        ``(shop, edge)`` events."""
        loc = self.log_sigma.new_zeros(self.n_edges)
        scale = self.log_gain_scale.exp() if self.spec.learn_gain_scale else self.spec.edge_gain
        return dist.Normal(loc, scale).expand(n_shops + loc.shape).to_event(1)

    def additive_prior(self, n_shops: torch.Size) -> dist.Distribution:
        """Prior of the shops' log additive effect sizes (``spec.additive``): ``(shop, additive edge)`` events around
        the population's ``additive_loc``."""
        return dist.Normal(self.additive_loc, self.spec.additive_scale).expand(
            n_shops + self.additive_loc.shape).to_event(1)

    def additive_matrix(self, z: torch.Tensor, log_beta: torch.Tensor) -> torch.Tensor:
        """The additive effect sizes z_nij · β_nij: ``z: (..., cause, effect)`` graph, ``log_beta: (..., additive
        edge)`` (the ``edge_beta`` site) → ``(..., cause, effect)``, zero off the additive edges."""
        beta = log_beta.new_zeros(log_beta.shape[:-1] + (self.n_edges,))
        beta[..., self.additive_edges] = torch.exp(log_beta.clamp(max=LOG_CLAMP))
        return z * self.edges_to_matrix(beta)

    @staticmethod
    def contributions(s: torch.Tensor, additive: torch.Tensor) -> torch.Tensor:
        """What the causes' signals add to their effects the next day: ``s: (batch, cause, time)`` signals,
        ``additive: (batch, cause, effect)`` (:meth:`additive_matrix`) → ``(batch, time, effect)``, ``[:, t]`` the
        contribution to day t + 1."""
        return torch.einsum("bit,bij->btj", s, additive)

    def message_graph(self, z: torch.Tensor) -> torch.Tensor:
        """The graph the decoder's messages follow: ``z: (..., cause, effect)`` without the edges into the nodes
        whose effects are additive only (``spec.additive`` without ``additive_messages``)."""
        return z if self.message_keep is None else z * self.message_keep

    def edge_weight_log_prior(self) -> torch.Tensor:
        """log p(W) of the decoder's message weights under ``Normal(0, spec.edge_weight_prior²)`` elementwise, up to a
        constant: a scalar."""
        return -0.5 * self.decoder.edge_weight.pow(2).sum() / self.spec.edge_weight_prior ** 2

    def weekly_prior(self, n_shops: torch.Size) -> dist.Distribution:
        """Prior of the shops' weekly profiles: ``(shop, node, harmonic)`` events."""
        loc = self.log_sigma.new_zeros(self.n_nodes, WEEKDAY_COLUMNS.stop - WEEKDAY_COLUMNS.start)
        return dist.Normal(loc, self.spec.seasonality_scale).expand(n_shops + loc.shape).to_event(2)

    def signals(self, x: torch.Tensor, u: torch.Tensor, last_only: bool = False, prepared: tuple | None = None
                ) -> torch.Tensor:
        """Causes' signals ``saturation(adstock(x_i))``: ``x: (batch, time, node)`` modelled values, ``u: (batch, node,
        param)`` unconstrained response parameters → ``(batch, node, time)``; ``last_only``: the last day's alone
        (time 1); ``prepared``: ``spec.response.prepare(u, spec.l_max)``, when the caller reuses it."""
        return self.spec.response.signals(self.unlink(x), u, self.spec.l_max, last_only, prepared)

    # ------------------------------------------------------------------------------------------ the model
    def sample_latents(self, batch: ModelBatch) -> ShopLatents:
        """Sample the graph, response, weekly-profile and on/off-persistence sites inside the current shop plate."""
        prior = self.edge_prior(batch.temperature).expand(batch.shop_idx.shape)
        with poutine.scale(scale=batch.kl_weight):
            y = pyro.sample("edge_logit", prior)
        on = (y > 0).to(y.dtype) if batch.hard_edges else torch.sigmoid(y)
        z = pyro.deterministic("graph", self.edges_to_matrix(on), event_dim=2)
        if self.spec.edge_gain:
            z = self.with_gains(z, pyro.sample("edge_gain", self.gain_prior(batch.shop_idx.shape)))
        loc = self.response_prior(batch.context)
        u = pyro.sample("response", dist.Normal(loc, self.spec.response_scale).to_event(2))
        weekly = pyro.sample("weekly", self.weekly_prior(batch.shop_idx.shape)) if self.spec.seasonality else None
        switching = None
        if bool(self.switch_mask.any()):
            switching = pyro.sample("switching", self.switching_prior(batch.shop_idx.shape))
        additive = None
        if self.spec.additive != "off":
            additive = self.additive_matrix(z, pyro.sample("edge_beta", self.additive_prior(batch.shop_idx.shape)))
        return ShopLatents(z, u, weekly, switching, additive)

    def forward(self, batch: ModelBatch) -> Prediction:
        """Score the batch's days ``score_from..`` given the days before; returns the predictions ``(shop, time, node)``.

        With ``batch.multistep`` = K ≥ 2 the mediators and the target are also scored along free-running paths of K
        days (:meth:`path_means`), site ``x_path``, each scored day weighted ``batch.multistep_weight``.
        """
        paths = batch.multistep >= 2
        if self.spec.edge_weight_prior:  # log p(W), once per panel (outside the shop plate: not rescaled)
            pyro.factor("edge_weight_prior", self.edge_weight_log_prior())
        with pyro.plate("shop", batch.n_shops, subsample=batch.shop_idx):
            z, u, weekly, switching, additive = self.sample_latents(batch)
            pred, states = self.one_step_means(batch.x, u, z, batch.calendar, weekly, switching=switching,
                                               additive=additive, all_states=paths)
            k = batch.score_from
            target = batch.x[:, k:]
            mask = batch.observed[:, k:] & batch.observed[:, k - 1 : -1]
            with poutine.scale(scale=batch.time_scale):
                pyro.sample("x", self.observation(pred[:, k - 1 : -1]).mask(mask).to_event(2), obs=target)
            if paths:
                self._score_paths(batch, u, z, weekly, pred, states)
        return pred

    def _score_paths(self, batch: ModelBatch, u: torch.Tensor, z: torch.Tensor, weekly: torch.Tensor | None,
                     pred: Prediction, states: torch.Tensor) -> None:
        """The ``x_path`` site: the mediators' and the target's observed values on days 2..K of each free-running
        path of :meth:`path_means`, scored where they and the path's first day are observed."""
        horizon = batch.multistep
        path, starts = self.path_means(batch.x, u, z, batch.calendar, weekly, pred, states, batch.score_from - 1,
                                       horizon)
        if path is None:
            return
        free = ~self.channel_mask
        days = starts[:, None] + torch.arange(2, horizon + 1, device=starts.device)  # (path, K - 1) days predicted
        target = batch.x[:, days][..., free]  # (shop, path, K - 1, free node)
        mask = batch.observed[:, days][..., free] & batch.observed[:, starts][:, :, None, free]
        likelihood = self.observation(Prediction(path, torch.zeros_like(path))).select(free)
        with poutine.scale(scale=batch.time_scale * batch.multistep_weight):
            pyro.sample("x_path", likelihood.mask(mask).to_event(3), obs=target)

    def path_means(
        self, x: torch.Tensor, u: torch.Tensor, z: torch.Tensor, calendar: torch.Tensor, weekly: torch.Tensor | None,
        pred: Prediction, states: torch.Tensor, first: int, horizon: int,
    ) -> tuple[torch.Tensor | None, torch.Tensor]:
        """Free-running predictions: paths of ``horizon`` days on which the mediators and the target are fed their
        own predicted locations instead of their observed values (the channels stay observed).

        A path starts from the teacher-forced state after day t0 (t0 = ``first``, ``first + horizon``, … while
        t0 + horizon is a day of ``x``); its day 1 is the one-step prediction ``pred[:, t0]``, and each later day
        is the decoder stepped on the path's own values: what a rollout does, with the means in place of draws.
        The one-step likelihood scores how well the model predicts tomorrow from today's observed values; the
        paths score how well it accumulates what the channels keep adding (carryover, the target's persistence)
        over ``horizon`` days, which is what an effect over a window sums.

        Parameters
        ----------
        x : (batch, time, node) values; u : (batch, node, param); z : (batch, node, node) the graph
        calendar : (time, n_calendar) or (batch, time, n_calendar + n_controls)
        weekly : (batch, node, harmonic) or None
        pred : the teacher-forced predictions ``(batch, time, node)`` (:meth:`one_step_means`)
        states : (batch, node, time, hidden) the decoder's state after every day (``all_states``)
        first : the first path's start day t0; horizon : K >= 2 days per path

        Returns
        -------
        loc : (batch, path, K - 1, node) the locations of days t0 + 2 … t0 + K of each path (the channels' entries
            are their own one-step locations); None when no path fits
        starts : (path,) long, the start days t0
        """
        b, t, v = x.shape
        starts = torch.arange(first, t - horizon, horizon, device=x.device)
        n = int(starts.numel())
        if n == 0:
            return None, starts
        lags, l_max = self.decoder.lags, self.spec.l_max
        keep = max(l_max, lags)
        free = ~self.channel_mask
        # each path's last `keep` observed days up to t0, oldest first: (batch·path, node, keep)
        padded = nn.functional.pad(x, (0, 0, keep, 0))  # day d at row d + keep
        rows = starts[:, None] + torch.arange(1, keep + 1, device=x.device)  # days t0 - keep + 1 … t0
        buffer = padded[:, rows].reshape(b * n, keep, v).transpose(1, 2)
        h = states[:, :, starts].transpose(1, 2).reshape(b * n, v, -1)
        zf, uf = z.repeat_interleave(n, 0), u.repeat_interleave(n, 0)
        cal = self.controls_ahead(_per_batch(calendar, b))  # (batch, time, features), each day with the next's
        season = None if weekly is None else weekly_profile(weekly, cal[..., WEEKDAY_COLUMNS])
        curves = self.spec.response.prepare(uf, l_max)
        loc, out = pred.loc[:, starts].reshape(b * n, v), []
        for j in range(1, horizon):
            day = starts + j
            fed = torch.where(free, loc, x[:, day].reshape(b * n, v))  # the path's value of day t0 + j
            buffer = torch.cat([buffer[..., 1:], fed.unsqueeze(-1)], dim=-1)
            s_day = self.signals(buffer[..., -l_max:].transpose(1, 2), uf, last_only=True, prepared=curves)[..., -1]
            step, h = self.decoder.step(buffer.flip(-1)[..., :lags], s_day, zf, cal[:, day].reshape(b * n, -1), h)
            loc = step.loc
            if season is not None:
                loc = loc + self.season_shift(fed, season[:, day].reshape(b * n, v),
                                              season[:, day + 1].reshape(b * n, v))
            out.append(loc)
        return torch.stack(out, dim=1).reshape(b, n, horizon - 1, v), starts

    # ------------------------------------------------------------------------------------------- rollouts
    def rollout(
        self, batch: ModelBatch, calendar_future: torch.Tensor, horizon: int, respond: ChannelResponse | None = None,
        history_cache: dict | None = None, stepped: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Forecast ``horizon`` days after the batch's history by sampling the recurrence forward.

        Latent sites are the training model's (``edge_logit``, ``graph``, ``response``): condition them on guide
        draws with ``poutine.condition``, or intervene with ``poutine.do``. Each future day k has the sites
        ``channels_<k>`` (shop, channel), ``mediators_<k>`` (shop, mediator; only when the model has mediators) and
        ``target_<k>`` (shop, 1), and a deterministic ``channel_loc_<k>`` (shop, channel), the channels' predicted
        location (of log-spend for hurdle channels). Left alone, channels follow the model's own dynamics; a spend
        plan is an intervention, ``poutine.do(model.rollout, data={"channels_<k>": plan_k, ...})`` (see
        :func:`causalmmm_ppl.inference.forecast.forecast_trace`); holding the mediators at given paths is another.

        Parameters
        ----------
        batch : history, ``x: (shop, time, node)``; draws may come as an enclosing plate at dim -2
        calendar_future : (horizon, n_calendar), or (horizon, shop, n_calendar + n_controls) with controls
        horizon : days to forecast
        respond : channels that respond to the graph on top of their planned values (see :class:`ChannelResponse`)
        history_cache : a dict shared by rollouts of the same history under the same latent draws (the scenarios of
            one counterfactual comparison): the pass over the history is computed by the first and reused by the
            others. ``None``: computed every time. The pass runs the recurrent state over the history's last
            :meth:`rollout_history_days` only, as SVI fits it (from a zero state a window and its warm-up before)
        stepped : (node,) bool, the nodes whose next-day predictions are computed: a rollout whose interventions set
            the other nodes on every future day (a plan's channels; mediators held at their paths) need not predict
            them. Their sites are still sampled (from the last computed prediction), so every rollout draws the same
            random numbers. None: every node

        Returns
        -------
        path : (..., horizon, shop, node) sampled scaled values
        """
        v = self.n_nodes
        ch = self.channel_mask
        med = self.mediator_mask
        tgt = torch.zeros_like(ch)
        tgt[-1] = True
        with pyro.plate("shop", batch.n_shops, subsample=batch.shop_idx, dim=-1):
            z, u, weekly, switching, additive = self.sample_latents(batch)
            lead = z.shape[:-3]
            n_draw = int(np.prod(lead)) if lead else 1
            n_shop, t_hist, _ = batch.x.shape
            b = n_draw * n_shop
            zf, uf = z.reshape(b, v, v), u.reshape(b, v, u.shape[-1])
            wf = None if weekly is None else weekly.reshape(b, v, -1)
            sf = None if switching is None else switching.reshape(b, -1, 2)
            table = None if sf is None else self.switch_table(sf)  # (b, node, 2)
            af = None if additive is None else additive.reshape(b, v, v)
            zm = self.message_graph(zf)
            lags = self.decoder.lags
            if history_cache is not None and "start" in history_cache:
                pred_next, h, buffer, held = history_cache["start"]
            else:
                days = self.rollout_history_days(t_hist)
                xh = batch.x[:, t_hist - days :].expand(lead + (n_shop, days, v)).reshape(b, days, v)
                cal = batch.calendar[..., t_hist - days :, :]
                pred, h = self.one_step_means(xh, uf, zf, cal, wf, calendar_future[0], last_only=True, switching=sf,
                                              additive=af)
                keep = max(self.spec.l_max, lags)
                buffer = nn.functional.pad(xh.transpose(1, 2), (keep, 0))[..., -keep:]  # (b, node, keep), oldest first
                pred_next = pred[:, -1]  # (b, node): prediction of the first future day
                held = None if af is None or self.spec.additive != "level" else self._held_contributions(xh, uf, af)
                if history_cache is not None:
                    history_cache["start"] = (pred_next, h, buffer, held)
            weekday = calendar_future[..., WEEKDAY_COLUMNS]  # the same for every shop
            if wf is not None:  # the shop's weekly profile on each future day: (b, horizon, node)
                season = weekly_profile(wf, weekday[:, 0] if weekday.ndim == 3 else weekday)
            steps = self.controls_ahead(calendar_future.movedim(0, -2)).movedim(-2, 0)  # each day with the next's
            idx = None if stepped is None else stepped.nonzero().squeeze(-1)  # the nodes stepped
            curves = self.spec.response.prepare(uf, self.spec.l_max)  # the causes' curves, the same every day
            out = []
            for k in range(horizon):
                d = self.observation(pred_next.reshape(lead + (n_shop, v)))
                loc_ch = pyro.deterministic(f"channel_loc_{k}", d.pred.loc[..., ch], event_dim=1)
                x_ch = pyro.sample(f"channels_{k}", d.select(ch).to_event(1)).clamp_min(0.0)
                if respond is not None:
                    x_ch = respond.apply(x_ch, loc_ch, k, self.hurdle_mask[ch])
                x_k = pred_next.loc.new_zeros(lead + (n_shop, v))
                x_k[..., ch] = x_ch
                if bool(med.any()):
                    x_k[..., med] = pyro.sample(f"mediators_{k}", d.select(med).to_event(1))
                x_k[..., tgt] = pyro.sample(f"target_{k}", d.select(tgt).to_event(1))
                out.append(x_k)
                buffer = torch.cat([buffer[..., 1:], x_k.reshape(b, v, 1)], dim=-1)
                recent = buffer.flip(-1)  # lag 0 = today
                window = buffer[..., -self.spec.l_max :].transpose(1, 2)  # (b, lag, node), oldest first
                s_k = self.signals(window, uf, last_only=True, prepared=curves)[..., -1]  # today's, as in training
                cal_k = steps[k].expand(b, -1) if steps.ndim == 2 else steps[k].repeat(b // n_shop, 1)
                own, c_next = recent[..., :lags], None
                if af is not None:
                    c_next = self.contributions(s_k.unsqueeze(-1), af)[:, 0]  # (b, node): added to tomorrow
                if held is not None:  # the baseline's own past: the values net of what the causes added
                    own = own - held[..., 1:].flip(-1)
                    held = torch.cat([held[..., 1:], c_next.unsqueeze(-1)], dim=-1)
                if stepped is None:
                    pred_next, h = self.decoder.step(own, s_k, zm, cal_k, h)
                    if table is not None:
                        pred_next = pred_next.switched(self.switch_shift(recent[..., 0], table))
                    if c_next is not None:
                        pred_next = pred_next.shifted(c_next)
                else:
                    sub, h_sub = self.decoder.step(own[:, idx], s_k, zm, cal_k, h[:, idx], idx)
                    if table is not None:
                        sub = sub.switched(self.switch_shift(recent[:, idx, 0], table[:, idx]))
                    if c_next is not None:
                        sub = sub.shifted(c_next[:, idx])
                    h, loc, on = h.clone(), pred_next.loc.clone(), pred_next.on_logit.clone()
                    h[:, idx], loc[:, idx], on[:, idx] = h_sub, sub.loc, sub.on_logit
                    pred_next = Prediction(loc, on)
                if wf is not None and k + 1 < horizon:
                    pred_next = pred_next.shifted(self.season_shift(recent[..., 0], season[:, k], season[:, k + 1]))
        return torch.stack(out, dim=-3)


@dataclass
class ChannelResponse:
    """Channels whose values respond to the graph on top of their planned values (a counterfactual with the
    channels' own exogenous part held: abduction, then action, then prediction).

    A planned value ``x`` of channel c on future day k decomposes, under the factual path, into the model's predicted
    location and an exogenous residual ``e = view(x) - loc_f`` (``view`` = log on active days for hurdle channels,
    the value otherwise). Under an intervention elsewhere the same channel takes ``view⁻¹(loc_cf + e)``: what the
    changed parents predict, plus the same residual. Days a hurdle channel is off stay off.

    Attributes
    ----------
    residual : (..., horizon, shop, channel) the abducted residuals (from the factual rollout's ``channel_loc_<k>``)
    mask : (channel,) bool, the channels that respond; the others keep the site's value (e.g. the plan)
    """

    residual: torch.Tensor
    mask: torch.Tensor

    @staticmethod
    def abduct(planned: torch.Tensor, loc: torch.Tensor, hurdle: torch.Tensor) -> torch.Tensor:
        """Residuals ``(..., channel)`` of planned values given the factual location; ``hurdle: (channel,)``."""
        value, _ = spend_view(planned, hurdle)
        return value - loc

    def apply(self, x: torch.Tensor, loc: torch.Tensor, k: int, hurdle: torch.Tensor) -> torch.Tensor:
        """Day ``k``'s channel values ``x: (..., shop, channel)`` with the responding channels moved."""
        moved = loc + self.residual[..., k, :, :]
        moved = torch.where(hurdle, torch.exp(moved.clamp(max=LOG_CLAMP)) * (x > 0), moved.clamp_min(0.0))
        return torch.where(self.mask, moved, x)


def _per_batch(calendar: torch.Tensor, batch: int) -> torch.Tensor:
    """Calendar ``(time, F)`` or ``(shop, time, F)`` as ``(batch, time, F)`` where batch = draws × shop."""
    if calendar.ndim == 2:
        return calendar.unsqueeze(0).expand(batch, -1, -1)
    return calendar.repeat(batch // calendar.shape[0], 1, 1)

