"""Edge draws in rollouts: relaxed (what SVI trains with) or hard (0/1, the reported probabilities)?

Writes the section "Edge draws (development seeds)" of docs/benchmarks.md. Development seeds (100, 101 by
default): this decides a setting, it is not a reported figure. A posterior draw's graph holds relaxed-Bernoulli
edges z = sigmoid(y): an edge reported at probability 0.1 still passes a few per cent of its message in most draws,
so an effect along it is never exactly 0, while the posterior says it is 0 with probability 0.9.
``CausalMMMOutputs.edge_draws = "hard"`` draws the same edges as 0 or 1 (on where y > 0). Each panel is fitted
once; its effects (scored as in "Causal effects and budget") and its forecast of the window's target (given the
window's actual spend) are computed under each way of drawing the edges, with the same seed.

``python -m benchmarks.edge_draws`` (one CausalMMM fit per panel, one to two minutes on one core);
``--quick`` runs tiny sizes (the test suite runs it so the script cannot rot).
"""

from __future__ import annotations

import numpy as np

from benchmarks._doc import panel_benchmark
from benchmarks._effect_variants import METRICS, SCENARIOS, SEEDS, effect_scores, render_variants

TITLE = "## Edge draws (development seeds)"
VARIANTS = {"relaxed": "relaxed", "hard": "hard"}
#: the section's columns: the effects' and the window's target forecast (90% coverage and WAPE of the mean)
COLUMNS = {**{k: v for k, v in METRICS.items() if k != "auroc"}, "forecast_coverage": "forecast coverage 90%",
           "forecast_wape": "forecast WAPE"}


def forecast_scores(table, target: str) -> dict[str, float]:
    """The target's rows of a forecast table against the observed values: 90% coverage and WAPE of the mean."""
    from causalmmm_ppl.evaluation.forecast_metrics import wape

    t = table[table.node == target]
    y = t.observed.to_numpy()
    return {"forecast_coverage": float(np.mean((t.lower <= y) & (y <= t.upper))),
            "forecast_wape": wape(t["mean"].to_numpy(), y)}


def score_panel(scenario: str, seed: int, quick: bool) -> dict:
    """Simulate one panel, fit it once on all but its last days, and score its effects and window forecast under
    each way of drawing the edges (runs in a worker process)."""
    from causalmmm_ppl import _runtime

    _runtime.configure(1)
    from benchmarks.effects import effects_panel, horizon, num_draws, quick_settings
    from causalmmm_ppl.inference.causalmmm_fit import fit_causalmmm
    from causalmmm_ppl.models.settings import CausalMMMSettings

    sim, truth, history, plan = effects_panel(scenario, seed, quick)
    settings = CausalMMMSettings.of(**quick_settings(quick))
    draws = num_draws(quick)
    fit = fit_causalmmm(history, settings, seed=seed, progress=False)
    out: dict = {"scenario": scenario, "seed": seed,
                 "shape": f"{sim.panel.n_shops}×{sim.panel.n_nodes}×{sim.panel.n_time}",
                 "horizon": horizon(quick), "draws": draws}
    for label, mode in VARIANTS.items():
        read = fit.read_with(edge_draws=mode)
        table = read.effects(history, plan, num_draws=draws, seed=seed)
        forecast = read.forecast(history, plan, num_draws=draws, seed=seed)
        out[label] = {**effect_scores(table, truth), **forecast_scores(forecast, sim.panel.target)}
    return out


def render(results: list[dict], command: str, seeds: tuple[int, ...]) -> str:
    return render_variants(results, command, seeds, title=TITLE, variants=VARIANTS, column="edge draws",
                           what="its rollouts' edges drawn relaxed or hard, with the same seed; the forecast of the "
                                "window's target given its actual spend scored beside the effects", metrics=COLUMNS,
                           fitted="once")


def main(argv: list[str] | None = None) -> int:
    return panel_benchmark(argv, module="benchmarks.edge_draws", title=TITLE, description=__doc__.splitlines()[0],
                           scenarios=SCENARIOS, seeds=SEEDS, quick_seeds=(100,), score_panel=score_panel,
                           render=render)


if __name__ == "__main__":
    raise SystemExit(main())
