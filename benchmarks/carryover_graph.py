"""Carryover family and the graph's safety checks: does a carryover family keep pure sources free of parents and a
shop's own edge through pooling (development seeds)?

Prints a section (it is cited from "Carryover family and effects (development seeds)" of docs/benchmarks.md; run it
with ``--no-write``). Two panels, each fitted once per carryover family of
:data:`benchmarks.carryover_effects.FAMILIES` (Hill saturation) from SVI seed S + ``--svi-offset`` (default 0), S
the seed:

- ``sources``: ``simulate("sources", seed=S)`` (240 shops × 100 days; five channels that are pure sources). Per-shop
  AUROC of the edge probabilities over the candidate pairs, the mean probability of edges into the sources, and the
  encoder's edge information (nats per candidate pair; a run below ``collapse_information`` is retrained).
- ``deviating`` (one panel; the seed only seeds SVI): the panel of
  ``test_pooling_keeps_the_extra_edge_of_a_few_shops`` (:func:`deviating_edge_panel`: 20 sim1 shops on one graph, 3
  of them with an extra c2 → pv edge; 1,000 steps). The encoder's and the pooled
  probability of the extra edge in the 3 shops (sorted), and its mean pooled probability in the other 17.

``python -m benchmarks.carryover_graph --scenarios sources --seeds 104,105,106 --no-write`` (about two minutes per
fit on one core); ``--families geometric,delayed`` fits those families only (short names: :data:`SHORT`);
``--variant KEY=VALUE[,KEY=VALUE]`` changes those settings in every fit (e.g. ``mediator_prior=0.5``; the section
names it); ``--quick`` runs tiny sizes (the test suite runs it so the script cannot rot).
"""

from __future__ import annotations

import numpy as np

from benchmarks._doc import (
    by_scenario,
    chosen_labels,
    mean_sd,
    panel_benchmark,
    parse_variant,
    section_head,
    table_head,
)
from benchmarks.carryover_effects import FAMILIES

TITLE = "## Carryover family and the graph (development seeds)"
SCENARIOS = ("sources", "deviating")
SEEDS = (104, 105, 106)
QUICK = dict(n_shops=12, n_days=40, steps=10)
DEVIATING_STEPS = 1000
#: ``--families``: short name (the ``adstock`` setting) → the label of :data:`benchmarks.carryover_effects.FAMILIES`
SHORT = {overrides["adstock"]: label for label, overrides in FAMILIES.items()}


def deviating_edge_panel(n_shops: int = 20, n_days: int = 100, seed: int = 7):
    """sim1 shops on one graph (the first template without c2 → pv) where the 3 shops with the strongest c2 → pv
    weight also have that edge: ``(simulation, extra shops, cause index, effect index)``."""
    from causalmmm_ppl.data.simulate import simulate

    base = simulate("sim1", n_shops=n_shops, n_days=n_days, seed=seed)
    nodes = list(base.panel.nodes)
    c, e = nodes.index("c2"), nodes.index("pv")
    template = base.adjacency[base.params["template"] == 0][0].copy()
    template[c, e] = 0
    graph = np.repeat(template[None], n_shops, axis=0)
    extra = np.argsort(-base.params["weight_full"][:, c, e])[:3]
    graph[extra, c, e] = 1
    return simulate("sim1", n_shops=n_shops, n_days=n_days, seed=seed, graph=graph), extra, c, e


def score_panel(scenario: str, seed: int, quick: bool, svi_offset: int = 0, families: str = ",".join(SHORT),
                variant: str = "") -> dict:
    """Fit one panel once per chosen carryover family (``--families``), with the settings ``variant`` changes
    (:func:`~benchmarks._doc.parse_variant`), and score its graph (runs in a worker process)."""
    from causalmmm_ppl import _runtime

    _runtime.configure(1)
    from benchmarks.graph_recovery import candidate_mask
    from causalmmm_ppl.data.simulate import simulate
    from causalmmm_ppl.evaluation.graph_metrics import per_shop_auroc
    from causalmmm_ppl.inference.causalmmm_fit import fit_causalmmm
    from causalmmm_ppl.inference.causalmmm_pooling import edge_information
    from causalmmm_ppl.models.settings import CausalMMMSettings

    sizes = {k: QUICK[k] for k in ("n_shops", "n_days")} if quick else {}
    steps = QUICK["steps"] if quick else (DEVIATING_STEPS if scenario == "deviating" else None)
    if scenario == "deviating":
        sim, extra, c, e = deviating_edge_panel(**({"n_days": QUICK["n_days"]} if quick else {}))
    else:
        sim = simulate(scenario, seed=seed, **sizes)
    out: dict = {"scenario": scenario, "seed": seed, "svi_seed": seed + svi_offset, "variant": variant,
                 "shape": f"{sim.panel.n_shops}×{sim.panel.n_nodes}×{sim.panel.n_time}"}
    for label in chosen_labels(families, SHORT):
        settings = CausalMMMSettings.of(**{**FAMILIES[label], **({"steps": steps} if steps else {}),
                                           **parse_variant(variant)})  # a variant may set the steps too
        fit = fit_causalmmm(sim.panel, settings, seed=seed + svi_offset, progress=False)
        pooled = fit.edge_probability_array()
        if scenario == "deviating":
            encoder = fit.edge_probability_array(pooled=False)
            others = np.setdiff1d(np.arange(sim.panel.n_shops), extra)
            loss = {run["seed"]: run["loss"] for run in fit.svi_runs}
            runs = [{"seed": s, "loss": loss[s],
                     "encoder": np.sort(fit.edge_probability_array(pooled=False, run=r)[extra, c, e]).tolist(),
                     "pooled": np.sort(fit.edge_probability_array(run=r)[extra, c, e]).tolist()}
                    for r, s in enumerate(fit.run_seeds)]
            out[label] = {"encoder": np.sort(encoder[extra, c, e]).tolist(),
                          "pooled": np.sort(pooled[extra, c, e]).tolist(), "others": float(pooled[others, c, e].mean()),
                          "runs": runs}
        else:
            sources = np.asarray(sim.panel.node_kinds) == "channel"  # every channel of the scenario is a pure source
            cand = candidate_mask(sim.panel, settings.model)
            into = np.broadcast_to(cand & sources[None, :], pooled.shape)
            out[label] = {"auroc": float(np.nanmean(per_shop_auroc(pooled, sim.adjacency, cand))),
                          "into_sources": float(pooled[into].mean()),
                          "information": edge_information(fit.model, fit.guide, fit.training_data(), fit.spec)}
    return out


