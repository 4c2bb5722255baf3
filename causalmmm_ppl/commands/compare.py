"""``causalmmm compare RUN RUN ... [--out FILE]``: ELPD-LOO table of runs of the same target on the same data.

Prints which observations were compared (target, shops, dates), then the table (best first: ``elpd_loo``, ``se``,
``p_loo``, ``elpd_diff``, ``dse``, ``weight`` (stacking), Pareto-k warnings). Pareto-k and left-out-observation
notes go to stderr. ``--out`` also writes the table as CSV (atomically).
"""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

import pandas as pd

from causalmmm_ppl._io import write_csv
from causalmmm_ppl.evaluation.compare import compare_runs


def format_table(table: pd.DataFrame) -> str:
    """The comparison table as aligned text (the columns a reader needs first)."""
    cols = ["run", "model", "rank", "elpd_loo", "se", "p_loo", "elpd_diff", "dse", "weight", "warning",
            "pareto_k_bad"]
    shown = table[[c for c in cols if c in table.columns]]
    return shown.to_string(index=False, float_format=lambda v: f"{v:.2f}" if abs(v) >= 0.01 or v == 0 else f"{v:.3g}")


def run(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Compare ``args.runs`` by ELPD-LOO; print the table; write it to ``args.out`` if given."""
    out = out or sys.stdout
    err = err or sys.stderr
    result = compare_runs(args.runs)
    print(result.summary, file=out)
    print(format_table(result.table), file=out)
    for line in result.warnings:
        print(line, file=err)
    if getattr(args, "out", None):
        write_csv(result.table, args.out)
    return 0
