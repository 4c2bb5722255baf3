"""``causalmmm fit DATA --model causalmmm ...``: fit the Pyro CausalMMM model with its amortized guide by SVI.

Flags: the column flags, ``--holdout H`` (fit on all but the last H days, then forecast them given their channel
values), ``--steps N`` (SVI steps), ``--seed``, ``--quiet``, ``--config FILE`` (JSON object of
:class:`~causalmmm_ppl.models.spec.CausalMMMSpec` fields, e.g. ``{"prior_prob": 0.2, "edge_priors": {"x0->gmv": 1}}``),
``--resume`` (continue a killed fit from ``RUN/checkpoint/``).

Writes RUN atomically: ``edges.csv``, ``idata.nc``, ``forecast.csv`` (with ``--holdout``), ``templates.csv`` (each
shop's graph-template membership, when ``graph_templates`` > 0 or the edges were pooled, ``edge_pooling``) and ``model/``.
While training, a checkpoint is kept in ``RUN/checkpoint/``; it is removed when the run completes.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import sys
from pathlib import Path

from causalmmm_ppl._io import atomic_dir
from causalmmm_ppl.commands._config import read_config

MIN_TRAIN_DAYS = 8


def spec_from_args(args: argparse.Namespace):
    """CausalMMMSpec from ``--config`` and ``--steps``."""
    from causalmmm_ppl.models.spec import CausalMMMSpec

    config = read_config(getattr(args, "config", None))
    try:
        spec = CausalMMMSpec.from_dict(config)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"--config {args.config}: {exc}") from None
    steps = getattr(args, "steps", None)
    if steps is not None:
        if steps < 1:
            raise ValueError(f"--steps {steps}: must be >= 1")
        spec = dataclasses.replace(spec, steps=int(steps))
    return spec


def _fingerprint(spec, panel, seed: int) -> str:
    """What a checkpoint must match to be resumed: settings, seed and the training data."""
    h = hashlib.sha256(json.dumps(spec.to_dict(), sort_keys=True).encode())
    h.update(str(seed).encode())
    h.update(panel.values.tobytes())
    h.update("|".join(panel.shops + panel.nodes).encode())
    return h.hexdigest()[:16]


def run(args: argparse.Namespace) -> int:
    """Fit CausalMMM to ``args.data`` and write the run directory ``args.out``."""
    from causalmmm_ppl.data.load import panel_from_args
    from causalmmm_ppl.evaluation.inference_data import write_inference_data
    from causalmmm_ppl.inference.causalmmm_fit import fit_causalmmm

    spec = spec_from_args(args)
    holdout = int(getattr(args, "holdout", 0) or 0)
    if holdout < 0:
        raise ValueError(f"--holdout {holdout}: must be >= 0")
    panel, columns = panel_from_args(args)
    if panel.n_time - holdout < MIN_TRAIN_DAYS:
        raise ValueError(
            f"{args.data}: --holdout {holdout} leaves {panel.n_time - holdout} training days; need at least "
            f"{MIN_TRAIN_DAYS}"
        )
    train = panel.select_time(0, panel.n_time - holdout) if holdout else panel
    seed = int(args.seed or 0)
    out = Path(args.out)
    ckpt_dir = out / "checkpoint"
    fingerprint = _fingerprint(spec, train, seed)
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    fit = fit_causalmmm(
        train, spec, columns=columns, seed=seed, progress=not args.quiet, checkpoint_dir=ckpt_dir,
        resume=bool(getattr(args, "resume", False)), fingerprint=fingerprint,
    )
    forecast = fit.forecast(train, panel.select_time(panel.n_time - holdout, panel.n_time)) if holdout else None
    with atomic_dir(out) as tmp:
        fit.edge_probabilities().to_csv(tmp / "edges.csv", index=False)
        if fit.has_templates:
            fit.template_probabilities().to_csv(tmp / "templates.csv", index=False)
        write_inference_data(fit.to_inference_data(), tmp / "idata.nc")
        if forecast is not None:
            forecast.to_csv(tmp / "forecast.csv", index=False, date_format="%Y-%m-%d")
        fit.save(tmp / "model")
    population = fit.guide.population
    pooled = f"; edges pooled over {population.n_templates} graph template(s)" if population is not None else ""
    print(
        f"causalmmm: {train.n_shops} shop(s) x {train.n_time} days x {train.n_nodes} nodes, "
        f"{fit.log.steps_done} SVI steps in {fit.log.seconds:.1f} s{pooled}; wrote {out}",
        file=sys.stdout,
    )
    return 0
