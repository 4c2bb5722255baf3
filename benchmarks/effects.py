"""Causal effects against the simulators' true counterfactuals.

Writes the section "Causal effects and budget" of docs/benchmarks.md. For every scenario and reported seed (0, 1, 2
by default) one panel is simulated; every model is fitted on all but its last 14 days and asked for every shop's and
channel's effect on the target over those 14 days, given the channels' actual spend there (the plan). The truth is
the simulator re-run with the same noise and the channel's spend at 0 on the window
(:mod:`causalmmm_ppl.data.effects_truth`). Models:

- **CausalMMM** with the default settings (``CausalMMMSpec()``), through its learned graph;
- **CausalMMM, channel → target only**: the same model fitted with every other edge forbidden (an additive
  structure: no channel → channel or channel → mediator path, no mediator → target edge);
- **BTVC** (``BTVCSpec()``, SVI: ``BTVCInference(method="svi")``, shops jointly) with the channels as media: additive,
  so its ``total`` and ``held`` effects agree;
- **zero effect**: every effect 0 (the reference an estimate must beat on error; Spearman undefined).

Metrics over shop × channel: Spearman correlation of estimated and true effects; the median over channels of the
relative error of the channel's portfolio ROAS (all shops' effect over all shops' spend); the share of true effects
inside the 90% interval. For ``total`` and ``held`` (sim1/sim2 have channel → channel effects, so the two differ).

``python -m benchmarks.effects`` (full; several minutes per fit on one core, two panels at a time);
``--quick`` runs tiny sizes (the test suite runs it so the script cannot rot).
"""

from __future__ import annotations

import time

import numpy as np

from benchmarks._doc import by_scenario, mean_sd, panel_benchmark, section_head
from benchmarks._engines import split_last

TITLE = "## Causal effects and budget"
SCENARIOS = ("sim1", "sim2", "sim3")
SIZES = {"sim1": dict(n_shops=100), "sim2": dict(n_shops=20, n_days=338), "sim3": dict(n_shops=100)}
SEEDS = (0, 1, 2)
HORIZON = 14
DRAWS = 100
QUICK = dict(n_shops=8, n_days=60, steps=15, draws=6, horizon=5)
METHODS = ("causalmmm", "direct_only", "btvc", "zero")
LABELS = {
    "causalmmm": "CausalMMM (default)",
    "direct_only": "CausalMMM, channel → target only",
    "btvc": "BTVC (SVI)",
    "zero": "zero effect (reference)",
}
KINDS = ("total", "held")


def quick_settings(quick: bool, steps: int = QUICK["steps"]) -> dict:
    """CausalMMM settings a ``--quick`` run overrides: ``steps`` SVI steps and one SVI run (its few shops would mix
    three by default); none otherwise."""
    return {"steps": steps, "restarts": 1} if quick else {}


def horizon(quick: bool) -> int:
    """Days of the window whose effects are scored: :data:`HORIZON`, or a few with ``quick`` (the rollouts behind
    the effects cost about in proportion to the window)."""
    return QUICK["horizon"] if quick else HORIZON


def num_draws(quick: bool) -> int:
    """Posterior draws of each model's effects: :data:`DRAWS`, or the few of a ``--quick`` run."""
    return QUICK["draws"] if quick else DRAWS


def window_days(results: list[dict]) -> int:
    """The days of the window the panels' ``results`` were scored over (each panel's ``"horizon"``): what a section's
    text names, :data:`HORIZON` in a full run and fewer in a ``--quick`` one.

    Raises
    ------
    ValueError
        If the panels' windows differ.
    """
    return _common(results, "horizon")


def draw_count(results: list[dict]) -> int:
    """The posterior draws behind the panels' ``results`` (each panel's ``"draws"``): what a section's text names.

    Raises
    ------
    ValueError
        If the panels' draw counts differ.
    """
    return _common(results, "draws")


def _common(results: list[dict], key: str) -> int:
    """The one value of ``key`` that every result holds."""
    values = {r[key] for r in results}
    if len(values) != 1:
        raise ValueError(f"the panels' {key!r} differ: {sorted(values)}")
    return values.pop()


def effects_panel(scenario: str, seed: int, quick: bool, settings: dict | None = None):
    """One simulated panel at the scenario's size (tiny with ``quick``; its generating ``settings`` overridden by
    name, :func:`~causalmmm_ppl.data.simulate.simulate`), its true effects over the last :func:`horizon` days, and its
    split into history and plan (those days): ``(sim, truth, history, plan)``."""
    from causalmmm_ppl.data.effects_truth import true_effects
    from causalmmm_ppl.data.simulate import simulate

    sizes = {k: QUICK[k] for k in ("n_shops", "n_days")} if quick else SIZES.get(scenario, {})
    sim = simulate(scenario, seed=seed, settings=settings, **sizes)
    days = horizon(quick)
    history, plan = split_last(sim.panel, days)
    return sim, true_effects(sim, days), history, plan


