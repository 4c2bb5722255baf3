"""SVI restarts: what a second independent SVI run does to graph recovery, kept when its ELBO is higher or mixed.

Writes the section "SVI restarts" of docs/benchmarks.md. For every scenario and seed, one panel (the sizes of
:mod:`benchmarks.graph_offhome`) is fitted once with the default settings, which train two SVI runs (seeds S and
S + 1, S the panel's seed) and mix them (``restarts`` and ``keep_runs`` left to the panel's size,
:meth:`~causalmmm_ppl.models.settings.CausalMMMInference.for_shops`). Each run is scored by its own per-shop AUROC
over candidate pairs (pooled through its own population layer, as the fit reports it; the layer's EM starts are
seeded by S for both runs, as in the fit), by its negative ELBO on the whole training panel per scored value
(:func:`causalmmm_ppl.inference.svi.evaluation_loss`, as the fit compares its runs) and by its encoder's edge
information (:func:`causalmmm_ppl.inference.causalmmm_pooling.edge_information`). Rows: the run of seed S alone
(what one run gives), the run of seed S + 1 alone, the run of lower loss (what ``keep_runs = "best"`` keeps),
and the defaults (both runs mixed: the mean of their edge probabilities); and how often the run of lower loss is
the one that recovers the graph better. A run left out as collapsed (its edge information below
``collapse_information``) is not in the mixture and has no row figures.
"""

from __future__ import annotations

import time

import numpy as np

from causalmmm_ppl.models.settings import CausalMMMInference, CausalMMMSettings

from benchmarks._doc import by_scenario, mean_sd, panel_benchmark, section_head
from benchmarks.graph_offhome import QUICK, SIZES

TITLE = "## SVI restarts"
SCENARIOS = ("sources", "sim3")
SEEDS = (0, 1, 2)
#: the rows of a panel, in the table's order: key → label
ROWS = {"first": "seed S alone", "second": "seed S + 1 alone", "kept": "lower loss of S, S + 1 (keep_runs best)",
        "default": "the defaults: S and S + 1 mixed"}


def score_panel(scenario: str, seed: int, quick: bool) -> dict:
    """Fit one panel with the defaults (two SVI runs mixed) and score each run and the mixture (runs in a worker
    process)."""
    from causalmmm_ppl import _runtime

    _runtime.configure(1)

    from causalmmm_ppl.data.simulate import simulate
    from causalmmm_ppl.evaluation.graph_metrics import graph_report

    from benchmarks.graph_recovery import candidate_mask
    from causalmmm_ppl.inference.causalmmm_fit import fit_causalmmm

    sizes = {k: QUICK[k] for k in ("n_shops", "n_days")} if quick else SIZES.get(scenario, {})
    sim = simulate(scenario, seed=seed, **sizes)
    settings = CausalMMMSettings.of(**({"steps": QUICK["steps"]} if quick else {}))
    cand = candidate_mask(sim.panel, settings.model)
    t0 = time.perf_counter()
    fit = fit_causalmmm(sim.panel, settings, seed=seed, progress=False)
    seconds = time.perf_counter() - t0

    def auroc(**which) -> float:
        return graph_report(fit.edge_probability_array(**which), sim.adjacency, candidates=cand)["auroc_mean"]

    order = list(fit.run_seeds)
    runs = {}
    for r in fit.svi_runs[:2]:
        index = order.index(r["seed"]) if r["seed"] in order else None  # None: left out as collapsed
        runs[r["seed"]] = {
            "auroc": np.nan if index is None else auroc(run=index),
            "encoder_auroc": np.nan if index is None else auroc(run=index, pooled=False),
            "loss": np.nan if r["loss"] is None else r["loss"], "information": r["edge_information"],
            "seconds": seconds / len(fit.svi_runs), "svi_seed": r["seed"]}
    first, second = runs[seed], runs.get(seed + 1, runs[seed])
    kept_index = int(np.argmin([first["loss"], second["loss"]]))
    kept = {**(first, second)[kept_index], "seconds": seconds}  # keep_runs = "best" trains both runs too
    default = {"auroc": auroc(), "encoder_auroc": auroc(pooled=False), "loss": np.nan,
               "information": np.nan, "seconds": seconds, "svi_seed": seed}
    return {"scenario": scenario, "seed": seed, "shape": f"{sim.panel.n_shops}×{sim.panel.n_nodes}×{sim.panel.n_time}",
            "first": first, "second": second, "kept": kept, "default": default,
            "kept_index": kept_index, "runs_mixed": len(fit.runs()), "runs_trained": len(fit.svi_runs),
            "kept_better": kept["auroc"] > (second, first)[kept_index]["auroc"]}


