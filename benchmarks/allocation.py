"""Budget allocation scored by the simulators' truth.

Writes the section "Budget allocation" of docs/benchmarks.md. For every scenario and reported seed (0, 1, 2 by
default) one panel is simulated; each model is fitted on all but its last 14 days, and ``allocate`` redistributes
the channels' actual spend over those 14 days (the plan) across channels: the portfolio's budget is the plan's own,
every shop's and channel's spend stays within 0.5–2 × its plan, the mean target is maximised. The truth scores each
allocation: the simulator re-run with the same noise and the allocated spend on the window
(:mod:`causalmmm_ppl.evaluation.allocation_truth`). Rows:

- **CausalMMM** (``CausalMMMSpec()``) and **BTVC** (``BTVCSpec()``, SVI) through ``causalmmm_ppl.inference.allocate``;
- **oracle**: the same optimiser run on the simulator itself (the best a model could do);
- **random reallocation**: uniform multipliers within the bounds rescaled to the budget (mean of 5), the reference
  that shows what moving money without knowledge does.

``python -m benchmarks.allocation`` (full; several minutes per panel on one core, two panels at a time);
``--quick`` runs tiny sizes (the test suite runs it so the script cannot rot). ``--variant KEY=VALUE[,KEY=VALUE]``
adds a row: CausalMMM with those settings changed (e.g. ``adstock=mixed``), fitted beside the default on the same
panels; such a run writes its own section, :data:`VARIANT_TITLE` (a variant is compared on development seeds,
``--seeds 100,101``, before it can become a default).
"""

from __future__ import annotations

import sys
import time

import numpy as np

from benchmarks._doc import by_scenario, mean_sd, panel_benchmark, parse_variant, section_head, table_head
from benchmarks._engines import split_last
# the effects section's panels and window
from benchmarks.effects import SCENARIOS, SEEDS, SIZES, draw_count, horizon, num_draws, quick_settings, window_days

TITLE = "## Budget allocation"
VARIANT_TITLE = "## Budget allocation with a model variant (development seeds)"
RANDOM_REPEATS = 5
QUICK = dict(n_shops=6, n_days=60, steps=15)  # the draws: effects.num_draws
METHODS = ("causalmmm", "btvc", "oracle", "random")
LABELS = {"causalmmm": "CausalMMM (default)", "btvc": "BTVC (SVI)", "oracle": "oracle (the simulator optimised)",
          "random": "random reallocation (reference)"}


def score_panel(scenario: str, seed: int, quick: bool, variant: str = "") -> dict:
    """Simulate one panel, fit both models on its history (and CausalMMM with the settings ``variant`` changes,
    :func:`~benchmarks._doc.parse_variant`, where given), allocate, and score every allocation by the truth."""
    from causalmmm_ppl import _runtime

    _runtime.configure(1)
    from causalmmm_ppl.data.simulate import simulate
    from causalmmm_ppl.evaluation.allocation_truth import (
        oracle_allocation,
        random_allocation,
        true_target,
        true_uplift,
        window_spend,
    )
    from causalmmm_ppl.inference.allocate import allocate
    from causalmmm_ppl.inference.btvc import fit_btvc
    from causalmmm_ppl.inference.causalmmm_fit import fit_causalmmm
    from causalmmm_ppl.models.btvc_spec import BTVCInference, BTVCSpec
    from causalmmm_ppl.models.settings import CausalMMMSettings

    sizes = {k: QUICK[k] for k in ("n_shops", "n_days")} if quick else SIZES.get(scenario, {})
    sim = simulate(scenario, seed=seed, **sizes)
    panel = sim.panel
    days = horizon(quick)
    history, plan = split_last(panel, days)
    draws = num_draws(quick)
    spend = window_spend(sim, days)
    base = float(true_target(sim, spend, np.ones(spend.shape[::2]), days).sum())
    out: dict = {"scenario": scenario, "seed": seed, "shape": f"{panel.n_shops}×{panel.n_nodes}×{panel.n_time}",
                 "horizon": days, "draws": draws, "channels": int(len(panel.channel_index)), "base": base}
    fits = {}
    t0 = time.perf_counter()
    fits["causalmmm"] = fit_causalmmm(history, CausalMMMSettings.of(**quick_settings(quick, QUICK["steps"])),
                                      seed=seed, progress=False)
    out["causalmmm_fit_seconds"] = time.perf_counter() - t0
    if variant:
        changed = {**parse_variant(variant), **quick_settings(quick, QUICK["steps"])}
        fits["variant"] = fit_causalmmm(history, CausalMMMSettings.of(**changed), seed=seed, progress=False)
        out["variant_label"] = f"CausalMMM ({variant.replace(',', ', ')})"
    t0 = time.perf_counter()
    fits["btvc"] = fit_btvc(history, BTVCSpec(), BTVCInference(method="svi", svi_steps=QUICK["steps"] if quick else 3000,
                                                                svi_draws=draws), seed=seed, progress=False)
    out["btvc_fit_seconds"] = time.perf_counter() - t0
    for name, fit in fits.items():
        t0 = time.perf_counter()
        result = allocate(fit, history, plan, num_draws=draws, seed=seed)
        out[f"{name}_allocate_seconds"] = time.perf_counter() - t0
        mean, lo, hi = result.uplift_summary(0.9)
        truth = true_uplift(sim, result.multipliers, days)
        out[name] = {"uplift": truth, "predicted": mean, "covered": bool(lo <= truth <= hi),
                     "kept_plan": result.kept_plan}
    t0 = time.perf_counter()
    out["oracle"] = {"uplift": true_uplift(sim, oracle_allocation(sim, horizon=days), days)}
    out["oracle_seconds"] = time.perf_counter() - t0
    planned = spend.sum(1)
    out["random"] = {"uplift": float(np.mean([true_uplift(sim, random_allocation(planned, seed=seed * 100 + r), days)
                                              for r in range(RANDOM_REPEATS)]))}
    return out


