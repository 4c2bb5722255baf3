"""Scale out: data-parallel SVI on 1 and 2 processes (torch.distributed, gloo) at 1,000 and 10,000 shops.

Writes the section "Scale out" of docs/benchmarks.md. Each panel is sim1 (8 nodes, 100 days, seed 0) written once
as Parquet; every configuration is launched by torch's elastic launcher (what ``causalmmm fit --nproc N`` and
``torchrun`` use), and each process reads the Parquet file, prepares its share of the encoder's features
(:func:`causalmmm_ppl.inference.causalmmm_data.prepare_data` with a shard) and runs ``STEPS`` SVI steps
(:func:`causalmmm_ppl.inference.svi.train`) on its own shops. Measured per process: reading and preparation time,
SVI seconds per step, the share of those spent in the gradient all-reduce, and peak resident memory
(``VmHWM``, :func:`benchmarks._memory.peak_memory_mb`). Rows: one process with both threads, two processes with one thread each at the same global
minibatch (32 shops: 16 per process, the same optimisation as one process) and at twice it (32 per process).

The projection to 8 and 64 processes is arithmetic on measured figures, not a measurement: the compute of one step
on one thread at the per-process batch (measured at 4, 16 and 32 shops, interpolated linearly) plus a ring
all-reduce of the measured gradient bytes at an assumed link (``LINK_GBIT`` Gbit/s, ``LINK_LATENCY_US`` µs per
message: ``2 (W − 1)`` messages of ``bytes / W``).

Two more tables: ``causalmmm edges`` on new shops, whole or with ``--shops-per-chunk`` (seconds and peak memory of
the process), and the same default fit (seed 0) of sim1 (300 shops) and sim2 (50 shops) with one and with two
processes, scored by per-shop AUROC over candidate pairs.

``python -m benchmarks.scale_out``; ``--quick`` runs tiny sizes (the test suite runs it so the script cannot rot).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

from benchmarks._doc import section_head, single_benchmark
from benchmarks._memory import peak_memory_mb

TITLE = "## Scale out"
SIZES, DAYS, STEPS, SEED = (1000, 10000), 100, 100, 0
QUICK = {"sizes": (12,), "days": 40, "steps": 4, "configs": [(2, 1, 64)], "calibration": (32,),
         "edges": ((12, 4), (12, None))}
#: ``causalmmm edges`` runs: (shops in DATA, --shops-per-chunk or None for the whole panel at once)
EDGES = ((2000, 500), (8000, 500), (8000, None))
#: Recovery with 1 and 2 processes at the default settings: (scenario, shops, days)
RECOVERY = (("sim1", 300, 100), ("sim2", 50, 676))
QUICK_RECOVERY = (("sim1", 12, 40),)
CONFIGS = [(1, 2, 32), (2, 1, 32), (2, 1, 64)]  # (processes, threads each, global minibatch)
CALIBRATION_BATCHES = (4, 16, 32)
LINK_GBIT, LINK_LATENCY_US = 10.0, 50.0
PROJECTED = (8, 64)


def save_panel(sim, path: Path) -> None:
    """A simulation's panel as Parquet at ``path``, its columns (``Simulation.spec``) beside it as JSON."""
    import dataclasses

    sim.panel.to_frame().to_parquet(path, index=False)
    path.with_suffix(".json").write_text(json.dumps(dataclasses.asdict(sim.spec)))


def read_panel(path: Path):
    """The panel :func:`save_panel` wrote, and its columns."""
    import pandas as pd

    from causalmmm_ppl.data.load import load_panel
    from causalmmm_ppl.data.panel import ColumnSpec

    columns = ColumnSpec(**json.loads(path.with_suffix(".json").read_text()))
    return load_panel(pd.read_parquet(path), columns), columns


