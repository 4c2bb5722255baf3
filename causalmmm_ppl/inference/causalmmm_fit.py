"""The CausalMMM fit: the Python API that the ``causalmmm fit`` command mirrors. :func:`fit_causalmmm` trains the model
and its amortized guide by SVI (its restarts and the check of a collapsed run, :class:`SVIRun`), pools the shops'
edges and returns the fitted model (:class:`~causalmmm_ppl.inference.causalmmm_results.CausalMMMFit`).

>>> fit = fit_causalmmm(panel, CausalMMMSettings(), seed=0)      # doctest: +SKIP
>>> fit.edge_probabilities()                                      # shop, cause, effect, probability
>>> fit.forecast(history_panel, plan_panel)                       # shop, date, node, mean, lower, upper
>>> fit.to_inference_data(); fit.save("run/model"); CausalMMMFit.load("run/model")
"""

from __future__ import annotations

import os
from pathlib import Path
from collections.abc import Callable, Iterable
from typing import NamedTuple

import numpy as np
import pyro

from causalmmm_ppl.data.panel import ColumnSpec, Panel
from causalmmm_ppl.errors import InputError
from causalmmm_ppl.inference import distributed
from causalmmm_ppl.inference.causalmmm_data import Schema
from causalmmm_ppl.inference.causalmmm_pooling import edge_information, encoder_logits, pool_edges
from causalmmm_ppl.inference.causalmmm_results import CausalMMMFit
from causalmmm_ppl.inference.causalmmm_setup import TrainingSetup, training_setup
from causalmmm_ppl.inference.distributed import Shard
from causalmmm_ppl.inference.svi import TrainingLog, evaluation_loss, train
from causalmmm_ppl.models.settings import CausalMMMInference, CausalMMMSettings
from causalmmm_ppl.models.spec import CausalMMMSpec

__all__ = ["CausalMMMFit", "fit_causalmmm", "SVIRun"]


