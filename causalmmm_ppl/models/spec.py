"""The CausalMMM model's settings (:class:`CausalMMMSpec`: graph prior, response family, decoder) and the graph
prior they define (:func:`edge_prior_matrix`). Pure configuration: no torch."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from causalmmm_ppl.errors import InputError
from causalmmm_ppl.models.field_types import check_field_types, known_fields, require_at_least_one, require_positive
from causalmmm_ppl.models.response import ResponseFamily

#: the forms of ``CausalMMMSpec.additive``
ADDITIVE_FORMS = ("off", "level", "drive")
#: panels of fewer shops than this get a prior on the decoder's message weights by default (``edge_weight_prior``)
FEW_SHOPS = 10
#: that prior's scale σ
FEW_SHOPS_WEIGHT_PRIOR = 0.3


@dataclass(frozen=True)
class CausalMMMSpec:
    """The CausalMMM model: its graph prior, the causes' response family and the decoder.

    How the model is fitted (SVI, annealing, restarts) is :class:`~causalmmm_ppl.models.settings.CausalMMMInference`;
    how a fitted guide is read into outputs (the population layer, draws) is
    :class:`~causalmmm_ppl.models.settings.CausalMMMOutputs`; :class:`~causalmmm_ppl.models.settings.CausalMMMSettings`
    holds the three. Every default is the one reported in ``docs/benchmarks.md``.

    Graph prior
    -----------
    prior_prob : prior edge probability ρ of every candidate edge (sparse by default).
    edge_priors : ``{"cause->effect": probability}`` overrides: 0 forbids an edge, 1 requires it, anything between is
        an expert belief. Node names are those of the panel.
    mediator_prior : prior probability of every mediator → target pair, an expert belief like those of
        ``edge_priors`` (which overrides it pair by pair): a node declared a mediator is expected on the way from the
        channels to the target. None (default): ``prior_prob``, like any candidate pair.
    forbid_target_causes : the target is the sink of the graph: forbid target → channel and target → mediator edges
        (default True). Sales do not set today's budgets or page views in a marketing mix; leaving these edges
        open lets the target's co-movement with its mediators (common causes, shared demand) pose as an effect.
    temperature : τ of the relaxed-Bernoulli edges (the relaxation the model's graph is drawn with, and the one
        SVI's annealing ends at, ``CausalMMMInference.temperature_start``).
    graph_templates : K > 0 makes the prior of a shop's graph a population mixture of K graph templates: the shop
        draws a template k with probability π_k, then each ordinary candidate edge with the template's probability
        ρ_kij (relaxed as above). π and ρ_k are learned with the other global networks (type-II maximum likelihood),
        starting from ``prior_prob``; edges set in ``edge_priors`` (forbidden, required, expert) keep their
        probability in every template. Shops of one business often share a few ways of working (how budgets are
        set, which channels feed which); the mixture lets each shop borrow the edges of the shops that resemble it,
        where its own short history is not enough. 0 (default): every candidate independent with probability ρ_ij.
        Off by default: where every shop has its own graph the learned templates pull shops toward a common graph
        and per-shop recovery drops; it suits shops that share a few graphs, fitted with more ``steps`` (templates
        settle more slowly than the rest of the fit). Measured in ``docs/benchmarks.md``, "Population graph prior".
    template_spread : how far (in logits) a template's edge may move from the prior's ρ: logit ρ_kij =
        logit ρ_ij + template_spread · tanh(offset_kij). Smaller keeps templates closer to the sparse prior.

    Response (per shop and cause node, context-driven, latent)
    ----------------------------------------------------------
    l_max : carryover lags kept.
    adstock : the carryover family of a cause (:mod:`causalmmm_ppl.models.response`): ``"mixed"`` (default;
        geometric and delayed weights, each normalised, mixed by a latent ``delayed_share`` per shop and cause whose
        prior starts near 0: geometric carryover unless a cause's data ask for a later peak), ``"geometric"``
        (weights decay**l), ``"buildup"`` (weights decay**l · (1 − buildup**(l + 1)): geometric carryover through a
        second, build-up stage; buildup 0 is geometric, a larger one a later peak with the same geometric tail),
        ``"delayed"`` (weights decay**((l − delay)²), a peak after ``delay`` periods, thin tails) or ``"none"`` (only
        the period's own value — the "without carryover" ablation). Channels differ in how their spend acts: a
        search click at once, a video or TV flight days later; the mixture lets each shop's causes take either
        shape, or both. Chosen on development seeds ("Carryover family and effects (development seeds)" in
        ``docs/benchmarks.md``).
    saturation : the saturation family applied to the carried signal: ``"hill"`` (default; shape alpha and
        half-saturation gamma), ``"michaelis_menten"`` (x / (x + gamma)) or ``"none"`` (the carried value itself, in
        scaled units — the "without saturation" ablation). Each family's parameters are latent per shop and node.
    response_scale : prior scale of the shop-level response parameters around the context networks (unconstrained).

    seasonality : give every shop and node its own weekly profile, a latent variable (two day-of-week harmonics,
        on the scale the node is modelled on: log-spend for hurdle channels). A shop's nodes share its weekday pattern
        (opening hours, pay days, when its budgets are reset), which no population-level calendar term captures;
        without it, edges from other nodes of the shop are the decoder's only proxy for that pattern and false edges
        are turned on (see ``docs/benchmarks.md``, "Edge diagnostics"). False: the shared calendar terms only.
        Daily data only: on weekly or coarser panels every period has the same weekday mix, and the fit turns it
        off (:meth:`for_frequency`).
    seasonality_scale : prior standard deviation of each harmonic coefficient of that profile.
    switching : give every shop and hurdle channel its own on/off persistence, a latent variable: two shifts of the
        channel's on-logit, one for the day after an active day and one for the day after an off day (a shop's own
        flighting: how long its campaigns run and its pauses last). The decoder's weights are shared by all shops;
        without it, the only shop-specific memory of how often a channel has been on lately is a message from another
        node, and edges into channels can be turned on for it. Only with the hurdle spend model. Off by default: on
        development seeds it cut false edges into channels at the demo's panel size but lowered per-shop AUROC on
        three of the other four scenarios (``docs/benchmarks.md``, "On/off persistence").
    switching_scale : prior standard deviation of each of those shifts (logits).
    edge_gain : give every shop and candidate edge its own gain, a latent variable: the message of edge i → j in
        shop n is ``exp(g_nij) · z_nij · W_ij · s_i(t)`` with ``g_nij ~ Normal(0, edge_gain)``, so the size of an
        effect varies over shops and has a posterior (the population weights W_ij are point estimates). 0 (default):
        no gain, every shop's edge carries the population's message.
    learn_gain_scale : with ``edge_gain``, learn the prior scale of the log gains (type-II, like the decoder's
        weights), starting at ``edge_gain``: the ELBO then decides how far shops' effect sizes spread around the
        population's. Off by default: on development seeds the learned scale shrank on every scenario
        (``docs/benchmarks.md``, "Edge gains").
    edge_weight_prior : prior scale σ of the decoder's message weights: ``W_ij ~ Normal(0, σ²)`` elementwise, the
        weights then a maximum a posteriori estimate instead of a maximum likelihood one. The prior is counted once
        per panel, so its weight against the likelihood is largest where data are few: with one shop a pair's
        weight is in effect the shop's own parameter and can fit noise, and its edge then costs only the prior's
        log odds. 0: no prior, type-II maximum likelihood. None (default): chosen by the panel's size when it is
        fitted (:meth:`for_shops`): :data:`FEW_SHOPS_WEIGHT_PRIOR` for a panel of fewer than :data:`FEW_SHOPS`
        shops, 0 otherwise. On development seeds σ = 0.3 kept the false edges of panels of one to eight shops
        lower at no cost to their forecasts on average (their ranking gained on two of three scenarios), and cost
        one scenario's effects at 100 shops (``docs/benchmarks.md``, "Graphs from few shops", "Message-weight prior
        and effects").
    additive : give the mediators and the target an additive response to their causes, gated by the graph:
        ``Σ_i z_nij β_nij s_i(t − 1)`` is added to node j's predicted location, with ``s_i`` the cause's saturated
        carryover and ``log β_nij ~ Normal(m_ij, additive_scale)`` per shop and candidate edge (a latent site,
        ``edge_beta``; ``m_ij`` the population's, type-II). Unless ``additive_messages``, the decoder's messages into
        those nodes are cut: the size of every effect on a mediator or the target is then a per-shop latent with a
        posterior. ``"level"``: the contribution adds to a baseline that the decoder models from its own past net of
        the contributions (PyMC-Marketing style: node j is ``b_nj(t)`` plus the contributions, and a channel's
        effect has a closed form given its signal). ``"drive"``: the contribution is an innovation of the node's own
        dynamics, whose past the decoder reads whole, so an effect carries on through the node's own persistence
        (as a drive does in an autoregression). Edges into channels keep the decoder's messages. ``"off"``
        (default): every effect flows through the messages.
    additive_scale : prior standard deviation of a shop's log β around the population's.
    additive_messages : with ``additive``, also keep the decoder's messages into the mediators and the target (both
        paths carry effects).

    Decoder
    -------
    hidden : GRU state size per node. msg_dim : message size per edge. node_emb : node embedding size.
    decoder_memory : the effect nodes' gated recurrent state carries over from day to day (a GRU). False: each
        day's state comes from that day's inputs alone (the node's last 7 values, its message, the calendar), so a
        node's persistence must come from its own lags and a cause's carryover from its response curve.
    likelihood : ``"studentt"`` or ``"normal"``; ``df`` the Student-t degrees of freedom (where learned, their start).
    learn_df : learn the degrees of freedom per node (type-II, like the noise scale), starting at ``df``: the tails
        follow the data, so forecast intervals are not wider than the noise calls for (bounded to (2, 200];
        Student-t likelihood only; ``docs/benchmarks.md``, "Population graph prior", measures the coverage of
        forecast intervals with and without). False: the tails stay at ``df`` (runs saved without this setting load
        so).
    link : ``"identity"`` (default) models the per-shop scaled values themselves; ``"log1p"`` models ``log(1 + x)``
        so that effects and noise act multiplicatively. Carryover and saturation always act on the scaled values
        (spend, not log-spend). Channels are on log-spend under the hurdle spend model whatever the link; log1p has
        not been benchmarked with it.
    spend_model : how channels are scored. ``"hurdle"`` (default): a channel is off (zero) or on with probability
        predicted by the decoder, and its log-spend on active days is Student-t (or Normal) around the decoder's
        location — spend is zero on some days and budget effects act multiplicatively. ``"same"``: channels are
        scored like mediators and the target (on the modelled values).
    """

    # graph prior
    prior_prob: float = 0.1
    edge_priors: dict[str, float] = field(default_factory=dict)
    mediator_prior: float | None = None
    forbid_target_causes: bool = True
    temperature: float = 0.5
    graph_templates: int = 0
    template_spread: float = 6.0
    # response
    l_max: int = 14
    response_scale: float = 0.3
    seasonality: bool = True
    seasonality_scale: float = 0.3
    switching: bool = False
    switching_scale: float = 1.0
    edge_gain: float = 0.0
    learn_gain_scale: bool = False
    edge_weight_prior: float | None = None
    additive: str = "off"
    additive_scale: float = 0.5
    additive_messages: bool = False
    adstock: str = "mixed"
    saturation: str = "hill"
    # decoder
    hidden: int = 24
    msg_dim: int = 8
    node_emb: int = 4
    decoder_memory: bool = True
    likelihood: str = "studentt"
    link: str = "identity"
    spend_model: str = "hurdle"
    df: float = 5.0
    learn_df: bool = True

    def __post_init__(self) -> None:
        check_field_types(self)
        if not 0.0 < self.prior_prob < 1.0:
            raise InputError(f"prior_prob must be in (0, 1), got {self.prior_prob}")
        if self.mediator_prior is not None and not 0.0 <= self.mediator_prior <= 1.0:
            raise InputError(f"mediator_prior must be in [0, 1] or null, got {self.mediator_prior}")
        if self.link not in ("log1p", "identity"):
            raise InputError(f"link must be 'log1p' or 'identity', got {self.link!r}")
        if self.spend_model not in ("hurdle", "same"):
            raise InputError(f"spend_model must be 'hurdle' or 'same', got {self.spend_model!r}")
        if self.likelihood not in ("studentt", "normal"):
            raise InputError(f"likelihood must be 'studentt' or 'normal', got {self.likelihood!r}")
        require_positive(self, "temperature", "response_scale", "seasonality_scale", "df", "template_spread",
                         "switching_scale", "additive_scale")
        require_at_least_one(self, "l_max", "hidden", "msg_dim", "node_emb")
        if self.likelihood == "studentt" and not self.df > 2:
            raise InputError(f"df must be > 2 (finite variance), got {self.df}")
        ResponseFamily(self.adstock, self.saturation)  # raises InputError for an unknown family
        if self.additive not in ADDITIVE_FORMS:
            raise InputError(f"additive must be one of {', '.join(map(repr, ADDITIVE_FORMS))}, got {self.additive!r}")
        if not self.edge_gain >= 0:
            raise InputError(f"edge_gain must be >= 0 (0: no gain), got {self.edge_gain!r}")
        if self.edge_weight_prior is not None and not self.edge_weight_prior >= 0:
            raise InputError(f"edge_weight_prior must be >= 0 (0: no prior; null: by the panel's size), got "
                             f"{self.edge_weight_prior!r}")
        if self.learn_gain_scale and not self.edge_gain > 0:
            raise InputError("learn_gain_scale needs edge_gain > 0 (the scale it starts from)")
        if self.graph_templates < 0:
            raise InputError(f"graph_templates must be an integer >= 0, got {self.graph_templates!r}")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping) -> "CausalMMMSpec":
        return cls(**known_fields(cls, d, "CausalMMM model settings"))

    @property
    def response(self) -> ResponseFamily:
        """The causes' response family (carryover and saturation), from ``adstock`` and ``saturation``."""
        return ResponseFamily(self.adstock, self.saturation)

    def hurdle_nodes(self, node_kinds: Sequence[str]) -> np.ndarray:
        """``(node,)`` bool: the nodes scored by the hurdle spend model (channels, unless ``spend_model="same"``)."""
        return (np.asarray(node_kinds) == "channel") & (self.spend_model == "hurdle")

    def for_frequency(self, freq: str) -> "CausalMMMSpec":
        """The model a panel of frequency ``freq`` (``"D"``, ``"W-SUN"``, …) is fitted with: without the shops'
        weekday profiles (``seasonality``) unless the data are daily."""
        return dataclasses.replace(self, seasonality=False) if self.seasonality and freq != "D" else self

    def for_shops(self, n_shops: int) -> "CausalMMMSpec":
        """The model a panel of ``n_shops`` shops is fitted with: ``edge_weight_prior`` left to the panel's size
        (None) becomes :data:`FEW_SHOPS_WEIGHT_PRIOR` below :data:`FEW_SHOPS` shops and 0 otherwise; a value set
        stays."""
        if self.edge_weight_prior is not None:
            return self
        return dataclasses.replace(self, edge_weight_prior=FEW_SHOPS_WEIGHT_PRIOR if n_shops < FEW_SHOPS else 0.0)


def edge_key(key: str, nodes: Sequence[str]) -> tuple[int, int]:
    """``"cause->effect"`` → (cause, effect) positions among ``nodes``; InputError naming the key otherwise."""
    index = {n: k for k, n in enumerate(nodes)}
    parts = [s.strip() for s in str(key).split("->")]
    if len(parts) != 2:
        raise InputError(f"edge prior {key!r}: expected 'cause->effect'")
    for name in parts:
        if name not in index:
            raise InputError(f"edge prior {key!r}: unknown node {name!r}; nodes are {', '.join(nodes)}")
    i, j = index[parts[0]], index[parts[1]]
    if i == j:
        raise InputError(f"edge prior {key!r}: self-loops are not edges (own history is always used)")
    return i, j


def pair_priors(spec: "CausalMMMSpec", nodes: Sequence[str], node_kinds: Sequence[str]) -> dict[str, float]:
    """The expert beliefs of ``spec`` on a panel's pairs, ``{"cause->effect": probability}``: ``mediator_prior`` on
    every mediator → target pair (where set), then ``edge_priors``, which override it pair by pair."""
    kinds = np.asarray(node_kinds)
    mediated = {} if spec.mediator_prior is None else {
        f"{nodes[m]}->{nodes[t]}": float(spec.mediator_prior)
        for m in np.flatnonzero(kinds == "mediator") for t in np.flatnonzero(kinds == "target")}
    return mediated | dict(spec.edge_priors)


def prior_matrix(spec: "CausalMMMSpec", nodes: Sequence[str], node_kinds: Sequence[str]) -> np.ndarray:
    """ρ of every ordered pair of a panel's nodes under ``spec`` (:func:`edge_prior_matrix` of its ``prior_prob``,
    :func:`pair_priors` and ``forbid_target_causes``): ``(cause, effect)``."""
    return edge_prior_matrix(nodes, node_kinds, spec.prior_prob, pair_priors(spec, nodes, node_kinds),
                             spec.forbid_target_causes)


def expert_edge_mask(nodes: Sequence[str], edge_priors: Mapping[str, float] | None) -> np.ndarray:
    """(cause, effect) bool: the pairs whose prior probability ``edge_priors`` sets (a population prior leaves them
    as set)."""
    mask = np.zeros((len(nodes), len(nodes)), dtype=bool)
    for key in edge_priors or {}:
        mask[edge_key(key, nodes)] = True
    return mask


def edge_prior_matrix(
    nodes: Sequence[str],
    node_kinds: Sequence[str],
    prior_prob: float,
    edge_priors: Mapping[str, float] | None = None,
    forbid_target_causes: bool = True,
) -> np.ndarray:
    """The prior edge probability ρ of every ordered pair.

    Parameters
    ----------
    nodes : (node,) names; node_kinds : (node,) ``channel``/``mediator``/``target``.
    prior_prob : ρ of an ordinary candidate edge.
    edge_priors : ``{"cause->effect": p}`` overrides (0 forbidden, 1 required).
    forbid_target_causes : the target causes nothing (no target → channel or target → mediator edge); an edge prior
        above 0 on an edge out of the target is then refused (InputError), not silently applied.

    Returns
    -------
    rho : (cause, effect) float in [0, 1]; the diagonal is 0 (a node's own history enters through its own state).
    """
    v = len(nodes)
    rho = np.full((v, v), float(prior_prob))
    np.fill_diagonal(rho, 0.0)
    kinds = np.asarray(node_kinds)
    if forbid_target_causes:
        rho[kinds == "target", :] = 0.0
    for key, p in (edge_priors or {}).items():
        i, j = edge_key(key, nodes)
        p = float(p)
        if not (0.0 <= p <= 1.0) or math.isnan(p):
            raise InputError(f"edge prior {key!r}: probability must be in [0, 1], got {p}")
        if forbid_target_causes and kinds[i] == "target" and p > 0:
            raise InputError(
                f"edge prior {key!r}: the target {nodes[i]!r} is the sink of the graph (forbid_target_causes); "
                f"set \"forbid_target_causes\": false in the same config to allow edges out of the target"
            )
        rho[i, j] = p
    return rho
