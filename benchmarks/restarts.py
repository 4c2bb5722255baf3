"""SVI restarts: what a second independent run, kept when its full-panel ELBO is higher, does to graph recovery.

Writes the section "SVI restarts" of docs/benchmarks.md. For every scenario and seed, one panel (the sizes of
:mod:`benchmarks.graph_offhome`) is fitted twice with the default settings but one SVI run each
(``collapse_restarts = 0``), from SVI seeds S and S + 1 (S the panel's seed). Each run is scored by its per-shop
AUROC over candidate pairs (pooled, as reported), by its negative ELBO on the whole training panel per scored value
(:func:`causalmmm_ppl.inference.svi.evaluation_loss`) and by its encoder's edge information
(:func:`causalmmm_ppl.inference.causalmmm_pooling.edge_information`). Rows: the first run alone (``restarts = 1``,
``collapse_restarts = 0``), what the defaults keep (the first run, or the lower loss of both where the first is
collapsed: its edge information below ``collapse_information``), the run with the lower loss (what ``restarts = 2``
keeps), and the second run alone; and how often the kept run is the one that recovers the graph better.
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


def score_panel(scenario: str, seed: int, quick: bool) -> dict:
    """Fit one panel from two SVI seeds and score both runs (runs in a worker process)."""
    from causalmmm_ppl import _runtime

    _runtime.configure(1)

    from causalmmm_ppl.data.simulate import simulate
    from causalmmm_ppl.evaluation.graph_metrics import graph_report
    from causalmmm_ppl.inference.causalmmm_fit import fit_causalmmm
    from causalmmm_ppl.inference.causalmmm_pooling import edge_information

    from benchmarks.graph_recovery import candidate_mask

    sizes = {k: QUICK[k] for k in ("n_shops", "n_days")} if quick else SIZES.get(scenario, {})
    sim = simulate(scenario, seed=seed, **sizes)
    settings = CausalMMMSettings.of(collapse_restarts=0, **({"steps": QUICK["steps"]} if quick else {}))
    cand = candidate_mask(sim.panel, settings.model)
    runs = []
    for run_seed in (seed, seed + 1):
        t0 = time.perf_counter()
        fit = fit_causalmmm(sim.panel, settings, seed=run_seed, progress=False)
        seconds = time.perf_counter() - t0
        encoder = graph_report(fit.edge_probability_array(pooled=False), sim.adjacency, candidates=cand)
        runs.append({
            "auroc": graph_report(fit.edge_probability_array(), sim.adjacency, candidates=cand)["auroc_mean"],
            "encoder_auroc": encoder["auroc_mean"],
            # the encoder's own edges, as restarts = 2 compares the runs (before the population layer is fitted)
            "loss": _encoder_loss(fit, seed),
            "information": edge_information(fit.model, fit.guide, fit.training_data(), fit.spec),
            "seconds": seconds,
            "svi_seed": run_seed,
        })
    kept = int(np.argmin([r["loss"] for r in runs]))
    collapsed = runs[0]["information"] < settings.inference.collapse_information
    default = runs[kept] if collapsed else runs[0]  # the defaults train S + 1 only where S collapsed
    return {"scenario": scenario, "seed": seed, "shape": f"{sim.panel.n_shops}×{sim.panel.n_nodes}×{sim.panel.n_time}",
            "first": runs[0], "second": runs[1], "kept": runs[kept], "kept_index": kept,
            "default": {**default, "seconds": runs[0]["seconds"] + (runs[1]["seconds"] if collapsed else 0.0)},
            "collapsed": collapsed, "kept_better": runs[kept]["auroc"] > runs[1 - kept]["auroc"]}


def _encoder_loss(fit, seed: int) -> float:
    """:func:`~causalmmm_ppl.inference.svi.evaluation_loss` of a fit's guide with its encoder's own edges."""
    from causalmmm_ppl.inference.svi import evaluation_loss

    with fit.guide.reporting_through(None):
        return evaluation_loss(fit.model, fit.guide, fit.training_data(), fit.spec, seed=seed)


def render(results: list[dict], command: str, seeds: tuple[int, ...]) -> str:
    """The section "SVI restarts": the reported seeds' runs."""
    return render_runs(results, command, TITLE,
                       f"Reported seeds {', '.join(map(str, seeds))}; nothing was chosen here (the collapse threshold "
                       "is checked on development seeds: \"Collapse threshold (development seeds)\").")


def render_runs(results: list[dict], command: str, title: str, purpose: str) -> str:
    """A section ``title`` of two-run panels (:func:`score_panel`'s results): ``purpose`` says what its seeds are
    for; then the table by scenario and run, and each panel's two runs."""
    lines = [
        *section_head(title, command),
        "",
        f"{purpose} Each panel fitted from SVI seeds S and S + 1 with the default settings but one run each. "
        "Per-shop AUROC over candidate pairs (pooled, as reported; encoder: before pooling); loss: negative ELBO of the whole training panel per scored value (lower is better); information: "
        "the encoder's edges' KL from the prior, nats per candidate pair; fit seconds on one core (two runs: both). "
        "Mean ± sd over seeds.",
        "",
        "| scenario | run | per-shop AUROC | encoder AUROC | loss | information | fit seconds |",
        "|---|---|---|---|---|---|---|",
    ]
    labels = {"first": "seed S alone (one run)",
              "default": "the defaults (S; S + 1 too where S is collapsed, the lower loss kept)",
              "kept": "lower loss of S, S + 1 (restarts 2)", "second": "seed S + 1 alone"}
    for scenario, rows in by_scenario(results).items():
        for key, label in labels.items():
            cells = [mean_sd([r[key][m] for r in rows]) for m in ("auroc", "encoder_auroc", "loss", "information")]
            # restarts = 2 trains both runs
            secs = np.mean([r["first"]["seconds"] + r["second"]["seconds"] if key == "kept" else r[key]["seconds"]
                            for r in rows])
            lines.append(f"| {scenario} ({rows[0]['shape']}) | {label} | " + " | ".join(cells) + f" | {secs:.0f} |")
    per_seed = "; ".join(
        f"{r['scenario']} seed {r['seed']}: {r['first']['auroc']:.3f} / {r['second']['auroc']:.3f} "
        f"(loss {r['first']['loss']:.3f} / {r['second']['loss']:.3f}; information {r['first']['information']:.3f} / "
        f"{r['second']['information']:.3f}), kept {'S' if r['kept_index'] == 0 else 'S + 1'}"
        for r in results)
    better = sum(r["kept_better"] for r in results)
    collapsed = [f"{r['scenario']} seed {r['seed']}" for r in results if r["collapsed"]]
    lowest = min((r[run]["information"], f"{r['scenario']} seed {r['seed']}, SVI seed {r[run]['svi_seed']}")
                 for r in results for run in ("first", "second"))
    lines += ["", f"Per panel, per-shop AUROC of S / S + 1 (loss; information): {per_seed}. The kept run has the "
                  f"higher per-shop AUROC of the two on {better} of {len(results)} panels. Collapsed first runs "
                  f"(the defaults train S + 1 there): {', '.join(collapsed) or 'none'}. Lowest edge information of "
                  f"a run: {lowest[0]:.3f} ({lowest[1]}); the collapse threshold (collapse_information) is "
                  f"{CausalMMMInference().collapse_information}.", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    return panel_benchmark(argv, module="benchmarks.restarts", title=TITLE, description=__doc__.splitlines()[0],
                           scenarios=SCENARIOS, seeds=SEEDS, quick_seeds=(0,), score_panel=score_panel, render=render)


if __name__ == "__main__":
    raise SystemExit(main())