def render(results: list[dict], command: str, seeds: tuple[int, ...]) -> str:
    """The section "SVI restarts": the reported seeds' runs."""
    return render_runs(results, command, TITLE,
                       f"Reported seeds {', '.join(map(str, seeds))}; nothing was chosen here (the number of runs "
                       "and the collapse threshold were chosen on development seeds: \"Collapse threshold and mixed "
                       "runs (development seeds)\").")


def render_runs(results: list[dict], command: str, title: str, purpose: str) -> str:
    """A section ``title`` of two-run panels (:func:`score_panel`'s results): ``purpose`` says what its seeds are
    for; then the table by scenario and row, and each panel's two runs."""
    lines = [
        *section_head(title, command),
        "",
        f"{purpose} Each panel fitted once with the defaults, which train SVI runs from seeds S and S + 1 and mix "
        "them; each run scored alone through its own population layer. Per-shop AUROC over candidate pairs (pooled, "
        "as reported; encoder: before pooling); loss: negative ELBO of the whole training panel per scored value "
        "(lower is better); information: the encoder's edges' KL from the prior, nats per candidate pair; fit "
        "seconds on one core (one run: the fit's time over its runs). Mean ± sd over seeds.",
        "",
        "| scenario | run | per-shop AUROC | encoder AUROC | loss | information | fit seconds |",
        "|---|---|---|---|---|---|---|",
    ]
    for scenario, rows in by_scenario(results).items():
        for key, label in ROWS.items():
            cells = [mean_sd([r[key][m] for r in rows]) for m in ("auroc", "encoder_auroc", "loss", "information")]
            secs = np.mean([r[key]["seconds"] for r in rows])
            lines.append(f"| {scenario} ({rows[0]['shape']}) | {label} | " + " | ".join(cells) + f" | {secs:.0f} |")
    per_seed = "; ".join(
        f"{r['scenario']} seed {r['seed']}: {r['first']['auroc']:.3f} / {r['second']['auroc']:.3f} / "
        f"{r['default']['auroc']:.3f} (loss {r['first']['loss']:.3f} / {r['second']['loss']:.3f}; information "
        f"{r['first']['information']:.3f} / {r['second']['information']:.3f})" for r in results)
    better = sum(r["kept_better"] for r in results)
    above = sum(r["default"]["auroc"] >= np.nanmean([r["first"]["auroc"], r["second"]["auroc"]]) for r in results)
    partial = [f"{r['scenario']} seed {r['seed']} ({r['runs_mixed']} of {r['runs_trained']})" for r in results
               if r["runs_mixed"] != r["runs_trained"]]
    lowest = min((r[run]["information"], f"{r['scenario']} seed {r['seed']}, SVI seed {r[run]['svi_seed']}")
                 for r in results for run in ("first", "second"))
    lines += ["", f"Per panel, per-shop AUROC of S / S + 1 / both mixed (loss; information of S / S + 1): "
                  f"{per_seed}. The mixture is at or above the mean of its two runs on {above} of {len(results)} "
                  f"panels; the run of lower loss has the higher per-shop AUROC of the two on {better} of "
                  f"{len(results)}. Fits that left a collapsed run out of the mixture (runs mixed of trained): "
                  f"{', '.join(partial) or 'none'}. Lowest edge information of a run: {lowest[0]:.3f} ({lowest[1]}); "
                  f"the collapse threshold (collapse_information) is {CausalMMMInference().collapse_information}.",
              ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    return panel_benchmark(argv, module="benchmarks.restarts", title=TITLE, description=__doc__.splitlines()[0],
                           scenarios=SCENARIOS, seeds=SEEDS, quick_seeds=(0,), score_panel=score_panel, render=render)


if __name__ == "__main__":
    raise SystemExit(main())
