"""Response families: how a cause's values become the signal it sends along its edges, saturation(adstock(x)).

A response family is a carryover (adstock) family and a saturation family, each chosen by name
(``CausalMMMSpec(adstock=..., saturation=...)``). Each family owns its parameters by name: every parameter says
where its unconstrained value starts, how it is constrained, and what it means. The model samples one latent site,
``response`` with event dims ``(node, param)``, whose last axis holds the family's parameters in the order of
:attr:`ResponseFamily.names`; only :meth:`ResponseFamily.constrain` reads that axis, and everything downstream
(the signal, posterior summaries, plots) works with the named, constrained values. A family's math is written once
against the transform twins (:mod:`causalmmm_ppl.transforms`): the same entry evaluates in torch (the model) and in
numpy (plots), so adding a family is one transform with its twins and parity test plus one registry entry here
(a family composed of existing twins, as ``mixed``, is the entry alone).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import torch

from causalmmm_ppl.errors import InputError
from causalmmm_ppl.transforms import torch_ops

MAX_DELAY = 7.0  # periods: the latest peak of the delayed carryover


@dataclass(frozen=True)
class Parameter:
    """One named response parameter.

    Attributes
    ----------
    name : its name in the posterior (``decay``, ``alpha``, …)
    start : where the prior location of its unconstrained value starts (before the context network moves it)
    constrain : unconstrained torch tensor → its value
    meaning : one line for docs and plots
    level : the value is a level of the cause, in its scaled units (posterior summaries report it in original units)
    """

    name: str
    start: float
    constrain: Callable[[torch.Tensor], torch.Tensor]
    meaning: str
    level: bool = False


@dataclass(frozen=True)
class Adstock:
    """A carryover family: normalised weights over lags ``0..l_max-1`` from its parameters.

    ``weights(ops, p, l_max)`` takes a transform twin module (``np_ops`` or ``torch_ops``) and the named
    parameters ``p`` (each ``(...)``) and returns ``(..., lag)``; ``None``: no carryover (the period's own value).
    """

    name: str
    params: tuple[Parameter, ...]
    weights: Callable[[ModuleType, Mapping[str, Any], int], Any] | None


@dataclass(frozen=True)
class Saturation:
    """A saturation family: ``curve(ops, x, p)`` maps carried values ``x: (..., time)`` ≥ 0 with named parameters
    ``p`` (each ``(...)``) to the signal; ``None``: no saturation (the carried value itself)."""

    name: str
    params: tuple[Parameter, ...]
    curve: Callable[[ModuleType, Any, Mapping[str, Any]], Any] | None


def _decay(u: torch.Tensor) -> torch.Tensor:
    return torch.sigmoid(u) * 0.98


def _delay(u: torch.Tensor) -> torch.Tensor:
    return torch.sigmoid(u) * MAX_DELAY


def _shape(u: torch.Tensor) -> torch.Tensor:
    return 0.2 + 6.0 * torch.sigmoid(u)


def _half_point(u: torch.Tensor) -> torch.Tensor:
    return torch.exp(u.clamp(-6.0, 6.0))


def _mixed_weights(ops: ModuleType, p: Mapping[str, Any], l_max: int) -> Any:
    """Geometric and delayed carryover mixed, ``(1 − share) · g + share · d``: ``g`` and ``d`` the twin ``ops``'s
    normalised geometric and delayed weights (each ``(..., lag)``), so the mixture sums to 1; share 0 is geometric
    carryover, 1 delayed, and in between a spend acts at once and again around lag ``delay``."""
    share = p["delayed_share"][..., None]
    return ((1.0 - share) * ops.geometric_weights(p["decay"], l_max, normalize=True)
            + share * ops.delayed_weights(p["decay"], p["delay"], l_max, normalize=True))


DECAY = Parameter("decay", 0.0, _decay, "carryover kept per period, in (0, 0.98)")
GAMMA = Parameter("gamma", 0.0, _half_point, "half-saturation, a level of the cause (1: its mean level when scaled)",
                  level=True)

ADSTOCKS: dict[str, Adstock] = {
    "geometric": Adstock("geometric", (DECAY,),
                         lambda ops, p, l_max: ops.geometric_weights(p["decay"], l_max, normalize=True)),
    "delayed": Adstock("delayed", (
        Parameter("decay", 0.0, _decay, "how fast the weights fall away from the peak, in (0, 0.98)"),
        Parameter("delay", -1.0, _delay, f"lag of the peak, in (0, {MAX_DELAY:g}) periods")),
        lambda ops, p, l_max: ops.delayed_weights(p["decay"], p["delay"], l_max, normalize=True)),
    "buildup": Adstock("buildup", (
        DECAY,
        Parameter("buildup", -3.0, _decay, "how slowly the carryover builds up before it decays, in (0, 0.98); 0: "
                  "geometric")),
        lambda ops, p, l_max: ops.buildup_weights(p["decay"], p["buildup"], l_max, normalize=True)),
    "mixed": Adstock("mixed", (
        Parameter("decay", 0.0, _decay, "carryover kept per period, and how fast the delayed part falls away from its "
                  "peak, in (0, 0.98)"),
        Parameter("delay", -1.0, _delay, f"lag of the delayed part's peak, in (0, {MAX_DELAY:g}) periods"),
        Parameter("delayed_share", -2.0, torch.sigmoid, "share of the delayed part, in (0, 1); 0: geometric, "
                  "1: delayed (its prior starts at 0.12: geometric unless the data ask)")),
        _mixed_weights),
    "none": Adstock("none", (), None),
}

SATURATIONS: dict[str, Saturation] = {
    "hill": Saturation("hill", (Parameter("alpha", -1.0, _shape, "Hill shape, in (0.2, 6.2)"), GAMMA),
                       lambda ops, x, p: ops.hill(x, p["alpha"], p["gamma"])),
    "michaelis_menten": Saturation("michaelis_menten", (GAMMA,),
                                   lambda ops, x, p: ops.hill(x, p["gamma"] * 0 + 1, p["gamma"])),
    "none": Saturation("none", (), None),
}


@dataclass(frozen=True)
class ResponseFamily:
    """A carryover family and a saturation family, by name (keys of :data:`ADSTOCKS` and :data:`SATURATIONS`).

    Raises
    ------
    InputError
        A name that is not registered.
    """

    adstock: str = "geometric"
    saturation: str = "hill"

    def __post_init__(self) -> None:
        for setting, registry in (("adstock", ADSTOCKS), ("saturation", SATURATIONS)):
            if getattr(self, setting) not in registry:
                raise InputError(f"{setting} must be one of {', '.join(map(repr, registry))}, "
                                 f"got {getattr(self, setting)!r}")

    @property
    def carryover(self) -> Adstock:
        return ADSTOCKS[self.adstock]

    @property
    def curve(self) -> Saturation:
        return SATURATIONS[self.saturation]

    @property
    def params(self) -> tuple[Parameter, ...]:
        """The carryover's parameters, then the saturation's."""
        return self.carryover.params + self.curve.params

    @property
    def names(self) -> tuple[str, ...]:
        """Names of the ``param`` axis of the ``response`` site, in order."""
        return tuple(p.name for p in self.params)

    @property
    def size(self) -> int:
        return len(self.params)

    def start(self) -> torch.Tensor:
        """``(param,)`` where the prior locations of the unconstrained parameters start."""
        return torch.tensor([p.start for p in self.params])

    @property
    def levels(self) -> tuple[str, ...]:
        """Names of the parameters that are levels of the cause (:attr:`Parameter.level`)."""
        return tuple(p.name for p in self.params if p.level)

    def constrain(self, u: torch.Tensor) -> dict[str, torch.Tensor]:
        """``u: (..., node, param)`` unconstrained → ``{name: (..., node)}`` constrained values."""
        if u.shape[-1] != self.size:
            raise ValueError(f"response parameters have {u.shape[-1]} values per node, the family "
                             f"{self.adstock} + {self.saturation} has {self.size} ({', '.join(self.names)})")
        return {p.name: p.constrain(u[..., k]) for k, p in enumerate(self.params)}

    @staticmethod
    def carry(ops: ModuleType, x: Any, weights: Any | None, last_only: bool = False) -> Any:
        """Carried values of ``x: (..., time)`` in the twin ``ops`` with the carryover ``weights`` (:meth:`weights`;
        None: no carryover, the period's own value); ``last_only`` (torch only): the last period alone,
        ``(..., 1)``."""
        if weights is None:
            return x[..., -1:] if last_only else x
        return (ops.adstock_last if last_only else ops.adstock)(x, weights)

    def saturate(self, ops: ModuleType, carried: Any, p: Mapping[str, Any]) -> Any:
        """The saturation curve at carried values ``(..., time)`` in the twin ``ops`` (the identity for ``none``)."""
        return carried if self.curve.curve is None else self.curve.curve(ops, carried, p)

    def weights(self, ops: ModuleType, p: Mapping[str, Any], l_max: int) -> Any | None:
        """``(..., lag)`` carryover weights in the twin ``ops``; None without carryover."""
        return None if self.carryover.weights is None else self.carryover.weights(ops, p, l_max)

    def prepare(self, u: torch.Tensor, l_max: int) -> tuple[dict[str, torch.Tensor], torch.Tensor | None]:
        """What :meth:`signals` computes from the parameters alone: ``u: (batch, node, param)`` → the named,
        constrained values (each ``(batch, node)``) and the carryover weights ``(batch, node, lag)`` (None without
        carryover). A rollout prepares them once and reuses them every period."""
        p = self.constrain(u)
        return p, self.weights(torch_ops, p, l_max)

    def signals(self, x: torch.Tensor, u: torch.Tensor, l_max: int, last_only: bool = False,
                prepared: tuple[dict[str, torch.Tensor], torch.Tensor | None] | None = None) -> torch.Tensor:
        """The causes' signals ``saturation(adstock(x_i))``.

        Parameters
        ----------
        x : (batch, time, node) scaled values (negative values count as 0)
        u : (batch, node, param) unconstrained response parameters
        l_max : carryover lags
        last_only : the last period's signal alone (time 1), what a rollout needs each period
        prepared : :meth:`prepare`'s result for ``u`` and ``l_max`` (None: computed here)

        Returns
        -------
        s : (batch, node, time)
        """
        p, w = self.prepare(u, l_max) if prepared is None else prepared
        carried = self.carry(torch_ops, x.transpose(1, 2).clamp_min(0.0), w, last_only)
        return self.saturate(torch_ops, carried, p)


def family_of(settings: Mapping[str, Any]) -> ResponseFamily:
    """The response family a saved CausalMMM settings dict names (``adstock``, ``saturation``).

    Settings saved before the families had names (no ``adstock``; ``carryover`` and ``saturation`` as on/off
    switches) read as what those runs fitted: geometric carryover and Hill saturation, or ``"none"``.
    """
    adstock = settings.get("adstock", "geometric")
    if isinstance(settings.get("carryover"), bool):
        adstock = "geometric" if settings["carryover"] else "none"
    saturation = settings.get("saturation", "hill")
    if isinstance(saturation, bool):
        saturation = "hill" if saturation else "none"
    return ResponseFamily(adstock, saturation)
