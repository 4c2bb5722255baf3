"""Two-stage sizes: would least squares on CausalMMM's learned graph give better effects than the fit's own
(development seeds)?

Writes the section "Two-stage sizes (development seeds)" of docs/benchmarks.md. Development seeds (100, 101 by
default): this decides whether to build an effects estimator, it is not a reported figure. "Effects with the true
structure (reference)" finds that least squares told CausalMMM's graph (its edges above 0.5) ranks the effects about
as the fit itself does, and that told the same graph with the truth's channel → target edges it meets sim2's goals.
The fit misses a quarter of sim2's channel → target edges, and the guide's screen ranks those pairs better than the
fit. An estimator that takes the graph from the fit and the sizes from a second stage would need a rule for those
edges that does not know the truth. This script scores such rules on the reference's equations
(:func:`benchmarks.effects_oracle.oracle_effects`, carryover and saturation from its grid): the fit's edges above
0.5 everywhere else, and for the channel → target pairs

- the fit's edges above 0.5, 0.3, 0.2 or 0.1;
- the screen's (the guide before SVI, no pooling; :func:`benchmarks.graph_recovery.screen_only_scores`) above 0.5,
  alone or together with the fit's;
- every channel → target pair;
- the truth's (the reference's upper row, which no estimator has);

and, for four of these, with every shop's sizes shrunk towards the other shops' sizes of the same pair (``sizes
pooled``: a normal-normal model per pair, :func:`benchmarks.effects_oracle.pooled_sizes`), as a hierarchical model
of the sizes would. The fit's own sizes are scored on the same graphs: its effects with its edges above 0.5 imposed
on every draw, with those edges and the truth's channel → target pairs (and mediator → target pairs), with the
true graph and the fit's channel → target pairs, and with the true graph (``poutine.do`` on
the graph; :func:`benchmarks.effects_oracle.fitted_panel`'s ``impose``). Beside least squares on the same graph they
say whether, once the channel → target edges are right, the fit's sizes or least squares' rank the effects better.

Each is scored as "Causal effects and budget" scores the fit (``total`` effects over shop × channel; a point
estimate, so no coverage), beside the fit's own effects (100 draws), with the share of the true channel → target
edges the rule keeps and the number of absent pairs it keeps (per panel).

``python -m benchmarks.two_stage_sizes --jobs 2`` (one CausalMMM fit and one screen per panel, then every shop's
equations once per row: 15 minutes for the four panels on 2 cores, beside a one-core benchmark); ``--quick`` runs
tiny sizes (the test suite runs it so the script cannot rot).
"""

from __future__ import annotations

import numpy as np

from benchmarks._doc import by_scenario, mean_sd, panel_benchmark, section_head, table_head
from benchmarks._effect_variants import channel_target_edges
from benchmarks.effects import draw_count, horizon, window_days
from benchmarks.effects_oracle import class_block, fitted_panel, oracle_effects, told_graph

TITLE = "## Two-stage sizes (development seeds)"
SCENARIOS = ("sim2", "sim1")
SEEDS = (100, 101)
OWN = "CausalMMM (default), its own effects"
#: row → the graph (:func:`benchmarks.effects_oracle.told_graph`'s name) imposed on every draw of the fit's own effects
IMPOSED = {"fit's own sizes, its edges above 0.5 imposed": "fitted",
           "fit's own sizes, its edges with the truth's channel → target imposed": "fitted, true c→t",
           "fit's own sizes, its edges with the truth's channel → target and mediator → target imposed":
               "fitted, true c→t and m→t",
           "fit's own sizes, the true graph with its channel → target edges imposed": "true, fitted c→t",
           "fit's own sizes, the true graph imposed (reference)": "true"}
