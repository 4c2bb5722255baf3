"""Scale out at 100,000 shops: SVI training for a fixed number of steps on 1 and 2 processes, and ``causalmmm edges``
for every shop streamed in chunks, with each process's peak memory.

Writes the section "Scale out: 100,000 shops" of docs/benchmarks.md. The panel is sim1 (8 nodes, 100 days, seed 0)
written once as Parquet. Training is the same per-process job as "Scale out" (:func:`benchmarks.scale_out.worker`:
read the Parquet file, prepare this process's share of the encoder's features, run ``STEPS`` SVI steps on its own
shops), launched by torch's elastic launcher. ``causalmmm edges RUN --data PANEL --shops-per-chunk N`` then scores
every shop of the panel in a fresh process with a run fitted on a few other shops (only its networks matter to the
cost), reading and encoding ``N`` shops at a time (:func:`benchmarks.scale_out.edges_memory`). Peak resident memory
is each process's own high-water mark (:func:`benchmarks._memory.peak_memory_mb`).

The whole command, read shard by shard: ``causalmmm fit PANEL --nproc P --shops-per-chunk N --steps STEPS`` (each
process reads and holds only its own shops, ``N`` at a time; process 0 pools the edges and writes edges.csv and
the run), each process started by the launcher running the command and reporting its own wall time and peak
memory (:func:`fit_worker`).

``python -m benchmarks.scale_100k``; ``--quick`` runs tiny sizes (the test suite runs it so the script cannot rot).
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

TITLE = "## Scale out: 100,000 shops"
SHOPS, DAYS, STEPS, SEED = 100_000, 100, 50, 0
CONFIGS = [(1, 2, 32), (2, 1, 32)]  # (processes, threads each, global minibatch)
CHUNK = 2000  # --shops-per-chunk of `causalmmm edges` and of the fit read shard by shard
FIT_CONFIGS = [(1, 2), (2, 1)]  # `causalmmm fit --shops-per-chunk`: (processes, threads each)
QUICK = {"shops": 24, "days": 30, "steps": 2, "configs": [(1, 1, 8)], "chunk": 10, "fit_configs": [(2, 1)]}


def run(quick: bool) -> dict:
    import pandas as pd

    from benchmarks.scale_out import edges_memory, launch, save_panel
    from causalmmm_ppl.commands._run import write_reading
    from causalmmm_ppl.data.simulate import simulate
    from causalmmm_ppl.inference.causalmmm_fit import fit_causalmmm
    from causalmmm_ppl.models.settings import CausalMMMSettings

    shops, days, steps = (QUICK["shops"], QUICK["days"], QUICK["steps"]) if quick else (SHOPS, DAYS, STEPS)
    configs, chunk = (QUICK["configs"], QUICK["chunk"]) if quick else (CONFIGS, CHUNK)
    out = {"shops": shops, "days": days, "steps": steps, "chunk": chunk, "cores": os.cpu_count()}
    with tempfile.TemporaryDirectory(prefix="scale_100k_") as tmp:
        path = Path(tmp) / "panel.parquet"
        t0 = time.perf_counter()
        sim = simulate("sim1", n_shops=shops, n_days=days, seed=SEED)
        save_panel(sim, path)
        flags = sim.fit_flags().split()  # the column flags of `causalmmm fit`
        del sim
        out["simulate_s"], out["parquet_mb"] = time.perf_counter() - t0, path.stat().st_size / 1e6
        out["training"] = [{"processes": p, "threads": t, "batch": b, "ranks": launch(path, p, t, b, steps)}
                           for p, t, b in configs]
        out["fits"] = [{"processes": p, "threads": t,
                        **command_fit(path, flags, Path(tmp) / f"fit_{p}", p, t, steps, chunk)}
                       for p, t in (QUICK["fit_configs"] if quick else FIT_CONFIGS)]
        small = simulate("sim1", n_shops=8, n_days=days, seed=SEED + 1)
        fit = fit_causalmmm(small.panel, CausalMMMSettings.of(steps=steps), columns=small.spec, progress=False)
        fit.save(Path(tmp) / "run" / "model")
        write_reading(Path(tmp) / "run" / "model", None)
        out["edges"] = edges_memory(Path(tmp) / "run", path, chunk)
        out["edges_shops"] = int(pd.read_csv(str(path) + ".edges.csv", usecols=["shop"])["shop"].nunique())
    return out


def command_fit(path: Path, flags: list[str], run: Path, nproc: int, threads: int, steps: int, chunk: int) -> dict:
    """``causalmmm fit PATH FLAGS --nproc NPROC --shops-per-chunk CHUNK`` (``FLAGS``: the column flags) as ``nproc``
    launched processes of ``threads`` threads: every process's wall time and peak memory, and the run's SVI seconds
    and edge rows."""
    from benchmarks.scale_out import launch_module

    argv = ["fit", str(path), *flags, "--steps", str(steps), "--shops-per-chunk", str(chunk), "--nproc", str(nproc),
            "--out", str(run), "--quiet", "--seed", str(SEED)]
    ranks = launch_module(["--fit-worker"], nproc, threads, argv, module="benchmarks.scale_100k")
    meta = json.loads((run / "model" / "fit.json").read_text())
    with open(run / "edges.csv") as fh:
        rows = sum(1 for _ in fh) - 1
    return {"ranks": ranks, "svi": meta["seconds"], "edge_rows": rows,
            "run_mb": sum(f.stat().st_size for f in run.rglob("*") if f.is_file()) / 1e6}


def fit_worker(out: Path, argv: list[str]) -> None:
    """One launched process of ``causalmmm ARGV``: runs the command, then writes ``rank_<r>.json`` (exit status,
    wall time, peak memory)."""
    from causalmmm_ppl.cli import main

    t0 = time.perf_counter()
    code = main(argv)
    rank = int(os.environ.get("RANK", "0") or 0)
    (out / f"rank_{rank}.json").write_text(json.dumps({"rank": rank, "code": code, "seconds": time.perf_counter() - t0,
                                                       "rss_mb": peak_memory_mb()}))
    if code:
        raise SystemExit(code)


def render(r: dict, command: str) -> str:
    lines = [
        *section_head(TITLE, command),
        f"sim1, {r['shops']:,} shops × {r['days']} days × 8 nodes (seed 0; simulated and written as Parquet in "
        f"{r['simulate_s']:.0f} s, {r['parquet_mb']:.0f} MB). Training: {r['steps']} SVI steps per configuration, "
        f"each process reading the Parquet file, preparing its share of the encoder's features and training on its "
        f"own shops (the job of \"Scale out\"). Edges: `causalmmm edges RUN --data PANEL --shops-per-chunk "
        f"{r['chunk']}` in a fresh process, a run fitted on 8 other shops. Peak memory: resident, per process.",
        "",
        "| job | processes × threads | global batch | read s | prepare s | s per step | peak memory per process (MB) |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in r["training"]:
        ranks = row["ranks"]
        per_step = max(x["svi"] for x in ranks) / ranks[0]["steps"]
        memory = " / ".join(f"{x['rss_mb']:.0f}" for x in ranks)
        lines.append(f"| training | {row['processes']} × {row['threads']} | {row['batch']} | "
                     f"{max(x['read'] for x in ranks):.1f} | {max(x['prepare'] for x in ranks):.1f} | "
                     f"{per_step:.3f} | {memory} |")
    lines += [
        "",
        f"The whole command, each process reading and holding only its own shops: `causalmmm fit PANEL --nproc P "
        f"--shops-per-chunk {r['chunk']} --steps {r['steps']}` (reading, standardisation, preparation, SVI, the "
        f"encoder pass, the population layer, edges.csv and the run's copy of the training panel).",
        "",
        "| processes × threads | wall s (slowest process) | SVI s | edge rows | run on disk (MB) | "
        "peak memory per process (MB) |",
        "|---|---|---|---|---|---|",
    ]
    for row in r["fits"]:
        ranks = sorted(row["ranks"], key=lambda x: x["rank"])
        memory = " / ".join(f"{x['rss_mb']:.0f}" for x in ranks)
        lines.append(f"| {row['processes']} × {row['threads']} | {max(x['seconds'] for x in ranks):.0f} | "
                     f"{row['svi']:.1f} | {row['edge_rows']:,} | {row['run_mb']:.0f} | {memory} |")
    e = r["edges"]
    lines += [
        "",
        "| job | shops scored | --shops-per-chunk | seconds | shops/s | peak memory (MB) |",
        "|---|---|---|---|---|---|",
        f"| `causalmmm edges` | {r['edges_shops']:,} | {r['chunk']:,} | {e['seconds']:.1f} | "
        f"{r['edges_shops'] / e['seconds']:.0f} | {e['rss_mb']:.0f} |",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--fit-worker":
        fit_worker(Path(argv[1]), argv[2:])
        return 0
    return single_benchmark(argv, module="benchmarks.scale_100k", title=TITLE, description=__doc__.splitlines()[0],
                            run=run, render=render)


if __name__ == "__main__":
    raise SystemExit(main())
