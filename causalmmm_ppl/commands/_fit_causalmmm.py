"""``causalmmm fit DATA --model causalmmm ...``: fit the Pyro CausalMMM model with its amortized guide by SVI.

Flags: the column flags, ``--holdout H`` (fit on all but the last H days, then forecast them given their channel
values), ``--steps N`` (SVI steps), ``--seed``, ``--quiet``, ``--config FILE`` (JSON object of
:class:`~causalmmm_ppl.models.settings.CausalMMMSettings` fields: the model's, the inference's and the outputs', flat
or under ``"model"``/``"inference"``/``"outputs"``; e.g. ``{"prior_prob": 0.2, "edge_priors": {"x0->gmv": 1},
"steps": 800}``),
``--resume`` (continue a killed fit from ``RUN/checkpoint/``), ``--force`` (replace RUN even if this tool did not
write it), ``--device cpu|cuda`` (where SVI runs), ``--nproc N`` (train on N local processes, data-parallel:
:mod:`causalmmm_ppl.commands._launch`; under ``torchrun`` every process runs this command and process 0 writes
RUN), ``--shops-per-chunk K`` (each process reads and holds only its own shops, K at a time:
:mod:`causalmmm_ppl.inference.causalmmm_shards`; RUN then holds ``edges.csv``, ``templates.csv`` and ``model/``,
no ``idata.nc``, and ``--holdout`` is refused).

The whole config is checked before the data is read, and against the data's nodes before any work; RUN is locked
against a second writer for the whole fit. A fit whose loss, posterior, edges or forecast are not finite is an error.

Writes RUN atomically: ``edges.csv``, ``idata.nc``, ``forecast.csv`` (with ``--holdout``), ``templates.csv`` (each
shop's graph-template membership, when ``graph_templates`` > 0 or the edges were pooled, ``edge_pooling``) and ``model/``.
While training, a checkpoint is kept in ``RUN/checkpoint/``; it is removed when the run completes, and on an error
(an interrupt keeps it for ``--resume``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from typing import NamedTuple

import numpy as np

from causalmmm_ppl._io import run_directory, write_csv
from causalmmm_ppl.commands._config import read_config
from causalmmm_ppl.commands._run import write_reading
from causalmmm_ppl.errors import require_finite

MIN_TRAIN_DAYS = 8


def settings_from_args(args: argparse.Namespace):
    """CausalMMMSettings from ``--config`` and ``--steps``."""
    from causalmmm_ppl.models.settings import CausalMMMSettings

    config = read_config(getattr(args, "config", None))
    try:
        settings = CausalMMMSettings.from_dict(config, where="settings")
    except (TypeError, ValueError) as exc:
        raise ValueError(f"--config {args.config}: {exc}") from None
    steps = getattr(args, "steps", None)
    if steps is not None:
        if steps < 1:
            raise ValueError(f"--steps {steps}: must be >= 1")
        settings = settings.replace(steps=int(steps))
    return settings


def _fingerprint(settings, panel, seed: int) -> str:
    """What a checkpoint must match to be resumed: settings, seed and the training data."""
    h = hashlib.sha256(json.dumps(settings.flat(), sort_keys=True).encode())
    h.update(str(seed).encode())
    h.update(panel.values.tobytes())
    h.update("|".join(panel.shops + panel.nodes).encode())
    return h.hexdigest()[:16]


def check_settings_for_panel(settings, panel) -> None:
    """The settings that depend on the data (edge priors name the panel's nodes and respect the target-sink rule);
    InputError naming the key, before any work."""
    from causalmmm_ppl.models.spec import prior_matrix

    prior_matrix(settings.model, panel.nodes, panel.node_kinds)


def short_shop_warning(panel, window: int) -> str | None:
    """A note when some shops have fewer fully observed days than one training window (they are used whole)."""
    days = panel.observed.all(-1).sum(1)
    short = np.flatnonzero(days < window)
    if not short.size:
        return None
    s = int(short[0])
    more = f" and {short.size - 1} more shop(s)" if short.size > 1 else ""
    return (f"shop {panel.shops[s]!r}{more} has {panel.periods(int(days[s]))} fully observed, fewer than the "
            f"training window ({window}); such shops are used whole")


def few_shops_warning(n_shops: int) -> str | None:
    """A note on a panel of fewer than :data:`~causalmmm_ppl.models.spec.FEW_SHOPS` shops: its graph and effects
    are weak, and BTVC is the model for its channels' contributions (docs/benchmarks.md, "Graphs from few shops
    (development seeds)" and "Contribution recovery on PyMC Labs' benchmark data")."""
    from causalmmm_ppl.models.spec import FEW_SHOPS

    if n_shops >= FEW_SHOPS:
        return None
    return (f"{n_shops} shop(s): below {FEW_SHOPS} shops CausalMMM's edges rank weakly and its effects are not to be "
            "trusted (docs/benchmarks.md, 'Graphs from few shops'); for channel contributions use --model btvc")


def preflight(args: argparse.Namespace, check_out: bool = True, loaded: tuple | None = None):
    """Everything ``fit`` checks before training (``causalmmm validate`` runs it too): the settings, the output
    folder (``check_out``), the panel, the holdout split and the settings against the panel's nodes.

    ``loaded``: the ``(panel, columns)`` of ``args.data`` when already read.

    Returns
    -------
    settings, :class:`~causalmmm_ppl.commands.fit.FitData`
    """
    from causalmmm_ppl.commands.fit import read_fit_data

    settings = settings_from_args(args)
    data = read_fit_data(args, MIN_TRAIN_DAYS, check_out=check_out, loaded=loaded)
    check_settings_for_panel(settings, data.train)
    return settings, data


def run(args: argparse.Namespace) -> int:
    """Fit CausalMMM to ``args.data`` and write the run directory ``args.out``."""
    from pathlib import Path

    from causalmmm_ppl.commands._launch import launched
    from causalmmm_ppl.evaluation.inference_data import require_finite_posterior, write_inference_data
    from causalmmm_ppl.inference.causalmmm_fit import fit_causalmmm
    from causalmmm_ppl.inference.distributed import Shard, training_device

    if getattr(args, "shops_per_chunk", None) is not None:
        return run_shards(args)
    nproc = int(getattr(args, "nproc", 1) or 1)
    device = getattr(args, "device", "cpu") or "cpu"
    shard = Shard.from_env()
    # process 0 holds RUN (the others only read a checkpoint in it on --resume)
    settings, (panel, columns, split, train, out, holdout) = preflight(args, check_out=shard.is_main)
    training_device(device, Shard())  # no GPU: one line before any work
    if nproc > 1 and not launched():  # checked above: a bad panel or flag fails here, before any process starts
        return _launch(args, nproc, train.n_shops)
    force = bool(getattr(args, "force", False))
    seed = int(args.seed or 0)
    resume = bool(getattr(args, "resume", False))
    if not shard.is_main:  # trains its shard; process 0 holds RUN, writes the checkpoints and the outputs
        fit_causalmmm(train, settings, columns=columns, seed=seed, progress=False,
                      checkpoint_dir=Path(args.out) / "checkpoint",
                      resume=resume, fingerprint=_fingerprint(settings, train, seed), shard=shard, device=device)
        return 0
    with run_directory(out, kind="run", force=force) as held:
        fit = fit_causalmmm(
            train, settings, columns=columns, seed=seed, progress=not args.quiet,
            checkpoint_dir=held.scratch("checkpoint"), resume=resume, fingerprint=_fingerprint(settings, train, seed),
            shard=shard, device=device,
        )
        edges = fit.edge_probabilities()
        require_finite(edges["probability"], "edge probabilities")
        forecast = None
        if holdout:
            forecast = fit.forecast(train.select_shops(split.shops), split.plan.select_time(train.n_time, panel.n_time),
                                    progress=not args.quiet)
        if forecast is not None:
            require_finite(forecast[["mean", "lower", "upper"]], "the forecast")
        idata = fit.to_inference_data(progress=not args.quiet)
        require_finite_posterior(idata)
        with held.commit() as tmp:
            write_csv(edges, tmp / "edges.csv")
            if fit.has_templates:
                write_csv(fit.template_probabilities(), tmp / "templates.csv")
            write_inference_data(idata, tmp / "idata.nc")
            if forecast is not None:
                write_csv(train.labelled(forecast), tmp / "forecast.csv", date_format="%Y-%m-%d")
            fit.save(tmp / "model")
            write_reading(tmp / "model", args)
    # after the work: a failed command prints one line only
    window = settings.inference.window
    for line in [*panel.warnings, short_shop_warning(train, window), split.note, _runs_warning(fit),
                 few_shops_warning(train.n_shops)]:
        if line:
            print(f"warning: {line}", file=sys.stderr)
    print(f"causalmmm: {train.n_shops} shop(s) x {train.periods(train.n_time)} x {train.n_nodes} nodes, "
          f"{_trained(fit)}; wrote {out}", file=sys.stdout)
    return 0


def _launch(args: argparse.Namespace, nproc: int, n_shops: int) -> int:
    """Run this command as ``nproc`` local processes (``--nproc``); ValueError for more processes than shops."""
    from causalmmm_ppl.commands._launch import launch

    if nproc > n_shops:
        raise ValueError(f"--nproc {nproc}: more processes than the panel's {n_shops} shop(s); each process trains "
                         f"on its own shops")
    return launch(args.argv, nproc)


def _trained(fit) -> str:
    """What the summary line says of the training: steps, seconds, the prior on the message weights where there was
    one (a panel of few shops has it by default), the SVI runs mixed (likewise) and the pooling's templates."""
    population = fit.guide.population
    pooled = f"; edges pooled over {population.n_templates} graph template(s)" if population is not None else ""
    sigma = fit.settings.model.edge_weight_prior
    weights = f" (message weights under a Normal(0, {sigma:g}²) prior)" if sigma else ""
    mixed = f"; {len(fit.runs())} SVI runs mixed" if fit.mixed_runs else ""
    return f"{fit.log.steps_done} SVI steps in {fit.log.seconds:.1f} s{weights}{mixed}{pooled}"


def _runs_warning(fit) -> str:
    """The fit's SVI runs (:meth:`~causalmmm_ppl.inference.causalmmm_results.CausalMMMFit.svi_runs_note`) where one
    was left out (collapsed, or not the best); '' where every run was kept (the summary line counts them)."""
    return "" if all(run["kept"] for run in fit.svi_runs) else fit.svi_runs_note()


def shards_preflight(args: argparse.Namespace, check_out: bool = True, min_days: int | None = None):
    """What ``fit --shops-per-chunk K`` checks before training: the settings, the flags it cannot serve, the output
    folder (``check_out``), the file's header and first part, and the settings against the panel's nodes
    (``min_days``: the periods every shop of a part needs, as ``validate --window`` asks).

    Returns
    -------
    settings, chunks (:class:`~causalmmm_ppl.data.load.PanelChunks`), columns, the checked output folder (or None)
    """
    from causalmmm_ppl._io import check_replaceable
    from causalmmm_ppl.data.load import chunks_from_args

    settings = settings_from_args(args)
    if int(getattr(args, "holdout", 0) or 0):
        raise ValueError(f"--holdout {args.holdout}: a fit read shard by shard (--shops-per-chunk) holds no whole "
                         f"panel to forecast; fit with --holdout without --shops-per-chunk, or forecast afterwards "
                         f"with `causalmmm forecast --shops-per-chunk`")
    out = check_replaceable(args.out, force=bool(getattr(args, "force", False))) if check_out else None
    chunks, columns = chunks_from_args(args, args.shops_per_chunk, min_days=min_days)
    first = next(iter(chunks))  # one part: the nodes the settings must name
    check_settings_for_panel(settings, first)
    return settings, chunks, columns, out


def _shards_fingerprint(settings, chunks, seed: int) -> str:
    """What a checkpoint of a fit read shard by shard must match: settings, seed, the shops and the data file as it
    was (size and modification time of each of its files)."""
    from pathlib import Path

    h = hashlib.sha256(json.dumps(settings.flat(), sort_keys=True).encode())
    h.update(str(seed).encode())
    path = Path(chunks.path)
    for f in sorted(path.rglob("*")) if path.is_dir() else [path]:
        if f.is_file():
            st = f.stat()
            h.update(f"{f.relative_to(path) if path.is_dir() else f.name}:{st.st_size}:{st.st_mtime_ns}".encode())
    h.update("|".join(map(str, chunks.order if chunks.n_shops and not chunks.whole_at_once else ())).encode())
    return h.hexdigest()[:16]


class _ShopRows(NamedTuple):
    """Shops ``start:stop`` of a table written part by part."""

    start: int
    stop: int

    @property
    def n_shops(self) -> int:
        return self.stop - self.start


def run_shards(args: argparse.Namespace) -> int:
    """``fit --shops-per-chunk K``: CausalMMM fitted with each process reading and holding its own shops only
    (:mod:`causalmmm_ppl.inference.causalmmm_shards`); process 0 writes ``edges.csv`` part by part,
    ``templates.csv`` and ``model/`` (its training panel copied part by part), and no ``idata.nc``."""
    from pathlib import Path

    from causalmmm_ppl.commands._launch import launched
    from causalmmm_ppl.commands._run import stream_csv
    from causalmmm_ppl.inference.causalmmm_results import edge_table
    from causalmmm_ppl.inference.causalmmm_shards import fit_causalmmm_shards
    from causalmmm_ppl.inference.distributed import Shard, training_device

    nproc = int(getattr(args, "nproc", 1) or 1)
    device = getattr(args, "device", "cpu") or "cpu"
    shard = Shard.from_env()
    settings, chunks, columns, out = shards_preflight(args, check_out=shard.is_main)
    training_device(device, Shard())  # no GPU: one line before any work
    if nproc > 1 and not launched():
        return _launch(args, nproc, chunks.n_shops)
    seed, resume = int(args.seed or 0), bool(getattr(args, "resume", False))
    common = dict(columns=columns, seed=seed, resume=resume, fingerprint=_shards_fingerprint(settings, chunks, seed),
                  shard=shard, device=device)
    if not shard.is_main:
        fit_causalmmm_shards(chunks, settings, progress=False, checkpoint_dir=Path(args.out) / "checkpoint", **common)
        return 0
    with run_directory(out, kind="run", force=bool(getattr(args, "force", False))) as held:
        fit = fit_causalmmm_shards(chunks, settings, progress=not args.quiet,
                                   checkpoint_dir=held.scratch("checkpoint"), **common)
        prob, shops, nodes = fit.edge_probability_array(), fit.scaler.shops, fit.schema.nodes
        require_finite(prob, "edge probabilities")
        per = args.shops_per_chunk
        with held.commit() as tmp:
            stream_csv(tmp / "edges.csv", [_ShopRows(k, min(k + per, len(shops))) for k in range(0, len(shops), per)],
                       lambda r: edge_table(prob[r.start:r.stop], shops[r.start:r.stop], nodes), desc="edges",
                       quiet=args.quiet, total=len(shops))
            if fit.has_templates:
                write_csv(fit.template_probabilities(), tmp / "templates.csv")
            fit.save(tmp / "model")
            write_reading(tmp / "model", args)
    for line in [_runs_warning(fit), "a fit read shard by shard (--shops-per-chunk) writes no idata.nc: posterior "
                 "draws of every shop would hold the whole panel; `causalmmm report` and `fit.to_inference_data()` "
                 "compute them when asked"]:
        if line:
            print(f"warning: {line}", file=sys.stderr)
    print(f"causalmmm: {len(shops)} shop(s) read {per} at a time by {shard.world} process(es), {_trained(fit)}; "
          f"wrote {out}", file=sys.stdout)
    return 0
