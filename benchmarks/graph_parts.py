"""Which part of the graph do CausalMMM's effects lose their ranking on? Development seeds only.

Prints (writes nothing to docs/benchmarks.md). For each panel (sizes and window as in "Causal effects and budget"),
one default fit on all but the last 14 days (the fit of "Effects with the true structure (reference)",
:func:`benchmarks.effects_oracle.fitted_panel`), then its ``total`` effects (100 draws) scored as that section scores
them (Spearman over shop × channel, portfolio-ROAS error, 90% coverage, error share), read with graphs imposed on
every draw (``graph=``):

- the fit's own edge draws (the default reading);
- the fit's posterior mode (its edges above 0.5), then the mode with one class of pairs replaced by the
  simulator's (channel → target, mediator → target, channel → channel, channel → mediator), then with both classes
  into the target replaced (:func:`benchmarks.effects_oracle.told_graph`);
- the simulator's graph with the channel → target pairs of the mode (everything true but that class);
- the simulator's graph.

A class whose truth lifts the mode's figures is where the fit's graph costs the effects; the simulator's graph
bounds what the fit's sizes give with every edge right. Below the table, per class: the true edges, the mean edge
probability on true and on absent pairs (a node is not its own pair), the true edges below 0.5 and the absent pairs
above it.

``python -m benchmarks.graph_parts --jobs 2`` (sim2, sim1 and sim3, development seeds 100 and 101: about 25 minutes
on 2 cores); ``--quick`` runs tiny settings (the test suite runs it).
"""

from __future__ import annotations

import numpy as np

from benchmarks._doc import print_only_panels, print_only_parser

SEEDS = (100, 101)
#: the edge classes of the class table and of the swaps: label → :data:`benchmarks.effects_oracle.SHORT_CLASSES`' key
CLASSES = {"channel → target": "c→t", "mediator → target": "m→t", "channel → channel": "c→c",
           "channel → mediator": "c→m"}
#: the graphs imposed: row label → :func:`benchmarks.effects_oracle.told_graph`'s name
GRAPHS = {"mode (edges above 0.5)": "fitted",
          **{f"mode, true {label}": f"fitted, true {short}" for label, short in CLASSES.items()},
          "mode, true pairs into the target": "fitted, true c→t and m→t",
          "true but channel → target (mode's)": "true, fitted c→t",
          "true": "true"}


def class_edges(prob: np.ndarray, adjacency: np.ndarray, kinds: np.ndarray, short: str) -> dict:
    """One edge class's pairs (``short``: a key of :data:`benchmarks.effects_oracle.SHORT_CLASSES`) in edge
    probabilities ``prob`` against the simulator's ``adjacency`` (each (shop, cause, effect)): the true edges, the
    mean probability on true and on absent pairs, the true edges below 0.5 and the absent pairs above it."""
    from benchmarks.effects_oracle import SHORT_CLASSES, class_block

    block, pairs = class_block(prob.shape[0], kinds, *SHORT_CLASSES[short])
    t, p = adjacency[block][:, pairs].ravel() > 0, prob[block][:, pairs].ravel()
    return {"true": int(t.sum()), "p_true": float(p[t].mean()) if t.any() else float("nan"),
            "p_absent": float(p[~t].mean()) if (~t).any() else float("nan"),
            "missed": int((t & (p < 0.5)).sum()), "false": int((~t & (p > 0.5)).sum())}


def score_panel(scenario: str, seed: int, quick: bool) -> dict:
    """One default fit of ``scenario``'s panel (:func:`benchmarks.effects_oracle.fitted_panel`) and its effects
    under each graph of :data:`GRAPHS`, with the class table (runs in a worker process)."""
    from benchmarks.effects_oracle import fitted_panel
    from causalmmm_ppl.evaluation.effect_metrics import effect_report

    fitted = fitted_panel(scenario, seed, quick, impose=tuple(GRAPHS.values()))
    truth, prob, kinds = fitted.truth, fitted.prob, np.asarray(fitted.sim.panel.node_kinds)
    rows = {"own edge draws": effect_report(fitted.own, truth, "total")}
    rows |= {label: effect_report(fitted.imposed[name], truth, "total") for label, name in GRAPHS.items()}
    edges = {label: class_edges(prob, fitted.sim.adjacency, kinds, short) for label, short in CLASSES.items()}
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
