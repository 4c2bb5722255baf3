"""Ablations as in the paper: CausalMMM without saturation, without carryover, and without the graph (empty and
full graph), at horizon 7 — target MSE and edge AUROC — and the other response families. Writes the "Ablations"
section of docs/benchmarks.md.

Rolling origins as in benchmarks/forecasting.py (fit on the days before the origin only, channels as the plan).
- "without saturation" / "without carryover": refitted with ``CausalMMMSpec(saturation="none")`` /
  ``CausalMMMSpec(adstock="none")`` (the causes' signal is adstock(x) / Hill(x));
- "delayed carryover" / "Michaelis–Menten saturation": refitted with the other registered families
  (:mod:`causalmmm_ppl.models.response`);
- "empty graph" / "full graph": the full model's fit, forecast with the graph imposed by ``poutine.do`` on the
  ``graph`` site (``forecast_samples(..., graph=...)``): every edge cut, or every candidate edge on;
- "true graph": the same, with the simulation's graph (an oracle reference, not an ablation).

``--quick`` runs tiny sizes (the test suite runs it so the script cannot rot).
"""

from __future__ import annotations

import sys
import time

import numpy as np

from benchmarks._doc import benchmark_parser, command_for, publish, section_head
from benchmarks.graph_recovery import candidate_mask

TITLE = "## Ablations"
FULL = dict(scenario="sim2", n_shops=20, n_days=338, n_origins=2, horizon=7)
QUICK = dict(scenario="sim2", n_shops=2, n_days=50, n_channels=3, n_origins=1, horizon=3)
QUICK_SPEC = dict(steps=10, batch_shops=2, window=30, num_draws=8, hidden=8, encoder_hidden=16)
#: the refitted variants and the settings each changes
REFITS = {"CausalMMM (full)": {}, "without saturation": {"saturation": "none"}, "without carryover": {"adstock": "none"},
          "delayed carryover": {"adstock": "delayed"}, "Michaelis–Menten saturation": {"saturation": "michaelis_menten"}}
VARIANTS = (*REFITS, "empty graph", "full graph", "true graph (oracle)")
NUM_DRAWS = 200


def run(cfg: dict, seed: int, quick: bool, steps: int | None) -> tuple[dict, str]:
    from causalmmm_ppl.data.simulate import simulate
    from causalmmm_ppl.evaluation.backtest import blind_plan, rolling_origins, score_origin
    from causalmmm_ppl.evaluation.graph_metrics import per_shop_auroc
    from causalmmm_ppl.inference.causalmmm_fit import fit_causalmmm
    from causalmmm_ppl.models.settings import CausalMMMSettings

    kw = {k: cfg[k] for k in ("n_shops", "n_days", "n_channels") if k in cfg}
    sim = simulate(cfg["scenario"], seed=seed, **kw)
    panel, truth = sim.panel, sim.adjacency
    h = cfg["horizon"]
    origins = rolling_origins(panel.n_time, h, cfg["n_origins"], min_train=20)
    base = dict(QUICK_SPEC) if quick else {}
    if steps:
        base["steps"] = steps
    out: dict = {v: {"metrics": [], "auroc": [], "seconds": []} for v in VARIANTS}
    target = panel.n_nodes - 1
    # the variants share the graph prior, hence the candidates
    cand = candidate_mask(panel, CausalMMMSettings.of(**base).model)
    for k, o in enumerate(origins):
        history, plan, obs = panel.select_time(0, o), blind_plan(panel, o, o + h), panel.select_time(o, o + h)
        fits = {}
        for variant, extra in REFITS.items():
            t0 = time.perf_counter()
            fits[variant] = fit_causalmmm(history, CausalMMMSettings.of(**base, **extra), seed=seed + k, progress=False)
            out[variant]["seconds"].append(time.perf_counter() - t0)
            out[variant]["auroc"].extend(per_shop_auroc(fits[variant].edge_probability_array(), truth, cand).tolist())
            print(f"origin {o} {variant}: fitted in {out[variant]['seconds'][-1]:.0f} s", file=sys.stderr, flush=True)
        full = fits["CausalMMM (full)"]
        graphs = {"empty graph": np.zeros_like(truth, dtype=float),
                  "full graph": np.broadcast_to(cand, truth.shape).astype(float),
                  "true graph (oracle)": truth.astype(float)}
        for variant in VARIANTS:
            fit = full if variant in graphs else fits[variant]
            draws = fit.forecast_samples(history, plan, num_draws=NUM_DRAWS, seed=seed + k, graph=graphs.get(variant))
            out[variant]["metrics"].extend(score_origin(draws, obs, history, [h], [target]))
    shape = f"{panel.n_shops}×{panel.n_nodes}×{panel.n_time}, origins {', '.join(map(str, origins))}"
    return out, shape


def _ms(x: list[float]) -> str:
    a = np.asarray(x, dtype=float)
    a = a[~np.isnan(a)]
    return f"{a.mean():.3f} ± {a.std():.3f}" if a.size else "–"


def render(out: dict, shape: str, cfg: dict, command: str, steps: int | None, note: str = "") -> str:
    h = cfg["horizon"]
    lines = [
        *section_head(TITLE, command),
        f"Data: {cfg['scenario']} ({shape}); horizon {h}: the target over forecast steps 1..{h}, channels as the "
        "plan, fits on the days before each origin only; metrics are means over origins, AUROC per shop over the "
        "model's candidate pairs (no self-loop, no edge out of the target), mean ± sd over shops and origins. "
        "CausalMMM settings: `CausalMMMSpec()` defaults"
        f"{f' except steps={steps}' if steps else ''}. " + (note + " " if note else ""),
        "",
        f"| variant | how | MSE (h={h}) | MSE scaled | CRPS scaled | 90% coverage | AUROC per shop | fit (s) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    how = {
        **{v: "refit, " + ", ".join(f'`{k}="{x}"`' for k, x in extra.items()) if extra else "as fitted"
           for v, extra in REFITS.items()},
        "empty graph": "full fit, `do(graph = 0)`",
        "full graph": "full fit, `do(graph = all candidates)`",
        "true graph (oracle)": "full fit, `do(graph = truth)`",
    }
    for v in VARIANTS:
        r = out[v]
        m = r["metrics"]
        mean = lambda key: float(np.mean([x[key] for x in m])) if m else float("nan")  # noqa: E731
        auroc = _ms(r["auroc"]) if r["auroc"] else "– (graph imposed)"
        fit_s = f"{np.mean(r['seconds']):.0f}" if r["seconds"] else "–"
        lines.append(f"| {v} | {how[v]} | {mean('mse'):.4g} | {mean('mse_scaled'):.4f} | {mean('crps_scaled'):.4f} "
                     f"| {mean('coverage'):.3f} | {auroc} | {fit_s} |")
    lines += [
        "",
        "- The graph ablations intervene on the fitted model (`poutine.do` on the `graph` site, "
        "`CausalMMMFit.forecast_samples(graph=...)`); the response networks were trained with the learned graph, so "
        "they measure what the learned graph is worth to *this* decoder, not a model trained without a graph "
        "(for that, see the GRU row of the forecasting table). AUROC is undefined for an imposed constant graph.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = benchmark_parser(__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=None, help="CausalMMM SVI steps (default: the spec's)")
    args = parser.parse_args(argv)
    cfg = QUICK if args.quick else FULL
    out, shape = run(cfg, args.seed, args.quick, args.steps)
    command = command_for("benchmarks.ablations", argv)
    section = render(out, shape, cfg, command, args.steps, args.note)
    publish(section, TITLE, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
