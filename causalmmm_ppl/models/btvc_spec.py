"""Settings of the BTVC baseline (Orbit KTR with adstock, Hill saturation and a shop axis).

One frozen dataclass, :class:`BTVCSpec`, holds the model structure and priors; :class:`BTVCInference` holds the
inference settings (NUTS or SVI). Both round-trip through plain dicts (JSON in ``RUN/model/``) and accept overrides
from a ``--config`` JSON file (unknown keys are an error that names the key).

Pure configuration: no jax, no numpyro.
"""

from __future__ import annotations

import dataclasses
from dataclasses import InitVar, dataclass
from typing import Any

from causalmmm_ppl.errors import InputError
from causalmmm_ppl.models.field_types import check_field_types, known_fields, split_settings


AUTO_CENTERED_STEPS_PER_KNOT = 30
"""``knots="auto"`` centres the knots when each coefficient knot of each media channel has at least this many
training steps (the steps per knot divided by the number of media channels, which share the same data)."""


@dataclass(frozen=True)
class BTVCSpec:
    """Structure and priors of the BTVC model.

    Time-related settings are in days and are converted to grid steps with the panel's step length, so the same spec
    serves daily and weekly panels.

    Every channel of the panel is a media channel (adstock, Hill, time-varying coefficient). Controls (events,
    trends, prices) are not a setting: they are the panel's control columns (``ColumnSpec.controls``, the
    ``--controls`` flag), which enter linearly with Normal coefficients and must be known on a plan's days. A
    ``controls`` setting (``BTVCSpec(controls=...)``, or the key in a ``--config`` file) is an error that says so.

    Attributes
    ----------
    level_knot_days
        Spacing of the level knots (days). The level is a Gaussian-kernel smooth of knots that follow a random walk.
    coef_knot_days
        Spacing of the media-coefficient knots (days).
    kernel_scale
        Bandwidth of the Gaussian kernels, as a multiple of the knot spacing.
    knots
        Parameterisation of the level and coefficient knots: ``"centered"`` (NUTS mixes well when the data pin the
        knots down: many observations per knot, e.g. daily series), ``"noncentered"`` (few observations per knot,
        e.g. weekly series, or many media channels sharing one series: a centred hierarchy there makes a funnel and
        divergences), or ``"auto"`` (default: centred when there are at least ``AUTO_CENTERED_STEPS_PER_KNOT``
        training steps per coefficient knot and media channel). The channels split one series' information: on
        676 daily steps with 8 coefficient knots and 12 channels (sim2) a knot has about 7 steps' worth of data,
        and the centred knots of the weakly identified channels made a funnel (``coef_knot_sd`` bulk ESS below 2
        in 100 draws, trees at the depth limit); the non-centred ones mix.
    weekly_order, yearly_order
        Fourier orders of the weekly and yearly seasonality. Weekly terms are dropped on grids coarser than one day.
    l_max
        Adstock window in grid steps (``None``: 28 on daily grids, 8 on coarser grids).
    adstock_normalize
        Normalise the geometric adstock weights to sum to one (keeps the media scale).
    hill_at_mean
        Divide the Hill curve by its value at the channel's mean spend, so a coefficient is the channel's
        contribution at mean spend (scaled target units). It decorrelates coefficients from the half-saturation
        point, which NUTS needs to mix well; ``False`` gives the plain Hill curve (coefficient = full saturation).
    coef_at_average
        Sample the coefficient knots (and ``coef_mean``) as a channel's contribution on a day whose saturation
        equals the channel's average saturation over the training days (for a constant coefficient: its average
        contribution over training). This number does not move with the Hill shape or the decay when
        the fit stays the same, unlike the coefficient at mean spend. On sim2 it raised the worst bulk ESS of a
        short NUTS run about fourfold. The coefficient still correlates with ``hill_alpha`` (about −0.86 for the
        strongest channels): the data pin down how a channel's contribution varies, and its mean trades off
        against the level. The reported β(t)
        keeps the meaning ``hill_at_mean`` gives it (it is the knots times ``Hill(1) / average saturation``);
        only the prior moves: ``coef_prior_mean`` is then the median of the average contribution. ``False``: the
        knots are β(t) itself.
    likelihood_df
        Degrees of freedom of the Student-t likelihood; ``None`` makes them latent (Gamma(2, 0.1)).
    level_rw_scale
        Scale of the HalfNormal prior on the level random-walk step (scaled target units per knot).
    level_anchor
        What ``level_init`` is with non-centred knots: ``"mean"`` (default) the mean of the level knots, the
        random walk of ``level_steps`` being centred on its mean; ``"first"`` the first knot. The data pin the
        mean level down directly, while the first knot equals the mean level minus the walk's average, which
        ties it to every step (the sampler's worst-mixing sites on sim2 were ``level_init``, ``level_steps`` and
        ``level_rw_sd``). Centred knots always start the walk at ``level_init``.
    level_init_mean, level_init_scale
        Normal prior of ``level_init`` (scaled target units; the target is scaled to mean one per shop).
    coef_prior_mean
        Median of the LogNormal prior on each channel's mean coefficient (scaled target units: a share of the
        shop's mean target; with ``coef_at_average`` the channel's average contribution over the training days,
        else the contribution at mean spend when ``hill_at_mean`` and at full saturation without it).
    coef_prior_log_sd
        Log-scale standard deviation of that prior.
    coef_knot_prior, coef_knot_scale, coef_knot_log_sd
        Prior on ``coef_knot_sd``, the log-scale spread of a channel's coefficient knots around its mean (how much
        its effect drifts from one knot to the next, one quarter apart by default). ``"lognormal"`` (default):
        LogNormal(log ``coef_knot_scale``, ``coef_knot_log_sd``), by default median 0.1 and central 95% interval
        0.025 to 0.39; ``"halfnormal"``: HalfNormal(``coef_knot_scale``) (fits saved without this setting load
        with it, at scale 0.2). ``coef_knot_log_sd`` is used by ``"lognormal"`` only.
        Why the LogNormal: a time-varying-coefficient model assumes that the channels' effects drift (creatives,
        competition, audiences), and Orbit's KTR, whose structure this model follows, does not estimate its knot
        scale at all but fixes it (``regressor_knot_scale``, default 0.1, on its own coefficient scale); the
        LogNormal centres a prior on 0.1 instead of fixing it. A spread of 0.025 (2.5% drift between knots) is
        already practically a constant coefficient, so keeping the spread away from 0 rules out no conclusion a
        marketer would draw. It is a boundary-avoiding prior for a hierarchical scale estimated
        from few groups (8 knots per channel; Chung et al., Psychometrika 2013), and it removes the corner of
        the non-centred knots where NUTS struggles: with the HalfNormal, whose mode is 0, weak channels' spreads
        can go to 0, and that corner is where NUTS's steps shrink and its trees deepen.
    decay_prior
        Beta(a, b) prior on the geometric adstock decay.
    hill_alpha_prior
        LogNormal(mu, sigma) prior on the Hill shape.
    hill_gamma_prior
        LogNormal(mu, sigma) prior on the Hill half-saturation point (in units of the channel's per-shop mean spend).
    seasonality_scale, control_scale
        Standard deviations of the Normal priors on Fourier and control coefficients.
    noise_scale
        Scale of the HalfNormal prior on the likelihood scale (scaled target units).
    """

    level_knot_days: float = 56.0
    coef_knot_days: float = 91.0
    kernel_scale: float = 1.0
    knots: str = "auto"
    weekly_order: int = 3
    yearly_order: int = 2
    l_max: int | None = None
    adstock_normalize: bool = True
    hill_at_mean: bool = True
    coef_at_average: bool = True
    likelihood_df: float | None = 5.0
    level_rw_scale: float = 0.1
    level_anchor: str = "mean"
    level_init_mean: float = 0.5
    level_init_scale: float = 1.0
    coef_prior_mean: float = 0.2
    coef_prior_log_sd: float = 1.0
    coef_knot_prior: str = "lognormal"
    coef_knot_scale: float = 0.1
    coef_knot_log_sd: float = 0.7
    decay_prior: tuple[float, float] = (2.0, 2.0)
    hill_alpha_prior: tuple[float, float] = (0.0, 0.5)
    hill_gamma_prior: tuple[float, float] = (0.0, 0.7)
    seasonality_scale: float = 0.3
    control_scale: float = 1.0
    noise_scale: float = 0.5
    #: Removed setting, accepted only to fail with the way controls are given now (not a field).
    controls: InitVar[Any] = None

    def __post_init__(self, controls: Any) -> None:
        if controls is not None:
            raise controls_moved("BTVCSpec")
        check_field_types(self, "btvc config")
        for name in ("level_knot_days", "coef_knot_days", "kernel_scale", "level_rw_scale", "level_init_scale",
                     "coef_prior_mean", "coef_prior_log_sd", "coef_knot_scale", "coef_knot_log_sd", "seasonality_scale",
                     "control_scale", "noise_scale"):
            if not float(getattr(self, name)) > 0:
                raise InputError(f"btvc config: {name} must be > 0, got {getattr(self, name)!r}")
        if self.level_anchor not in ("mean", "first"):
            raise InputError(f"btvc config: level_anchor must be 'mean' or 'first', got {self.level_anchor!r}")
        if self.coef_knot_prior not in ("lognormal", "halfnormal"):
            raise InputError(f"btvc config: coef_knot_prior must be 'lognormal' or 'halfnormal', got "
                             f"{self.coef_knot_prior!r}")
        if self.knots not in ("auto", "centered", "noncentered"):
            raise InputError(f"btvc config: knots must be 'auto', 'centered' or 'noncentered', got {self.knots!r}")
        for name in ("weekly_order", "yearly_order"):
            if int(getattr(self, name)) < 0:
                raise InputError(f"btvc config: {name} must be >= 0, got {getattr(self, name)!r}")
        if self.l_max is not None and int(self.l_max) < 1:
            raise InputError(f"btvc config: l_max must be >= 1, got {self.l_max!r}")
        if self.likelihood_df is not None and not float(self.likelihood_df) > 0:
            raise InputError(f"btvc config: likelihood_df must be > 0 or null, got {self.likelihood_df!r}")

    def resolved_knots(self, n_train: int, n_coef_knots: int, n_channels: int = 1) -> str:
        """``"centered"`` or ``"noncentered"`` for a training grid of ``n_train`` steps, ``n_coef_knots``
        coefficient knots and ``n_channels`` media channels (see ``knots``)."""
        if self.knots != "auto":
            return self.knots
        per_knot = n_train / (max(n_coef_knots, 1) * max(n_channels, 1))
        return "centered" if per_knot >= AUTO_CENTERED_STEPS_PER_KNOT else "noncentered"

    def resolved_l_max(self, step_days: float) -> int:
        """The adstock window in grid steps for a grid whose step is ``step_days`` days."""
        if self.l_max is not None:
            return int(self.l_max)
        return 28 if step_days <= 1.0 else 8

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        for k, v in d.items():
            if isinstance(v, tuple):
                d[k] = list(v)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "BTVCSpec":
        return cls(**_known(cls, d, "btvc config"))


