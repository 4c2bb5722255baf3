"""Response families: CausalMMM fitted with each registered carryover and saturation family on the same panels.

Writes the section "Response families" of docs/benchmarks.md. For every scenario and reported seed, one panel at the
size of "Graph recovery off home ground" (the scenario's default; sim2 20 shops × 338 days) is fitted three times
from the same SVI seed: with geometric carryover and Hill saturation, with delayed carryover (a
latent peak, ``adstock="delayed"``) and with Michaelis–Menten saturation (``saturation="michaelis_menten"``);
``--families`` chooses others among :data:`SHORT` (``buildup``: build-up carryover, not in the section). Every row
names its family; the model's default (mixed carryover) is in "Carryover family and effects".
sim3 is built with forms the model does not have (Weibull carryover with a delayed peak, Michaelis–Menten and tanh
saturation); sim1 with the model's own (geometric and delayed carryover, Hill).

Per fit: the graph metrics of "Graph recovery off home ground" over the model's candidate pairs
(:mod:`causalmmm_ppl.evaluation.graph_metrics`), and the fit's loss on the whole training panel (negative ELBO per
scored value, :func:`causalmmm_ppl.inference.svi.evaluation_loss`; lower is better), the criterion a Bayesian
modeller would choose a family by. Mean ± sd over the seeds of each panel's figure.

``python -m benchmarks.response_families`` (full; three CausalMMM fits per panel, two panels at a time);
``--quick`` runs tiny sizes (the test suite runs it so the script cannot rot).
"""

from __future__ import annotations

import time

import numpy as np

from benchmarks._doc import by_scenario, chosen_labels, mean_sd, panel_benchmark, section_head
from benchmarks.graph_offhome import SIZES, score_row
from benchmarks.graph_recovery import candidate_mask

TITLE = "## Response families"
SCENARIOS = ("sim3", "sim1")
SEEDS = (0, 1, 2)
QUICK = dict(n_shops=10, n_days=40, steps=10)
#: the variants that can be fitted: label → the settings each changes
FAMILIES = {"geometric + Hill": {"adstock": "geometric"}, "delayed + Hill": {"adstock": "delayed"},
            "geometric + Michaelis–Menten": {"adstock": "geometric", "saturation": "michaelis_menten"},
            "buildup + Hill": {"adstock": "buildup"}}
#: ``--families``: short name → label; by default the first three (the section's)
SHORT = dict(zip(("geometric", "delayed", "mm", "buildup"), FAMILIES))
DEFAULT_FAMILIES = "geometric,delayed,mm"
#: the columns of the table that are a mean ± sd over seeds (the fit's seconds and the lowest-loss count follow)
METRICS = ("auroc_mean", "across_shop_auroc_mean", "deviation_auroc_mean", "false_on", "log_loss", "loss")


def score_panel(scenario: str, seed: int, quick: bool, families: str = DEFAULT_FAMILIES) -> dict:
    """Simulate one panel and fit every chosen family (``--families``) from the same SVI seed (runs in a worker
    process)."""
    from causalmmm_ppl import _runtime

    _runtime.configure(1)

    from causalmmm_ppl.data.simulate import simulate
    from causalmmm_ppl.inference.causalmmm_fit import fit_causalmmm
    from causalmmm_ppl.inference.svi import evaluation_loss
    from causalmmm_ppl.models.settings import CausalMMMSettings
    from causalmmm_ppl.models.spec import CausalMMMSpec

    sizes = {k: QUICK[k] for k in ("n_shops", "n_days")} if quick else SIZES.get(scenario, {})
    sim = simulate(scenario, seed=seed, **sizes)
    panel, truth = sim.panel, sim.adjacency
    templates = np.asarray(sim.params["template"])
    out: dict = {"scenario": scenario, "seed": seed, "shape": f"{panel.n_shops}×{panel.n_nodes}×{panel.n_time}"}
    cand = candidate_mask(panel, CausalMMMSpec())  # the families share the graph prior, hence the candidates
    for label in chosen_labels(families, SHORT):
        extra = FAMILIES[label]
        settings = CausalMMMSettings.of(**extra, **({"steps": QUICK["steps"]} if quick else {}))
        t0 = time.perf_counter()
        fit = fit_causalmmm(panel, settings, seed=seed, progress=False)
        seconds = time.perf_counter() - t0
        with fit.guide.reporting_through(None):  # the guide SVI trained, not the pooled edges reported after it
            loss = evaluation_loss(fit.model, fit.guide, fit.training_data(), fit.spec, seed)
        out[label] = score_row(fit.edge_probability_array(), truth, cand, templates) | {"loss": loss,
                                                                                        "seconds": seconds}
    return out


def render(results: list[dict], command: str, seeds: tuple[int, ...]) -> str:
    lines = [
        *section_head(TITLE, command),
        "",
        "Each panel fitted with each family from the same SVI seed; mean ± sd over seeds "
        f"{', '.join(map(str, seeds))} of each panel's figure. Graph metrics over the model's candidate pairs as "
        "in \"Graph recovery off home ground\" (per shop, across shops, within templates; `false on`: share of "
        "absent candidate edges above 0.5; log loss of the edge probabilities). Loss: the fit's negative ELBO per scored value on the whole training "
        "panel (lower is better; comparable between families on one panel). Fit: seconds on one core.",
        "",
    ]
    for scenario, rows in by_scenario(results).items():
        lines += [
            f"### {scenario}: {rows[0]['shape']} (shops × nodes × days)",
            "",
            "| family | per-shop AUROC | across-shop AUROC | deviation AUROC | false on | log loss | loss | fit (s) "
            "| lowest loss |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        fitted = [f for f in FAMILIES if f in rows[0]]
        best = [min(fitted, key=lambda f: r[f]["loss"]) for r in rows]
        for label in fitted:
            cells = [mean_sd([r[label][k] for r in rows]) for k in METRICS]
            cells.append(f"{np.mean([r[label]['seconds'] for r in rows]):.0f}")
            cells.append(f"{best.count(label)} of {len(rows)}")
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    return panel_benchmark(argv, module="benchmarks.response_families", title=TITLE,
                           description=__doc__.splitlines()[0], scenarios=SCENARIOS, seeds=SEEDS, quick_seeds=(0,),
                           score_panel=score_panel, render=render,
                           options={"families": (DEFAULT_FAMILIES, f"families fitted, among {', '.join(SHORT)}")})


if __name__ == "__main__":
    raise SystemExit(main())