def worker(path: Path, out: Path, batch: int, steps: int) -> None:
    """One process of a configuration: read, prepare its shard, train; write ``rank_<r>.json``."""
    from causalmmm_ppl import _runtime

    _runtime.configure()
    import torch

    from causalmmm_ppl.inference import distributed
    from causalmmm_ppl.inference.causalmmm_setup import training_setup
    from causalmmm_ppl.inference.distributed import Shard
    from causalmmm_ppl.inference.svi import train
    from causalmmm_ppl.models.settings import CausalMMMSettings

    shard = Shard.from_env()
    distributed.init(shard)
    t0 = time.perf_counter()
    panel, _ = read_panel(path)
    read = time.perf_counter() - t0
    settings = CausalMMMSettings.of(steps=steps, batch_shops=batch)
    t0 = time.perf_counter()
    setup = training_setup(panel, settings, SEED, shard)
    prepared = time.perf_counter() - t0
    log = train(setup.model, setup.guide, setup.data, settings, seed=SEED, progress=False, shard=shard)
    params = sum(p.numel() for p in setup.model.parameters()) + sum(p.numel() for p in setup.guide.parameters())
    row = {"rank": shard.rank, "world": shard.world, "threads": torch.get_num_threads(), "read": read,
           "prepare": prepared, "svi": log.seconds, "reduce": log.reduce_seconds, "steps": log.steps_done,
           "rss_mb": peak_memory_mb(), "params": params}
    (out / f"rank_{shard.rank}.json").write_text(json.dumps(row))
    distributed.finish(shard)


def recovery_worker(path: Path, out: Path, steps: int) -> None:
    """One process of a default fit (``steps``: None for the default) of the simulated panel saved at ``path``
    (:func:`save_panel`, with ``truth.npy`` beside it); process 0 writes the per-shop AUROC over candidate pairs."""
    from causalmmm_ppl import _runtime

    _runtime.configure()
    import numpy as np

    from benchmarks.graph_recovery import candidate_mask
    from causalmmm_ppl.evaluation.graph_metrics import per_shop_auroc
    from causalmmm_ppl.inference.causalmmm_fit import fit_causalmmm
    from causalmmm_ppl.inference.distributed import Shard
    from causalmmm_ppl.models.settings import CausalMMMSettings

    panel, _ = read_panel(path)
    settings = CausalMMMSettings.of(**({"steps": steps} if steps else {}))
    t0 = time.perf_counter()
    fit = fit_causalmmm(panel, settings, seed=SEED, progress=False, shard=Shard.from_env())
    if fit is not None:
        prob = fit.edge_probability_array()
        score = per_shop_auroc(prob, np.load(path.with_suffix(".npy")), candidate_mask(panel, fit.spec))
        (out / "rank_0.json").write_text(json.dumps({"auroc": float(np.nanmean(score)), "seconds":
                                                     time.perf_counter() - t0, "svi": fit.log.seconds}))


def recovery(tmp: Path, runs: tuple, steps: int | None, procs: tuple = ((1, 2), (2, 1))) -> list[dict]:
    """Per-shop AUROC of a default fit with 1 and with 2 processes (same seed) on each simulated panel."""
    import numpy as np

    from causalmmm_ppl.data.simulate import simulate

    rows = []
    for scenario, n, days in runs:
        sim = simulate(scenario, n_shops=n, n_days=days, seed=SEED)
        path = tmp / f"recovery_{scenario}.parquet"
        save_panel(sim, path)
        np.save(path.with_suffix(".npy"), sim.adjacency)
        for nproc, threads in procs:
            got = launch_module(["--recovery", str(path)], nproc, threads, [str(steps or 0)])[0]
            rows.append({"scenario": scenario, "shops": n, "days": days, "processes": nproc, **got})
    return rows


def launch(path: Path, nproc: int, threads: int, batch: int, steps: int) -> list[dict]:
    """Run one configuration as ``nproc`` processes of ``threads`` threads; every process's row."""
    return launch_module(["--worker", str(path)], nproc, threads, [str(batch), str(steps)])


def launch_module(head: list[str], nproc: int, threads: int, tail: list[str],
                  module: str = "benchmarks.scale_out") -> list[dict]:
    """``python -m MODULE HEAD OUT TAIL`` as ``nproc`` processes of ``threads`` threads
    (:func:`causalmmm_ppl.commands._launch.run_processes`, as ``fit --nproc``); the rows the processes wrote to OUT
    (``rank_<r>.json``)."""
    from causalmmm_ppl.commands._launch import run_processes

    with tempfile.TemporaryDirectory(prefix="scale_out_") as tmp:
        out = Path(tmp)
        run_processes([module, *head, str(out), *tail], nproc, threads)
        return [json.loads((out / f"rank_{r}.json").read_text()) for r in range(nproc)
                if (out / f"rank_{r}.json").exists()]


