"""The population graph prior (``CausalMMMSpec.graph_templates``) against the default independent prior, on a panel
whose shops share three graphs (sim1) and one where every shop has its own (sim2), two seeds each; on sim2 also
learned Student-t tails (``learn_df``, the default; the other rows fix the tails at df = 5). No row uses the population
layer that pools edge evidence after SVI (``edge_pooling``, the default; see the CausalMMM section): this section
compares graph priors inside the fitted model.
Writes the "Population graph prior" section of docs/benchmarks.md.

Every variant is one run of ``benchmarks.causalmmm_recovery --only SCENARIO --seed N --spec ...`` (the same fit,
held-out shops and forecasts as the CausalMMM section), each in its own process, two at a time, each pinned to one
core where ``taskset`` exists (``OMP_NUM_THREADS=1``), so the fit seconds are single-core.

    .venv/bin/python -m benchmarks.graph_templates            # full sizes, writes the section
    .venv/bin/python -m benchmarks.graph_templates --quick    # tiny sim1 only, prints (the test suite runs it)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys

from benchmarks._doc import machine_line, replace_section

TITLE = "## Population graph prior (graph_templates)"
#: the templates against the independent prior, all with the tails fixed at df = 5 (learned tails are the default)
#: and without the population layer after SVI (``edge_pooling``, on by default): this section compares priors
#: inside the fitted model
NO_POOLING = "edge_pooling=0"
VARIANTS = {
    "independent, df 5": ["learn_df=false", NO_POOLING],
    "5 templates, spread 6 (option's default), df 5": ["graph_templates=5", "learn_df=false", NO_POOLING],
    "5 templates, spread 2.5, df 5": ["graph_templates=5", "template_spread=2.5", "learn_df=false", NO_POOLING],
}
#: learned Student-t tails (the default), reported for the calibration they buy on sim2
TAILS = {"independent, learned tails, no pooling": [NO_POOLING]}
THREADS = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
RUNS = [("sim1", 0, VARIANTS), ("sim1", 1, VARIANTS), ("sim2", 0, {**VARIANTS, **TAILS}),
        ("sim2", 1, {**VARIANTS, **TAILS})]


def _command(scenario: str, seed: int, spec: list[str], quick: bool, core: int | None) -> list[str]:
    cmd = [sys.executable, "-m", "benchmarks.causalmmm_recovery", "--only", scenario, "--seed", str(seed)]
    cmd += ["--quick"] if quick else []
    cmd += ["--spec", *spec] if spec else []
    return (["taskset", "-c", str(core)] if core is not None else []) + cmd


def run_all(quick: bool, in_process: bool = False) -> list[dict]:
    """Every (scenario, seed) × variant, two processes at a time (or one after another in this process with
    ``in_process``: the test suite's quick mode, sparing a start-up per run); returns their result dicts in order."""
    runs = RUNS[:1] if quick else RUNS
    jobs = [(s, seed, label, spec) for s, seed, variants in runs for label, spec in variants.items()]
    if in_process:
        from benchmarks.causalmmm_recovery import FULL, QUICK, parse_spec, run_scenario

        table = QUICK if quick else FULL  # through JSON, as from a subprocess: numpy scalars become floats
        return [{"scenario": s, "seed": seed, "variant": label,
                 **json.loads(json.dumps(run_scenario(s, table[s], seed, parse_spec(spec)), default=float))}
                for s, seed, label, spec in jobs]
    pinned = shutil.which("taskset") is not None and (os.cpu_count() or 1) >= 2
    os.environ.update(THREADS)  # the runs' setting, which the section's machine line reports
    env = dict(os.environ)
    results: list[dict] = []
    for start in range(0, len(jobs), 2):
        running = []
        for slot, (scenario, seed, label, spec) in enumerate(jobs[start : start + 2]):
            cmd = _command(scenario, seed, spec, quick, slot if pinned else None)
            running.append(((scenario, seed, label), subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env)))
        for (scenario, seed, label), proc in running:
            out, _ = proc.communicate()
            if proc.returncode:
                raise SystemExit(f"{scenario} seed {seed} {label}: exit status {proc.returncode}")
            r = json.loads(out.strip().splitlines()[-1])
            results.append({"scenario": scenario, "seed": seed, "variant": label, **r})
            print(f"{scenario} seed {seed} {label}: {r['ours']['auroc_mean']:.3f}", file=sys.stderr)
    return results


def render(results: list[dict], command: str) -> str:
    lines = [
        TITLE,
        "",
        f"Command: `{command}`  ",
        machine_line() + "  ",
        "Each row is `benchmarks.causalmmm_recovery --only SCENARIO --seed N --spec ...` (defaults otherwise): the fit "
        "on all but the last 14 days, held-out shops by the encoder alone, 90% coverage of the target's forecasts. "
        "One process per run, pinned to one core.",
        "",
        "| scenario | seed | prior | AUROC per shop | held-out AUROC | across-shop AUROC | 90% coverage 1–7 / 1–14 "
        "| MSE (scaled), posterior graph | fit (s) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        g, h = r["ours"], r.get("held_out", {})
        held = f"{h['auroc_mean']:.3f}" if h else "–"
        lines.append(
            f"| {r['scenario']} | {r['seed']} | {r['variant']} | {g['auroc_mean']:.3f} ± {g['auroc_std']:.3f} | {held} "
            f"| {g['across_shop_auroc_mean']:.3f} | {r['coverage_7']:.3f} / {r['coverage_14']:.3f} "
            f"| {r['mse_scaled_posterior']:.4f} | {r['fit_seconds']:.0f} |"
        )
    lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, print only (for tests)")
    parser.add_argument("--no-write", action="store_true", help="print the section instead of writing it")
    parser.add_argument("--jobs", type=int, default=2, choices=(0, 2),
                        help="2: two pinned processes at a time (the section's setting); 0: one run after another in "
                             "this process")
    args = parser.parse_args(argv)
    results = run_all(args.quick, in_process=args.jobs == 0)
    command = ".venv/bin/python -m benchmarks.graph_templates" + (" --quick" if args.quick else "")
    section = render(results, command)
    if not (args.quick or args.no_write):
        replace_section(section, TITLE)
    print(section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
