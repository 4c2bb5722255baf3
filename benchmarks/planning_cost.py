"""What the planning answers cost at the effects issue's size: 50 shops × 12 channels, 200 posterior draws.

Writes the section "Planning cost: effects and allocation" of docs/benchmarks.md. One sim2 panel (50 shops, 12
channels, a page-view mediator) is split into its history and a 14-day plan; each model is fitted once and then timed
on ``forecast``, on ``effects`` (every channel's ``total``, ``held`` and ``direct`` effect and its mROAS) and on
``allocate`` (the plan's budget redistributed, default bounds), all with 200 draws, on 2 threads. The fits use short
settings (CausalMMM 300 SVI steps, BTVC 1000): what is timed does not depend on how well they converged. Goals
(effects issue): effects ≤ 60 s, allocate ≤ 3 min. Also CausalMMM's forecast at the real-data issue's size: 190
shops, 8 periods, 200 draws after 101 periods of history (a sim1 panel; goal ≤ 30 s).

``python -m benchmarks.planning_cost``; ``--quick`` runs tiny sizes (the test suite runs it so the script cannot rot).
"""

from __future__ import annotations

import time

from benchmarks._doc import section_head, single_benchmark
from benchmarks._engines import split_last

TITLE = "## Planning cost: effects and allocation"
HORIZON = 14
DRAWS = 200
FULL = dict(n_shops=50, steps=300, btvc_steps=1000, draws=DRAWS)
QUICK = dict(n_shops=6, n_days=60, steps=10, btvc_steps=20, draws=4, restarts=1)  # one SVI run on its 6 shops
WIDE, WIDE_QUICK, WIDE_HORIZON = dict(n_shops=190, n_days=109), dict(n_shops=6, n_days=30), 8


def run(quick: bool) -> dict:
    from causalmmm_ppl import _runtime

    _runtime.configure(2)
    from causalmmm_ppl.data.simulate import simulate
    from causalmmm_ppl.inference.allocate import allocate
    from causalmmm_ppl.inference.btvc import fit_btvc
    from causalmmm_ppl.inference.causalmmm_fit import fit_causalmmm
    from causalmmm_ppl.models.btvc_spec import BTVCInference, BTVCSpec
    from causalmmm_ppl.models.settings import CausalMMMSettings

    size = QUICK if quick else FULL
    sim = simulate("sim2", n_shops=size["n_shops"], **({"n_days": size["n_days"]} if "n_days" in size else {}), seed=0)
    panel = sim.panel
    history, plan = split_last(panel, HORIZON)
    out = {"shape": f"{panel.n_shops}×{len(panel.channel_index)}×{panel.n_time}", "draws": size["draws"], "rows": {}}
    t0 = time.perf_counter()
    fits = {"CausalMMM": fit_causalmmm(history, CausalMMMSettings.of(steps=size["steps"], restarts=size.get("restarts")), seed=0, progress=False)}
    fit_s = {"CausalMMM": time.perf_counter() - t0}
    t0 = time.perf_counter()
    fits["BTVC (SVI)"] = fit_btvc(history, BTVCSpec(), BTVCInference(method="svi", svi_steps=size["btvc_steps"],
                                                                    svi_draws=size["draws"]), seed=0, progress=False)
    fit_s["BTVC (SVI)"] = time.perf_counter() - t0
    for name, fit in fits.items():
        t0 = time.perf_counter()
        fit.forecast(history, plan, seed=0)
        forecast_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        fit.effects(history, plan, num_draws=size["draws"], seed=0)
        effects_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        allocate(fit, history, plan, num_draws=size["draws"], seed=0)
        out["rows"][name] = {"fit": fit_s[name], "forecast": forecast_s, "effects": effects_s,
                             "allocate": time.perf_counter() - t0}
    wide = simulate("sim1", **WIDE_QUICK if quick else WIDE, seed=0).panel
    past = wide.select_time(0, wide.n_time - WIDE_HORIZON)
    fit = fit_causalmmm(past, CausalMMMSettings.of(steps=size["steps"], num_draws=size["draws"], restarts=size.get("restarts")), seed=0,
                        progress=False)
    t0 = time.perf_counter()
    fit.forecast(past, wide.select_time(wide.n_time - WIDE_HORIZON, wide.n_time), seed=0)
    out["wide"] = {"shape": f"{wide.n_shops}×{WIDE_HORIZON}", "history": past.n_time,
                   "seconds": time.perf_counter() - t0}
    return out


def render(result: dict, command: str) -> str:
    lines = [
        *section_head(TITLE, command),
        "",
        f"One sim2 panel ({result['shape']}: shops × channels × days), the last {HORIZON} days as the plan, "
        f"{result['draws']} draws, 2 threads. Seconds of wall time; the fits use short settings (CausalMMM 300 SVI "
        "steps, BTVC SVI 1000 steps).",
        "",
        "| model | fit s | forecast s | effects s (goal ≤ 60) | allocate s (goal ≤ 180) |",
        "|---|---|---|---|---|",
    ]
    for name, r in result["rows"].items():
        lines.append(f"| {name} | {r['fit']:.0f} | {r['forecast']:.0f} | {r['effects']:.0f} | {r['allocate']:.0f} |")
    w = result["wide"]
    lines += ["", f"CausalMMM forecast of {w['shape']} (shops × periods) with {result['draws']} draws after "
              f"{w['history']} periods of history (sim1; the real-data issue's size, goal ≤ 30 s): "
              f"{w['seconds']:.1f} s."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    return single_benchmark(argv, module="benchmarks.planning_cost", title=TITLE,
                            description=__doc__.splitlines()[0], run=run, render=render)


if __name__ == "__main__":
    raise SystemExit(main())