def edges_memory(run_dir: Path, data: Path, per_chunk: int | None) -> dict:
    """``causalmmm edges`` on ``data`` in a fresh process: seconds and that process's peak resident memory."""
    import subprocess

    chunk = f", '--shops-per-chunk', '{per_chunk}'" if per_chunk else ""
    code = ("import sys, time; from benchmarks._memory import peak_memory_mb; from causalmmm_ppl.cli import main; "
            "t = time.perf_counter(); "
            f"rc = main(['edges', {str(run_dir)!r}, '--data', {str(data)!r}, '--out', {str(data) + '.edges.csv'!r}, "
            f"'--quiet'{chunk}]); print(time.perf_counter() - t, "
            "peak_memory_mb()); sys.exit(rc)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    seconds, rss = map(float, done.stdout.split()[-2:])
    return {"seconds": seconds, "rss_mb": rss}


def run(quick: bool) -> dict:
    from causalmmm_ppl.data.simulate import simulate

    sizes, days, steps = (QUICK["sizes"], QUICK["days"], QUICK["steps"]) if quick else (SIZES, DAYS, STEPS)
    configs, batches = (QUICK["configs"], QUICK["calibration"]) if quick else (CONFIGS, CALIBRATION_BATCHES)
    out = {"days": days, "steps": steps, "cores": os.cpu_count(), "panels": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            path = Path(tmp) / f"sim1_{n}.parquet"
            save_panel(simulate("sim1", n_shops=n, n_days=days, seed=SEED), path)
            rows = {f"{p}x{t}/{b}": launch(path, p, t, b, steps) for p, t, b in configs}
            out["panels"][n] = rows
        n = sizes[0]
        path = Path(tmp) / f"sim1_{n}.parquet"
        out["calibration"] = {b: launch(path, 1, 1, b, steps)[0] for b in batches}
        out["edges"] = edges_rows(Path(tmp), QUICK["edges"] if quick else EDGES, days, steps)
        out["recovery"] = (recovery(Path(tmp), QUICK_RECOVERY, steps, procs=((2, 1),)) if quick else
                           recovery(Path(tmp), RECOVERY, None))
    return out


def edges_rows(tmp: Path, runs: tuple, days: int, steps: int) -> list[dict]:
    """A run fitted on 8 sim1 shops (a few steps: only its networks matter), then ``causalmmm edges`` on panels of
    other shops, streamed by chunks or read whole."""
    from causalmmm_ppl.commands._run import write_reading
    from causalmmm_ppl.data.simulate import simulate
    from causalmmm_ppl.inference.causalmmm_fit import fit_causalmmm
    from causalmmm_ppl.models.settings import CausalMMMSettings

    sim = simulate("sim1", n_shops=8, n_days=days, seed=SEED)
    fit = fit_causalmmm(sim.panel, CausalMMMSettings.of(steps=steps), columns=sim.spec, progress=False)
    run_dir = tmp / "run"
    fit.save(run_dir / "model")
    write_reading(run_dir / "model", None)
    rows = []
    for n, per_chunk in runs:
        data = tmp / f"edges_{n}.parquet"
        if not data.exists():
            save_panel(simulate("sim1", n_shops=n, n_days=days, seed=SEED + 1), data)
        rows.append({"shops": n, "chunk": per_chunk, **edges_memory(run_dir, data, per_chunk)})
    return rows


def _per_step(rows: list[dict]) -> float:
    return max(r["svi"] for r in rows) / rows[0]["steps"]


def projection(r: dict) -> list[tuple[int, int, float, float, float]]:
    """``(processes, per-process batch, compute s, all-reduce s, shops/s)`` at a global batch of 32 and at 32 per
    process, from the one-thread calibration and the assumed link."""
    cal = {int(b): row["svi"] / row["steps"] for b, row in r["calibration"].items()}
    batches = sorted(cal)
    params = next(iter(r["calibration"].values()))["params"]
    nbytes = 4 * (params + 1)

    def compute(b: int) -> float:
        lo = max([x for x in batches if x <= b], default=batches[0])
        hi = min([x for x in batches if x >= b], default=batches[-1])
        return cal[lo] if hi == lo else cal[lo] + (cal[hi] - cal[lo]) * (b - lo) / (hi - lo)

    out = []
    for w in PROJECTED:
        ring = 2 * (w - 1) * (LINK_LATENCY_US * 1e-6 + nbytes / w / (LINK_GBIT * 1e9 / 8))
        for per in (max(1, -(-32 // w)), 32):
            c = compute(per)
            out.append((w, per, c, ring, w * per / (c + ring)))
    return out


def render(r: dict, command: str) -> str:
    lines = [
        *section_head(TITLE, command),
        "",
        f"sim1 panels of {r['days']} days (8 nodes) read from Parquet; {r['steps']} SVI steps per configuration on "
        f"this {r['cores']}-core machine; processes launched by torch's elastic launcher (gloo). Per process: "
        "reading and preparing its share of the panel, SVI seconds per step (the slowest process), the share of "
        "them in the gradient all-reduce, peak resident memory. shops/s: shops of the global minibatch per second "
        "of SVI.",
        "",
        "| shops | processes × threads | global batch (per process) | read s | prepare s | s per step | steps/s | "
        "shops/s | all-reduce share | peak memory per process (MB) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for n, rows in r["panels"].items():
        for key, ranks in rows.items():
            procs, rest = key.split("x")
            threads, batch = rest.split("/")
            per = min(-(-int(batch) // int(procs)), int(n) // int(procs))
            step = _per_step(ranks)
            share = max(x["reduce"] for x in ranks) / max(x["svi"] for x in ranks)
            lines.append(
                f"| {int(n):,} | {procs} × {threads} | {batch} ({per}) | {max(x['read'] for x in ranks):.1f} | "
                f"{max(x['prepare'] for x in ranks):.1f} | {step:.3f} | {1 / step:.2f} | {int(batch) / step:.0f} | "
                f"{share:.1%} | {max(x['rss_mb'] for x in ranks):.0f} |")
    cal = r["calibration"]
    params = next(iter(cal.values()))["params"]
    lines += [
        "",
        "One thread, one process, at the smallest panel (the compute of a step by per-process batch): " + ", ".join(
            f"{int(b)} shops {row['svi'] / row['steps']:.3f} s" for b, row in cal.items()) + f". Gradient: {params:,} "
        "parameters.",
        "",
        f"Projection (arithmetic, not measured): each process on its own core; ring all-reduce over a "
        f"{LINK_GBIT:g} Gbit/s link with {LINK_LATENCY_US:g} µs per message.",
        "",
        "| processes | per-process batch | compute s per step | all-reduce s per step | shops/s |",
        "|---|---|---|---|---|",
    ]
    for w, per, c, ring, rate in projection(r):
        lines.append(f"| {w} | {per} | {c:.3f} | {ring:.4f} | {rate:.0f} |")
    lines += [
        "",
        "`causalmmm edges RUN --data DATA` on new sim1 shops (Parquet, one fresh process each, both threads): the "
        "whole panel at once, or streamed with `--shops-per-chunk`.",
        "",
        "| shops in DATA | --shops-per-chunk | seconds | peak memory (MB) |",
        "|---|---|---|---|",
    ]
    for row in r["edges"]:
        lines.append(f"| {row['shops']:,} | {row['chunk'] or '– (whole panel)'} | {row['seconds']:.1f} | "
                     f"{row['rss_mb']:.0f} |")
    lines += [
        "",
        "The same default fit (seed 0, `CausalMMMSpec()`) with one process (two threads) and with two processes (one "
        "thread each; per-shop AUROC over candidate pairs against the simulation's truth):",
        "",
        "| panel | shops × days | processes | per-shop AUROC | SVI s | fit s (with pooling) |",
        "|---|---|---|---|---|---|",
    ]
    for row in r["recovery"]:
        lines.append(f"| {row['scenario']} | {row['shops']} × {row['days']} | {row['processes']} | "
                     f"{row['auroc']:.3f} | {row['svi']:.1f} | {row['seconds']:.1f} |")
    lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--worker":
        worker(Path(argv[1]), Path(argv[2]), int(argv[3]), int(argv[4]))
        return 0
    if argv and argv[0] == "--recovery":
        recovery_worker(Path(argv[1]), Path(argv[2]), int(argv[3]) or None)
        return 0
    return single_benchmark(argv, module="benchmarks.scale_out", title=TITLE, description=__doc__.splitlines()[0],
                            run=run, render=render)


if __name__ == "__main__":
    raise SystemExit(main())
