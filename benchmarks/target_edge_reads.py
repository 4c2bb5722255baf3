"""What do the channel → target pairs' probabilities trade between ranking and ROAS? Development seeds only.

Prints (writes nothing to docs/benchmarks.md). For each panel (sizes and window as in "Causal effects and budget"),
one default fit on all but the last 14 days, whose edge probabilities are read in several ways without a refit:
the default (the population layer with miss rate μ = 0.3), the layer with μ = 0.03, the encoder's own (no layer),
and each of the last two for the channel → target pairs only, the default elsewhere. Each reading draws 100 graphs
(every edge on with its probability, independently) and imposes one on each draw of the fit's ``total`` effects
(``graph=``), scored as "Causal effects and budget" scores them; beside it, the channel → target pairs' mean
probability on true and on absent pairs, the true pairs below 0.5 and the absent pairs above it. The default reading
drawn this way is the reference of the others (the fit's own draws differ from it only by their random stream).

``python -m benchmarks.target_edge_reads --jobs 2`` (sim2, development seeds 100 and 101: about 10 minutes on 2
cores); ``--set key=value`` changes a setting of the fits (e.g. ``mediator_prior=0.5``); ``--quick`` runs tiny
settings (the test suite runs it). Below the table, each fit's mean probability of the true mediator → target
pairs (the mediated path).
"""

from __future__ import annotations

import numpy as np

from functools import partial

from benchmarks._doc import parse_spec, print_only_panels, print_only_parser
from benchmarks.graph_parts import class_edges

SEEDS = (100, 101)
LOW_MISS_RATE = 0.03


def with_target_pairs(prob: np.ndarray, other: np.ndarray, kinds: np.ndarray) -> np.ndarray:
    """``prob`` (shop, cause, effect) with its channel → target pairs taken from ``other``."""
    from benchmarks.effects_oracle import class_block

    out = prob.copy()
    into, _ = class_block(prob.shape[0], kinds, "channel", "target")
    out[into] = other[into]
    return out


def drawn_graphs(prob: np.ndarray, draws: int, rng: np.random.Generator) -> np.ndarray:
    """``draws`` graphs, each edge of ``prob`` (shop, cause, effect) on with its probability: (draw, shop, cause,
    effect) float32 0/1."""
    return (rng.random((draws,) + prob.shape) < prob[None]).astype(np.float32)


def score_panel(scenario: str, seed: int, quick: bool, overrides: dict | None = None) -> dict:
    """One fit of ``scenario``'s panel (default settings, changed by ``overrides``) and its effects under each
    reading of the module docstring (runs in a worker process)."""
    from causalmmm_ppl import _runtime

    _runtime.configure(1)
    from benchmarks.effects import effects_panel, num_draws, quick_settings
    from causalmmm_ppl.evaluation.effect_metrics import effect_report
    from causalmmm_ppl.inference.causalmmm_fit import fit_causalmmm
    from causalmmm_ppl.models.settings import CausalMMMSettings

    sim, truth, history, plan = effects_panel(scenario, seed, quick)
    settings = CausalMMMSettings.of(**{**quick_settings(quick), **(overrides or {})})
    fit = fit_causalmmm(history, settings, seed=seed, progress=False)
    kinds = np.asarray(sim.panel.node_kinds)
    default = fit.edge_probability_array(history)
    low = fit.read_with(edge_miss_rate=LOW_MISS_RATE).edge_probability_array(history)
    encoder = fit.edge_probability_array(history, pooled=False)
    readings = {
        "default (μ = 0.3)": default,
        f"μ = {LOW_MISS_RATE}": low,
        f"channel → target at μ = {LOW_MISS_RATE}": with_target_pairs(default, low, kinds),
        "encoder's own": encoder,
        "channel → target the encoder's own": with_target_pairs(default, encoder, kinds),
    }
    draws = num_draws(quick)
    rng = np.random.default_rng(seed)
    rows = {}
    for label, prob in readings.items():
        table = fit.effects(history, plan, num_draws=draws, seed=seed, kinds=("total",),
                            graph=drawn_graphs(prob, draws, rng))
        rows[label] = effect_report(table, truth, "total") | class_edges(prob, sim.adjacency, kinds, "c→t")
    mediated = class_edges(default, sim.adjacency, kinds, "m→t")
    return {"scenario": scenario, "seed": seed, "rows": rows,
            "p_mediated": mediated["p_true"] if mediated["true"] else None}


def report(results: list[dict]) -> list[str]:
    """The printed lines of :func:`score_panel`'s ``results``."""
    lines = ["| panel | seed | reading | Spearman | ROAS error | coverage 90% | channel → target probability, true / "
             "absent | true below 0.5 | absent above 0.5 |", "|---|---|---|---|---|---|---|---|---|"]
    lines += [f"| {r['scenario']} | {r['seed']} | {label} | {row['spearman']:.3f} | {row['roas_rel_error']:.3f} | "
              f"{row['coverage']:.3f} | {row['p_true']:.2f} / {row['p_absent']:.3f} | {row['missed']} | "
              f"{row['false']} |" for r in results for label, row in r["rows"].items()]
    lines += [f"{r['scenario']} seed {r['seed']}: true mediator → target pairs at a mean probability of "
              f"{r['p_mediated']:.2f}" for r in results if r["p_mediated"] is not None]
    return lines


def main(argv: list[str] | None = None) -> int:
    p = print_only_parser(__doc__.splitlines()[0], "scenarios", ("sim2",), SEEDS)
    p.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="settings changed for the fits")
    args = p.parse_args(argv)
    overrides = parse_spec(args.set)
    results, seeds = print_only_panels(args, "scenarios", partial(score_panel, overrides=overrides))
    print("\n".join(report(results)))
    print(f"Fits with {overrides or 'the default settings'}; development seeds {', '.join(map(str, seeds))}.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
