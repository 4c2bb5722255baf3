"""``causalmmm edges RUN --data DATA --out FILE``: edge probabilities for the shops in DATA, seen in training or not,
by one pass of the amortized encoder (no retraining)."""

from __future__ import annotations

import argparse
import time

from causalmmm_ppl._io import atomic_file
from causalmmm_ppl.commands._run import load_run_and_data


def run(args: argparse.Namespace) -> int:
    fit, panel = load_run_and_data(args.run, args.data, allow_missing_target=True)
    t0 = time.perf_counter()
    table = fit.edge_probabilities(panel)
    seconds = time.perf_counter() - t0
    with atomic_file(args.out) as tmp:
        table.to_csv(tmp, index=False)
    if not args.quiet:
        print(f"edges: {panel.n_shops} shop(s), {len(table)} ordered pairs in {seconds:.2f} s; wrote {args.out}")
    return 0
