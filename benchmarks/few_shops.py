"""Graphs from few shops: does a prior on the decoder's message weights (``edge_weight_prior``) keep false edges off
where a panel has one or a few shops (development seeds)?

Writes the section "Graphs from few shops (development seeds)" of docs/benchmarks.md. Development seeds (100, 101 by
default): this informs a setting, it is not a reported figure. The decoder's message weight W_ij of a pair is shared
by every shop; with one shop it is in effect that shop's own parameter, fitted by maximum likelihood, and an edge
then costs only its prior log odds while its weight fits noise. ``CausalMMMSpec.edge_weight_prior = σ`` puts
``Normal(0, σ²)`` on every weight (counted once per panel, so it fades as shops are added); this section is what
the default σ = 0.3 for panels of fewer than 10 shops was chosen on.

- **Simulated panels** (sim1, and sim3, the scenario built to differ from the model): the scenario's first 1, 2, 4
  and 8 shops (its default days), fitted once per prior scale in :data:`SCALES`; per-shop AUROC of the edge
  probabilities over the candidate pairs, and the mean probability of the true and of the absent candidates.
- **PyMC Labs' benchmark data** (``datasets/mmm_param_recovery/``: 1, 2 and 4 geos of weekly data, controls as
  control columns), whose truth is additive: every channel drives the target, no channel drives another. The SVI
  seed is the development seed.

Every fit sees all but the panel's last ``HOLDOUT`` periods and forecasts the target over them given their actual
spend (and controls; :func:`causalmmm_ppl.evaluation.backtest.blind_plan`), scored as "Real panels" scores it
(:func:`causalmmm_ppl.evaluation.backtest.score_origin`: WAPE of the median, 90% interval coverage), so that a
prior which keeps false edges off is also checked for what it costs a forecast.

``python -m benchmarks.few_shops --jobs 2`` (a few seconds to a minute per fit on one core); ``--quick`` runs tiny
sizes (the test suite runs it so the script cannot rot).
"""

from __future__ import annotations

import numpy as np

from benchmarks._doc import by_scenario, mean_sd, panel_benchmark, section_head, table_head
from causalmmm_ppl.models.spec import FEW_SHOPS, FEW_SHOPS_WEIGHT_PRIOR

TITLE = "## Graphs from few shops (development seeds)"
SEEDS = (100, 101)
SCENARIOS = ("sim1", "sim3", "pymc_labs")
SIZES = "1,2,4,8"  # shop counts of the simulated panels (``--sizes``)
#: label → prior scale σ of the message weights (0: none; 0.3: the default below ``FEW_SHOPS`` shops)
SCALES = {"none": 0.0, "1": 1.0, f"{FEW_SHOPS_WEIGHT_PRIOR:g}": FEW_SHOPS_WEIGHT_PRIOR}
#: label → the settings each panel is fitted with (here: one per prior scale)
VARIANTS = {label: {"edge_weight_prior": scale} for label, scale in SCALES.items()}
QUICK = {"sizes": "1,2", "n_days": 40, "steps": 20}
HOLDOUT = {"sim1": 14, "sim3": 14, "pymc_labs": 13}  # periods held out: two weeks of days, a quarter of weeks
NUM_DRAWS = 200
COLUMNS = {"auroc": "per-shop AUROC", "p_true": "p, true candidates", "p_absent": "p, absent candidates",
           "wape": "holdout WAPE", "crps_scaled": "holdout CRPS (scaled)", "coverage": "90% coverage"}


def graph_scores(prob: np.ndarray, truth: np.ndarray, candidates: np.ndarray) -> dict[str, float]:
    """``prob``, ``truth``: (shop, cause, effect), ``candidates``: (cause, effect) bool → per-shop AUROC over the
    candidates (mean over the shops where it is defined) and the mean probability of the true and absent candidates,
    as "Graph recovery off home ground" scores them (:func:`benchmarks.graph_offhome.score_row`)."""
    from benchmarks.graph_offhome import score_row

    row = score_row(prob, truth, candidates, templates=None)
    return {"auroc": row["auroc_mean"], "p_true": row["p_present"], "p_absent": row["p_absent"]}


def _fits(panel, truth: np.ndarray, seed: int, quick: bool, holdout: int,
          variants: dict[str, dict]) -> dict[str, dict[str, float]]:
    """Fit ``panel`` without its last ``holdout`` periods once per variant (label → settings); score each fit's graph
    against ``truth`` (shop, cause, effect) and its forecast of the target over the held-out periods."""
    from benchmarks._engines import holdout as split_holdout
    from benchmarks.graph_recovery import candidate_mask
    from causalmmm_ppl.evaluation.backtest import score_origin
    from causalmmm_ppl.inference.causalmmm_fit import fit_causalmmm
    from causalmmm_ppl.models.settings import CausalMMMSettings

    history, plan, held = split_holdout(panel, holdout)
    out = {}
    for label, changes in variants.items():
        settings = CausalMMMSettings.of(**changes, **({"steps": QUICK["steps"]} if quick else {}))
        fit = fit_causalmmm(history, settings, seed=seed, progress=False)
        row = graph_scores(fit.edge_probability_array(), truth, candidate_mask(history, settings.model))
        draws = np.asarray(fit.forecast_samples(history, plan, num_draws=NUM_DRAWS, seed=seed), dtype=float)
        (score,) = score_origin(draws, held, history, (holdout,), [panel.n_nodes - 1])
        out[label] = row | {k: score[k] for k in ("wape", "crps_scaled", "coverage")}
    return out


