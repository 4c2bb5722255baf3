"""On/off persistence: CausalMMM with and without each shop's own channel flighting (``spec.switching``).

Writes the section "On/off persistence" of docs/benchmarks.md. Development seeds only (100 and 101 by default): the
``switching`` default was chosen here; the reported seeds are in "Graph recovery off home ground".

The decoder's weights are shared by all shops. Without a shop-level latent for how a channel switches on and off,
the only shop-specific memory of how often a channel has been on lately is a message from another node, and edges
into channels are turned on for it (the demo's mediator → channel edges). For every scenario and seed one panel is
simulated and fitted twice with the same seed, ``switching`` off and on (everything else default). Per fit: per-shop,
across-shop and deviation AUROC over candidate pairs, the share of absent candidate edges above 0.5 and above 0.9,
the mean probability of absent edges into channels, log loss and Brier score of the edge probabilities, and the fit's
seconds on one core. Scenarios as in "Edge calibration": the demo's panel size (``sim1`` with 12 shops × 240 days),
``sim1``, ``sim3``, ``sources`` and ``sim2`` (20 × 338).

``python -m benchmarks.switching`` (full: two CausalMMM fits per panel, 1–3 min each on one core, two panels at a
time); ``--quick`` runs tiny sizes (the test suite runs it so the script cannot rot).
"""

from __future__ import annotations

import time

import numpy as np

from benchmarks._doc import mean_sd, panel_benchmark, section_head
from benchmarks.edge_calibration import PANELS
from benchmarks.graph_offhome import QUICK
from benchmarks.graph_recovery import candidate_mask

TITLE = "## On/off persistence"
SCENARIOS = ("sim1_demo", "sim1", "sim3", "sources", "sim2")
SEEDS = (100, 101)
VARIANTS = (("off", False), ("on", True))
METRICS = (("auroc", "per-shop AUROC"), ("across", "across-shop AUROC"), ("deviation", "deviation AUROC"),
           ("false_on", "false on (> 0.5)"), ("confident_false", "false > 0.9"),
           ("p_into_channels", "p absent into channels"), ("log_loss", "log loss"), ("brier", "Brier"))


def score_panel(scenario: str, seed: int, quick: bool) -> dict:
    """Simulate one panel and fit CausalMMM with ``switching`` off and on; score both graphs."""
    from causalmmm_ppl import _runtime

    _runtime.configure(1)
    from causalmmm_ppl.data.simulate import simulate
    from causalmmm_ppl.evaluation.graph_metrics import edge_brier, edge_log_loss, graph_report, pair_mask
    from causalmmm_ppl.inference.causalmmm_fit import fit_causalmmm
    from causalmmm_ppl.models.settings import CausalMMMSettings

    name, sizes = PANELS[scenario]
    sim = simulate(name, seed=seed, **({k: QUICK[k] for k in ("n_shops", "n_days")} if quick else sizes))
    panel, truth = sim.panel, sim.adjacency
    templates = np.asarray(sim.params["template"]) if "template" in sim.params else None
    base = CausalMMMSettings.of(**({"steps": QUICK["steps"]} if quick else {}))
    cand = candidate_mask(panel, base.model)
    mask = pair_mask(truth.shape, cand)
    absent = mask & (truth == 0)
    into_channels = absent & (np.asarray(panel.node_kinds) == "channel")[None, None, :]
    out = {"scenario": scenario, "seed": seed, "shape": f"{panel.n_shops}×{panel.n_nodes}×{panel.n_time}"}
    for key, on in VARIANTS:
        t0 = time.perf_counter()
        fit = fit_causalmmm(panel, base.replace(switching=on), seed=seed, progress=False)
        seconds = time.perf_counter() - t0
        prob = fit.edge_probability_array()
        rep = graph_report(prob, truth, candidates=cand, templates=templates)
        out[key] = {"auroc": rep["auroc_mean"], "across": rep["across_shop_auroc_mean"],
                    "deviation": rep["deviation_auroc_mean"], "false_on": float((prob[absent] > 0.5).mean()),
                    "confident_false": float((prob[absent] > 0.9).mean()),
                    "p_into_channels": float(prob[into_channels].mean()),
                    "log_loss": edge_log_loss(prob, truth, cand), "brier": edge_brier(prob, truth, cand),
                    "seconds": seconds}
    return out


def render(results: list[dict], command: str, seeds: tuple[int, ...]) -> str:
    scenarios = list(dict.fromkeys(r["scenario"] for r in results))
    lines = [
        *section_head(TITLE, command),
        "",
        f"Development seeds {', '.join(map(str, seeds))} only: the default of `switching` was chosen here. One panel "
        "per scenario and seed, fitted twice with the same seed: without and with each shop's on/off persistence "
        "of its channels (everything else default). Metrics over candidate pairs (as in \"Graph recovery off home "
        "ground\"); `false on` / `false > 0.9`: share of absent candidate edges above 0.5 / 0.9; `p absent into "
        "channels`: mean probability of absent candidate edges whose effect is a channel; mean ± sd over seeds; fit "
        "seconds on one core.",
        "",
        "| panel | switching | " + " | ".join(label for _, label in METRICS) + " | fit s |",
        "|---|---|" + "---|" * (len(METRICS) + 1),
    ]
    for s in scenarios:
        rows = [r for r in results if r["scenario"] == s]
        for key, _ in VARIANTS:
            cells = [mean_sd([r[key][m] for r in rows]) for m, _ in METRICS]
            lines.append(f"| {s} {rows[0]['shape']} | {key} | " + " | ".join(cells)
                         + f" | {np.mean([r[key]['seconds'] for r in rows]):.0f} |")
    lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    return panel_benchmark(argv, module="benchmarks.switching", title=TITLE, description=__doc__.splitlines()[0],
                           scenarios=SCENARIOS, seeds=SEEDS, quick_seeds=(100,), score_panel=score_panel,
                           render=render)


if __name__ == "__main__":
    raise SystemExit(main())
