"""How a CausalMMM model is fitted and read: inference settings (:class:`CausalMMMInference`: SVI, annealing,
restarts), post-processing (:class:`CausalMMMOutputs`: the population layer, posterior draws), and the three
groups together with the model (:class:`CausalMMMSettings`), as a run saves them and a ``--config`` file gives them.

Pure configuration: no torch. Each group validates its own fields and raises
:class:`~causalmmm_ppl.errors.InputError` naming the field; a config's keys are routed to their group by name
(:func:`~causalmmm_ppl.models.field_types.split_settings`), the same path BTVC's settings take.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from causalmmm_ppl.errors import InputError
from causalmmm_ppl.models.field_types import (
    check_field_types,
    require_at_least_one,
    require_positive,
    split_settings,
)
from causalmmm_ppl.models.spec import FEW_SHOPS, CausalMMMSpec

#: The population layer's default score tails and error rates (``edge_score_df``, ``edge_miss_rate``,
#: ``edge_false_rate``; chosen on development seeds, docs/benchmarks.md "Edge calibration", μ also by "Edge miss rate
#: and effects (development seeds)").
EDGE_SCORE_DF = 5.0
EDGE_MISS_RATE = 0.3
EDGE_FALSE_RATE = 0.0005


#: ``CausalMMMInference.keep_runs``: the best SVI run, or every run that did not collapse (mixed)
KEEP_RUNS = ("best", "all")
#: SVI runs a fit of fewer than ``FEW_SHOPS`` shops trains and mixes by default (``restarts``, ``keep_runs`` None)
FEW_SHOPS_RUNS = 3
#: SVI runs a fit of ``FEW_SHOPS`` shops or more on one process trains and mixes by default
PANEL_RUNS = 2


@dataclass(frozen=True)
class CausalMMMInference:
    """How SVI fits the model and the amortized guide.

    steps, lr, batch_shops, window : SVI steps, Adam learning rate, shops per minibatch, days per training window
        (a rollout's recurrent state runs over the last ``window`` + ``l_max`` days of a history, the longest run
        from a zero state that SVI fits).
    temperature_start : τ of the relaxed-Bernoulli edges at the first step, annealed geometrically over the first
        two thirds of the steps to the model's ``temperature`` (:meth:`temperature_at`).
    kl_weight : λ, the weight of the graph KL in the ELBO (1 is the plain ELBO).
    kl_warmup : fraction of the steps over which the KL weight rises linearly from 0 to λ (lets the decoder learn
        what edges could explain before the prior prunes them).
    encoder_hidden : width of the amortized encoder.
    screen_weight : initial weight of each shop's Granger screen (conditional t-statistics of the causes'
        saturated carryover, see :mod:`causalmmm_ppl.inference.features`) in the guide's edge logits. Only the
        starting point of SVI: the weight is learned with the encoder. 0 starts every candidate at q = 0.5.
    checkpoint_every : steps between checkpoints of a fit that keeps them (``causalmmm fit``, ``--resume``).
    restarts : independent SVI runs (seeds ``seed``, ``seed + 1``, ...); the fit keeps the one whose guide has the
        highest ELBO on the full training panel (:func:`causalmmm_ppl.inference.svi.evaluation_loss`). Each run
        costs a full training; 1: one run. None (default): chosen by the panel's size when it is fitted
        (:meth:`for_shops`): :data:`FEW_SHOPS_RUNS` below :data:`~causalmmm_ppl.models.spec.FEW_SHOPS` shops,
        :data:`PANEL_RUNS` from there on, 1 on several processes or with model graph templates from
        :data:`~causalmmm_ppl.models.spec.FEW_SHOPS` shops on.
    collapse_restarts, collapse_information : further runs (seeds after the planned ones) made only while the kept
        run is collapsed: its encoder's edge probabilities carry less than ``collapse_information`` nats per
        ordinary candidate pair beyond the prior (:func:`causalmmm_ppl.inference.causalmmm_pooling.edge_information`).
        SVI can settle where the encoder's edges stay at the prior; a run that escapes it has a clearly higher ELBO.
        The fit keeps, of all its runs, the one with the highest ELBO, as with ``restarts``. 0: no such runs.
    keep_runs : which SVI runs the fit keeps: ``"best"``, the one of highest ELBO; ``"all"``, every run that did
        not collapse, whose posteriors are mixed with equal weights (each output's draws are shared out evenly
        between the runs; edge probabilities are the runs' mean; graph templates and the training log are the best
        run's). SVI's variational posterior leaves out how far separate runs end apart (their decoders' weights
        are point estimates); their mixture puts that spread into the intervals, at ``restarts`` times the
        training. None (default): ``"all"`` on one process without model graph templates, ``"best"`` otherwise.
        On development seeds the intervals of panels of one to eight shops covered the holdout more often with
        three runs mixed than with one, at the same accuracy (``docs/benchmarks.md``, "Mixed SVI runs on few
        shops"); on panels of 20 to 300 shops two runs mixed recovered the graphs at least as well as the mean of
        the two runs alone, and close to the better one, where either run alone can land in a weaker optimum
        ("Collapse threshold and mixed runs (development seeds)").
    multistep, multistep_weight : K, the days of the free-running paths scored beside the one-step likelihood, and
        the weight of each day a path scores relative to a day of that likelihood. A path starts from the
        teacher-forced state on every K-th day of a training window and feeds the mediators and the target their own
        predicted locations (the channels stay observed, :meth:`~causalmmm_ppl.models.causalmmm.CausalMMM.
        path_means`): the fit is asked to accumulate over K days what spend keeps adding, as the effects over a
        window do. A composite likelihood: the paths score the same observations again. Below 2: no paths.
    """

    steps: int = 1500
    lr: float = 0.01
    batch_shops: int = 32
    window: int = 128
    temperature_start: float = 1.0
    kl_weight: float = 1.0
    kl_warmup: float = 0.3
    encoder_hidden: int = 64
    screen_weight: float = 1.5
    checkpoint_every: int = 100
    restarts: int | None = None
    collapse_restarts: int = 1
    collapse_information: float = 0.02
    keep_runs: str | None = None
    multistep: int = 0
    multistep_weight: float = 1.0

    def __post_init__(self) -> None:
        check_field_types(self)
        require_positive(self, "lr", "temperature_start")
        require_at_least_one(self, "steps", "batch_shops", "window", "encoder_hidden", "checkpoint_every")
        if self.restarts is not None:
            require_at_least_one(self, "restarts")
        if self.collapse_restarts < 0 or not self.collapse_information >= 0:
            raise InputError(f"collapse_restarts and collapse_information must be >= 0, got {self.collapse_restarts} "
                             f"and {self.collapse_information}")
        if self.keep_runs is not None and self.keep_runs not in KEEP_RUNS:
            raise InputError(f"keep_runs must be one of {', '.join(map(repr, KEEP_RUNS))}, got {self.keep_runs!r}")
        if self.multistep < 0:
            raise InputError(f"multistep must be an integer >= 0, got {self.multistep}")
        for name in ("kl_weight", "screen_weight", "multistep_weight"):
            if not getattr(self, name) >= 0:
                raise InputError(f"{name} must be >= 0, got {getattr(self, name)}")

    def for_shops(self, n_shops: int, parallel: bool = False, graph_templates: int = 0) -> "CausalMMMInference":
        """How a panel of ``n_shops`` shops is fitted: ``restarts`` and ``keep_runs`` left to the panel's size (None)
        become :data:`FEW_SHOPS_RUNS` runs mixed below :data:`~causalmmm_ppl.models.spec.FEW_SHOPS` shops and
        :data:`PANEL_RUNS` runs mixed from there on. A fit on several processes (``parallel``) trains one run; a
        model with ``graph_templates`` keeps the best run, of three below
        :data:`~causalmmm_ppl.models.spec.FEW_SHOPS` shops and of one from there on. A value set stays."""
        if parallel:
            runs = 1
        elif n_shops < FEW_SHOPS:
            runs = FEW_SHOPS_RUNS
        else:
            runs = 1 if graph_templates else PANEL_RUNS
        restarts = self.restarts if self.restarts is not None else runs
        keep = self.keep_runs if self.keep_runs is not None else "best" if parallel or graph_templates else "all"
        return dataclasses.replace(self, restarts=restarts, keep_runs=keep)

    def kl_weight_at(self, step: int) -> float:
        """λ times the linear warm-up factor at ``step`` of ``steps``."""
        if self.kl_warmup <= 0:
            return float(self.kl_weight)
        return float(self.kl_weight * min(1.0, (step + 1) / (self.kl_warmup * self.steps)))

    def temperature_at(self, step: int, temperature: float) -> float:
        """τ at ``step`` of ``steps``: geometric annealing from ``temperature_start`` to the model's ``temperature``
        over the first two thirds of the steps."""
        frac = min(1.0, step / max(1.0, 2.0 * self.steps / 3.0))
        return float(self.temperature_start * (temperature / self.temperature_start) ** frac)


#: the values of ``CausalMMMOutputs.edge_draws``
EDGE_DRAWS = ("hard", "relaxed")
#: the values of ``CausalMMMOutputs.edge_template_prior``
EDGE_TEMPLATE_PRIORS = ("class", "fixed")


@dataclass(frozen=True)
class CausalMMMOutputs:
    """How a fitted guide is read into outputs: the population layer over the shops' edges, and posterior draws.

    edge_pooling : after SVI, pool the shops' edge evidence through a population layer with up to this many graph
        templates (:mod:`causalmmm_ppl.inference.edge_population`): an empirical-Bayes two-groups model of the
        guide's edge logits whose prior on which edges are on is a mixture of K templates, K chosen by an
        approximate marginal likelihood (at most one per ``SHOPS_PER_TEMPLATE`` = 10 shops, each template holding
        at least 10). Reported edge probabilities, posterior edge draws and forecasts use the pooled posterior; a
        new shop's comes from its own encoder pass. Needs at least 10 training shops, and present edges that move
        the encoder's logits at least 3 null standard deviations (otherwise the guide's probabilities are reported:
        where the logits barely move from the prior, a pooled fit would turn their noise into confident edges).
        On short series the guide leaves many true edges near the prior, where the shops' other edges and the
        population's templates tell them apart (``docs/benchmarks.md``). 0: off. Unlike the model's
        ``graph_templates`` it does not change the model that SVI fits, so it cannot pull the decoder toward a
        common graph.
    edge_miss_rate, edge_false_rate : the error rates μ and ε through which the population layer reads a shop's
        score: the share of present edges the encoder scores like absent ones, and of absent edges it scores like
        present ones. They bound how far one shop's score moves its edge from the population's odds; 0 and 0 read
        the scores as exact (sharper ranking, worse calibration).
    edge_score_df : degrees of freedom of the layer's two score distributions (Student-t): how the encoder's logits
        of absent and of present edges spread. Heavy tails let a moderate logit of an absent edge be the null's tail
        rather than certain evidence of an edge; 0: Normals.
    edge_template_prior : the prior of the layer's template edge probabilities: ``"class"``, a Beta prior per class
        of edges (channel → channel, channel → mediator, channel → target, ...) whose two parameters the layer learns
        from the population (type-II maximum likelihood), or ``"fixed"``, a Beta prior of two pseudo-shops centred on
        the model's prior edge probability for every edge. A learned prior pulls an edge's probability toward its
        class's share where the shops' edges of that class look alike in frequency (shops that each draw their own
        graph), and leaves it to its own count where templates set edges apart.
    num_draws : posterior draws of forecasts, effects and posterior samples when a call does not say.
    edge_draws : how the rollouts of forecasts, effects and allocations draw each edge of a posterior draw's graph:
        ``"hard"``, 0 or 1 (on where the draw's relaxed logit is positive, with the reported probability q(z = 1),
        as posterior samples draw them), or ``"relaxed"``, the relaxed-Bernoulli value in (0, 1) that SVI trains
        with. Under relaxed draws an edge reported at 0.1 still passes a few per cent of its message in most draws,
        so an effect along it is never 0 and its interval excludes 0; hard draws give the effect 0 as often as the
        posterior says (``docs/benchmarks.md``, "Edge draws (development seeds)", compares the two).
    """

    edge_pooling: int = 5
    edge_miss_rate: float = EDGE_MISS_RATE
    edge_false_rate: float = EDGE_FALSE_RATE
    edge_score_df: float = EDGE_SCORE_DF
    edge_template_prior: str = "fixed"
    num_draws: int = 200
    edge_draws: str = "hard"

    def __post_init__(self) -> None:
        check_field_types(self)
        require_at_least_one(self, "num_draws")
        if self.edge_draws not in EDGE_DRAWS:
            raise InputError(f"edge_draws must be one of {', '.join(EDGE_DRAWS)}, got {self.edge_draws!r}")
        if self.edge_template_prior not in EDGE_TEMPLATE_PRIORS:
            raise InputError(f"edge_template_prior must be one of {', '.join(EDGE_TEMPLATE_PRIORS)}, "
                             f"got {self.edge_template_prior!r}")
        if self.edge_pooling < 0:
            raise InputError(f"edge_pooling must be an integer >= 0, got {self.edge_pooling!r}")
        if not (self.edge_score_df == 0 or self.edge_score_df >= 1):
            raise InputError(f"edge_score_df must be 0 (Normal) or >= 1, got {self.edge_score_df}")
        for name in ("edge_miss_rate", "edge_false_rate"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise InputError(f"{name} must be in [0, 1), got {getattr(self, name)}")


#: group name → its settings class, in the order a run saves them
GROUPS: dict[str, type] = {"model": CausalMMMSpec, "inference": CausalMMMInference, "outputs": CausalMMMOutputs}


@dataclass(frozen=True)
class CausalMMMSettings:
    """Everything a CausalMMM fit depends on: the model, how it is fitted, how it is read.

    Build it from the groups (``CausalMMMSettings(model=CausalMMMSpec(prior_prob=0.2),
    inference=CausalMMMInference(steps=500))``) or from field names alone, each routed to its group
    (``CausalMMMSettings.of(prior_prob=0.2, steps=500)``, as a ``--config`` file gives them).
    """

    model: CausalMMMSpec = field(default_factory=CausalMMMSpec)
    inference: CausalMMMInference = field(default_factory=CausalMMMInference)
    outputs: CausalMMMOutputs = field(default_factory=CausalMMMOutputs)

    def __post_init__(self) -> None:
        for group, cls in GROUPS.items():
            if not isinstance(getattr(self, group), cls):
                raise TypeError(f"CausalMMMSettings.{group} must be a {cls.__name__}, got "
                                f"{type(getattr(self, group)).__name__}")
        if self.inference.multistep >= 2 and self.model.additive != "off":
            raise InputError(f"multistep {self.inference.multistep} needs additive = off (free-running paths do not "
                             f"carry additive contributions), got additive = {self.model.additive!r}")
        if self.inference.keep_runs == "all" and self.model.graph_templates:
            raise InputError(f"keep_runs = 'all' needs graph_templates = 0 (separate runs number their templates "
                             f"each their own way, so their draws cannot be mixed), got {self.model.graph_templates}")

    @classmethod
    def of(cls, **settings: Any) -> "CausalMMMSettings":
        """Settings from field names of any group (``steps=500, prior_prob=0.2``); the rest default."""
        return cls.from_dict(settings)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], where: str = "CausalMMM settings") -> "CausalMMMSettings":
        """Settings from a dict, flat or nested by group (``{"model": {...}, "inference": {...}, "outputs": {...}}``);
        an unknown key is an InputError naming it."""
        parts = split_settings(d, GROUPS, where)
        return cls(**{group: GROUPS[group](**parts[group]) for group in GROUPS})

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """``{"model": {...}, "inference": {...}, "outputs": {...}}``: JSON-ready, read back by :meth:`from_dict`."""
        return {group: dataclasses.asdict(getattr(self, group)) for group in GROUPS}

    def flat(self) -> dict[str, Any]:
        """Every field of every group in one dict (field names are unique across groups)."""
        return {k: v for part in self.to_dict().values() for k, v in part.items()}

    def replace(self, **changes: Any) -> "CausalMMMSettings":
        """These settings with ``changes`` (field names of any group) applied."""
        parts = split_settings(changes, GROUPS, "CausalMMM settings")
        return CausalMMMSettings(**{group: dataclasses.replace(getattr(self, group), **parts[group])
                                    for group in GROUPS})

    def for_frequency(self, freq: str) -> "CausalMMMSettings":
        """The settings a panel of frequency ``freq`` is fitted with (:meth:`CausalMMMSpec.for_frequency`)."""
        return dataclasses.replace(self, model=self.model.for_frequency(freq))

    def for_shops(self, n_shops: int, parallel: bool = False) -> "CausalMMMSettings":
        """The settings a panel of ``n_shops`` shops is fitted with (:meth:`CausalMMMSpec.for_shops`,
        :meth:`CausalMMMInference.for_shops`; ``parallel``: on several processes)."""
        return dataclasses.replace(self, model=self.model.for_shops(n_shops), inference=self.inference.for_shops(
            n_shops, parallel, self.model.graph_templates))

    @classmethod
    def coerce(cls, settings: "CausalMMMSettings | CausalMMMSpec | None") -> "CausalMMMSettings":
        """``settings`` as CausalMMMSettings: a model spec alone gets the default inference and outputs."""
        if settings is None:
            return cls()
        if isinstance(settings, CausalMMMSpec):
            return cls(model=settings)
        if isinstance(settings, cls):
            return settings
        raise TypeError(f"expected CausalMMMSettings or CausalMMMSpec, got {type(settings).__name__}")