def fit_causalmmm(
    panel: Panel,
    settings: CausalMMMSettings | CausalMMMSpec | None = None,
    *,
    columns: ColumnSpec | None = None,
    seed: int = 0,
    progress: bool = True,
    checkpoint_dir: str | os.PathLike | None = None,
    resume: bool = False,
    stop_after: int | None = None,
    fingerprint: str = "",
    shard: Shard | None = None,
    device: str = "cpu",
    whole_panel: WholePanel | None = None,
) -> CausalMMMFit | None:
    """Fit CausalMMM to a panel by SVI with the amortized guide.

    Parameters
    ----------
    panel : training panel (every shop needs its target observed on the training days)
    settings : model, inference and output settings (:class:`~causalmmm_ppl.models.settings.CausalMMMSettings`;
        a :class:`~causalmmm_ppl.models.spec.CausalMMMSpec` alone is the model with the default inference and
        outputs; defaults are the tuned ones), adapted to the panel's frequency and number of shops
        (:meth:`~causalmmm_ppl.models.spec.CausalMMMSpec.for_frequency`, :meth:`~causalmmm_ppl.models.spec.
        CausalMMMSpec.for_shops`; the fit's ``settings`` are what was fitted)
    columns : the column names the panel came from (kept in the schema for reloading new files)
    seed : seeds weights, minibatches and outputs
    progress : progress bar
    checkpoint_dir, resume, stop_after, fingerprint : see :func:`causalmmm_ppl.inference.svi.train` (with
        ``restarts`` > 1, the runs after the first keep theirs in ``restart<k>`` subfolders)
    shard : this process's place in a data-parallel fit (:mod:`causalmmm_ppl.inference.distributed`; default: one
        process). Every process trains; process 0 alone then pools the edges and returns the fit, the others
        return None.
    device : ``cpu``, or ``cuda`` to train on a GPU (each process on the GPU of its local rank); everything after
        training runs on the CPU
    whole_panel : with ``shard.local`` (``panel`` is this process's shops only, on the whole panel's grid:
        :func:`~causalmmm_ppl.inference.causalmmm_shards.fit_causalmmm_shards`), how process 0's fit reads the
        whole training panel when asked, and its parts to save
    """
    settings = CausalMMMSettings.coerce(settings).for_frequency(panel.freq)  # the panel's size: training_setup
    inf = settings.inference
    check_training_panel(panel)
    shard = shard or Shard()
    if shard.local and whole_panel is None:
        raise ValueError("a fit on this process's shops only (shard.local) needs whole_panel")
    if not shard.local and shard.world > panel.n_shops:
        raise InputError(f"{shard.world} processes for {panel.n_shops} shop(s): each process trains on its own "
                         f"shops; use {panel.n_shops} process(es) or fewer")
    if (inf.restarts or 1) > 1 and shard.parallel:
        raise InputError(f"restarts = {inf.restarts} needs a one-process fit; use restarts = 1 with --nproc")
    where = distributed.training_device(device, shard)
    distributed.init(shard, device)
    runs: list[SVIRun] = []
    r = 0
    # run r trains from seed + r: the planned runs, then one more while the best is collapsed and runs remain
    while not runs or r < inf.restarts or (not shard.parallel and r < inf.restarts + inf.collapse_restarts
                                           and _best(runs).collapsed(inf.collapse_information)):
        setup = training_setup(panel, settings, seed + r, shard)
        settings = setup.settings  # with the settings left to the panel's size (the number of runs among them)
        inf = settings.inference
        log = train(
            setup.model.to(where), setup.guide.to(where), setup.data.to(where) if where.type != "cpu" else setup.data,
            settings, seed=seed + r, progress=progress and shard.is_main,
            checkpoint_dir=_restart_dir(checkpoint_dir, r), resume=resume, stop_after=stop_after, fingerprint=fingerprint, shard=shard,
        )
        if where.type != "cpu":
            setup.model.to("cpu")
            setup.guide.to("cpu")
            pyro.clear_param_store()  # it holds the GPU tensors of training
        if log.steps_done < inf.steps:  # interrupted (``stop_after``): this run is the fit, to be resumed
            runs = [SVIRun(seed + r, setup, log)]
            break
        info = np.nan if shard.parallel else edge_information(setup.model, setup.guide, setup.data, settings.model)
        runs.append(SVIRun(seed + r, setup, log, info))
        r += 1
        if len(runs) > 1:  # the runs are compared by their full-panel ELBO
            runs = [run.scored(settings.model, seed) for run in runs]
    kept = _best(runs)
    (model, guide, data, std, settings), log = kept.setup, kept.log
    logits = None
    if shard.local:  # every process encodes its own shops; process 0 receives all
        logits = distributed.gather_shops(encoder_logits(guide, data, settings.model), shard, std.scaler.n_shops)
    distributed.finish(shard)
    if not shard.is_main:
        return None
    if logits is None:
        logits = encoder_logits(guide, data, settings.model)
    pool_edges(model, guide, logits, settings, seed, progress)
    mixed = _mixed_runs(runs, kept, inf)
    mixed_logits = tuple(encoder_logits(run.setup.guide, run.setup.data, settings.model) for run in mixed)
    for run, run_logits in zip(mixed, mixed_logits):  # each kept run reports its edges through its own layer
        pool_edges(run.setup.model, run.setup.guide, run_logits, settings, seed, progress)
    kept_runs = [kept, *mixed]
    local = shard.local  # process 0 holds its own shops only: the whole panel is read when asked, saved in parts
    return CausalMMMFit(model, guide, settings, Schema.of(panel, columns), std, whole_panel.read if local else panel,
                        log, seed, tuple(run.summary(_position(run, kept_runs)) for run in runs),
                        train_data=None if local else data, train_logits=logits,
                        train_parts=whole_panel.parts if local else None,
                        mixed_runs=tuple((run.setup.model, run.setup.guide) for run in mixed), mixed_logits=mixed_logits)


