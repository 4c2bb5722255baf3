"""Forecasting side by side: CausalMMM vs BTVC vs seasonal naive vs a graph-free GRU, rolling origins, on sim2 and on
Meridian's geo panel. Writes the "Forecasting side by side" section of docs/benchmarks.md.

Every model is refitted at each origin on the days before it only and forecasts the target over the next
``max(horizons)`` steps given the channel plan (mediators and the target of those days are blanked:
``causalmmm_ppl.evaluation.backtest.blind_plan``); scores are over steps 1..h for h in 7, 14, 30 (weeks on weekly
data), averaged over origins.

``--quick`` runs tiny sizes (the test suite runs it so the script cannot rot).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from benchmarks._doc import benchmark_parser, command_for, publish, section_head

TITLE = "## Forecasting side by side"
MERIDIAN = Path(__file__).resolve().parents[1] / "datasets" / "meridian" / "geo_all_channels.csv"
MODELS = ("CausalMMM", "BTVC", "seasonal naive", "GRU (no graph)")
FULL = {
    "sim2": dict(n_shops=20, n_days=338, horizons=(7, 14, 30), n_origins=2),
    "meridian": dict(horizons=(7, 14, 30), n_origins=2),
}
QUICK = {
    "sim2": dict(n_shops=2, n_days=60, n_channels=3, horizons=(3, 5), n_origins=1),
    # BTVC's adapter is exercised on sim2; a second BTVC fit would only add JAX compile time to the test suite
    "meridian": dict(geos=2, horizons=(3, 5), n_origins=1, skip=("BTVC",)),
}
NUM_DRAWS = 200
QUICK_SPEC = dict(steps=10, batch_shops=2, window=30, num_draws=8, hidden=8, encoder_hidden=16)


# --------------------------------------------------------------------------------------------------- data
def meridian_panel(geos: int | None = None, controls: tuple[str, ...] = ()):
    """Meridian's simulated geo panel: geo as shop, weekly; 5 paid channels' spend, organic impressions and Promo as
    channels, conversions as the target, population as context, and ``controls`` (of its two signed controls,
    ``competitor_sales_control`` and ``sentiment_score_control``) as time-varying controls."""
    import pandas as pd

    from causalmmm_ppl.data.load import load_panel
    from causalmmm_ppl.data.panel import ColumnSpec

    frame = pd.read_csv(MERIDIAN)
    if geos:
        keep = frame["geo"].drop_duplicates().iloc[:geos]
        frame = frame[frame["geo"].isin(keep)]
    channels = tuple(f"Channel{k}_spend" for k in range(5)) + ("Organic_channel0_impression", "Promo")
    spec = ColumnSpec(target="conversions", channels=channels, context=("population",), controls=controls,
                      shop_col="geo", date_col="time")
    return load_panel(frame, spec)


def load(name: str, sizes: dict, seed: int):
    if name == "meridian":
        return meridian_panel(sizes.get("geos"))
    from causalmmm_ppl.data.simulate import simulate

    kw = {k: sizes[k] for k in ("n_shops", "n_days", "n_channels") if k in sizes}
    return simulate("sim2", seed=seed, **kw).panel


# ---------------------------------------------------------------------------------------------- forecasters
def _target_only(panel_like, plan, target_draws: np.ndarray) -> np.ndarray:
    """(draw, shop, H) target draws → (draw, shop, H, node): channels = plan, other non-target nodes NaN."""
    d, s, h = target_draws.shape
    out = np.full((d, s, h, plan.n_nodes), np.nan)
    out[..., plan.channel_index] = plan.values[None][..., plan.channel_index]
    out[..., -1] = target_draws
    return out


def causalmmm_forecaster(spec_kw: dict, keep: dict | None = None):
    """Fit CausalMMM on the history, forecast with its posterior graph; ``keep`` (if given) stores each origin's fit."""
    from causalmmm_ppl.inference.causalmmm_fit import fit_causalmmm
    from causalmmm_ppl.models.settings import CausalMMMSettings

    def run(history, plan, seed):
        fit = fit_causalmmm(history, CausalMMMSettings.of(**spec_kw), seed=seed, progress=False)
        if keep is not None:
            keep[history.n_time] = fit
        return fit.forecast_samples(history, plan, num_draws=NUM_DRAWS, seed=seed)

    return run


def btvc_forecaster(quick: bool):
    """Fit BTVC (SVI fast path, shops jointly) on the history; predictive draws of the target over the plan."""
    from causalmmm_ppl.inference.btvc import fit_btvc
    from causalmmm_ppl.models.btvc_spec import BTVCInference, BTVCSpec

    inf = BTVCInference(method="svi", svi_steps=20 if quick else 3000, svi_draws=NUM_DRAWS)

    def run(history, plan, seed):
        fit = fit_btvc(history, BTVCSpec(), inf, seed=seed, progress=False)
        return _target_only(history, plan, fit.forecast_samples(plan, seed=seed + 2))  # (draw, shop, H)

    return run


def naive_forecaster():
    from causalmmm_ppl.evaluation.baselines import seasonal_naive

    return lambda history, plan, seed: seasonal_naive.forecast(history, plan, num_draws=NUM_DRAWS, seed=seed)


