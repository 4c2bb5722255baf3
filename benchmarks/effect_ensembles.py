"""Effect ensembles: are CausalMMM's effect errors posterior uncertainty that more SVI runs would show, or a bias
that every run shares?

Writes the section "Effect ensembles (development seeds)" of docs/benchmarks.md. Development seeds (100, 101 by
default): a diagnosis of "Causal effects and budget"'s coverage, not a reported figure. Each panel is fitted three
times with the default settings from SVI seeds S, S + 1 and S + 2, and each fit's effect draws (100 each) are scored
alone and pooled (a mixture of the runs' posteriors, 200 and 300 draws), as in "Causal effects and budget". If the
runs' intervals missed the truth because each run's posterior is too narrow around an unbiased estimate, pooling
runs that disagree would widen the intervals toward the nominal coverage; if the runs agree with each other more
than with the truth, the misses are a bias of the model, shared by every run.

``python -m benchmarks.effect_ensembles`` (three CausalMMM fits per panel, one to two minutes each on one core);
``--quick`` runs tiny sizes (the test suite runs it so the script cannot rot).
"""

from __future__ import annotations

import numpy as np

from benchmarks._doc import by_scenario, mean_sd, panel_benchmark, section_head, table_head
from benchmarks._effect_variants import METRICS as VARIANT_METRICS
from benchmarks._effect_variants import SCENARIOS, SEEDS, effect_scores
from benchmarks.effects import draw_count, effects_panel, horizon, num_draws, quick_settings, window_days

TITLE = "## Effect ensembles (development seeds)"
RUNS = 3
METRICS = {k: v for k, v in VARIANT_METRICS.items() if k != "auroc"}


def score_panel(scenario: str, seed: int, quick: bool) -> dict:
    """Simulate one panel, fit it ``RUNS`` times from consecutive SVI seeds, and score each run's effects and the
    pools of the first 2 and 3 runs' draws (runs in a worker process)."""
    from causalmmm_ppl import _runtime

    _runtime.configure(1)
    from causalmmm_ppl.inference.causalmmm_fit import fit_causalmmm
    from causalmmm_ppl.inference.effects import EffectDraws
    from causalmmm_ppl.models.settings import CausalMMMSettings

    sim, truth, history, plan = effects_panel(scenario, seed, quick)
    settings = CausalMMMSettings.of(**quick_settings(quick))
    per_run = num_draws(quick)
    draws = []
    for run in range(RUNS):
        fit = fit_causalmmm(history, settings, seed=seed + run, progress=False)
        draws.append(fit.effect_draws(history, plan, num_draws=per_run, seed=seed + run))

    def pooled(n: int) -> EffectDraws:
        first = draws[0]
        return EffectDraws({k: np.concatenate([d.effect[k] for d in draws[:n]]) for k in first.effect},
                           np.concatenate([d.marginal for d in draws[:n]]), first.spend, first.shops, first.channels)

    tables = [d.table(0.9) for d in draws]
    runs = [effect_scores(table, truth) for table in tables]
    out = {"scenario": scenario, "seed": seed,
           "shape": f"{sim.panel.n_shops}×{sim.panel.n_nodes}×{sim.panel.n_time}",
           "horizon": horizon(quick), "draws": per_run,
           "one run": {k: float(np.mean([r[k] for r in runs])) for k in METRICS},
           **{f"{n} runs pooled": effect_scores(pooled(n).table(0.9), truth) for n in range(2, RUNS + 1)}}
    # how far apart the runs' estimates are, against how far each is from the truth
    t = truth[truth["kind"] == "total"].set_index(["shop", "channel"])
    means = np.asarray([table[table["kind"] == "total"].set_index(["shop", "channel"]).loc[t.index, "mean"]
                        for table in tables])
    out["spread"] = float(np.abs(means - means.mean(0)).sum(1).mean() / np.abs(t["effect"].to_numpy()).sum())
    return out


def render(results: list[dict], command: str, seeds: tuple[int, ...]) -> str:
    rows_of = [k for k in results[0] if k == "one run" or k.endswith("pooled")]
    days, draws = window_days(results), draw_count(results)
    lines = [
        *section_head(TITLE, command),
        "",
        f"Development seeds {', '.join(map(str, seeds))} only. Each panel is fitted on all but its last {days} "
        f"days {RUNS} times with the defaults, from SVI seeds S, S + 1, …; \"one run\": the mean of the runs' own "
        f"figures ({draws} draws each); \"n runs pooled\": the first n runs' draws together. Scored as in \"Causal "
        "effects and budget\" (`total` effects over shop × channel; also the coverage of the `held` effects). "
        "Run spread: Σ|a run's estimate − the runs' mean| / Σ|truth|, the runs' disagreement in the units of the "
        "error share. Mean ± sd over seeds.",
        "",
    ]
    for scenario, rows in by_scenario(results).items():
        lines += [*table_head(f"### {scenario}: {rows[0]['shape']} (shops × nodes × days)",
                              ["effects from", *METRICS.values()]),
                  *(f"| {label} | " + " | ".join(mean_sd([r[label][k] for r in rows]) for k in METRICS) + " |"
                    for label in rows_of),
                  "", f"Run spread: {mean_sd([r['spread'] for r in rows])}.", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    return panel_benchmark(argv, module="benchmarks.effect_ensembles", title=TITLE,
                           description=__doc__.splitlines()[0], scenarios=SCENARIOS, seeds=SEEDS, quick_seeds=(100,),
                           score_panel=score_panel, render=render)


if __name__ == "__main__":
    raise SystemExit(main())
