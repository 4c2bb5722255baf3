"""``causalmmm edges RUN --data DATA --out FILE``: edge probabilities for the shops in DATA, seen in training or not,
by one pass of the amortized encoder (no retraining). Text cells that a spreadsheet would run as a formula are
written with a leading ``'``."""

from __future__ import annotations

import argparse
import time

from causalmmm_ppl._io import write_csv
from causalmmm_ppl.commands._run import load_run_and_data
from causalmmm_ppl.errors import require_finite


def run(args: argparse.Namespace) -> int:
    fit, panel = load_run_and_data(args.run, args.data, allow_missing_target=True, args=args)
    t0 = time.perf_counter()
    table = fit.edge_probabilities(panel)
    seconds = time.perf_counter() - t0
    require_finite(table["probability"], "edge probabilities")
    write_csv(table, args.out)
    if not args.quiet:
        print(f"edges: {panel.n_shops} shop(s), {len(table)} ordered pairs in {seconds:.2f} s; wrote {args.out}")
    return 0
