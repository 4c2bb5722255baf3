"""BTVC: NUTS engines — NUTS on the model's compiled potential over one flat vector against NumPyro's ``NUTS(model)``.

Writes the section "BTVC: NUTS engines" of docs/benchmarks.md. Both engines sample the same posterior with the same
NUTS settings, from the same start (the default ``nuts_init="svi"``: a 1000-step mean-field fit, each chain at its own
draw from it, the warm-up from its variances) and the default 4 chains × 1000 warm-up + 1000 draws:

- **flat** (``BTVCInference(nuts_engine="flat")``, the default): ``NUTS(potential_fn=...)`` on the model's potential
  (NumPyro's ``potential_energy``) over one flat vector of the unconstrained parameters, compiled as one program;
- **numpyro** (``nuts_engine="numpyro"``): ``NUTS(model)``, NumPyro tracing the model, building its potential and
  constraining the draws itself.

Panel: one shop of sim2 (676 days, 12 channels; the panel of "BTVC (NumPyro): NUTS and SVI cost"), fitted on all but
its last 14 days, which are forecast from their actual spend. Every fit runs in a fresh process, one after another
(wall time includes JAX compilation; the persistent compilation cache is off), chains on the JAX host devices as
the CLI runs them. Reported per engine: wall time, the worst bulk ESS per second and R-hat over every latent
parameter, divergences, and the holdout forecast's WAPE, scaled CRPS and 90% coverage
(:func:`causalmmm_ppl.evaluation.backtest.score_origin`); mean ± sd over seeds 0, 1, 2.

``python -m benchmarks.btvc_nuts_engines``; ``--quick`` runs tiny sizes (the test suite runs it so the script cannot
rot).
"""

from __future__ import annotations

import time

from benchmarks._doc import mean_sd, section_head, single_benchmark
from benchmarks._engines import each_in_fresh_process

TITLE = "## BTVC: NUTS engines"
ENGINES = ("flat", "numpyro")
SEEDS = (0, 1, 2)
HOLDOUT = 14
QUICK = dict(num_chains=2, num_warmup=30, num_samples=20, nuts_init_steps=50)


def fit_one(engine: str, seed: int, quick: bool) -> dict:
    """Fit BTVC by NUTS with one engine and score its holdout (runs in a fresh process)."""
    import os

    if not quick:
        os.environ.pop("JAX_COMPILATION_CACHE_DIR", None)  # a first fit's compilation, not a cached one
    from causalmmm_ppl import _runtime

    _runtime.configure()
    from benchmarks._engines import holdout, score_holdout
    from causalmmm_ppl.data.simulate import simulate
    from causalmmm_ppl.evaluation.diagnostics import diagnostics_table
    from causalmmm_ppl.inference.btvc import fit_btvc
    from causalmmm_ppl.models.btvc_spec import BTVCInference, BTVCSpec

    panel = simulate("sim2", n_shops=1, n_days=120 if quick else None, seed=0).panel
    history, plan, truth = holdout(panel, 3 if quick else HOLDOUT)
    inf = BTVCInference(method="nuts", nuts_engine=engine, **(QUICK if quick else {}))
    t0 = time.perf_counter()
    fit = fit_btvc(history, BTVCSpec(), inf, seed=seed, progress=False)
    seconds = time.perf_counter() - t0
    overall = diagnostics_table(fit.to_inference_data(include_paths=False, posterior_predictive=False))
    overall = overall.set_index("group").loc["all"]
    return {"seconds": seconds, "ess_min_s": float(overall["ess_bulk_min"]) / seconds,
            "rhat_max": float(overall["rhat_max"]), "divergences": float(overall["divergences"]),
            "knots": fit.spec.knots, **score_holdout(fit, history, plan, truth, seed + 2)}


def run(quick: bool) -> dict:
    """Every engine and seed, each in a fresh process, one after another (``quick``: in this process)."""
    seeds = SEEDS[:1] if quick else SEEDS
    tasks = [(engine, seed) for engine in ENGINES for seed in seeds]
    rows = each_in_fresh_process(fit_one, [(engine, seed, quick) for engine, seed in tasks], quick)
    out: dict = {}
    for (engine, _), row in zip(tasks, rows):
        out.setdefault(engine, []).append(row)
    return {"results": out, "seeds": seeds, "quick": quick}


def render(r: dict, command: str) -> str:
    knots = sorted({row["knots"] for rows in r["results"].values() for row in rows})
    lines = [
        *section_head(TITLE, command),
        "",
        f"One shop of sim2 ({'120' if r['quick'] else '676'} days, 12 channels), default `BTVCSpec` (knots: "
        f"{', '.join(knots)}) and NUTS settings; mean ± sd over seeds {', '.join(map(str, r['seeds']))}; each fit in "
        "a fresh process (wall time includes compilation and the SVI start). ESS/s: the worst bulk ESS over every "
        "latent parameter per second of the fit. Holdout: the last days forecast from their actual spend.",
        "",
        "| engine | wall time (s) | worst bulk ESS/s | max R-hat | divergences | WAPE | CRPS (scaled) | 90% coverage |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for engine, rows in r["results"].items():
        cells = [mean_sd([row[k] for row in rows]) for k in ("seconds", "ess_min_s", "rhat_max", "divergences",
                                                               "wape", "crps", "coverage")]
        lines.append(f"| {engine} | " + " | ".join(cells) + " |")
    lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    return single_benchmark(argv, module="benchmarks.btvc_nuts_engines", title=TITLE,
                            description=__doc__.splitlines()[0], run=run, render=render)


if __name__ == "__main__":
    raise SystemExit(main())
