"""``causalmmm fit DATA --model btvc ...``: the BTVC baseline (NumPyro; NUTS on panels of at most 4 shops, SVI on
larger ones unless the config sets ``"method"``; a note on stderr says when SVI was chosen).

Flags: the column flags, ``--holdout H`` (forecast the last H grid steps from a fit on the others), ``--steps N``
(NUTS draws per chain; SVI optimisation steps when the fit runs SVI), ``--seed``, ``--quiet``,
``--config FILE`` (JSON: any field of :class:`~causalmmm_ppl.models.btvc_spec.BTVCSpec` or
:class:`~causalmmm_ppl.models.btvc_spec.BTVCInference`, flat or under ``"model"``/``"inference"``; e.g.
``{"num_chains": 2, "method": "svi"}``).

Every ``--channels`` column goes through adstock and Hill with a time-varying coefficient; the ``--controls`` columns
(events, trends, prices: columns of the data, not channels, known on every row, a plan's included) enter linearly.
A config that still names ``controls`` is an error that says so. Mediators are not used (BTVC models the target from
planned inputs).

``--force`` replaces RUN even if this tool did not write it; RUN is locked against a second writer. A posterior or
forecast that is not finite is an error.

Writes RUN atomically: ``idata.nc``, ``diagnostics.csv``, ``contributions.csv``, ``contribution_shares.csv``,
``forecast.csv`` (with ``--holdout``) and ``model/`` (``columns.json``, ``btvc.json``, ``scaler.json``,
``inputs.npz``, ``posterior.npz``, ``sample_stats.npz``). R-hat above 1.01 and divergences are reported on stderr.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from typing import TextIO

from causalmmm_ppl._io import run_directory, write_csv
from causalmmm_ppl.commands._config import read_config
from causalmmm_ppl.commands._run import write_reading
from causalmmm_ppl.errors import require_finite
from causalmmm_ppl.models.btvc_spec import NUTS_MAX_SHOPS, BTVCInference, BTVCSpec, split_config

MIN_TRAIN_STEPS = 8


def settings_from_args(args: argparse.Namespace) -> tuple[BTVCSpec, BTVCInference]:
    """Model and inference settings from ``--config`` (the method may still be ``"auto"``); ``--steps`` checked."""
    try:
        spec, inf = split_config(read_config(getattr(args, "config", None)))
    except ValueError as exc:
        raise ValueError(f"--config {args.config}: {exc}") from None
    steps = getattr(args, "steps", None)
    if steps is not None and steps < 1:
        raise ValueError(f"--steps {steps}: must be >= 1")
    return spec, inf


def for_panel(inf: BTVCInference, n_shops: int, steps: int | None) -> BTVCInference:
    """The settings a panel of ``n_shops`` shops is fitted with: the method resolved (``"auto"``), and ``--steps``
    as NUTS draws per chain or SVI steps, whichever the method takes."""
    inf = inf.resolved(n_shops)
    if steps is None:
        return inf
    return dataclasses.replace(inf, **{"num_samples" if inf.method == "nuts" else "svi_steps": int(steps)})


def preflight(args: argparse.Namespace, check_out: bool = True, loaded: tuple | None = None):
    """Everything ``fit --model btvc`` checks before sampling (``causalmmm validate --model btvc`` runs it too): the
    settings, the output folder (``check_out``), the panel, the holdout split and the design (at least one channel,
    every shop's target).

    ``loaded``: the ``(panel, columns)`` of ``args.data`` when already read.

    Returns
    -------
    (spec, inference, chosen): the settings, ``chosen`` True when the method was left to ``"auto"``;
    :class:`~causalmmm_ppl.commands.fit.FitData`
    """
    from causalmmm_ppl.commands.fit import read_fit_data
    from causalmmm_ppl.inference.btvc import prepare_design

    if getattr(args, "resume", False):
        raise ValueError("--resume is not supported with --model btvc (fits are not checkpointed)")
    spec, configured = settings_from_args(args)  # a bad config fails before the data are read
    data = read_fit_data(args, MIN_TRAIN_STEPS, check_out=check_out, loaded=loaded)
    inf = for_panel(configured, data.train.n_shops, getattr(args, "steps", None))
    prepare_design(data.train, spec)
    return (spec, inf, configured.method == "auto"), data


def run(args: argparse.Namespace, err: TextIO | None = None) -> int:
    """Fit BTVC to ``args.data`` and write the run directory ``args.out``."""
    from causalmmm_ppl.evaluation.diagnostics import diagnostic_warnings, diagnostics_table
    from causalmmm_ppl.evaluation.inference_data import require_finite_posterior, write_inference_data
    from causalmmm_ppl.inference.btvc import fit_btvc

    err = err or sys.stderr
    (spec, inf, chosen), (panel, columns, split, train, out, holdout) = preflight(args)
    force = bool(getattr(args, "force", False))
    with run_directory(out, kind="run", force=force) as held:
        fit = fit_btvc(train, spec, inf, seed=int(getattr(args, "seed", 0) or 0), progress=not args.quiet)
        idata = fit.to_inference_data()
        require_finite_posterior(idata)
        table = diagnostics_table(idata)
        forecast = fit.forecast(None, split.plan) if holdout else None
        if forecast is not None:
            require_finite(forecast[["mean", "lower", "upper"]], "the forecast")
        with held.commit() as tmp:
            write_inference_data(idata, tmp / "idata.nc")
            write_csv(table, tmp / "diagnostics.csv")
            write_csv(panel.labelled(fit.contributions()), tmp / "contributions.csv", date_format="%Y-%m-%d")
            write_csv(fit.contribution_shares(), tmp / "contribution_shares.csv")
            if forecast is not None:
                write_csv(panel.labelled(forecast), tmp / "forecast.csv", date_format="%Y-%m-%d")
            model_dir = tmp / "model"
            fit.save(model_dir)
            (model_dir / "columns.json").write_text(json.dumps(columns.to_dict(), indent=2))
            write_reading(tmp / "model", args)
    # after the work: a failed command prints one line only
    for line in [*panel.warnings, split.note]:
        if line:
            print(f"warning: {line}", file=err)
    if len(panel.mediator_index):
        names = ", ".join(panel.nodes[i] for i in panel.mediator_index)
        print(f"note: btvc does not use mediators ({names})", file=err)
    if chosen and inf.method == "svi":
        print(f"note: {train.n_shops} shops: BTVC's posterior by SVI, the default above {NUTS_MAX_SHOPS} shops (one "
              "NUTS run over many shops is slow and did not converge on 10 daily shops); '{\"method\": \"nuts\"}' in --config samples "
              "by NUTS", file=err)
    if inf.method == "nuts":
        for line in diagnostic_warnings(table):
            print(line, file=err)
    overall = table[table["group"] == "all"].iloc[0]
    how = (f"NUTS {inf.num_chains} chains x {inf.num_samples} draws ({inf.num_warmup} warm-up)"
           if inf.method == "nuts" else f"SVI {inf.svi_steps} steps ({inf.svi_guide} guide)")
    diag = (f"; max R-hat {overall['rhat_max']:.3f}, {int(overall['divergences'])} divergences"
            if inf.method == "nuts" else "")
    print(f"btvc: {train.n_shops} shop(s) x {train.n_time} steps, {how} in {fit.wall_time_s:.1f} s{diag}; "
          f"wrote {args.out}")
    return 0
