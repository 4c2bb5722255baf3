"""Settings of the CausalMMM model and its inference, and the graph prior they define.

Everything a fit depends on lives in :class:`CausalMMMSpec` so that a run can be saved and reloaded as JSON. The
defaults are the tuned settings reported in ``docs/benchmarks.md``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from causalmmm_ppl.errors import InputError, unknown_setting
from causalmmm_ppl.models.field_types import check_field_types
from causalmmm_ppl.models.response import ResponseFamily

#: The population layer's default score tails and error rates (``edge_score_df``, ``edge_miss_rate``,
#: ``edge_false_rate``; chosen on development seeds, docs/benchmarks.md "Edge calibration").
EDGE_SCORE_DF = 5.0
EDGE_MISS_RATE = 0.3
EDGE_FALSE_RATE = 0.0005


@dataclass
class CausalMMMSpec:
    """Model and inference settings.

    Graph prior
    -----------
    prior_prob : prior edge probability ρ of every candidate edge (sparse by default).
    edge_priors : ``{"cause->effect": probability}`` overrides: 0 forbids an edge, 1 requires it, anything between is
        an expert belief. Node names are those of the panel.
    forbid_target_causes : the target is the sink of the graph: forbid target → channel and target → mediator edges
        (default True). Sales do not set today's budgets or page views in a marketing mix; leaving these edges
        open lets the target's co-movement with its mediators (common causes, shared demand) pose as an effect.
    temperature : τ of the relaxed-Bernoulli edges at the end of training.
    temperature_start : τ at the start (annealed geometrically to ``temperature``).
    kl_weight : λ, the weight of the graph KL in the ELBO (1 is the plain ELBO).
    kl_warmup : fraction of the steps over which the KL weight rises linearly from 0 to λ (lets the decoder learn
        what edges could explain before the prior prunes them).
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

    edge_pooling : after SVI, pool the shops' edge evidence through a population layer with up to this many graph
        templates (:mod:`causalmmm_ppl.inference.edge_population`): an empirical-Bayes two-groups model of the
        guide's edge logits whose prior on which edges are on is a mixture of K templates, K chosen by an
        approximate marginal likelihood (at most one per ``SHOPS_PER_TEMPLATE`` = 10 shops, each template holding
        at least 10). Reported edge probabilities, posterior edge draws and forecasts use the pooled posterior; a
        new shop's comes from its own encoder pass, as before. Needs at least 10
        training shops, and present edges that move the encoder's logits at least 3 null standard deviations
        (otherwise the guide's probabilities are reported: where the logits barely move from the prior, a pooled fit
        would turn their noise into confident edges). Default 5: on short series the guide leaves many true edges
        near the prior, where the shops' other edges and the population's templates tell them apart
        (``docs/benchmarks.md``). 0: off. Unlike ``graph_templates`` it does not change
        the model that SVI fits, so it cannot pull the decoder toward a common graph.
    edge_miss_rate, edge_false_rate : the error rates μ and ε through which the population layer reads a shop's
        score: the share of present edges the encoder scores like absent ones, and of absent edges it scores like
        present ones (:mod:`causalmmm_ppl.inference.edge_population`). They bound how far one shop's score moves its
        edge from the population's odds; 0 and 0 read the scores as exact (sharper ranking, worse calibration).
    edge_score_df : degrees of freedom of the layer's two score distributions (Student-t): how the encoder's logits
        of absent and of present edges spread. Heavy tails let a moderate logit of an absent edge be the null's tail
        rather than certain evidence of an edge; 0: Normals.
    screen_weight : initial weight of each shop's Granger screen (conditional t-statistics of the causes'
        saturated carryover, see :mod:`causalmmm_ppl.inference.features`) in the guide's edge logits. Only the
        starting point of SVI: the weight is learned with the encoder. 0 starts every candidate at q = 0.5.

    Response (per shop and cause node, context-driven, latent)
    ----------------------------------------------------------
    l_max : carryover lags kept.
    adstock : the carryover family of a cause (:mod:`causalmmm_ppl.models.response`): ``"geometric"`` (default;
        weights decay**l), ``"delayed"`` (weights decay**((l − delay)²), a peak after ``delay`` periods) or
        ``"none"`` (only the period's own value — the "without carryover" ablation).
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

    Decoder
    -------
    hidden : GRU state size per node. msg_dim : message size per edge. node_emb : node embedding size.
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

    Inference
    ---------
    steps, lr, batch_shops, window : SVI steps, Adam learning rate, shops per minibatch, days per training window.
    restarts : independent SVI runs (seeds ``seed``, ``seed + 1``, ...); the fit keeps the one whose guide has the
        highest ELBO on the full training panel (:func:`causalmmm_ppl.inference.svi.evaluation_loss`). SVI can
        settle in an optimum where the encoder's edge probabilities stay at the prior; a restart that escapes it has
        a clearly higher ELBO. Each run costs a full training; 1: one run.
    collapse_restarts, collapse_information : further runs (seeds after the planned ones) made only while the kept
        run is collapsed: its encoder's edge probabilities carry less than ``collapse_information`` nats per
        ordinary candidate pair beyond the prior (:func:`causalmmm_ppl.inference.causalmmm_pooling.edge_information`).
        The fit keeps, of all its runs, the one with the highest ELBO, as with ``restarts``. 0: no such runs.
    encoder_hidden : width of the amortized encoder. num_draws : posterior draws kept for outputs.
    """

    # graph prior
    prior_prob: float = 0.1
    edge_priors: dict[str, float] = field(default_factory=dict)
    forbid_target_causes: bool = True
    temperature: float = 0.5
    temperature_start: float = 1.0
    kl_weight: float = 1.0
    kl_warmup: float = 0.3
    graph_templates: int = 0
    template_spread: float = 6.0
    edge_pooling: int = 5
    edge_miss_rate: float = EDGE_MISS_RATE
    edge_false_rate: float = EDGE_FALSE_RATE
    edge_score_df: float = EDGE_SCORE_DF
    screen_weight: float = 1.5
    # response
    l_max: int = 14
    response_scale: float = 0.3
    seasonality: bool = True
    seasonality_scale: float = 0.3
    switching: bool = False
    switching_scale: float = 1.0
    adstock: str = "geometric"
    saturation: str = "hill"
    # decoder
    hidden: int = 24
    msg_dim: int = 8
    node_emb: int = 4
    likelihood: str = "studentt"
    link: str = "identity"
    spend_model: str = "hurdle"
    df: float = 5.0
    learn_df: bool = True
    # inference
    steps: int = 1500
    lr: float = 0.01
    batch_shops: int = 32
    window: int = 128
    encoder_hidden: int = 64
    num_draws: int = 200
    checkpoint_every: int = 100
    restarts: int = 1
    collapse_restarts: int = 1
    collapse_information: float = 0.02

    def __post_init__(self) -> None:
        check_field_types(self)
        if not 0.0 < self.prior_prob < 1.0:
            raise InputError(f"prior_prob must be in (0, 1), got {self.prior_prob}")
        if self.link not in ("log1p", "identity"):
            raise InputError(f"link must be 'log1p' or 'identity', got {self.link!r}")
        if self.spend_model not in ("hurdle", "same"):
            raise InputError(f"spend_model must be 'hurdle' or 'same', got {self.spend_model!r}")
        if self.likelihood not in ("studentt", "normal"):
            raise InputError(f"likelihood must be 'studentt' or 'normal', got {self.likelihood!r}")
        for name in ("temperature", "temperature_start", "lr", "response_scale", "seasonality_scale", "df",
                     "template_spread", "switching_scale"):
            if not getattr(self, name) > 0:
                raise InputError(f"{name} must be > 0, got {getattr(self, name)}")
        for name in ("l_max", "hidden", "msg_dim", "node_emb", "steps", "batch_shops", "window", "encoder_hidden",
                     "num_draws", "checkpoint_every", "restarts"):
            if int(getattr(self, name)) < 1:
                raise InputError(f"{name} must be >= 1, got {getattr(self, name)}")
        if int(self.collapse_restarts) < 0 or not self.collapse_information >= 0:
            raise InputError(f"collapse_restarts and collapse_information must be >= 0, got {self.collapse_restarts} "
                             f"and {self.collapse_information}")
        if self.likelihood == "studentt" and not self.df > 2:
            raise InputError(f"df must be > 2 (finite variance), got {self.df}")
        ResponseFamily(self.adstock, self.saturation)  # raises InputError for an unknown family
        for name in ("forbid_target_causes", "seasonality", "learn_df", "switching"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise InputError(f"{name} must be true or false, got {getattr(self, name)!r}")
        for name in ("graph_templates", "edge_pooling"):
            k = getattr(self, name)
            if isinstance(k, (bool, np.bool_)) or not isinstance(k, (int, np.integer)) or k < 0:
                raise InputError(f"{name} must be an integer >= 0, got {k!r}")
        for name in ("kl_weight", "screen_weight"):
            if not getattr(self, name) >= 0:
                raise InputError(f"{name} must be >= 0, got {getattr(self, name)}")
        if not (self.edge_score_df == 0 or self.edge_score_df >= 1):
            raise InputError(f"edge_score_df must be 0 (Normal) or >= 1, got {self.edge_score_df}")
        for name in ("edge_miss_rate", "edge_false_rate"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise InputError(f"{name} must be in [0, 1), got {getattr(self, name)}")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping) -> "CausalMMMSpec":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise unknown_setting("CausalMMM settings", unknown[0], known)
        return cls(**dict(d))

    @property
    def response(self) -> ResponseFamily:
        """The causes' response family (carryover and saturation), from ``adstock`` and ``saturation``."""
        return ResponseFamily(self.adstock, self.saturation)

    def hurdle_nodes(self, node_kinds: Sequence[str]) -> np.ndarray:
        """``(node,)`` bool: the nodes scored by the hurdle spend model (channels, unless ``spend_model="same"``)."""
        return (np.asarray(node_kinds) == "channel") & (self.spend_model == "hurdle")

    def for_frequency(self, freq: str) -> "CausalMMMSpec":
        """The settings a panel of frequency ``freq`` (``"D"``, ``"W-SUN"``, …) is fitted with: without the shops'
        weekday profiles (``seasonality``) unless the data are daily."""
        return dataclasses.replace(self, seasonality=False) if self.seasonality and freq != "D" else self

    def kl_weight_at(self, step: int, total: int) -> float:
        """λ times the linear warm-up factor."""
        if self.kl_warmup <= 0:
            return float(self.kl_weight)
        return float(self.kl_weight * min(1.0, (step + 1) / (self.kl_warmup * total)))

    def temperature_at(self, step: int, total: int) -> float:
        """Geometric annealing of τ from ``temperature_start`` to ``temperature`` over the first 2/3 of training."""
        frac = min(1.0, step / max(1.0, 2.0 * total / 3.0))
        return float(self.temperature_start * (self.temperature / self.temperature_start) ** frac)


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