def gru_forecaster(quick: bool):
    from causalmmm_ppl.evaluation.baselines import recurrent

    steps = 10 if quick else 600

    def run(history, plan, seed):
        return recurrent.forecast(history, plan, num_draws=NUM_DRAWS, seed=seed, steps=steps)

    return run


def forecasters(quick: bool, steps: int | None, models: tuple[str, ...]) -> dict:
    spec_kw = dict(QUICK_SPEC) if quick else {}
    if steps:
        spec_kw["steps"] = steps
    make = {
        "CausalMMM": lambda: causalmmm_forecaster(spec_kw),
        "BTVC": lambda: btvc_forecaster(quick),
        "seasonal naive": naive_forecaster,
        "GRU (no graph)": lambda: gru_forecaster(quick),
    }
    return {m: make[m]() for m in models}


# ---------------------------------------------------------------------------------------------------- runs
def run(table: dict, seed: int, quick: bool, steps: int | None, models: tuple[str, ...]):
    import pandas as pd

    from causalmmm_ppl.evaluation.backtest import rolling_backtest

    frames = []
    shapes = {}
    for name, sizes in table.items():
        panel = load(name, sizes, seed)
        shapes[name] = f"{panel.n_shops}×{panel.n_nodes}×{panel.n_time} ({'weekly' if panel.freq.startswith('W') else 'daily'})"
        here = tuple(m for m in models if m not in sizes.get("skip", ()))
        res = rolling_backtest(panel, forecasters(quick, steps, here), horizons=sizes["horizons"],
                               n_origins=sizes["n_origins"], seed=seed, min_train=20 if quick else 28)
        res.insert(0, "data", name)
        frames.append(res)
        for m in here:
            r = res[(res.model == m) & (res.horizon == max(sizes["horizons"]))]
            print(f"{name} {m}: MSE(scaled, h={max(sizes['horizons'])}) {r.mse_scaled.mean():.4f} "
                  f"({r.seconds.mean():.1f} s / origin)", file=sys.stderr, flush=True)
    return pd.concat(frames, ignore_index=True), shapes


def render(results, shapes: dict, table: dict, command: str, steps: int | None, note: str = "") -> str:
    lines = [
        *section_head(TITLE, command),
        "Rolling origins: each model is refitted at every origin on the steps before it only, then forecasts the "
        "target over the next 30 steps given the channel plan (mediators and target blanked). Metrics over steps "
        "1..h, mean over origins; \"scaled\" divides by the shop's mean target over its training steps; CRPS from "
        f"{NUM_DRAWS} predictive draws; coverage of the central 90% interval. " + (note + " " if note else ""),
        "",
        "| data | shops×nodes×steps | origins (train steps) | h | model | MSE | MSE (scaled) | CRPS | CRPS (scaled) "
        "| 90% coverage | s / origin |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name in table:
        sub = results[results.data == name]
        origins = ", ".join(str(o) for o in sorted(sub.origin.unique()))
        for h in sorted(sub.horizon.unique()):
            for m in MODELS:
                r = sub[(sub.model == m) & (sub.horizon == h)]
                if r.empty:
                    continue
                lines.append(
                    f"| {name} | {shapes[name]} | {origins} | {h} | {m} | {r.mse.mean():.4g} | "
                    f"{r.mse_scaled.mean():.4f} | {r.crps.mean():.4g} | {r.crps_scaled.mean():.4f} | "
                    f"{r.coverage.mean():.3f} | {r.seconds.mean():.1f} |"
                )
    lines += [
        "",
        f"- **CausalMMM**: `CausalMMMSpec()` defaults{f' except steps={steps}' if steps else ''}; "
        "posterior-predictive rollouts (`fit.forecast_samples`) with the posterior graph.",
        "- **BTVC**: `BTVCSpec()` defaults, SVI fast path (`BTVCInference(method=\"svi\")`, 3000 steps, shops "
        "jointly), not NUTS (NUTS on every origin does not fit the time budget); predictive draws over the plan.",
        "- **seasonal naive**: last season repeated (7 days on daily data, 52 weeks on weekly data), with "
        "bootstrapped seasonal residuals for the predictive spread (`evaluation/baselines/seasonal_naive.py`).",
        "- **GRU (no graph)**: one GRU over all nodes, shared by shops, Gaussian head, 600 Adam steps; rolled forward "
        "with the plan's channels (`evaluation/baselines/recurrent.py`). Its draws hold observation noise only.",
        "- Meridian (`datasets/meridian/geo_all_channels.csv`): geo as shop, weekly; channels = the 5 paid "
        "channels' spend, organic impressions and Promo; target = conversions; context = population.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = benchmark_parser(__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=None, help="CausalMMM SVI steps (default: the spec's)")
    parser.add_argument("--data", nargs="+", choices=tuple(FULL), default=None)
    parser.add_argument("--models", nargs="+", choices=MODELS, default=None)
    parser.add_argument("--csv", default=None, help="also write the per-origin results to this CSV")
    args = parser.parse_args(argv)
    table = dict(QUICK if args.quick else FULL)
    if args.data:
        table = {k: table[k] for k in args.data}
    models = tuple(args.models or MODELS)
    results, shapes = run(table, args.seed, args.quick, args.steps, models)
    if args.csv:
        results.to_csv(args.csv, index=False)
    command = command_for("benchmarks.forecasting", argv)
    section = render(results, shapes, table, command, args.steps, args.note)
    publish(section, TITLE, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
