"""Real panels: holdout forecasts of CausalMMM and BTVC on public weekly MMM panels, against last value and seasonal
naive.

Writes the section "Real panels" of docs/benchmarks.md. Every panel is split at its last ``HOLDOUT`` weeks: the
models are fitted on the weeks before and forecast the target over the holdout given the actual spend of those weeks
(the plan; mediators and the target are blanked: ``causalmmm_ppl.evaluation.backtest.blind_plan``). Scored over
weeks 1..h for h in ``HORIZONS`` (:func:`causalmmm_ppl.evaluation.backtest.score_origin`): WAPE (median of the draws
as the point, pooled over shops and weeks), CRPS in scaled units (divided by the shop's mean target over its training
weeks) and the share of holdout values inside the central 90% interval.

Panels (``datasets/``, with their licences):

- ``meridian``: Meridian's geo panel (40 geos × 156 weeks; target conversions; channels: 5 paid channels' spend,
  organic impressions and Promo; context: population; controls: competitor sales and sentiment);
- ``robyn``: Robyn's simulated weekly data (one unit × 208 weeks; target revenue; channels: the spend of TV, OOH,
  print, Facebook and search, and newsletter; control: competitor sales; its two event weeks are left out);
- ``pymc_example``: PyMC-Marketing's ``mmm_example`` (one unit × 179 weeks; target y; channels x1, x2; controls:
  the two event dummies).

Methods, on the same split: CausalMMM (``CausalMMMSpec()``) and BTVC (``BTVCSpec()``; NUTS with its defaults on the
one-unit panels, the SVI fast path on Meridian's 40 geos), each with the panel's time-varying controls
(``ColumnSpec.controls``: known over the holdout, as a plan would give them) and without them (the same channels), **last value** (the target's last training week repeated,
bootstrapped week-to-week changes for the spread: ``seasonal_naive.forecast(season=1)``) and **seasonal naive** (the
same week of the last year). Seeds 0, 1, 2 (model fits and draws); mean ± sd over seeds.

``python -m benchmarks.real_panels`` (full); ``--quick`` runs tiny settings (the test suite runs it so the script
cannot rot). CausalMMM's defaults fit the one-unit panels as three SVI runs mixed (``restarts`` and ``keep_runs``
below 10 units) and Meridian's 40 geos as one run; ``--runs K`` fits every panel with K SVI runs mixed
(``{"restarts": K, "keep_runs": "all"}``; seeds S, S + 1, …).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from benchmarks._btvc import quick_inference
from benchmarks._doc import by_scenario, mean_sd, panel_benchmark, section_head

TITLE = "## Real panels"
DATASETS = Path(__file__).resolve().parents[1] / "datasets"
SCENARIOS = ("meridian", "robyn", "pymc_example")
SEEDS = (0, 1, 2)
HOLDOUT = 13  # weeks: one quarter
HORIZONS = (4, 13)
NUM_DRAWS = 200
METHODS = ("CausalMMM", "CausalMMM, no controls", "BTVC", "BTVC, no controls", "last value", "seasonal naive")
QUICK_SPEC = dict(steps=10, batch_shops=2, window=30, num_draws=8, hidden=8, encoder_hidden=16)
#: one-unit panels: BTVC by NUTS (its default); more units: the SVI fast path
NUTS_MAX_SHOPS = 4


def load(name: str, quick: bool):
    """The panel ``name`` (see the module docstring) with its controls, and the same panel without them."""
    import dataclasses

    from causalmmm_ppl.data.load import load_panel
    from causalmmm_ppl.data.panel import ColumnSpec

    if name == "meridian":
        from benchmarks.forecasting import meridian_panel

        panel = meridian_panel(2 if quick else None, controls=("competitor_sales_control", "sentiment_score_control"))
    elif name == "robyn":
        channels = ("tv_S", "ooh_S", "print_S", "facebook_S", "search_S", "newsletter")
        spec = ColumnSpec(target="revenue", channels=channels, controls=("competitor_sales_B",), date_col="DATE")
        panel = load_panel(DATASETS / "robyn" / "dt_simulated_weekly.csv", spec)
    elif name == "pymc_example":
        spec = ColumnSpec(target="y", channels=("x1", "x2"), controls=("event_1", "event_2"), date_col="date_week")
        panel = load_panel(DATASETS / "pymc-marketing" / "mmm_example.csv", spec)
    else:
        raise ValueError(f"unknown panel {name!r}")
    return panel, dataclasses.replace(panel, controls=None, control_names=())


def score_panel(scenario: str, seed: int, quick: bool, runs: int = 0) -> dict:
    """Split one panel, fit both models, forecast the holdout with every method and score it (a worker process).
    ``runs`` ≥ 1: CausalMMM keeps that many SVI runs (seeds ``seed``, ``seed + 1``, …) and mixes their posteriors
    (``{"restarts": runs, "keep_runs": "all"}``); 0: the defaults."""
    from causalmmm_ppl import _runtime

    _runtime.configure(1)
    from benchmarks.forecasting import _target_only
    from benchmarks._engines import holdout
    from causalmmm_ppl.evaluation.baselines import seasonal_naive
    from causalmmm_ppl.inference.btvc import fit_btvc
    from causalmmm_ppl.inference.causalmmm_fit import fit_causalmmm
    from causalmmm_ppl.models.btvc_spec import BTVCInference, BTVCSpec
    from causalmmm_ppl.models.settings import CausalMMMSettings

    panel, plain = load(scenario, quick)
    (history, plan, truth), (plain_history, plain_plan, _) = holdout(panel, HOLDOUT), holdout(plain, HOLDOUT)
    data = {True: (history, plan), False: (plain_history, plain_plan)}
    if quick:
        inference = quick_inference(NUM_DRAWS)
    elif panel.n_shops <= NUTS_MAX_SHOPS:
        inference = BTVCInference(method="nuts")
    else:
        inference = BTVCInference(method="svi", svi_steps=3000, svi_draws=NUM_DRAWS)

    def causalmmm(controls: bool):
        h, p = data[controls]
        mixed = {"restarts": runs, "keep_runs": "all"} if runs else {}
        settings = CausalMMMSettings.of(**(QUICK_SPEC if quick else {}), **mixed)
        fit = fit_causalmmm(h, settings, seed=seed, progress=False)
        return fit, lambda: fit.forecast_samples(h, p, num_draws=NUM_DRAWS, seed=seed)

    def btvc(controls: bool):
        h, p = data[controls]
        fit = fit_btvc(h, BTVCSpec(), inference, seed=seed, progress=False)
        return fit, lambda: _target_only(h, p, fit.forecast_samples(p, seed=seed + 2))

    def naive(season):
        return None, lambda: seasonal_naive.forecast(history, plan, num_draws=NUM_DRAWS, season=season, seed=seed)

    makers = {"CausalMMM": lambda: causalmmm(True), "CausalMMM, no controls": lambda: causalmmm(False),
              "BTVC": lambda: btvc(True), "BTVC, no controls": lambda: btvc(False), "last value": lambda: naive(1),
              "seasonal naive": lambda: naive(None)}
    out: dict = {"scenario": scenario, "seed": seed, "shape": f"{panel.n_shops}×{panel.n_nodes}×{panel.n_time}",
                 "btvc_method": inference.method, "runs": runs}
    for name, make in makers.items():
        t0 = time.perf_counter()
        fit, forecast = make()
        t1 = time.perf_counter()
        draws = np.asarray(forecast(), dtype=float)
        t2 = time.perf_counter()
        out[name] = {"fit_s": t1 - t0, "forecast_s": t2 - t1} | holdout_scores(draws, truth, history)
        if name.startswith("CausalMMM"):
            out[name]["target_df"] = target_df(fit)
            out[name]["runs_mixed"] = len(fit.runs())
    return out


def holdout_scores(draws: np.ndarray, truth, history) -> dict[str, float]:
    """The target's forecast ``draws`` (draw, shop, week, node) against the holdout ``truth`` over weeks 1..h for
    each h of :data:`HORIZONS` (:func:`~causalmmm_ppl.evaluation.backtest.score_origin`): ``wape_h``,
    ``crps_scaled_h`` and ``coverage_h``."""
    from causalmmm_ppl.evaluation.backtest import score_origin

    rows = score_origin(draws, truth, history, HORIZONS, [history.n_nodes - 1])
    return {f"{k}_{r['horizon']}": r[k] for r in rows for k in ("wape", "crps_scaled", "coverage")}


def target_df(fit) -> float:
    """The Student-t degrees of freedom a CausalMMM fit learned for the target (its last node; the setting where
    not learned); NaN for a Normal likelihood."""
    df = fit.model.degrees_of_freedom()
    if df is None:
        return float("nan")
    return float(df.detach()[-1]) if hasattr(df, "detach") else float(df)


def render(results: list[dict], command: str, seeds: tuple[int, ...]) -> str:
    lines = [
        *section_head(TITLE, command),
        "",
        f"Each panel's last {HOLDOUT} weeks are held out; the models are fitted on the weeks before and forecast the "
        "target over the holdout given the holdout's actual spend and, where a method reads them, its controls "
        "(mediators and the target blanked). WAPE: "
        "Σ|median − y| / Σ|y| over shops and weeks 1..h; CRPS in units of the shop's mean training target (from "
        f"{NUM_DRAWS} draws); coverage: share of holdout values inside the central 90% interval. Mean ± sd over "
        f"seeds {', '.join(map(str, seeds))} (fits, draws and bootstraps). Seconds on one core, two panels at a time.",
        "",
    ]
    runs = results[0].get("runs", 0) if results else 0
    if runs:
        lines += [f"CausalMMM rows: each fit keeps {runs} SVI runs (seeds S, S + 1, …) and mixes their posteriors "
                  f"(`{{\"restarts\": {runs}, \"keep_runs\": \"all\"}}`); fit seconds are the {runs} runs'; the "
                  "tails, the best run's.", ""]
    for scenario, rows in by_scenario(results).items():
        h_lo, h_hi = HORIZONS
        lines += [
            f"### {scenario}: {rows[0]['shape']} (shops × nodes × weeks), BTVC by {rows[0]['btvc_method'].upper()}",
            "",
            f"| method | WAPE 1..{h_lo} | WAPE 1..{h_hi} | CRPS (scaled) 1..{h_hi} | 90% coverage 1..{h_hi} "
            "| fit s | forecast s |",
            "|---|---|---|---|---|---|---|",
        ]
        for m in METHODS:
            cells = [mean_sd([r[m][f"wape_{h_lo}"] for r in rows]), mean_sd([r[m][f"wape_{h_hi}"] for r in rows]),
                     mean_sd([r[m][f"crps_scaled_{h_hi}"] for r in rows]),
                     mean_sd([r[m][f"coverage_{h_hi}"] for r in rows]),
                     f"{np.mean([r[m]['fit_s'] for r in rows]):.1f}",
                     f"{np.mean([r[m]['forecast_s'] for r in rows]):.1f}"]
            lines.append(f"| {m} | " + " | ".join(cells) + " |")
        by_seed = ", ".join(f"seed {r['seed']} {r['CausalMMM'][f'coverage_{h_hi}']:.3f} / "
                            f"{r['CausalMMM, no controls'][f'coverage_{h_hi}']:.3f}" for r in rows)
        tails = ", ".join(f"seed {r['seed']} {r['CausalMMM']['target_df']:.2f} / "
                          f"{r['CausalMMM, no controls']['target_df']:.2f}" for r in rows)
        mixed = ", ".join(f"seed {r['seed']} {r['CausalMMM'].get('runs_mixed', 1)} / "
                          f"{r['CausalMMM, no controls'].get('runs_mixed', 1)}" for r in rows)
        lines += ["", f"CausalMMM's 90% coverage 1..{h_hi} by seed, with / without controls: {by_seed}.", "",
                  f"CausalMMM's learned Student-t degrees of freedom of the target (bounded below by 2; the best "
                  f"run's), with / without controls: {tails}.", "",
                  f"CausalMMM's SVI runs mixed by seed, with / without controls: {mixed}.", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    return panel_benchmark(argv, module="benchmarks.real_panels", title=TITLE, description=__doc__.splitlines()[0],
                           scenarios=SCENARIOS, seeds=SEEDS, quick_seeds=(0,), score_panel=score_panel, render=render,
                           options={"runs": (0, "CausalMMM's SVI runs per fit, mixed (0: the defaults)")})


if __name__ == "__main__":
    raise SystemExit(main())
