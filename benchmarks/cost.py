"""Cost vs size: seconds per SVI step and per epoch, and peak memory, for 10 … 10,000 simulated shops (fixed nodes and
days) and for T = 100, 338, 676 days (fixed shops). Writes the "Cost vs size" section of docs/benchmarks.md.

Each size runs in its own process (a clean peak-memory figure). In a process: simulate (sim1 layout: 8 nodes),
prepare the tensors (scaling + encoder features: the whole panel is held in memory), run a fixed number of SVI steps
(``CausalMMMSpec()`` defaults otherwise: minibatches of 32 shops × 128-day windows), then fit the edge pooling layer
(``edge_pooling``, once, on every shop's encoder logits) and time one amortized-encoder pass over every shop (edges of
all shops, through the layer where it is used). Peak resident memory is read after preparation and again after
training (before the pooling fit): the difference is what training adds on top of holding the panel.

``--quick`` runs tiny sizes (the test suite runs it so the script cannot rot).
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time

import numpy as np

from benchmarks._doc import benchmark_parser, command_for, publish, section_head
from benchmarks._memory import peak_memory_mb

TITLE = "## Cost vs size"
WARMUP_STEPS = 3
FULL = dict(shops=(10, 100, 1000, 10000), days=(100, 338, 676), fixed_days=100, fixed_shops=100, steps=40)
QUICK = dict(shops=(4, 8), days=(40, 60), fixed_days=40, fixed_shops=4, steps=6)


def _peak_mb() -> float:
    return peak_memory_mb()


def measure(n_shops: int, n_days: int, steps: int, seed: int = 0) -> dict:
    """Time and memory of one size (call in a fresh process)."""
    from causalmmm_ppl import _runtime

    _runtime.configure()
    import torch

    from causalmmm_ppl.data.scaling import PanelScaler
    from causalmmm_ppl.data.simulate import simulate
    from causalmmm_ppl.inference.causalmmm_data import prepare_data
    from causalmmm_ppl.inference.causalmmm_pooling import encoder_logits, pool_edges
    from causalmmm_ppl.inference.causalmmm_setup import build_model
    from causalmmm_ppl.inference.svi import train
    from causalmmm_ppl.models.settings import CausalMMMSettings

    base = _peak_mb()
    settings = CausalMMMSettings.of(steps=steps)
    t0 = time.perf_counter()
    panel = simulate("sim1", n_shops=n_shops, n_days=n_days, seed=seed).panel
    sim_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    scaler = PanelScaler.fit(panel, method="mean")
    c_loc, c_scale = panel.context.mean(0), np.where(panel.context.std(0) > 0, panel.context.std(0), 1.0)
    torch.manual_seed(seed)
    model, guide = build_model(panel, settings)
    data = prepare_data(panel, scaler, c_loc, c_scale, settings.model)
    prep_s = time.perf_counter() - t0
    after_prep = _peak_mb()
    # Time every SVI step (a wrapper around svi.svi_step) and take the median after the warm-up steps: robust to
    # bursts of load from other processes and free of train()'s fixed set-up cost.
    from causalmmm_ppl.inference import svi

    times: list[float] = []
    original = svi.svi_step

    def timed(*a, **k):
        t = time.perf_counter()
        out = original(*a, **k)
        times.append(time.perf_counter() - t)
        return out

    svi.svi_step = timed
    try:
        log = train(model, guide, data, settings, seed=seed, progress=False)
    finally:
        svi.svi_step = original
    after_train = _peak_mb()
    step_s = float(np.median(times[WARMUP_STEPS:] if len(times) > WARMUP_STEPS else times))
    t0 = time.perf_counter()
    pool_edges(model, guide, encoder_logits(guide, data, settings.model), settings, seed)  # once, after SVI
    pool_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    with torch.no_grad():
        for k in range(0, n_shops, 1024):  # the encoder pass streams shops in chunks
            idx = torch.arange(k, min(n_shops, k + 1024))
            guide.edge_probabilities(data.full_batch(idx, temperature=settings.model.temperature))
    edges_s = time.perf_counter() - t0
    return {
        "shops": n_shops, "days": n_days, "nodes": panel.n_nodes, "steps": log.steps_done,
        "sim_s": sim_s, "prep_s": prep_s, "step_s": step_s,
        "epoch_s": step_s * math.ceil(n_shops / settings.inference.batch_shops),
        "pass_s": step_s * math.ceil(n_shops / settings.inference.batch_shops)
        * math.ceil(n_days / settings.inference.window),
        "edges_s": edges_s, "pool_s": pool_s, "base_mb": base, "prep_mb": after_prep, "peak_mb": after_train,
        "train_add_mb": after_train - after_prep, "panel_mb": (data.x.numel() * 4 + data.observed.numel()) / 2**20,
    }


def slope(x: list[float], y: list[float]) -> float:
    """Least-squares slope of log y on log x (1 = linear)."""
    lx, ly = np.log(np.asarray(x, float)), np.log(np.asarray(y, float))
    return float(np.polyfit(lx, ly, 1)[0])


def render(shop_rows: list[dict], day_rows: list[dict], command: str, note: str = "") -> str:
    lines = [
        *section_head(TITLE, command),
        "Each size in its own process; sim1 layout (8 nodes); `CausalMMMSpec()` defaults (32 shops × 128-day windows "
        f"per SVI step) for {shop_rows[0]['steps']} timed steps. An epoch is ceil(shops / 32) steps (every shop once, "
        "one window each); a data pass is an epoch × ceil(days / 128) (every shop-day once). Peak memory is the "
        "process's maximum resident set: after preparing the tensors, and after training. s / step is the median "
        f"wall time of one SVI step after {WARMUP_STEPS} warm-up steps (robust to bursts of load from other jobs). "
        + (note + " " if note else ""),
        "",
        "| shops | days | s / step | s / epoch | s / data pass | prepare (s) | edge pooling fit (s) | edges, all shops (s) "
        "| shops / s (edges) | panel tensors (MB) | peak after prepare (MB) | peak after training (MB) "
        "| training adds (MB) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in shop_rows + [r for r in day_rows if r not in shop_rows]:
        lines.append(
            f"| {r['shops']} | {r['days']} | {r['step_s']:.3f} | {r['epoch_s']:.2f} | {r['pass_s']:.2f} | "
            f"{r['prep_s']:.2f} | {r['pool_s']:.2f} | {r['edges_s']:.2f} | {r['shops'] / max(r['edges_s'], 1e-9):.0f} | "
            f"{r['panel_mb']:.1f} | {r['prep_mb']:.0f} | {r['peak_mb']:.0f} | {r['train_add_mb']:.0f} |"
        )
    s = [r["shops"] for r in shop_rows]
    d = [r["days"] for r in day_rows]
    lines += [
        "",
        "Log–log slopes (1 = linear, 0 = flat):",
        "",
        f"- vs shops ({s[0]}–{s[-1]}): s / epoch {slope(s, [r['epoch_s'] for r in shop_rows]):.2f}, "
        f"s / step {slope(s, [r['step_s'] for r in shop_rows]):.2f}, prepare {slope(s, [r['prep_s'] for r in shop_rows]):.2f}, "
        f"edges {slope(s, [r['edges_s'] for r in shop_rows]):.2f}, "
        f"peak memory above the interpreter {slope(s, [max(r['peak_mb'] - r['base_mb'], 1.0) for r in shop_rows]):.2f}, "
        f"memory training adds {slope(s, [max(r['train_add_mb'], 1.0) for r in shop_rows]):.2f}.",
        f"- vs days ({d[0]}–{d[-1]}, {day_rows[0]['shops']} shops): s / step {slope(d, [r['step_s'] for r in day_rows]):.2f}, "
        f"s / data pass {slope(d, [r['pass_s'] for r in day_rows]):.2f}, prepare {slope(d, [r['prep_s'] for r in day_rows]):.2f}, "
        f"peak memory above the interpreter {slope(d, [max(r['peak_mb'] - r['base_mb'], 1.0) for r in day_rows]):.2f}.",
        "- Where memory is flat: an SVI step sees one minibatch of shops and one window of days, so what training "
        "adds on top of the prepared panel does not grow with shops or days; the prepared panel itself (values, masks "
        "and the encoder's per-shop features, all held as tensors) grows linearly with shops × days. Feature "
        "preparation and the encoder pass stream shops in chunks of 512 / 1024.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = benchmark_parser(__doc__.splitlines()[0])
    parser.add_argument("--one", nargs=3, type=int, metavar=("SHOPS", "DAYS", "STEPS"),
                        help="measure one size in this process, print JSON")
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(measure(*args.one)))
        return 0
    cfg = QUICK if args.quick else FULL

    def one(shops: int, days: int) -> dict:
        if args.quick:  # in-process: peak memory is not per size, but the script is exercised end to end
            return measure(shops, days, cfg["steps"])
        cmd = [sys.executable, "-m", "benchmarks.cost", "--one", str(shops), str(days), str(cfg["steps"])]
        done = subprocess.run(cmd, capture_output=True, text=True, check=True)
        r = json.loads(done.stdout.strip().splitlines()[-1])
        print(f"{shops} shops × {days} days: {r['step_s']:.3f} s/step, peak {r['peak_mb']:.0f} MB", file=sys.stderr,
              flush=True)
        return r

    shop_rows = [one(s, cfg["fixed_days"]) for s in cfg["shops"]]
    day_rows = [one(cfg["fixed_shops"], d) for d in cfg["days"] if d != cfg["fixed_days"]]
    day_rows = [r for r in shop_rows if r["shops"] == cfg["fixed_shops"]] + day_rows
    command = command_for("benchmarks.cost", argv)
    section = render(shop_rows, day_rows, command, args.note)
    publish(section, TITLE, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