def score_panel(scenario: str, seed: int, quick: bool) -> dict:
    """Simulate one panel, fit the models on its history, and score their effects (runs in a worker process)."""
    from causalmmm_ppl import _runtime

    _runtime.configure(1)
    from causalmmm_ppl.evaluation.effect_metrics import effect_report
    from causalmmm_ppl.inference.causalmmm_fit import fit_causalmmm
    from causalmmm_ppl.models.settings import CausalMMMSettings

    sim, truth, history, plan = effects_panel(scenario, seed, quick)
    panel = sim.panel
    settings = CausalMMMSettings.of(**quick_settings(quick))
    draws = num_draws(quick)
    kinds = np.asarray(panel.node_kinds)
    only = {f"{c}->{e}": 0.0 for c in panel.nodes for e in panel.nodes
            if c != e and not (kinds[panel.nodes.index(c)] == "channel" and e == panel.target)}
    out: dict = {"scenario": scenario, "seed": seed, "shape": f"{panel.n_shops}×{panel.n_nodes}×{panel.n_time}",
                 "horizon": horizon(quick), "draws": draws,
                 "channel_pairs": int((sim.adjacency[:, kinds == "channel"][:, :, kinds == "channel"]).sum())}
    tables = {}
    for name, s in (("causalmmm", settings), ("direct_only", settings.replace(edge_priors=only))):
        t0 = time.perf_counter()
        fit = fit_causalmmm(history, s, seed=seed, progress=False)
        out[f"{name}_fit_seconds"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        tables[name] = fit.effects(history, plan, num_draws=draws, seed=seed)
        out[f"{name}_effects_seconds"] = time.perf_counter() - t0
    from causalmmm_ppl.inference.btvc import fit_btvc
    from causalmmm_ppl.models.btvc_spec import BTVCInference, BTVCSpec

    t0 = time.perf_counter()
    btvc = fit_btvc(history, BTVCSpec(), BTVCInference(method="svi", svi_steps=QUICK["steps"] if quick else 3000,
                                                      svi_draws=draws), seed=seed, progress=False)
    out["btvc_fit_seconds"] = time.perf_counter() - t0
    tables["btvc"] = btvc.effects(history, plan, seed=seed)
    zero = tables["causalmmm"].copy()
    zero[["mean", "lower", "upper"]] = 0.0
    tables["zero"] = zero
    for name, table in tables.items():
        out[name] = {kind: effect_report(table, truth, kind) for kind in KINDS}
    truth_all = truth.groupby(["channel", "kind"])[["effect", "spend"]].sum().reset_index()
    out["true_total_over_held"] = float(truth_all[truth_all.kind == "total"]["effect"].sum()
                                        / truth_all[truth_all.kind == "held"]["effect"].sum())
    return out


def render(results: list[dict], command: str, seeds: tuple[int, ...]) -> str:
    days, draws = window_days(results), draw_count(results)
    lines = [
        *section_head(TITLE, command),
        "",
        f"Each model is fitted on all but the last {days} days of a panel and asked for every shop's and channel's "
        f"effect on the target over those days, given the channels' actual spend ({draws} posterior draws); the truth "
        "is the simulator re-run with the same noise and the channel's spend at 0 there. Mean ± sd over the reported "
        f"seeds ({', '.join(map(str, seeds))}) of each panel's figure. Spearman: estimated vs true effects over shop × "
        "channel. ROAS error: median over channels of |estimated − true| / |true| portfolio ROAS. Coverage: share of "
        "true effects inside the 90% interval (goal 0.85–0.95). Error share: Σ|estimate − truth| / Σ|truth|.",
        "",
    ]
    for scenario, rows in by_scenario(results).items():
        fit_s = np.mean([r["causalmmm_fit_seconds"] for r in rows])
        eff_s = np.mean([r["causalmmm_effects_seconds"] for r in rows])
        ratio = np.mean([r["true_total_over_held"] for r in rows])
        lines += [
            f"### {scenario}: {rows[0]['shape']} (shops × nodes × days)",
            "",
            f"CausalMMM fit {fit_s:.0f} s, effects {eff_s:.0f} s on one core (means over seeds). True portfolio total "
            f"effect / held effect: {ratio:.2f} (what channel → channel paths add).",
            "",
            "| method | kind | Spearman | ROAS error | coverage 90% | error share |",
            "|---|---|---|---|---|---|",
        ]
        for m in METHODS:
            for kind in KINDS:
                cells = [mean_sd([r[m][kind][k] for r in rows])
                         for k in ("spearman", "roas_rel_error", "coverage", "error_share")]
                lines.append(f"| {LABELS[m]} | {kind} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    return panel_benchmark(argv, module="benchmarks.effects", title=TITLE, description=__doc__.splitlines()[0],
                           scenarios=SCENARIOS, seeds=SEEDS, quick_seeds=(0,), score_panel=score_panel, render=render)


if __name__ == "__main__":
    raise SystemExit(main())
