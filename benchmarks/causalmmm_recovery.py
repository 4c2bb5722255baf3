"""CausalMMM on the simulated scenarios: graph recovery (seen and held-out shops), the graph's worth for forecasts,
interval calibration, and cost. Writes the "CausalMMM (Pyro)" section of docs/benchmarks.md.

Full mode (default settings of the model, no tuning flags):
- sim1 (300 shops × 8 nodes × 100 days) and sim2 (50 shops × 14 nodes × 676 days) fitted with ``CausalMMMSpec()``
  on all but the last 14 days; 10% more shops of the same simulation are held out and get their edges from the
  encoder alone (what ``causalmmm edges`` does);
- per-shop AUROC/AUPRC (mean ± sd), AUROC restricted to receiving nodes, across-shop AUROC, against the linear
  Granger baseline on the same shops and days;
- 90% interval coverage of the target over forecast days 1–7 and 1–14 (channels given as the plan), and the target's
  forecast MSE under the posterior graph, the true graph and the empty graph (``poutine.do`` on ``graph``);
- seconds per SVI step and per epoch (one pass over the shops), steps to convergence, peak memory (each scenario in
  its own process), seconds for the edges of one new shop; and the default fit of a 12-shop, 8-node, 240-day panel.

``--quick`` runs tiny sizes (the test suite runs it so the script cannot rot).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

import numpy as np

from benchmarks._doc import DOC, parse_spec, replace_section, section_head
from benchmarks._memory import peak_memory_mb

TITLE = "## CausalMMM (Pyro): graph recovery, calibration, cost"
HOLDOUT = 14
FULL = {
    "sim1": dict(n_shops=300, held_out=30, n_days=None),
    "sim2": dict(n_shops=50, held_out=5, n_days=None),
    "small": dict(n_shops=12, held_out=0, n_days=240),
}
QUICK = {
    "sim1": dict(n_shops=8, held_out=2, n_days=60, steps=20),
    "sim2": dict(n_shops=3, held_out=1, n_days=60, steps=20, n_channels=4),
    "small": dict(n_shops=4, held_out=0, n_days=50, steps=20),
}


def converged_step(loss: list[float], window: int = 100, tol: float = 0.02) -> int:
    """First step after which the moving-average loss stays within ``tol`` (nats per value) of its final level."""
    x = np.asarray(loss, dtype=float)
    w = min(window, max(1, len(x) // 5))
    smooth = np.convolve(x, np.ones(w) / w, mode="valid")
    far = np.abs(smooth - smooth[-1]) > tol
    last_far = np.flatnonzero(far)
    return int((last_far[-1] + 1 if last_far.size else 0) + w)


def coverage(draws: np.ndarray, observed: np.ndarray, horizon: int, level: float = 0.9) -> float:
    """Share of observed values inside the central ``level`` interval over forecast days 1..horizon.

    draws : (draw, shop, day, …); observed : (shop, day, …)
    """
    lo, hi = np.quantile(draws[:, :, :horizon], [(1 - level) / 2, (1 + level) / 2], axis=0)
    obs = observed[:, :horizon]
    return float(((obs >= lo) & (obs <= hi)).mean())


def run_scenario(name: str, sizes: dict, seed: int, spec_overrides: dict | None = None) -> dict:
    """Fit, evaluate and time one scenario (call in a fresh process for a clean peak-memory figure);
    ``spec_overrides`` are ``CausalMMMSettings`` fields that replace the defaults (a variant)."""
    from causalmmm_ppl import _runtime

    _runtime.configure()
    from causalmmm_ppl.data.simulate import simulate
    from causalmmm_ppl.evaluation.granger import granger_scores
    from causalmmm_ppl.evaluation.graph_metrics import graph_report
    from causalmmm_ppl.inference.causalmmm_fit import fit_causalmmm
    from causalmmm_ppl.models.settings import CausalMMMSettings

    scenario = "sim1" if name == "small" else name
    n_train, held = sizes["n_shops"], sizes["held_out"]
    kw = {k: sizes[k] for k in ("n_days", "n_channels") if sizes.get(k)}
    sim = simulate(scenario, n_shops=n_train + held, seed=seed, **kw)
    panel = sim.panel
    t = panel.n_time
    train = panel.select_shops(np.arange(n_train))
    hold = name != "small"
    fit_panel = train.select_time(0, t - HOLDOUT) if hold else train
    settings = CausalMMMSettings.of(**({"steps": sizes["steps"]} if "steps" in sizes else {}),
                                    **(spec_overrides or {}))
    t0 = time.perf_counter()
    fit = fit_causalmmm(fit_panel, settings, seed=seed, progress=False)
    fit_seconds = time.perf_counter() - t0
    out: dict = {
        "name": name,
        "shape": f"{n_train}×{panel.n_nodes}×{fit_panel.n_time}",
        "steps": settings.inference.steps,
        "fit_seconds": fit_seconds,
        "step_seconds": fit.log.seconds / max(1, fit.log.steps_done),
        "epoch_seconds": fit.log.seconds / max(1, fit.log.steps_done)
        * np.ceil(n_train / settings.inference.batch_shops),
        "converged_step": converged_step(fit.log.loss),
    }
    truth = sim.adjacency
    out["ours"] = graph_report(fit.edge_probability_array(), truth[:n_train])
    out["ours_encoder"] = graph_report(fit.edge_probability_array(pooled=False), truth[:n_train])
    population = fit.guide.population
    out["pooling_templates"] = population.n_templates if population is not None else 0
    out["granger"] = graph_report(granger_scores(fit_panel), truth[:n_train])
    if held:
        new = panel.select_shops(np.arange(n_train, n_train + held)).select_time(0, t - HOLDOUT)
        t1 = time.perf_counter()
        probs = fit.edge_probability_array(new)
        out["new_shop_seconds"] = (time.perf_counter() - t1) / held
        out["held_out"] = graph_report(probs, truth[n_train:])
        out["held_out_encoder"] = graph_report(fit.edge_probability_array(new, pooled=False), truth[n_train:])
        out["held_out_granger"] = graph_report(granger_scores(new), truth[n_train:])
        one = new.select_shops([0])
        t1 = time.perf_counter()
        fit.edge_probabilities(one)
        out["one_new_shop_seconds"] = time.perf_counter() - t1
    if hold:
        history, plan = train.select_time(0, t - HOLDOUT), train.select_time(t - HOLDOUT, t)
        target = panel.n_nodes - 1
        obs = plan.values[..., target]
        draws = {}
        for label, graph in (("posterior", None), ("true", truth[:n_train]), ("empty", np.zeros_like(truth[:n_train]))):
            d = fit.forecast_samples(history, plan, seed=seed, graph=graph)[..., target]
            draws[label] = d
            out[f"mse_{label}"] = float(((d.mean(0) - obs) ** 2).mean())
            out[f"mse_scaled_{label}"] = float(
                (((d.mean(0) - obs) / fit.scaler.scale[:, target][:, None]) ** 2).mean()
            )
        out["coverage_7"] = coverage(draws["posterior"], obs, 7)
        out["coverage_14"] = coverage(draws["posterior"], obs, 14)
    out["peak_mb"] = peak_memory_mb()
    return out


def _ms(r: dict, key: str) -> str:
    return f"{r[key + '_mean']:.3f} ± {r[key + '_std']:.3f}"


def render(results: dict[str, dict], command: str) -> str:
    lines = [
        *section_head(TITLE, command),
        "Settings: `CausalMMMSpec()` defaults (the tuned settings; no tuning flags). Each scenario ran in its own "
        f"process. Fits use all but the last {HOLDOUT} days, which are forecast with the channels as the plan. "
        "Held-out shops come from the same simulation and were never seen in training: their edges are one pass of "
        "the amortized encoder (`causalmmm edges`).",
        "",
        "Graph recovery (ordered pairs i ≠ j; per-shop mean ± sd):",
        "",
        "| scenario | shops×nodes×days | shops | method | AUROC per shop | AUPRC per shop | AUROC receiving nodes "
        "| across-shop AUROC (pairs) | SHD at 0.5 |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name in ("sim1", "sim2"):
        r = results.get(name)
        if not r:
            continue
        k = r.get("pooling_templates", 0)
        pooled = f", pooled (K = {k})" if k else ""
        rows = [("seen", f"CausalMMM{pooled}", r["ours"])]
        if k:
            rows.append(("seen", "CausalMMM, encoder before pooling", r["ours_encoder"]))
        rows.append(("seen", "linear Granger", r["granger"]))
        if "held_out" in r:
            rows.append(("held out", f"CausalMMM (encoder only){pooled}", r["held_out"]))
            if k:
                rows.append(("held out", "CausalMMM, encoder before pooling", r["held_out_encoder"]))
            rows.append(("held out", "linear Granger", r["held_out_granger"]))
        for which, method, g in rows:
            shd = f"{g['shd_mean']:.1f}" if method.startswith("CausalMMM") else "–"
            lines.append(
                f"| {name} | {r['shape']} | {which} ({g['n_shops']}) | {method} | {_ms(g, 'auroc')} | "
                f"{_ms(g, 'auprc')} | {_ms(g, 'auroc_receiving')} | "
                f"{g['across_shop_auroc_mean']:.3f} ({g['across_shop_pairs']}) | {shd} |"
            )
    lines += [
        "",
        f"Forecasts of the target over the {HOLDOUT} held-out days (posterior-predictive rollouts, channels as the plan):",
        "",
        "| scenario | 90% coverage, days 1–7 | 90% coverage, days 1–14 | MSE posterior graph | MSE true graph "
        "| MSE empty graph | MSE (scaled) posterior / true / empty |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in ("sim1", "sim2"):
        r = results.get(name)
        if r and "coverage_7" in r:
            lines.append(
                f"| {name} | {r['coverage_7']:.3f} | {r['coverage_14']:.3f} | {r['mse_posterior']:.4g} | "
                f"{r['mse_true']:.4g} | {r['mse_empty']:.4g} | {r['mse_scaled_posterior']:.3f} / "
                f"{r['mse_scaled_true']:.3f} / {r['mse_scaled_empty']:.3f} |"
            )
    lines += [
        "",
        "Cost (2 cores; wall time of the whole fit includes feature computation):",
        "",
        "| run | shops×nodes×days | SVI steps | s / step | s / epoch | steps to convergence | fit wall time (s) "
        "| peak memory (MB) | edges of one new shop (s) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name in ("small", "sim1", "sim2"):
        r = results.get(name)
        if not r:
            continue
        label = "default fit, 12-shop sim1 panel" if name == "small" else name
        new = f"{r['one_new_shop_seconds']:.3f}" if "one_new_shop_seconds" in r else "–"
        lines.append(
            f"| {label} | {r['shape']} | {r['steps']} | {r['step_seconds']:.3f} | {r['epoch_seconds']:.2f} | "
            f"{r['converged_step']} | {r['fit_seconds']:.1f} | {r['peak_mb']:.0f} | {new} |"
        )
    lines += [
        "",
        "- Steps to convergence: first step after which the 100-step moving average of the loss (negative ELBO per "
        "scored shop-day) stays within 0.02 of its final value. An epoch is ceil(shops / batch_shops) steps.",
        "- Across-shop AUROC: for each ordered pair whose truth differs across shops, the AUROC of its probability "
        "across shops (does the posterior move with the shop's own data?), averaged over such pairs.",
        "- Pooled: the reported edge probabilities, after the population layer (`edge_pooling`, default on) fitted "
        "to the training shops' encoder logits after SVI, with K graph templates chosen by the approximate marginal likelihood (Cheeseman–Stutz); a held-out shop's "
        "come from its own encoder pass through the same layer. \"Encoder before pooling\": the same fit's encoder "
        "probabilities without that layer.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes (for tests)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", choices=("sim1", "sim2", "small"), help="run one scenario in this process, print JSON")
    parser.add_argument("--no-write", action="store_true", help="print the section instead of writing it")
    parser.add_argument("--spec", nargs="*", default=[], metavar="KEY=VALUE",
                        help="with --only: CausalMMMSettings fields of a variant, e.g. graph_templates=5")
    args = parser.parse_args(argv)
    table = QUICK if args.quick else FULL
    if args.only:
        print(json.dumps(run_scenario(args.only, table[args.only], args.seed, parse_spec(args.spec)), default=float))
        return 0
    if args.spec:
        raise SystemExit("--spec needs --only: the section reports the defaults")
    results = {}
    for name in ("small", "sim1", "sim2"):
        cmd = [sys.executable, "-m", "benchmarks.causalmmm_recovery", "--only", name, "--seed", str(args.seed)]
        if args.quick:
            cmd.append("--quick")
        done = subprocess.run(cmd, capture_output=True, text=True, check=True)
        results[name] = json.loads(done.stdout.strip().splitlines()[-1])
        print(f"{name}: done in {results[name]['fit_seconds']:.1f} s", file=sys.stderr)
    command = ".venv/bin/python -m benchmarks.causalmmm_recovery" + (" --quick" if args.quick else "")
    section = render(results, command)
    if args.no_write or args.quick:
        print(section)
    else:
        replace_section(section, TITLE, DOC)
        print(section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
