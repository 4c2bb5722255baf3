"""What every fitted model answers (:class:`MMMFit`), and the registry that reads a run directory back as one.

The commands ``forecast``, ``effects``, ``allocate``, ``compare`` and ``report`` and the Python helpers above the fits
(:mod:`causalmmm_ppl.inference.effects`, :mod:`causalmmm_ppl.inference.allocate`) use only these calls, so a new
model answers all of them once it implements the protocol and registers its run directory:

>>> register_run_kind(RunKind("mymodel", marker="mymodel.json", load=MyFit.load))   # doctest: +SKIP

A run directory ``RUN`` holds the fit in ``RUN/model``; its kind is the registered kind whose ``marker`` file is there.
Loading reads data files only (JSON, numpy archives, safetensors): no pickle.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from causalmmm_ppl.data.panel import ColumnSpec, Panel
from causalmmm_ppl.errors import InputError

if TYPE_CHECKING:
    from causalmmm_ppl.inference.effects import EffectDraws

#: The file in ``RUN/model`` that holds a run's column schema (what ``--data`` files are read with).
COLUMNS_FILE = "columns.json"


@runtime_checkable
class MMMFit(Protocol):
    """A fitted marketing-mix model: forecasts, counterfactual effects and what allocation needs.

    ``history`` is the panel of days before the plan (a model whose history is its own training data ignores it);
    ``plan`` holds the days to answer for, with every channel's value on every day.
    """

    @property
    def channel_names(self) -> list[str]:
        """The channels a plan sets, in the panel's order."""

    @property
    def fixed_history(self) -> bool:
        """True when the model's history is its own training data: its plans start the day after its training end,
        and it does not decompose past windows (``causalmmm effects --window``)."""

    def forecast(self, history: Panel | None, plan: Panel, *, interval: float = 0.9,
                 seed: int | None = None, progress: bool = False) -> pd.DataFrame:
        """``shop, date, node, observed, mean, lower, upper`` over the plan's days (original units); ``progress``
        reports the work where it takes a while."""

    def effect_samples(self, history: Panel | None, plan: Panel, scenarios: list[tuple[str, str, float]], *,
                       num_draws: int | None = None, seed: int | None = None, progress: bool = False,
                       by_step: bool = False) -> tuple[np.ndarray, dict[tuple[str, str, float], np.ndarray]]:
        """The target summed over the plan's window per draw and shop, ``(draw, shop)``, at the plan and under each
        scenario ``(kind, channel, spend multiplier)``, with common random numbers; ``by_step``: the window's days
        kept apart, ``(draw, shop, step)``."""

    def effect_draws(self, history: Panel | None, plan: Panel, *, num_draws: int | None = None,
                     seed: int | None = None, progress: bool = False) -> EffectDraws:
        """Every shop's and channel's effect on the target over the plan's window, per posterior draw, in the kinds
        ``total``, ``held`` and ``direct``, with the +10% spend draws behind mROAS
        (:meth:`EffectDraws.from_samples <causalmmm_ppl.inference.effects.EffectDraws.from_samples>` of
        :meth:`effect_samples` under :func:`~causalmmm_ppl.inference.effects.effect_scenarios`). Its ``table(interval)``
        is ``causalmmm effects``' table ``shop, channel, kind, mean, lower, upper, spend, roas, mroas``; draws of
        parts of a panel add up to the portfolio of the whole."""

    def response_curves(self, history: Panel | None, plan: Panel, *, interval: float = 0.9,
                        num_draws: int | None = None, seed: int | None = None,
                        progress: bool = False) -> pd.DataFrame:
        """``shop, channel, multiplier, mean, lower, upper`` (see
        :func:`causalmmm_ppl.inference.effects.response_curves`)."""

    @property
    def training_end(self) -> pd.Timestamp:
        """The last period of the training data (held-out periods start after it)."""

    def predictive_log_density(self, history: Panel | None, plan: Panel, *, num_draws: int | None = None,
                               seed: int | None = None, progress: bool = False) -> np.ndarray:
        """Log density of the plan's observed target under each posterior draw, ``(draw, shop, day)`` in original
        units (NaN where unobserved), each day forecast from the history and the plan's channels alone; the log of
        the mean of its exponential over draws is the log predictive density (``causalmmm compare --data``)."""

    def to_inference_data(self) -> Any:
        """The posterior as ArviZ InferenceData, built with
        :func:`~causalmmm_ppl.evaluation.inference_data.build_inference_data` (at least the observed target over
        ``shop`` and ``date``): what ``causalmmm report`` shows of a run that has no ``idata.nc``."""

    def save(self, directory: str | Path) -> None:
        """Write the fit into ``directory`` (data files only)."""