#: rule → how the channel → target pairs are chosen from the fit's probabilities ``p``, the screen's ``s`` and the
#: truth ``a`` (each the class's block, (shop, channel))
CHOICES = {
    "fit above 0.5": lambda p, s, a: p > 0.5,
    "fit above 0.3": lambda p, s, a: p > 0.3,
    "fit above 0.2": lambda p, s, a: p > 0.2,
    "fit above 0.1": lambda p, s, a: p > 0.1,
    "screen above 0.5": lambda p, s, a: s > 0.5,
    "fit or screen above 0.5": lambda p, s, a: (p > 0.5) | (s > 0.5),
    "every pair": lambda p, s, a: np.ones_like(p, bool),
    "the truth's (reference)": lambda p, s, a: a.astype(bool),
}
POOLED = ("fit above 0.5", "fit above 0.2", "fit or screen above 0.5", "the truth's (reference)")
#: row → (how the channel → target pairs are chosen, whether the sizes are pooled over shops)
RULES = {label: (label, False) for label in CHOICES} | {f"{label}, sizes pooled": (label, True) for label in POOLED}
METRICS = {"spearman": "Spearman", "roas_rel_error": "ROAS error", "error_share": "error share",
           "ct_recall": "channel → target kept, true", "ct_false": "channel → target kept, absent"}


def score_panel(scenario: str, seed: int, quick: bool) -> dict:
    """Score one panel's fit (:func:`benchmarks.effects_oracle.fitted_panel`): its own effects and each rule's
    least-squares effects (a worker process)."""
    from causalmmm_ppl.evaluation.effect_metrics import effect_report

    fitted = fitted_panel(scenario, seed, quick, impose=tuple(IMPOSED.values()))
    sim, prob = fitted.sim, fitted.prob
    into, _ = class_block(prob.shape[0], np.asarray(sim.panel.node_kinds), "channel", "target")

    def kept(graph: np.ndarray) -> dict[str, float]:
        return channel_target_edges(graph, sim.panel, sim.adjacency)

    out: dict = {"scenario": scenario, "seed": seed, "shape": fitted.shape, "horizon": horizon(quick),
                 "draws": fitted.draws, OWN: effect_report(fitted.own, fitted.truth, "total")}
    for label, name in IMPOSED.items():
        out[label] = effect_report(fitted.imposed[name], fitted.truth, "total") | kept(told_graph(sim, name, prob))
    for label, (choice, pool) in RULES.items():
        graph = told_graph(sim, "fitted", prob)
        graph[into] = CHOICES[choice](prob[into], fitted.screen[into], sim.adjacency[into])
        report = effect_report(oracle_effects(sim, horizon(quick), graph, "grid", pool=pool), fitted.truth, "total")
        out[label] = report | kept(graph)
    return out


def render(results: list[dict], command: str, seeds: tuple[int, ...]) -> str:
    days, draws = window_days(results), draw_count(results)
    lines = [
        *section_head(TITLE, command),
        "",
        f"Development seeds {', '.join(map(str, seeds))} only. Each panel of \"Causal effects and budget\" is fitted "
        f"on all but its last {days} days; the reference estimator of \"Effects with the true structure "
        "(reference)\" (least squares of the simulator's equations, shop by shop, carryover and saturation from a "
        "grid) is then told the fit's edges above 0.5 with the channel → target pairs chosen by each rule; "
        "\"sizes pooled\": each shop's sizes shrunk towards the other shops' of the same pair (normal-normal, "
        "moments). `total` "
        f"effects over shop × channel, scored as in \"Causal effects and budget\"; the fit's own effects ({draws} "
        "draws) first, then the fit's own effects with a graph imposed on every draw (its edges above 0.5; the same "
        "with the truth's channel → target pairs, and mediator → target pairs; the true graph with the fit's "
        "channel → target pairs; the true graph). Channel → target kept: the share of the true ones, and the "
        "number of absent ones per panel. Mean ± sd over seeds.",
        "",
    ]
    for scenario, rows in by_scenario(results).items():
        lines += table_head(f"### {scenario}: {rows[0]['shape']} (shops × nodes × days)",
                            ["channel → target edges", *METRICS.values()])
        for label in (OWN, *IMPOSED, *RULES):
            cells = [mean_sd([r[label][m] for r in rows]) if m in rows[0][label] else "–" for m in METRICS]
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    return panel_benchmark(argv, module="benchmarks.two_stage_sizes", title=TITLE,
                           description=__doc__.splitlines()[0], scenarios=SCENARIOS, seeds=SEEDS,
                           quick_seeds=(100,), score_panel=score_panel, render=render)


if __name__ == "__main__":
    raise SystemExit(main())
