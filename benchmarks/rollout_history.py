"""Rollout history: how many days of history a forecast's recurrent state runs over.

Writes the section "Rollout history" of docs/benchmarks.md. Development seeds only (100 and 101 by default): the
rollout's history length was chosen here. SVI fits the recurrent state on windows of ``window`` scored days after
``l_max`` warm-up days, from a zero state; a rollout runs it over the history's last ``window + l_max`` days
(:meth:`~causalmmm_ppl.models.causalmmm.CausalMMM.rollout_history_days`). The alternative is the whole history.
Both are read from one default fit per panel on all but its last 14 days: the 14-day forecast (the plan's channels,
200 draws) is scored against the panel's own values: MSE of the mean in units of each node's standard deviation
over the history, and the share of values inside the 90% interval, for the target and for the mediators and the
target together, with the forecast's seconds on one core. The whole history is the same fit with ``window`` set
past the history's length (``window`` is used by training only).

``python -m benchmarks.rollout_history`` (full: sim2 20 × 338 and 50 × 676, whose histories are longer than a
window; one fit per panel, 3–7 min each on one core, two at a time); ``--quick`` runs tiny sizes (the test suite
runs it so the script cannot rot).
"""

from __future__ import annotations

import time

import numpy as np

from benchmarks._doc import mean_sd, panel_benchmark, section_head
from benchmarks._engines import split_last
from benchmarks.effects import draw_count

TITLE = "## Rollout history"
SCENARIOS = ("sim2", "sim2_long")
PANELS = {"sim2": dict(n_shops=20, n_days=338), "sim2_long": dict(n_shops=50, n_days=676)}
QUICK = dict(n_shops=6, n_days=60, steps=10, window=20, draws=8)
SEEDS = (100, 101)
HORIZON = 14
DRAWS = 200


def num_draws(quick: bool) -> int:
    """Posterior draws of each forecast: :data:`DRAWS`, or the few of a ``--quick`` run."""
    return QUICK["draws"] if quick else DRAWS


def score_panel(scenario: str, seed: int, quick: bool) -> dict:
    """Fit one panel and score its holdout forecast with the rollout's state over a window and over everything."""
    from causalmmm_ppl import _runtime

    _runtime.configure(1)
    from causalmmm_ppl.data.simulate import simulate
    from causalmmm_ppl.inference.causalmmm_fit import fit_causalmmm
    from causalmmm_ppl.models.settings import CausalMMMSettings

    sizes = {k: QUICK[k] for k in ("n_shops", "n_days")} if quick else PANELS[scenario]
    panel = simulate("sim2", seed=seed, **sizes).panel
    history, plan = split_last(panel, HORIZON)
    settings = CausalMMMSettings.of(**({"steps": QUICK["steps"], "window": QUICK["window"]} if quick else {}))
    fit = fit_causalmmm(history, settings, seed=seed, progress=False)
    truth = plan.values  # (shop, day, node): the channels are the plan; mediators and the target are scored
    scale = history.values.reshape(-1, panel.n_nodes).std(0)
    scored = np.asarray(panel.node_kinds) != "channel"
    out = {"scenario": scenario, "seed": seed, "shape": f"{panel.n_shops}×{panel.n_nodes}×{panel.n_time}",
           "draws": num_draws(quick), "window_days": fit.model.rollout_history_days(history.n_time),
           "history_days": history.n_time}
    window = fit.model.window  # the training window the rollout's state runs over (with l_max)
    for name, days in (("window", window), ("whole", history.n_time)):
        fit.model.window = days
        t0 = time.perf_counter()
        draws = fit.forecast_samples(history, plan, num_draws=out["draws"], seed=0)
        seconds = time.perf_counter() - t0
        lower, upper = np.quantile(draws, [0.05, 0.95], axis=0)
        err = ((draws.mean(0) - truth) / scale) ** 2
        inside = (truth >= lower) & (truth <= upper)
        out[name] = {"mse_target": float(err[..., -1].mean()), "mse_scored": float(err[..., scored].mean()),
                     "cov_target": float(inside[..., -1].mean()), "cov_scored": float(inside[..., scored].mean()),
                     "seconds": seconds}
    fit.model.window = window
    return out


def render(results: list[dict], command: str, seeds: tuple[int, ...]) -> str:
    """The section; the draws named are the results' own (each panel's ``"draws"``)."""
    scenarios = list(dict.fromkeys(r["scenario"] for r in results))
    draws = draw_count(results)
    lines = [
        *section_head(TITLE, command),
        "",
        f"Development seeds {', '.join(map(str, seeds))} only: the rollout's history length was chosen here. One "
        f"default CausalMMM fit per panel on all but its last {HORIZON} days; its {HORIZON}-day forecast "
        f"({draws} draws, the plan's channels) with the recurrent state run over the history's last window + l_max "
        "days (the default) or over all of it. MSE of the forecast mean in units of each node's standard deviation "
        "over the history; 90% coverage: share of values inside the 90% interval; mean ± sd over seeds; forecast "
        "seconds on one core.",
        "",
        "| panel | history days | state over | MSE target | MSE mediators + target | 90% coverage target | "
        "90% coverage mediators + target | forecast s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for s in scenarios:
        rows = [r for r in results if r["scenario"] == s]
        for key in ("window", "whole"):
            days = rows[0]["window_days"] if key == "window" else rows[0]["history_days"]
            label = f"last {days} days (default)" if key == "window" else f"all {days} days"
            cells = [mean_sd([r[key][m] for r in rows]) for m in ("mse_target", "mse_scored", "cov_target",
                                                                  "cov_scored")]
            lines.append(f"| {s} {rows[0]['shape']} | {rows[0]['history_days']} | {label} | " + " | ".join(cells)
                         + f" | {np.mean([r[key]['seconds'] for r in rows]):.1f} |")
    lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    return panel_benchmark(argv, module="benchmarks.rollout_history", title=TITLE,
                           description=__doc__.splitlines()[0], scenarios=SCENARIOS, seeds=SEEDS, quick_seeds=(100,),
                           score_panel=score_panel, render=render)


if __name__ == "__main__":
    raise SystemExit(main())