@dataclass(frozen=True)
class RunKind:
    """How to recognise and read one model's run directory.

    Attributes
    ----------
    name : the model's name (``causalmmm fit --model NAME`` where the CLI fits it)
    marker : the file in ``RUN/model`` that says a run is of this kind
    load : ``RUN/model`` → the fit
    columns : ``(RUN/model, fit)`` → the run's column schema; default: ``RUN/model/columns.json``
    """

    name: str
    marker: str
    load: Callable[[Path], Any]
    columns: Callable[[Path, Any], ColumnSpec | None] | None = None


def run_format(meta: dict, current: int, path: Path) -> int:
    """The format number a saved run's settings file declares (``meta["format"]``; 1 for runs written before
    formats were numbered), checked against ``current``, the newest format this version reads and writes.

    Raises
    ------
    InputError
        The file declares a format newer than ``current`` (written by a newer version: the message names the file
        and both numbers), or one that is not a whole number.
    """
    value = meta.get("format", 1)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InputError(f"{path}: format {value!r} is not a run format; fit the run again")
    if value > current:
        raise InputError(f"{path}: written in run format {value} by a newer version of causalmmm_ppl; this version "
                         f"reads formats up to {current}; upgrade causalmmm_ppl or fit the run again")
    return value


def columns_file(model_dir: Path, fit: Any = None) -> ColumnSpec:
    """The column schema in ``model_dir/columns.json``; InputError naming the file when absent or unreadable."""
    path = Path(model_dir) / COLUMNS_FILE
    if not path.is_file():
        raise InputError(f"{model_dir.parent}: the run has no model/{COLUMNS_FILE}; fit it again")
    try:
        return ColumnSpec.from_dict(json.loads(path.read_text()))
    except (ValueError, TypeError, KeyError) as exc:
        raise InputError(f"{path}: unreadable ({exc}); fit the run again") from None


def _load_causalmmm(model_dir: Path):
    from causalmmm_ppl.inference.causalmmm_fit import CausalMMMFit

    return CausalMMMFit.load(model_dir)


def _load_btvc(model_dir: Path):
    from causalmmm_ppl.inference.btvc import BTVCFit

    return BTVCFit.load(model_dir)


def _causalmmm_columns(model_dir: Path, fit: Any) -> ColumnSpec | None:
    return fit.schema.columns


RUN_KINDS: dict[str, RunKind] = {}


def register_run_kind(kind: RunKind) -> None:
    """Make ``load_run`` recognise ``kind``'s run directories (a later registration of the same name replaces it)."""
    RUN_KINDS[kind.name] = kind


register_run_kind(RunKind("causalmmm", marker="fit.json", load=_load_causalmmm, columns=_causalmmm_columns))
register_run_kind(RunKind("btvc", marker="btvc.json", load=_load_btvc))


def run_kind(run: str | Path) -> RunKind:
    """The registered kind of the run directory ``run``.

    Raises FileNotFoundError when ``run`` is not a directory, InputError when no registered kind's marker is in
    ``run/model``.
    """
    run = Path(run)
    if not run.is_dir():
        raise FileNotFoundError(f"{run}: no such run directory")
    for kind in RUN_KINDS.values():
        if (run / "model" / kind.marker).is_file():
            return kind
    markers = ", ".join(f"model/{k.marker} ({k.name})" for k in RUN_KINDS.values())
    raise InputError(f"{run}: not a run directory of a known model (none of {markers}); `causalmmm fit` makes one")


def load_run(run: str | Path) -> tuple[Any, ColumnSpec]:
    """The fit in ``run/model`` and the run's column schema.

    Raises InputError for a directory that is no run of a registered kind, or a run without a column schema.
    """
    kind = run_kind(run)
    model_dir = Path(run) / "model"
    fit = kind.load(model_dir)
    columns = (kind.columns or columns_file)(model_dir, fit)
    if columns is None:
        raise InputError(f"{run}: the run has no column schema; fit it again")
    return fit, columns