#: Largest panel (in shops) that ``method="auto"`` samples by NUTS; larger ones are fitted by SVI.
NUTS_MAX_SHOPS = 4


@dataclass(frozen=True)
class BTVCInference:
    """How the BTVC posterior is computed.

    Attributes
    ----------
    method
        ``"auto"`` (default): NUTS for panels of at most :data:`NUTS_MAX_SHOPS` shops, SVI for larger ones (one
        joint NUTS run over many shops takes minutes and does not converge in the default budget, see
        ``docs/benchmarks.md``, "BTVC on many shops"); ``"nuts"``; or ``"svi"`` (the fast path: a mean-field or
        low-rank normal guide). :meth:`resolved` says which one a panel gets.
    num_chains, num_warmup, num_samples
        NUTS chains, warm-up iterations and draws per chain. Chains run one per JAX host device at a time (4 chains
        on 2 devices: two rounds of 2 side by side; ``causalmmm_ppl.inference.btvc_sampling.chain_groups``), in sequence on
        one device.
    target_accept_prob, max_tree_depth, dense_mass
        NUTS settings. ``max_tree_depth`` is one depth, or ``(warm-up depth, sampling depth)`` as NumPyro takes it (a
        JSON list of two in a config): a shallower cap during warm-up bounds the long trees of its first iterations,
        while the mass matrix is still being learned. Defaults: target acceptance 0.85, depth 7 during warm-up and 8
        (at most 255 leapfrog steps per draw) for the draws. A depth cap leaves NUTS exact (every tree, truncated
        or not, keeps the posterior invariant); it only shortens the trajectories of draws that would have built a
        deeper tree, which costs effective samples per draw but bounds the time per draw. Target 0.85: with the cap
        it costs no extra leapfrog steps; the shallower warm-up depth keeps the first warm-up iterations, run with
        the SVI start's mass matrix, off the depth limit. Their cost, ESS and R-hat are measured in
        ``docs/benchmarks.md``, "BTVC (NumPyro): NUTS and SVI cost".
    nuts_reparam
        Coordinates NUTS moves in; the model and its posterior are the same in all of them (a linear shear of the
        unconstrained space with unit Jacobian, undone on every draw). ``"none"`` (default): the model's own
        unconstrained coordinates. ``"level_total"``: instead of ``level_init`` the sampler sees
        ``level_init + sum_k c_k log coef_mean[k]``, with ``c_k`` the channel's ``coef_mean`` at the SVI start's
        mean: the tangent of ``level_init + sum_k coef_mean[k]`` (with ``coef_at_average`` and
        ``level_anchor="mean"``, the mean level plus the channels' average contributions, about the target's mean),
        which the data pin down while its parts trade off. An option, not the default: it shortened the trees on a
        daily shop and gave a divergence on a weekly one where the default gives none.
    nuts_init, nuts_init_steps
        How NUTS starts: ``"svi"`` (default) fits a mean-field normal guide for ``nuts_init_steps`` Adam steps
        (learning rate ``svi_lr``) first; each chain starts at its own draw from it and the warm-up starts from its
        variances as the diagonal inverse mass matrix (then adapts it as usual). ``"prior"``: the prior means,
        jittered by ±0.5 on the unconstrained scale, and an identity mass matrix.
    svi_steps, svi_lr, svi_guide, svi_rank, svi_draws
        SVI settings: optimisation steps, Adam learning rate, guide (``"normal"`` or ``"lowrank"``), rank of the
        low-rank guide, posterior draws taken from the fitted guide.
    svi_engine
        What fits the guide: ``"flat"`` (default): the guide over one flat vector of the unconstrained parameters,
        with its entropy in closed form, stepped by ``jax.lax.scan`` in compiled chunks
        (:mod:`causalmmm_ppl.inference.btvc_sampling`); ``"numpyro"``: NumPyro's ``SVI`` with ``AutoNormal`` or
        ``AutoLowRankMultivariateNormal``. Both fit the same family of guides; ``docs/benchmarks.md``, "BTVC: SVI
        engines", compares them.
    nuts_engine
        What runs NUTS: ``"flat"`` (default): NumPyro's ``NUTS`` on the model's potential over one flat vector of
        the unconstrained parameters, compiled as one program (:func:`causalmmm_ppl.inference.btvc_sampling.run_nuts`;
        it also offers the coordinates of ``nuts_reparam``); ``"numpyro"``: ``NUTS(model)`` on the model's sites,
        NumPyro tracing the model itself. Both start alike (``nuts_init``) and sample the same posterior;
        ``docs/benchmarks.md``, "BTVC: NUTS engines", compares them.
    shop_mode
        ``"joint"``: all shops in one vectorized model (shops as a batch axis; shops are independent a priori);
        ``"sequential"``: one fit per shop with a progress bar (robust when shops differ a lot).
    """

    method: str = "auto"
    num_chains: int = 4
    num_warmup: int = 1000
    num_samples: int = 1000
    target_accept_prob: float = 0.85
    max_tree_depth: int | tuple[int, int] = (7, 8)
    dense_mass: bool = False
    nuts_init: str = "svi"
    nuts_init_steps: int = 1000
    svi_steps: int = 3000
    svi_lr: float = 0.01
    svi_guide: str = "normal"
    svi_rank: int = 8
    svi_draws: int = 1000
    svi_engine: str = "flat"
    nuts_engine: str = "flat"
    shop_mode: str = "joint"
    nuts_reparam: str = "none"

    def __post_init__(self) -> None:
        check_field_types(self, "btvc config")
        if self.method not in ("auto", "nuts", "svi"):
            raise InputError(f"btvc config: method must be 'auto', 'nuts' or 'svi', got {self.method!r}")
        if self.nuts_init not in ("svi", "prior"):
            raise InputError(f"btvc config: nuts_init must be 'svi' or 'prior', got {self.nuts_init!r}")
        if self.svi_guide not in ("normal", "lowrank"):
            raise InputError(f"btvc config: svi_guide must be 'normal' or 'lowrank', got {self.svi_guide!r}")
        if self.svi_engine not in ("flat", "numpyro"):
            raise InputError(f"btvc config: svi_engine must be 'flat' or 'numpyro', got {self.svi_engine!r}")
        if self.nuts_engine not in ("flat", "numpyro"):
            raise InputError(f"btvc config: nuts_engine must be 'flat' or 'numpyro', got {self.nuts_engine!r}")
        if self.nuts_engine == "numpyro" and self.nuts_reparam != "none":
            raise InputError("btvc config: nuts_reparam 'level_total' needs nuts_engine 'flat' (NumPyro's NUTS "
                             "moves in the model's own coordinates)")
        if self.nuts_reparam not in ("level_total", "none"):
            raise InputError(f"btvc config: nuts_reparam must be 'level_total' or 'none', got {self.nuts_reparam!r}")
        if self.shop_mode not in ("joint", "sequential"):
            raise InputError(f"btvc config: shop_mode must be 'joint' or 'sequential', got {self.shop_mode!r}")
        depth = self.max_tree_depth
        if isinstance(depth, (list, tuple)):
            if len(depth) != 2 or any(int(d) < 1 for d in depth):
                raise InputError(f"btvc config: max_tree_depth must be a depth >= 1 or two of them (warm-up, "
                                 f"sampling), got {depth!r}")
            object.__setattr__(self, "max_tree_depth", (int(depth[0]), int(depth[1])))  # frozen dataclass
        for name in ("num_chains", "num_samples", "svi_steps", "svi_draws", "svi_rank", "nuts_init_steps") + (
                () if isinstance(self.max_tree_depth, tuple) else ("max_tree_depth",)):
            if int(getattr(self, name)) < 1:
                raise InputError(f"btvc config: {name} must be >= 1, got {getattr(self, name)!r}")
        if int(self.num_warmup) < 0:
            raise InputError(f"btvc config: num_warmup must be >= 0, got {self.num_warmup!r}")
        if not 0.0 < float(self.target_accept_prob) < 1.0:
            raise InputError(f"btvc config: target_accept_prob must be in (0, 1), got {self.target_accept_prob!r}")

    def resolved(self, n_shops: int) -> "BTVCInference":
        """These settings with ``method="auto"`` replaced by the method a panel of ``n_shops`` shops gets."""
        if self.method != "auto":
            return self
        return dataclasses.replace(self, method="nuts" if n_shops <= NUTS_MAX_SHOPS else "svi")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "BTVCInference":
        return cls(**_known(cls, d, "btvc config"))