class WholePanel(NamedTuple):
    """How process 0 of a fit read shard by shard reaches the whole training panel: ``read()`` loads it (when a
    user asks for something of every shop), ``parts()`` yields it in parts of shops (what the run saves)."""

    read: Callable[[], Panel]
    parts: Callable[[], Iterable[Panel]]


def check_training_panel(panel: Panel, min_periods: int = 3) -> None:
    """InputError where ``panel`` cannot be fitted: a training row with an empty target, fewer than ``min_periods``
    periods."""
    missing_target = panel.mask & ~panel.target_observed
    if missing_target.any():
        s, t = np.argwhere(missing_target)[0]
        raise InputError(
            f"shop {panel.shops[s]!r}, {panel.label(int(t))}: target {panel.target!r} is empty in a training row; "
            "forecast such rows with `causalmmm forecast` instead"
        )
    if panel.n_time < min_periods:
        raise InputError(f"{panel.n_time} days are too few to fit (need at least {min_periods})")


class SVIRun(NamedTuple):
    """One SVI run of a fit: its seed, what it trained, its log; how far its encoder's edges moved from the prior
    (:func:`~causalmmm_ppl.inference.causalmmm_pooling.edge_information`, nats per candidate pair) and its
    full-panel loss (:func:`~causalmmm_ppl.inference.svi.evaluation_loss`, lower is better; NaN until runs are
    compared)."""

    seed: int
    setup: TrainingSetup
    log: TrainingLog
    information: float = np.nan
    loss: float = np.nan

    def collapsed(self, collapse_information: float) -> bool:
        """Whether the run's encoder left its edges at the prior (below ``collapse_information`` nats per
        candidate pair)."""
        return bool(self.information < collapse_information)

    def scored(self, spec: CausalMMMSpec, seed: int) -> "SVIRun":
        """The run with its full-panel loss (computed once)."""
        if not np.isnan(self.loss):
            return self
        return self._replace(loss=evaluation_loss(self.setup.model, self.setup.guide, self.setup.data, spec, seed))

    def summary(self, order: int | None) -> dict:
        """What ``fit.json`` records of the run (``svi_runs``): ``order`` is its place among the runs the fit
        keeps (0: the best; None: not kept)."""
        return {"seed": self.seed, "edge_information": _finite(self.information), "loss": _finite(self.loss),
                "kept": order is not None, "order": order}


def _position(run: SVIRun, kept_runs: list[SVIRun]) -> int | None:
    """Where ``run`` stands among ``kept_runs`` (the fit's :meth:`~CausalMMMFit.runs` order), None if not there."""
    return next((i for i, kept in enumerate(kept_runs) if kept is run), None)


def _best(runs: list[SVIRun]) -> SVIRun:
    """The run a fit keeps: the only one, or the one of lowest full-panel loss (the first on a tie)."""
    return min(runs, key=lambda run: 0.0 if np.isnan(run.loss) else run.loss)


def _mixed_runs(runs: list[SVIRun], kept: SVIRun, inf: CausalMMMInference) -> list[SVIRun]:
    """The runs mixed with the kept one (``keep_runs = "all"``): every other run that did not collapse, in the
    order they trained; none when the fit keeps the best run alone."""
    if inf.keep_runs != "all":
        return []
    return [run for run in runs if run is not kept and not run.collapsed(inf.collapse_information)]


def _finite(x: float) -> float | None:
    return None if np.isnan(x) else float(x)


def _restart_dir(checkpoint_dir: str | os.PathLike | None, restart: int) -> Path | None:
    """Where run ``restart`` of a fit keeps its checkpoints: the fit's folder for the first run, a ``restart<k>``
    subfolder for the others."""
    if checkpoint_dir is None or restart == 0:
        return None if checkpoint_dir is None else Path(checkpoint_dir)
    out = Path(checkpoint_dir) / f"restart{restart}"
    out.mkdir(parents=True, exist_ok=True)
    return out
