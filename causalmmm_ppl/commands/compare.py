"""``causalmmm compare RUN RUN ... [--data DATA] [--out FILE]``: compare runs of the same target on the same data.

With ``--data``, every run forecasts the periods of DATA after its training end (the same for every run) from the
history and those periods' channels, and the table ranks them by the log predictive density of the observed target
there (``elpd_lfo``, ``se``, ``elpd_diff``, ``dse``): runs of any models compare on the same question. Without it,
ELPD-LOO on the training periods (``elpd_loo``, ``se``, ``p_loo``, ``elpd_diff``, ``dse``, ``weight`` (stacking),
Pareto-k warnings), for runs of one model: CausalMMM's and BTVC's stored log-likelihoods are densities of different
questions, so runs of both need ``--data``. Prints which observations were compared, then the table (best first);
notes go to stderr. ``--out`` also writes the table as CSV (atomically).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

import pandas as pd

from causalmmm_ppl._io import write_csv
from causalmmm_ppl.errors import InputError


def format_table(table: pd.DataFrame) -> str:
    """The comparison table as aligned text (the columns a reader needs first)."""
    cols = ["run", "model", "rank", "elpd_lfo", "elpd_loo", "se", "p_loo", "elpd_diff", "dse", "weight", "warning",
            "pareto_k_bad", "n_obs", "periods"]
    shown = table[[c for c in cols if c in table.columns]]
    return shown.to_string(index=False, float_format=lambda v: f"{v:.2f}" if abs(v) >= 0.01 or v == 0 else f"{v:.3g}")


def _held_out(args: argparse.Namespace):
    """Every run with DATA read its way, compared on DATA's periods after the runs' training end."""
    from causalmmm_ppl.commands._run import load_any_run_and_data
    from causalmmm_ppl.evaluation.compare import compare_forecasts, run_names
    from causalmmm_ppl.inference.mmm_fit import run_kind

    if args.draws < 1:
        raise InputError(f"--draws must be at least 1, got {args.draws}")
    runs = {}
    for name, run in zip(run_names(args.runs), args.runs):
        fit, panel, _ = load_any_run_and_data(run, args.data, allow_missing_target=True)
        runs[name] = (fit, panel, run_kind(run).name)
    return compare_forecasts(runs, num_draws=args.draws, seed=args.seed or 0, progress=not args.quiet)


def run(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Compare ``args.runs``; print the table; write it to ``args.out`` if given."""
    from causalmmm_ppl.evaluation.compare import compare_runs
    from causalmmm_ppl.inference.mmm_fit import run_kind

    out = out or sys.stdout
    err = err or sys.stderr
    if getattr(args, "data", None):
        result = _held_out(args)
    else:
        kinds = {run_kind(r).name for r in args.runs if Path(r).is_dir()}
        if len(kinds) > 1:
            raise InputError(f"runs of different models ({', '.join(sorted(kinds))}) compare on held-out periods: "
                             "give --data with the periods after their training end (ELPD-LOO of their stored "
                             "log-likelihoods would compare densities of different questions)")
        result = compare_runs(args.runs)
    print(result.summary, file=out)
    print(format_table(result.table), file=out)
    for line in result.warnings:
        print(line, file=err)
    if getattr(args, "out", None):
        write_csv(result.table, args.out)
    return 0
