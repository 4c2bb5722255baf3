"""BTVC: SVI engines — the flat guide against NumPyro's own SVI with an autoguide, on the same model and panels.

Writes the section "BTVC: SVI engines" of docs/benchmarks.md. Both engines fit the same family of guides (a
mean-field normal over the model's unconstrained parameters, started at the prior means with scale 0.1; Adam at the
default learning rate; the default 3000 steps and 1000 draws):

- **flat** (``BTVCInference(svi_engine="flat")``, the default): one flat vector of parameters, the entropy in closed
  form, the steps run by ``jax.lax.scan`` in compiled chunks of 250;
- **numpyro** (``svi_engine="numpyro"``): ``numpyro.infer.SVI`` with ``Trace_ELBO`` and ``AutoNormal``, run by
  ``SVI.run``; draws by ``AutoNormal.sample_posterior``.

Panels: one shop of sim2 (676 days, the panel of "BTVC (NumPyro): NUTS and SVI cost") and 10 shops × 300 days of
sim2 (the panel of "BTVC on many shops"); each fitted on all but its last 14 days, which are forecast from their
actual spend. Every fit runs in a fresh process (wall time includes JAX compilation, as a user's first fit pays
it; the persistent compilation cache is off), one after another on both cores. Reported per engine: wall time, the
final loss (negative ELBO, mean of the last 300 steps; lower is better), the holdout forecast's WAPE, scaled CRPS
and 90% coverage (:func:`causalmmm_ppl.evaluation.backtest.score_origin`); mean ± sd over SVI seeds 0, 1, 2.

``python -m benchmarks.btvc_svi_engines``; ``--quick`` runs tiny sizes (the test suite runs it so the script cannot
rot).
"""

from __future__ import annotations

import time

import numpy as np

from benchmarks._doc import mean_sd, section_head, single_benchmark
from benchmarks._engines import each_in_fresh_process

TITLE = "## BTVC: SVI engines"
PANELS = {"1 shop × 676 days": dict(n_shops=1, n_days=676), "10 shops × 300 days": dict(n_shops=10, n_days=300)}
QUICK_PANELS = {"2 shops × 40 days": dict(n_shops=2, n_days=40)}
ENGINES = ("flat", "numpyro")
SEEDS = (0, 1, 2)
HOLDOUT = 14
QUICK = dict(svi_steps=20, svi_draws=20)


def fit_one(panel_kw: dict, engine: str, seed: int, quick: bool) -> dict:
    """Fit BTVC by SVI with one engine and score its holdout (runs in a fresh process)."""
    import os

    if not quick:
        os.environ.pop("JAX_COMPILATION_CACHE_DIR", None)  # a first fit's compilation, not a cached one
    from causalmmm_ppl import _runtime

    _runtime.configure()
    from benchmarks._engines import holdout, score_holdout
    from causalmmm_ppl.data.simulate import simulate
    from causalmmm_ppl.inference.btvc import fit_btvc
    from causalmmm_ppl.models.btvc_spec import BTVCInference, BTVCSpec

    history, plan, truth = holdout(simulate("sim2", seed=0, **panel_kw).panel, 3 if quick else HOLDOUT)
    inf = BTVCInference(method="svi", svi_engine=engine, **(QUICK if quick else {}))
    t0 = time.perf_counter()
    fit = fit_btvc(history, BTVCSpec(), inf, seed=seed, progress=False)
    seconds = time.perf_counter() - t0
    losses = np.asarray(fit.sample_stats["svi_loss"], dtype=float)
    return {"seconds": seconds, "loss": float(losses[-min(300, losses.size):].mean()),
            **score_holdout(fit, history, plan, truth, seed + 2)}


def run(quick: bool) -> dict:
    """Every panel, engine and seed, each in a fresh process, one after another (``quick``: in this process)."""
    panels = QUICK_PANELS if quick else PANELS
    seeds = SEEDS[:1] if quick else SEEDS
    tasks = [(label, engine, seed) for label in panels for engine in ENGINES for seed in seeds]
    rows = each_in_fresh_process(fit_one, [(panels[label], engine, seed, quick) for label, engine, seed in tasks],
                                 quick)
    out: dict = {}
    for (label, engine, _), row in zip(tasks, rows):
        out.setdefault((label, engine), []).append(row)
    return {"results": out, "seeds": seeds}


def render(r: dict, command: str) -> str:
    lines = [
        *section_head(TITLE, command),
        "",
        f"Default `BTVCSpec` and SVI settings (3000 steps, mean-field normal guide, 1000 draws); mean ± sd over SVI "
        f"seeds {', '.join(map(str, r['seeds']))}; each fit in a fresh process (wall time includes compilation), "
        "both cores. Loss: negative ELBO, mean of the last 300 steps. Holdout: the last 14 days forecast from their "
        "actual spend.",
        "",
        "| panel | engine | wall time (s) | final loss | WAPE | CRPS (scaled) | 90% coverage |",
        "|---|---|---|---|---|---|---|",
    ]
    for (label, engine), rows in r["results"].items():
        cells = [mean_sd([row[k] for row in rows]) for k in ("seconds", "loss", "wape", "crps", "coverage")]
        lines.append(f"| {label} | {engine} | " + " | ".join(cells) + " |")
    lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    return single_benchmark(argv, module="benchmarks.btvc_svi_engines", title=TITLE,
                            description=__doc__.splitlines()[0], run=run, render=render)


if __name__ == "__main__":
    raise SystemExit(main())