def additive_truth(panel, channels: tuple[str, ...]) -> np.ndarray:
    """The graph of an additive marketing mix on ``panel``'s nodes: every channel → the target, nothing else;
    (shop, cause, effect)."""
    nodes = list(panel.nodes)
    graph = np.zeros((panel.n_shops, len(nodes), len(nodes)))
    for c in channels:
        graph[:, nodes.index(c), -1] = 1.0  # the target is the last node
    return graph


def score_panel(scenario: str, seed: int, quick: bool, sizes: str = SIZES, variants: dict[str, dict] | None = None
                ) -> dict:
    """Every size in ``sizes`` (comma-separated shop counts) of a simulated scenario, or every PyMC Labs data set,
    each fitted once per variant (default :data:`VARIANTS`; runs in a worker process)."""
    variants = VARIANTS if variants is None else variants
    from causalmmm_ppl import _runtime

    _runtime.configure(1)
    rows: dict[str, dict] = {}
    if scenario == "pymc_labs":
        from benchmarks.param_recovery import DATASETS, load

        for name in DATASETS[:1] if quick else DATASETS:
            panel, channels, _, _ = load(name)
            if quick:
                panel = panel.select_time(0, QUICK["n_days"])
            rows[f"{name} ({panel.n_shops})"] = _fits(panel, additive_truth(panel, channels), seed, quick,
                                                      HOLDOUT[scenario], variants)
    else:
        from causalmmm_ppl.data.simulate import simulate

        for n in (int(k) for k in (QUICK["sizes"] if quick else sizes).split(",") if k):
            sim = simulate(scenario, n_shops=n, seed=seed, **({"n_days": QUICK["n_days"]} if quick else {}))
            rows[str(n)] = _fits(sim.panel, sim.adjacency, seed, quick, HOLDOUT[scenario], variants)
    return {"scenario": scenario, "seed": seed, "rows": rows}


def render(results: list[dict], command: str, seeds: tuple[int, ...]) -> str:
    lines = [
        *section_head(TITLE, command),
        "",
        f"Development seeds {', '.join(map(str, seeds))} only (simulation and SVI seed). Each panel is fitted once per "
        "prior scale σ of the decoder's message weights (`edge_weight_prior`; none: maximum likelihood, the default "
        f"from {FEW_SHOPS} shops on; {FEW_SHOPS_WEIGHT_PRIOR:g}: the default below). Simulated panels: a scenario's "
        "first shops, its default days; PyMC Labs' data sets: all geos and weeks, the controls as control columns, truth every channel → the target and nothing else. Each fit sees "
        f"all but the last {HOLDOUT['sim1']} days ({HOLDOUT['pymc_labs']} weeks for PyMC Labs' data sets). Per-shop "
        "AUROC over the candidate pairs, and the mean edge probability of the true and of the absent candidates; the "
        "fit's forecast of the target over the held-out periods given their spend (and controls), scored as in \"Real "
        "panels\": WAPE of the median and the share of values inside the 90% interval (200 draws). Mean ± sd over "
        "seeds.",
        "",
    ]
    return "\n".join(lines + variant_tables(results, "σ", tuple(SCALES)))


def variant_tables(results: list[dict], variant_column: str, labels: tuple[str, ...]) -> list[str]:
    """One table per scenario: a row per panel and variant (``labels``), the :data:`COLUMNS` as mean ± sd over
    seeds."""
    lines = []
    for scenario, runs in by_scenario(results).items():
        first = "data set (geos)" if scenario == "pymc_labs" else "shops"
        lines += table_head(f"### {scenario}", [first, variant_column, *COLUMNS.values()])
        for key in runs[0]["rows"]:
            for label in labels:
                cells = [mean_sd([r["rows"][key][label][c] for r in runs]) for c in COLUMNS]
                lines.append(f"| {key} | {label} | " + " | ".join(cells) + " |")
        lines.append("")
    return lines


def main(argv: list[str] | None = None) -> int:
    return panel_benchmark(argv, module="benchmarks.few_shops", title=TITLE, description=__doc__.splitlines()[0],
                           scenarios=SCENARIOS, seeds=SEEDS, quick_seeds=SEEDS[:1], score_panel=score_panel,
                           render=render, options={"sizes": (SIZES, "shops of the simulated panels, comma-separated")})


if __name__ == "__main__":
    raise SystemExit(main())
