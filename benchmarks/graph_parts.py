"""Which part of the graph do CausalMMM's effects lose their ranking on? Development seeds only.

Prints (writes nothing to docs/benchmarks.md). For each panel (sizes and window as in "Causal effects and budget"),
one default fit on all but the last 14 days, then its ``total`` effects (100 draws) scored as that section scores
them (Spearman over shop × channel, portfolio-ROAS error, 90% coverage, error share), read with graphs imposed on
every draw (``graph=``):

- the fit's own edge draws (the default reading);
- the fit's posterior mode (its edges above 0.5), then the mode with one class of pairs replaced by the
  simulator's (channel → target, mediator → target, channel → channel, channel → mediator), then with both classes
  into the target replaced;
- the simulator's graph with the channel → target pairs of the mode (everything true but that class);
- the simulator's graph.

A class whose truth lifts the mode's figures is where the fit's graph costs the effects; the simulator's graph
bounds what the fit's sizes give with every edge right. Below the table, per class: the true edges, the mean edge
probability on true and on absent pairs, the true edges below 0.5 and the absent pairs above it.

``python -m benchmarks.graph_parts --jobs 2`` (sim2, sim1 and sim3, development seeds 100 and 101: about 25 minutes
on 2 cores); ``--quick`` runs tiny settings (the test suite runs it).
"""

from __future__ import annotations

import numpy as np

from benchmarks._doc import print_only_panels, print_only_parser

SEEDS = (100, 101)
CLASSES = {"channel → target": ("channel", "target"), "mediator → target": ("mediator", "target"),
           "channel → channel": ("channel", "channel"), "channel → mediator": ("channel", "mediator")}
INTO_TARGET = ("channel → target", "mediator → target")


def with_truth(graph: np.ndarray, truth: np.ndarray, kinds: np.ndarray, classes) -> np.ndarray:
    """``graph`` (shop, cause, effect) with the pairs of ``classes`` (names of :data:`CLASSES`) taken from
    ``truth``."""
    out = graph.copy()
    for name in classes:
        cause, effect = CLASSES[name]
        block = np.ix_(np.arange(out.shape[0]), np.flatnonzero(kinds == cause), np.flatnonzero(kinds == effect))
        out[block] = truth[block]
    return out


def score_panel(scenario: str, seed: int, quick: bool) -> dict:
    """One default fit of ``scenario``'s panel and its effects under each graph of the module docstring (runs in a
    worker process)."""
    from causalmmm_ppl import _runtime

    _runtime.configure(1)
    from benchmarks.effects import DRAWS, QUICK, effects_panel, quick_settings
    from causalmmm_ppl.evaluation.effect_metrics import effect_report
    from causalmmm_ppl.inference.causalmmm_fit import fit_causalmmm
    from causalmmm_ppl.models.settings import CausalMMMSettings

    sim, truth, history, plan = effects_panel(scenario, seed, quick)
    fit = fit_causalmmm(history, CausalMMMSettings.of(**quick_settings(quick)), seed=seed, progress=False)
    kinds = np.asarray(sim.panel.node_kinds)
    true, prob = sim.adjacency.astype(float), fit.edge_probability_array(history)
    mode = (prob > 0.5).astype(float)
    graphs = {"own edge draws": None, "mode (edges above 0.5)": mode}
    graphs |= {f"mode, true {name}": with_truth(mode, true, kinds, [name]) for name in CLASSES}
    graphs["mode, true pairs into the target"] = with_truth(mode, true, kinds, INTO_TARGET)
    graphs["true but channel → target (mode's)"] = with_truth(true, mode, kinds, ["channel → target"])
    graphs["true"] = true
    draws = QUICK["draws"] if quick else DRAWS
    rows = {label: effect_report(fit.effects(history, plan, num_draws=draws, seed=seed, kinds=("total",),
                                             graph=graph), truth, "total") for label, graph in graphs.items()}
    edges = {}
    for name, (cause, effect) in CLASSES.items():
        block = np.ix_(np.arange(true.shape[0]), np.flatnonzero(kinds == cause), np.flatnonzero(kinds == effect))
        t, p = true[block].ravel() > 0, prob[block].ravel()
        if t.size:
            edges[name] = {"true": int(t.sum()), "p_true": float(p[t].mean()) if t.any() else float("nan"),
                           "p_absent": float(p[~t].mean()) if (~t).any() else float("nan"),
                           "missed": int((t & (p < 0.5)).sum()), "false": int((~t & (p > 0.5)).sum())}
    return {"scenario": scenario, "seed": seed, "rows": rows, "edges": edges}


def report(results: list[dict]) -> list[str]:
    """The printed lines of :func:`score_panel`'s ``results``."""
    lines = ["| panel | seed | graph | Spearman | ROAS error | coverage 90% | error share |", "|---|---|---|---|---|---|---|"]
    lines += [f"| {r['scenario']} | {r['seed']} | {label} | {row['spearman']:.3f} | {row['roas_rel_error']:.3f} | "
              f"{row['coverage']:.3f} | {row['error_share']:.3f} |" for r in results for label, row in r["rows"].items()]
    lines += ["", "| panel | seed | class | true edges | mean probability, true / absent | true below 0.5 | "
              "absent above 0.5 |", "|---|---|---|---|---|---|---|"]
    lines += [f"| {r['scenario']} | {r['seed']} | {name} | {e['true']} | {e['p_true']:.2f} / {e['p_absent']:.3f} | "
              f"{e['missed']} | {e['false']} |" for r in results for name, e in r["edges"].items()]
    return lines


def main(argv: list[str] | None = None) -> int:
    args = print_only_parser(__doc__.splitlines()[0], "scenarios", ("sim2", "sim1", "sim3"), SEEDS).parse_args(argv)
    results, seeds = print_only_panels(args, "scenarios", score_panel)
    print("\n".join(report(results)))
    print(f"Default settings; development seeds {', '.join(map(str, seeds))}.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
