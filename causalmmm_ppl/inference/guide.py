"""The amortized guide: a graph neural network encoder q(z_n, θ_n | X_n, c_n).

Node embeddings from each series' summaries, then node → edge → node → edge message passing (NRI/ACD style) with the
shop's pairwise Granger-style evidence on every edge (see :mod:`causalmmm_ppl.inference.features`); edge logits give
the relaxed-Bernoulli edges, node embeddings and context give a Normal over each node's response parameters.
One forward pass serves any shop, seen in training or not. The shops' weekly profiles (``weekly`` site) start from
each node's own least-squares weekday harmonics over the days the guide sees, and their on/off persistence
(``switching`` site) from each channel's own on/off transitions over those days.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator

import pyro
import pyro.distributions as dist
import torch
from pyro import poutine
from pyro.nn import PyroModule
from torch import nn

from causalmmm_ppl.data.calendar import WEEKDAY_COLUMNS
from causalmmm_ppl.inference.edge_population import EdgePopulation
from causalmmm_ppl.inference.features import N_EDGE_FEATURES, N_NODE_FEATURES, SCREEN_COLUMNS, ShopFeatures
from causalmmm_ppl.models.causalmmm import CausalMMM, EdgeLogistic, ModelBatch
from causalmmm_ppl.models.components import mlp
from causalmmm_ppl.models.likelihood import holds_level, spend_view


class GraphEncoder(nn.Module):
    """Features → (edge logits, response location, response scale).

    Parameters
    ----------
    n_nodes, n_context : sizes; hidden : width
    edge_index : (edge, 2) candidate edges (cause, effect)
    prior_logit : (edge,) logit of the prior edge probabilities (an offset of the edge logits)
    screen_weight : initial weight of the shop's Granger screen (the conditional t-statistics of the edge features)
        in the edge logits; 0 starts every ordinary candidate at q = 0.5
    n_response : response parameters per node (the model's response family's size)
    gain : also give each candidate edge's log gain a location and scale (the model's ``spec.edge_gain``)
    additive_edges : (edge,) bool, the candidates whose log additive effect size gets an offset (from the model's
        population location) and a scale (the model's ``spec.additive``); None or none set: no such head
    """

    def __init__(
        self, n_nodes: int, n_context: int, hidden: int, edge_index: torch.Tensor, prior_logit: torch.Tensor,
        screen_weight: float = 0.0, *, n_response: int, gain: bool = False,
        additive_edges: torch.Tensor | None = None,
    ):
        super().__init__()
        self.n_nodes, self.n_response = n_nodes, n_response
        self.register_buffer("edge_index", edge_index.clone())
        self.register_buffer("prior_logit", prior_logit.clone())
        emb = 8
        self.node_id = nn.Parameter(0.1 * torch.randn(n_nodes, emb))
        self.node_in = mlp([N_NODE_FEATURES + emb + n_context, hidden, hidden])
        self.edge_in = mlp([2 * hidden + N_EDGE_FEATURES, hidden, hidden])
        self.node_mid = mlp([3 * hidden, hidden, hidden])
        self.edge_out = mlp([2 * hidden + hidden + N_EDGE_FEATURES, hidden, 1])
        self.response_out = mlp([hidden + n_context, hidden, 2 * n_response]) if n_response else None
        self.gain_out = mlp([2 * hidden + hidden + N_EDGE_FEATURES, hidden, 2]) if gain else None
        has_beta = additive_edges is not None and bool(additive_edges.any())
        self.register_buffer("additive_edges", additive_edges.clone() if has_beta else None, persistent=False)
        self.beta_out = mlp([2 * hidden + hidden + N_EDGE_FEATURES, hidden, 2]) if has_beta else None
        # Start with the decoder seeing edges: logits = out + logit(ρ) with out = -median(logit ρ) puts ordinary
        # candidates at q = 0.5 (required and expert edges keep their offset from them). Starting at q = ρ leaves
        # edges off while the decoder learns what they could carry, and the prior then prunes them for good.
        nn.init.zeros_(self.edge_out[-1].weight)
        nn.init.constant_(self.edge_out[-1].bias, float(-prior_logit.median()) if prior_logit.numel() else 0.0)
        if self.response_out is not None:
            nn.init.zeros_(self.response_out[-1].weight)
            nn.init.zeros_(self.response_out[-1].bias)
        for head in (self.gain_out, self.beta_out):  # every offset starts at 0 with a scale of about 0.1
            if head is not None:
                nn.init.zeros_(head[-1].weight)
                nn.init.constant_(head[-1].bias, 0.0)
                with torch.no_grad():
                    head[-1].bias[1] = math.log(math.expm1(0.1)) + 1.0
        # A linear path from the screen's |slog t| to the logit, learned like the rest. Initialised at
        # screen_weight * (sum |slog t| - 2), it starts edges with strong evidence on and weak ones off (|t| ≈ 1.7 on
        # both statistics is q = 0.5), so the decoder first learns what the likely edges carry. Starting every
        # edge at q = 0.5 lets a channel's dozen useless candidates drown its one or two real causes, and the
        # decoder then never learns to use them (channel → channel edges ranked below chance on sim2).
        self.edge_screen = nn.Linear(SCREEN_COLUMNS.stop - SCREEN_COLUMNS.start, 1)
        nn.init.constant_(self.edge_screen.weight, screen_weight)
        nn.init.constant_(self.edge_screen.bias, -2.0 * screen_weight)

    def forward(self, features: ShopFeatures, context: torch.Tensor,
                with_edge_sites: bool = False) -> tuple[torch.Tensor, ...]:
        """
        Parameters
        ----------
        features : node (shop, node, F_n), edge (shop, node, node, F_e)
        context : (shop, k)
        with_edge_sites : also return the per-edge sites' Normals (those the encoder was built for)

        Returns
        -------
        logits : (shop, edge); loc : (shop, node, param); scale : (shop, node, param); with ``with_edge_sites``, a
        dict ``{site: (loc, scale)}``: ``"edge_gain"`` (shop, edge) log gains, ``"edge_beta"`` (shop, additive edge)
        offsets of the log additive effect sizes from the population's and their scales
        """
        s, v = features.node.shape[:2]
        ctx = context.unsqueeze(1).expand(s, v, context.shape[-1])
        h = self.node_in(torch.cat([features.node, self.node_id.expand(s, v, -1), ctx], dim=-1))  # (shop, node, H)
        hi = h.unsqueeze(2).expand(s, v, v, -1)  # sender i
        hj = h.unsqueeze(1).expand(s, v, v, -1)  # receiver j
        e = self.edge_in(torch.cat([hi, hj, features.edge], dim=-1))  # (shop, i, j, H)
        off = ~torch.eye(v, dtype=torch.bool, device=e.device)
        e_off = e * off.unsqueeze(-1)
        incoming = e_off.sum(1) / (v - 1)  # (shop, j, H)
        outgoing = e_off.sum(2) / (v - 1)  # (shop, i, H)
        h2 = self.node_mid(torch.cat([h, incoming, outgoing], dim=-1))
        ci, cj = self.edge_index[:, 0], self.edge_index[:, 1]
        e_c = e[:, ci, cj]
        f_c = features.edge[:, ci, cj]
        edge_h = torch.cat([h2[:, ci], h2[:, cj], e_c, f_c], dim=-1)
        logit = self.edge_out(edge_h).squeeze(-1)
        logits = logit + self.edge_screen(f_c[..., SCREEN_COLUMNS].abs()).squeeze(-1) + self.prior_logit
        k = self.n_response
        r = self.response_out(torch.cat([h2, ctx], dim=-1)) if k else h2.new_zeros(s, v, 0)
        loc, scale = r[..., :k], _scale(r[..., k:])
        if not with_edge_sites:
            return logits, loc, scale
        sites = {}
        if self.gain_out is not None:
            sites["edge_gain"] = _loc_scale(self.gain_out(edge_h))
        if self.beta_out is not None:
            sites["edge_beta"] = _loc_scale(self.beta_out(edge_h[:, self.additive_edges]))
        return logits, loc, scale, sites


def _scale(raw: torch.Tensor) -> torch.Tensor:
    """A guide's scale from a head's raw output: softplus(raw − 1) + 10⁻³ (about 0.31 at raw 0)."""
    return nn.functional.softplus(raw - 1.0) + 1e-3


def _loc_scale(raw: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """A per-edge head's ``(..., 2)`` output → the Normal's loc and scale, each ``(...)``."""
    return raw[..., 0], _scale(raw[..., 1])


def own_switching(x: torch.Tensor, observed: torch.Tensor, pseudo: float = 1.0) -> torch.Tensor:
    """Each channel's own on/off transitions: the logits of P(on tomorrow | on today) and P(on tomorrow | off today)
    over the observed pairs of consecutive days, each rate shrunk by ``pseudo`` days toward 1/2.

    Parameters
    ----------
    x : (shop, time, channel) scaled spend; observed : (shop, time, channel) bool

    Returns
    -------
    (shop, channel, 2) the two logits, after an active day and after an off day
    """
    pair = (observed[:, 1:] & observed[:, :-1]).to(x.dtype)
    today, tomorrow = (x[:, :-1] > 0).to(x.dtype), (x[:, 1:] > 0).to(x.dtype)
    states = torch.stack([today, 1.0 - today], dim=-1) * pair.unsqueeze(-1)  # (shop, time - 1, channel, 2)
    days = states.sum(1)
    on_next = (states * tomorrow.unsqueeze(-1)).sum(1)
    return torch.logit((on_next + pseudo) / (days + 2.0 * pseudo))


def own_weekday_harmonics(
    x: torch.Tensor, observed: torch.Tensor, calendar: torch.Tensor, log_nodes: torch.Tensor, ridge: float = 1e-2
) -> torch.Tensor:
    """Each node's own weekday profile: weighted least squares of its values (log-spend of active days for hurdle
    nodes) on an intercept and the day-of-week harmonics.

    Parameters
    ----------
    x : (shop, time, node) scaled values; observed : (shop, time, node) bool
    calendar : (time, n_calendar) or (shop, time, n_calendar)
    log_nodes : (node,) bool, the hurdle nodes

    Returns
    -------
    (shop, node, harmonic) coefficients of the harmonics
    """
    value, _ = spend_view(x, log_nodes)
    w = observed.to(x.dtype) * holds_level(x, log_nodes)  # (shop, time, node)
    harm = calendar[..., WEEKDAY_COLUMNS].expand(x.shape[0], x.shape[1], -1)
    design = torch.cat([torch.ones_like(harm[..., :1]), harm], dim=-1)  # (shop, time, 1 + harmonic)
    q = design.shape[-1]
    gram = torch.einsum("stq,stv,str->svqr", design, w, design) + ridge * torch.eye(q, dtype=x.dtype, device=x.device)
    rhs = torch.einsum("stq,stv,stv->svq", design, w, value)
    return torch.linalg.solve(gram, rhs.unsqueeze(-1)).squeeze(-1)[..., 1:]


class AmortizedGuide(PyroModule):
    """Guide for :class:`~causalmmm_ppl.models.causalmmm.CausalMMM`: the edges and response parameters of every
    shop, from the shop's own data, through :class:`GraphEncoder`. Its response location is an offset from the
    model's context prior, so a new shop starts from what its context says. The weekly profiles (when the model has
    them) are Normal around a learned per-node multiple of each node's own weekday harmonics
    (:func:`own_weekday_harmonics`) with a learned scale.

    After SVI a population layer may be attached (:meth:`attach_population`): the edge logits of every shop are
    then the pooled posterior's (:mod:`causalmmm_ppl.inference.edge_population`), for the training shops and new
    ones alike."""

    population: EdgePopulation | None = None

    def __init__(self, model: CausalMMM, n_context: int, hidden: int, screen_weight: float = 0.0) -> None:
        super().__init__()
        # plain references (not submodules): the prior's parameters belong to the model
        self.__dict__["_response_prior"] = model.response_prior
        self.__dict__["_log_nodes"] = model.hurdle_mask
        self.seasonality = bool(model.spec.seasonality)
        self.encoder = GraphEncoder(
            model.n_nodes, n_context, hidden, model.edge_index, model.prior_logit, screen_weight,
            n_response=model.spec.response.size, gain=bool(model.spec.edge_gain),
            additive_edges=model.additive_edges,
        )
        self.__dict__["_additive_loc"] = getattr(model, "additive_loc", None)
        n_harm = WEEKDAY_COLUMNS.stop - WEEKDAY_COLUMNS.start
        self.weekly_gain = nn.Parameter(torch.ones(model.n_nodes, 1))
        self.weekly_log_scale = nn.Parameter(torch.full((model.n_nodes, n_harm), -3.0))
        self.__dict__["_switch_mask"] = model.switch_mask
        self.switching = bool(model.switch_mask.any())
        if self.switching:  # only then: runs saved without the site load as they were
            n_switch = int(model.switch_mask.sum())
            self.switching_loc = nn.Parameter(torch.zeros(n_switch, 2))
            self.switching_gain = nn.Parameter(torch.zeros(n_switch, 2))
            self.switching_log_scale = nn.Parameter(torch.full((n_switch, 2), -2.0))

    def attach_population(self, population: EdgePopulation | None, pooled: torch.Tensor) -> None:
        """Report edges through a fitted population layer (None: the encoder's own logits).

        pooled : (edge,) bool, the candidates the layer was fitted on (the others keep the encoder's logits)
        """
        self.__dict__["population"] = population
        self.__dict__["_pooled"] = pooled

    @contextlib.contextmanager
    def reporting_through(self, population: EdgePopulation | None) -> Iterator[None]:
        """Report edges through ``population`` (None: the encoder's own logits) inside the block, on the same pooled
        candidates; the attached layer is restored afterwards."""
        kept = self.population
        self.attach_population(population, self._pooled)
        try:
            yield
        finally:
            self.attach_population(kept, self._pooled)

    def encoder_logits(self, batch: ModelBatch) -> torch.Tensor:
        """The encoder's own edge logits, before any population layer: (shop, edge)."""
        return self.encoder(batch.features, batch.context)[0]

    def distributions(self, batch: ModelBatch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Edge logits (shop, edge) and the response Normal's loc and scale (shop, node, param)."""
        logits, offset, scale = self.encoder(batch.features, batch.context)
        return self.reported_logits(logits), self._response_prior(batch.context) + offset, scale

    def edge_site_distributions(self, batch: ModelBatch) -> tuple[torch.Tensor, ...]:
        """As :meth:`distributions`, and a dict ``{site: Normal}`` of the per-edge sites the model has: log edge
        gains ``"edge_gain"`` (shop, edge events), log additive effect sizes ``"edge_beta"`` (shop, additive edge
        events, around the model's population location)."""
        logits, offset, scale, sites = self.encoder(batch.features, batch.context, True)
        if "edge_beta" in sites:
            beta_offset, beta_scale = sites["edge_beta"]
            sites["edge_beta"] = (self._additive_loc + beta_offset, beta_scale)
        normals = {name: dist.Normal(*ls).to_event(1) for name, ls in sites.items()}
        return self.reported_logits(logits), self._response_prior(batch.context) + offset, scale, normals

    def reported_logits(self, logits: torch.Tensor) -> torch.Tensor:
        """The edge logits the guide reports for the encoder's own ``logits`` (shop, edge): the attached population
        layer's posterior on the pooled candidates, or ``logits`` themselves without a layer."""
        return logits if self.population is None else self._pooled_logits(logits)

    def membership_of(self, logits: torch.Tensor) -> torch.Tensor:
        """Each shop's membership of the attached population layer's templates, from its encoder's own ``logits``
        (shop, edge): (shop, template)."""
        return torch.as_tensor(self.population.membership(logits[:, self._pooled].detach().double().numpy()))

    def _pooled_logits(self, logits: torch.Tensor) -> torch.Tensor:
        """The population layer's posterior logits on the pooled candidates (no gradient: it is fitted after SVI)."""
        pooled = self._pooled
        post = self.population.posterior(logits[:, pooled].detach().double().numpy())
        out = logits.detach().clone()
        out[:, pooled] = torch.logit(torch.as_tensor(post).clamp(1e-6, 1 - 1e-6)).to(logits.dtype)
        return out

    def weekly_distribution(self, batch: ModelBatch) -> dist.Distribution:
        """q of the shops' weekly profiles: ``(shop, node, harmonic)`` events."""
        own = own_weekday_harmonics(batch.x, batch.observed, batch.calendar, self._log_nodes)
        return dist.Normal(self.weekly_gain * own, self.weekly_log_scale.exp()).to_event(2)

    def switching_distribution(self, batch: ModelBatch) -> dist.Distribution:
        """q of the shops' on/off persistence: ``(shop, switching channel, 2)`` events, Normal around a learned
        per-channel line in each channel's own transition logits (:func:`own_switching`)."""
        own = own_switching(batch.x[..., self._switch_mask], batch.observed[..., self._switch_mask])
        return dist.Normal(self.switching_loc + self.switching_gain * own, self.switching_log_scale.exp()).to_event(2)

    def forward(self, batch: ModelBatch, *args, **kwargs) -> None:
        logits, loc, scale, edge_sites = self.edge_site_distributions(batch)
        with pyro.plate("shop", batch.n_shops, subsample=batch.shop_idx, dim=-1):
            with poutine.scale(scale=batch.kl_weight):
                pyro.sample("edge_logit", EdgeLogistic.relaxed(logits, batch.temperature))
            for name, q in edge_sites.items():
                pyro.sample(name, q)
            pyro.sample("response", dist.Normal(loc, scale).to_event(2))
            if self.seasonality:
                pyro.sample("weekly", self.weekly_distribution(batch))
            if self.switching:
                pyro.sample("switching", self.switching_distribution(batch))

    def edge_probabilities(self, batch: ModelBatch) -> torch.Tensor:
        """q(z_nij = 1) = sigmoid(logit) for the candidate edges: (shop, edge)."""
        return torch.sigmoid(self.distributions(batch)[0])
