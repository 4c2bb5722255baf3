"""Mediated effects: how much of a channel's effect that flows through a mediator the fit keeps, and why.

Writes the section "Mediated effects" of docs/benchmarks.md. Development seeds (100, 101 by default): this is a
diagnosis, not a reported figure. For every scenario and seed one panel is simulated and fitted on all but its last
14 days twice, with the default settings and with every mediator → target edge required (``mediator_prior``
1: what the effects would be if the graph had that edge). For each fit and for the
simulator's true counterfactuals (:mod:`causalmmm_ppl.data.effects_truth`) the portfolio effects of every channel
over the window are split into

- **direct**: the target's change when the channel is cut with the other channels and the mediators held at their
  factual paths;
- **mediated**: ``held − direct``, what the mediators' response to the cut adds (the other channels held).

Per row: the mediated effect as a share of its truth (Σ over channels of the estimate / Σ of the truth), the same
for the direct effect, the mean edge probability of mediator → target pairs (and their true frequency), and the
``total`` effects' Spearman, portfolio-ROAS error and 90% coverage over shop × channel
(:func:`causalmmm_ppl.evaluation.effect_metrics.effect_report`).

``python -m benchmarks.mediated_effects`` (two CausalMMM fits per panel, a few minutes each on one core);
``--quick`` runs tiny sizes (the test suite runs it so the script cannot rot).
"""

from __future__ import annotations

import numpy as np

from benchmarks._doc import by_scenario, mean_sd, panel_benchmark, section_head
from benchmarks.effects import draw_count, effects_panel, horizon, num_draws, quick_settings, window_days

TITLE = "## Mediated effects"
SCENARIOS = ("sim1", "sim2")
SEEDS = (100, 101)
METHODS = ("default", "required")
LABELS = {"default": "CausalMMM (default)", "required": "CausalMMM, mediator → target edges required"}


def _portfolio(table, kind: str, column: str) -> float:
    rows = table[(table["kind"] == kind) & (table["shop"].astype(str) != "ALL")]
    return float(rows[column].sum())


def score_panel(scenario: str, seed: int, quick: bool) -> dict:
    """Simulate one panel, fit it twice, and split every channel's effect into direct and mediated parts."""
    from causalmmm_ppl import _runtime

    _runtime.configure(1)
    from causalmmm_ppl.evaluation.effect_metrics import effect_report
    from causalmmm_ppl.inference.causalmmm_fit import fit_causalmmm
    from causalmmm_ppl.models.settings import CausalMMMSettings

    sim, truth, history, plan = effects_panel(scenario, seed, quick)
    panel = sim.panel
    kinds = np.asarray(panel.node_kinds)
    mediators = [n for n, k in zip(panel.nodes, kinds) if k == "mediator"]
    tgt = panel.nodes.index(panel.target)
    med_idx = [panel.nodes.index(m) for m in mediators]
    settings = CausalMMMSettings.of(**quick_settings(quick))
    draws = num_draws(quick)
    out: dict = {"scenario": scenario, "seed": seed, "shape": f"{panel.n_shops}×{panel.n_nodes}×{panel.n_time}",
                 "horizon": horizon(quick), "draws": draws,
                 "true_edge_frequency": float(sim.adjacency[:, med_idx, tgt].mean())}
    t = truth.rename(columns={"effect": "mean"})
    true_direct, true_held = _portfolio(t, "direct", "mean"), _portfolio(t, "held", "mean")
    out["true_mediated_share"] = (true_held - true_direct) / true_held
    for name, s in (("default", settings), ("required", settings.replace(mediator_prior=1.0))):
        fit = fit_causalmmm(history, s, seed=seed, progress=False)
        table = fit.effects(history, plan, num_draws=draws, seed=seed)
        direct, held = _portfolio(table, "direct", "mean"), _portfolio(table, "held", "mean")
        prob = fit.edge_probability_array(history)
        out[name] = {"mediated": (held - direct) / (true_held - true_direct), "direct": direct / true_direct,
                     "edge_probability": float(prob[:, med_idx, tgt].mean()), **effect_report(table, truth, "total")}
    return out


def render(results: list[dict], command: str, seeds: tuple[int, ...]) -> str:
    days, draws = window_days(results), draw_count(results)
    lines = [
        *section_head(TITLE, command),
        "",
        f"Development seeds {', '.join(map(str, seeds))} only: a diagnosis of \"Causal effects and budget\", not a "
        f"reported figure. Each panel is fitted on all but its last {days} days, with the defaults and with every "
        "mediator → target edge required; portfolio effects over the window, split into direct (mediators held at "
        "their factual paths) and mediated (held − direct), as a share of the simulator's true ones; "
        "`p(mediator → target)`: mean edge probability of those pairs; Spearman, ROAS error and coverage: the "
        f"`total` effects over shop × channel, as in \"Causal effects and budget\" ({draws} draws). Mean ± sd over "
        "seeds.",
        "",
    ]
    for scenario, rows in by_scenario(results).items():
        lines += [
            f"### {scenario}: {rows[0]['shape']} (shops × nodes × days)",
            "",
            f"True mediated share of the `held` portfolio effect: {mean_sd([r['true_mediated_share'] for r in rows])}; "
            f"mediator → target edges in {mean_sd([r['true_edge_frequency'] for r in rows])} of the shops.",
            "",
            "| fit | p(mediator → target) | mediated effect / truth | direct effect / truth | Spearman (total) "
            "| ROAS error (total) | coverage 90% (total) |",
            "|---|---|---|---|---|---|---|",
        ]
        for m in METHODS:
            cells = [mean_sd([r[m][k] for r in rows]) for k in ("edge_probability", "mediated", "direct", "spearman",
                                                               "roas_rel_error", "coverage")]
            lines.append(f"| {LABELS[m]} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    return panel_benchmark(argv, module="benchmarks.mediated_effects", title=TITLE,
                           description=__doc__.splitlines()[0], scenarios=SCENARIOS, seeds=SEEDS,
                           quick_seeds=(100,), score_panel=score_panel, render=render)


if __name__ == "__main__":
    raise SystemExit(main())