def render(results: list[dict], command: str, seeds: tuple[int, ...]) -> str:
    lines = section_head(TITLE, command) + [
        "",
        f"Development seeds {', '.join(map(str, seeds))} only. Each panel fitted once per carryover family "
        f"(Hill saturation) from SVI seed S + {results[0]['svi_seed'] - results[0]['seed'] if results else 0}, S the "
        "panel's seed (deviating: one panel, S seeds SVI only). sources: per-shop AUROC over the candidate pairs, the mean "
        "probability of edges into the five pure sources, the encoder's edge information (nats per candidate pair). "
        "deviating: the extra c2 → pv edge of 3 shops among 20 on one graph (the pooling test's panel), its "
        "encoder and pooled probabilities in those shops (sorted) and its mean pooled probability in the others."
        + (f" Every fit with `{results[0]['variant'].replace(',', ', ')}`." if results and results[0]["variant"]
           else ""),
        "",
    ]
    for scenario, rows in by_scenario(results).items():
        if scenario == "deviating":
            lines += table_head(f"### deviating: {rows[0]['shape']} (shops × nodes × days)",
                                ["carryover", "SVI seed", "encoder (3 shops)", "pooled (3 shops)", "pooled, others"])
            for label in _fitted(rows):
                for r in rows:
                    x = r[label]
                    lines.append(f"| {label} | {r['svi_seed']} | {_probabilities(x['encoder'])} | "
                                 f"{_probabilities(x['pooled'])} | {x['others']:.3f} |")
            lines += ["", "Run by run: each SVI run the fit keeps (the best first), its full-panel loss (– for a fit "
                      "of one run), and the extra edge's encoder and pooled probabilities in the 3 shops by that run "
                      "alone; the fit reports their mean.", "", "| carryover | SVI seed | run's SVI seed | loss | encoder (3 shops) | pooled (3 shops) |",
                      "|---|---|---|---|---|---|"]
            for label in _fitted(rows):
                for r in rows:
                    lines += [f"| {label} | {r['svi_seed']} | {run['seed']} | {_loss(run['loss'])} | "
                              f"{_probabilities(run['encoder'])} | {_probabilities(run['pooled'])} |"
                              for run in r[label]["runs"]]
        else:
            lines += table_head(f"### {scenario}: {rows[0]['shape']} (shops × nodes × days)",
                                ["carryover", "per-shop AUROC by seed", "per-shop AUROC",
                                 "p into sources", "edge information"])
            for label in _fitted(rows):
                by_seed = " / ".join(f"{r[label]['auroc']:.3f}" for r in rows)
                lines.append(f"| {label} | {by_seed} | {mean_sd([r[label]['auroc'] for r in rows])} | "
                             f"{mean_sd([r[label]['into_sources'] for r in rows])} | "
                             f"{mean_sd([r[label]['information'] for r in rows])} |")
        lines.append("")
    return "\n".join(lines)


def _loss(loss: float | None) -> str:
    """A run's full-panel loss; ``–`` where the fit has one run (it does not evaluate it)."""
    return "–" if loss is None else f"{loss:.3f}"


def _probabilities(values: list[float]) -> str:
    return " / ".join(f"{v:.2f}" for v in values)


def _fitted(rows: list[dict]) -> list[str]:
    """The carryover families the rows were fitted with, in :data:`SHORT`'s order."""
    return [label for label in SHORT.values() if label in rows[0]]


def main(argv: list[str] | None = None) -> int:
    return panel_benchmark(argv, module="benchmarks.carryover_graph", title=TITLE,
                           description=__doc__.splitlines()[0], scenarios=SCENARIOS, seeds=SEEDS,
                           quick_seeds=(SEEDS[0],), score_panel=score_panel, render=render,
                           options={"svi_offset": (0, "SVI seed = the panel's seed + this"),
                                    "families": (",".join(SHORT), f"carryover families fitted, among {', '.join(SHORT)}"),
                                    "variant": ("", "KEY=VALUE[,KEY=VALUE]: settings changed in every fit (empty: "
                                                    "none)")})


if __name__ == "__main__":
    raise SystemExit(main())