def render(results: list[dict], command: str, seeds: tuple[int, ...]) -> str:
    variant = "variant" in results[0]
    methods = METHODS[:1] + ("variant",) * variant + METHODS[1:]
    days, draws = window_days(results), draw_count(results)
    lines = [
        *section_head(VARIANT_TITLE if variant else TITLE, command),
        "",
        f"Each model is fitted on all but the last {days} days of a panel; `allocate` redistributes the channels' "
        "actual spend over those days across channels (portfolio budget = the plan's, every shop's and channel's "
        f"spend within 0.5–2 × plan, mean target maximised, {draws} posterior draws). The simulator, re-run with the "
        "same noise and the allocated spend, scores each allocation. True uplift: the change of the portfolio's "
        "target over the window, in % of the plan's. Share of oracle: true uplift / the oracle's true uplift. "
        "Predicted: the model's own expected uplift (%); covered: seeds whose true uplift lies in the model's 90% "
        f"interval. Mean ± sd over the {'development' if variant else 'reported'} seeds ({', '.join(map(str, seeds))}).",
        "",
    ]
    for scenario, rows in by_scenario(results).items():
        heading = f"### {scenario}: {rows[0]['shape']} (shops × nodes × days), {rows[0]['channels']} channels"
        lines += table_head(heading, ["method", "true uplift %", "share of oracle", "predicted uplift %", "covered",
                                      "allocate s"])
        for m in methods:
            true = [100 * r[m]["uplift"] / r["base"] for r in rows]
            share = [r[m]["uplift"] / r["oracle"]["uplift"] for r in rows]
            if m in ("causalmmm", "variant", "btvc"):
                pred = mean_sd([100 * r[m]["predicted"] / r["base"] for r in rows])
                covered = f"{sum(r[m]['covered'] for r in rows)}/{len(rows)}"
                secs = f"{np.mean([r[f'{m}_allocate_seconds'] for r in rows]):.0f}"
            else:
                pred, covered = "–", "–"
                secs = f"{np.mean([r['oracle_seconds'] for r in rows]):.0f}" if m == "oracle" else "–"
            label = rows[0]["variant_label"] if m == "variant" else LABELS[m]
            lines.append(f"| {label} | {mean_sd(true)} | {mean_sd(share)} | {pred} | {covered} | {secs} |")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    variant = any(a == "--variant" or a.startswith("--variant=") for a in args)
    return panel_benchmark(argv, module="benchmarks.allocation", title=VARIANT_TITLE if variant else TITLE,
                           description=__doc__.splitlines()[0], scenarios=SCENARIOS, seeds=SEEDS, quick_seeds=(0,),
                           score_panel=score_panel, render=render,
                           options={"variant": ("", "KEY=VALUE[,KEY=VALUE]: CausalMMM settings changed for an extra "
                                                    "row (empty: none)")})


if __name__ == "__main__":
    raise SystemExit(main())