def controls_moved(where: str) -> InputError:
    """The error for the removed ``controls`` setting (one line, names the key)."""
    return InputError(f"{where}: setting 'controls' was removed; controls are now given with --controls (columns "
                      f"of the data, not channels; in Python ColumnSpec(controls=...))")


def _known(cls: type, d: dict[str, Any], where: str) -> dict[str, Any]:
    if "controls" in d:
        raise controls_moved(where)
    return known_fields(cls, d, where)


def split_config(config: dict[str, Any]) -> tuple[BTVCSpec, BTVCInference]:
    """Split one settings object (a ``--config`` file) into model and inference settings.

    Keys may be flat or nested under ``"model"`` and ``"inference"``
    (:func:`~causalmmm_ppl.models.field_types.split_settings`). Unknown keys raise ``InputError`` naming the key.
    """
    if isinstance(config, dict) and any("controls" in part for part in
                                        [config, *(v for v in config.values() if isinstance(v, dict))]):
        raise controls_moved("btvc config")
    parts = split_settings(config, {"model": BTVCSpec, "inference": BTVCInference}, "btvc config")
    return BTVCSpec.from_dict(parts["model"]), BTVCInference.from_dict(parts["inference"])


DEFAULT_SPEC = BTVCSpec()
DEFAULT_INFERENCE = BTVCInference()
__all__ = ["BTVCSpec", "BTVCInference", "split_config", "DEFAULT_SPEC", "DEFAULT_INFERENCE", "NUTS_MAX_SHOPS"]
