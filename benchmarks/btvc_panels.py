"""BTVC on many shops: one joint NUTS run against SVI on a daily multi-shop panel, for the default method choice.

Writes the section "BTVC on many shops" of docs/benchmarks.md. The panel is sim2 with ``SHOPS`` shops × ``DAYS``
days (12 channels with zero-spend runs and bursts); both fits use the first ``DAYS - HOLDOUT`` days and forecast the
rest from the actual spend. Rows:

- **NUTS**: ``BTVCInference(method="nuts")`` with its defaults (4 chains × 1000 warm-up + 1000 draws, all shops in
  one vectorised model);
- **SVI**: ``BTVCInference(method="svi")`` with its defaults (3000 steps, mean-field normal guide, 1000 draws): what
  ``method="auto"`` (the default) runs on panels of more than ``NUTS_MAX_SHOPS`` shops.

Reported: wall time (compilation included), the largest R-hat and the smallest bulk ESS over the latent parameters
and the divergences (NUTS), and the holdout forecast's WAPE, scaled CRPS and 90% coverage
(:func:`causalmmm_ppl.evaluation.backtest.score_origin`). One panel and one seed: the NUTS run alone takes minutes.

``python -m benchmarks.btvc_panels``; ``--quick`` runs tiny sizes (the test suite runs it so the script cannot rot).
"""

from __future__ import annotations

import time

from benchmarks._doc import section_head, single_benchmark

TITLE = "## BTVC on many shops"
SHOPS, DAYS, HOLDOUT, SEED = 10, 300, 14, 0
QUICK = {"shops": 2, "days": 40, "nuts": dict(num_chains=2, num_warmup=10, num_samples=10, nuts_init="prior"),
         "svi": dict(svi_steps=20, svi_draws=20)}


def run(quick: bool) -> dict:
    """Fit both methods on the panel and score their holdout forecasts."""
    from causalmmm_ppl import _runtime

    _runtime.configure()
    from benchmarks.forecasting import _target_only
    from causalmmm_ppl.data.simulate import simulate
    from benchmarks._engines import holdout
    from causalmmm_ppl.evaluation.backtest import score_origin
    from causalmmm_ppl.evaluation.diagnostics import diagnostics_table
    from causalmmm_ppl.inference.btvc import fit_btvc
    from causalmmm_ppl.models.btvc_spec import NUTS_MAX_SHOPS, BTVCInference, BTVCSpec

    shops, days = (QUICK["shops"], QUICK["days"]) if quick else (SHOPS, DAYS)
    panel = simulate("sim2", n_shops=shops, n_days=days, seed=SEED).panel
    history, plan, truth = holdout(panel, HOLDOUT)
    zero = float((history.values[..., history.channel_index][history.mask] == 0).mean())
    out = {"shops": shops, "days": days, "zero_share": zero, "nuts_max_shops": NUTS_MAX_SHOPS, "rows": {}}
    for method in ("nuts", "svi"):
        inf = BTVCInference(method=method, **(QUICK[method] if quick else {}))
        t0 = time.perf_counter()
        fit = fit_btvc(history, BTVCSpec(), inf, seed=SEED, progress=False)
        seconds = time.perf_counter() - t0
        draws = _target_only(history, plan, fit.forecast_samples(plan, seed=SEED + 2))  # (draw, shop, day, node)
        scores = score_origin(draws, truth, history, (HOLDOUT,), [panel.n_nodes - 1])[0]
        row = {"seconds": seconds, "setting": (f"{inf.num_chains} chains × {inf.num_warmup} warm-up × "
                                               f"{inf.num_samples} draws" if method == "nuts" else
                                               f"{inf.svi_steps} steps, {inf.svi_draws} draws"),
               "wape": scores["wape"], "crps": scores["crps_scaled"], "coverage": scores["coverage"]}
        if method == "nuts":
            table = diagnostics_table(fit.to_inference_data(include_paths=False, posterior_predictive=False))
            overall = table.set_index("group").loc["all"]
            worst = table[table["group"] != "all"].sort_values("rhat_max", ascending=False).iloc[0]
            row |= {"rhat": float(overall["rhat_max"]), "ess": float(overall["ess_bulk_min"]),
                    "divergences": int(overall["divergences"]), "worst_group": str(worst["group"])}
        out["rows"][method] = row
    return out


def render(r: dict, command: str) -> str:
    lines = [
        *section_head(TITLE, command),
        "",
        f"sim2 (`simulate('sim2', n_shops={r['shops']}, n_days={r['days']}, seed={SEED})`): {r['shops']} shops × "
        f"{r['days']} days, 12 channels ({r['zero_share']:.0%} of channel-days without spend); both fits on the first "
        f"{r['days'] - HOLDOUT} days, all shops in one model, default `BTVCSpec`; holdout: the last {HOLDOUT} days "
        "forecast from their actual spend (WAPE of the median, CRPS in units of the shop's mean training target, "
        "share of values inside the 90% interval). One panel, seed 0. Wall time includes compilation; both cores.",
        "",
        "| method | setting | wall time (s) | max R-hat | min bulk ESS | divergences | WAPE | CRPS (scaled) | "
        "90% coverage |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for method, label in (("nuts", "NUTS"), ("svi", "SVI (mean-field normal)")):
        row = r["rows"][method]
        diag = (f"{row['rhat']:.3f} ({row['worst_group']}) | {row['ess']:.0f} | {row['divergences']}"
                if method == "nuts" else "– | – | –")
        lines.append(f"| {label} | {row['setting']} | {row['seconds']:.1f} | {diag} | {row['wape']:.3f} | "
                     f"{row['crps']:.3f} | {row['coverage']:.3f} |")
    lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    return single_benchmark(argv, module="benchmarks.btvc_panels", title=TITLE, description=__doc__.splitlines()[0],
                            run=run, render=render)


if __name__ == "__main__":
    raise SystemExit(main())
