"""Edge gains: does a per-shop, per-edge effect size with a posterior (``edge_gain``) improve effects?

Writes the section "Edge gains (development seeds)" of docs/benchmarks.md. Development seeds (100, 101 by default):
this decides a setting, it is not a reported figure. The effects issue proposes giving each shop's edge a size of
its own with a posterior, because the decoder's population weights W_ij, which carry the size of every effect, are
point estimates. ``CausalMMMSpec.edge_gain = s`` multiplies the message of edge i → j in shop n by ``exp(g_nij)``,
``g_nij ~ Normal(0, s)``, with the amortized guide giving each ``g_nij`` a Normal posterior. For every scenario and
seed one panel is simulated and fitted on all but its last 14 days with each prior scale in ``GAINS`` (0: no gain,
the default), and scored as in "Causal effects and budget" (``total`` effects over shop × channel: Spearman,
portfolio-ROAS error, 90% coverage, error share; :func:`causalmmm_ppl.evaluation.effect_metrics.effect_report`) and
by per-shop AUROC of the edge probabilities over the candidate pairs.

``python -m benchmarks.edge_gain`` (three CausalMMM fits per panel, one to two minutes each on one core);
``--quick`` runs tiny sizes (the test suite runs it so the script cannot rot).
"""

from __future__ import annotations

import numpy as np

from benchmarks._doc import by_scenario, mean_sd, panel_benchmark, section_head
from benchmarks.effects import HORIZON, QUICK, effects_panel

TITLE = "## Edge gains (development seeds)"
SCENARIOS = ("sim1", "sim2", "sim3")
SEEDS = (100, 101)
DRAWS = 100
GAINS = (0.0, 0.3, 1.0)
METRICS = ("spearman", "roas_rel_error", "coverage", "error_share", "auroc")


def score_panel(scenario: str, seed: int, quick: bool) -> dict:
    """Simulate one panel, fit it once per gain scale, and score its effects and edges (runs in a worker process)."""
    from causalmmm_ppl import _runtime

    _runtime.configure(1)
    from benchmarks.graph_recovery import candidate_mask
    from causalmmm_ppl.evaluation.effect_metrics import effect_report
    from causalmmm_ppl.evaluation.graph_metrics import per_shop_auroc
    from causalmmm_ppl.inference.causalmmm_fit import fit_causalmmm
    from causalmmm_ppl.models.settings import CausalMMMSettings

    sim, truth, history, plan = effects_panel(scenario, seed, quick)
    out: dict = {"scenario": scenario, "seed": seed,
                 "shape": f"{sim.panel.n_shops}×{sim.panel.n_nodes}×{sim.panel.n_time}"}
    for gain in GAINS:
        settings = CausalMMMSettings.of(edge_gain=gain, **({"steps": QUICK["steps"]} if quick else {}))
        fit = fit_causalmmm(history, settings, seed=seed, progress=False)
        table = fit.effects(history, plan, num_draws=QUICK["draws"] if quick else DRAWS, seed=seed)
        auroc = per_shop_auroc(fit.edge_probability_array(), sim.adjacency, candidate_mask(sim.panel, settings.model))
        out[str(gain)] = {**effect_report(table, truth, "total"), "auroc": float(np.nanmean(auroc))}
    return out


def render(results: list[dict], command: str, seeds: tuple[int, ...]) -> str:
    lines = [
        *section_head(TITLE, command),
        "",
        f"Development seeds {', '.join(map(str, seeds))} only. Each panel is fitted on all but its last {HORIZON} "
        "days once per prior scale s of the log edge gains (`edge_gain`; 0: no gain, the default) and scored as in "
        f"\"Causal effects and budget\" (`total` effects over shop × channel, {DRAWS} draws) and by per-shop AUROC of "
        "the edge probabilities over the candidate pairs (the whole panel's graph; the fit saw all but the last "
        f"{HORIZON} days). Mean ± sd over seeds.",
        "",
    ]
    for scenario, rows in by_scenario(results).items():
        lines += [
            f"### {scenario}: {rows[0]['shape']} (shops × nodes × days)",
            "",
            "| edge_gain | Spearman | ROAS error | coverage 90% | error share | per-shop AUROC |",
            "|---|---|---|---|---|---|",
        ]
        for gain in GAINS:
            cells = [mean_sd([r[str(gain)][k] for r in rows]) for k in METRICS]
            lines.append(f"| {gain:g}{' (default)' if gain == 0 else ''} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    return panel_benchmark(argv, module="benchmarks.edge_gain", title=TITLE, description=__doc__.splitlines()[0],
                           scenarios=SCENARIOS, seeds=SEEDS, quick_seeds=(100,), score_panel=score_panel,
                           render=render)


if __name__ == "__main__":
    raise SystemExit(main())
