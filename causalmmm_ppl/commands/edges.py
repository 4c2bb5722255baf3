"""``causalmmm edges RUN --data DATA --out FILE``: edge probabilities for the shops in DATA, seen in training or not,
by one pass of the amortized encoder (no retraining). Text cells that a spreadsheet would run as a formula are
written with a leading ``'``.

``--shops-per-chunk K`` reads DATA K shops at a time (a Parquet file chunk by chunk) and appends each chunk's rows
to FILE as it goes, so it holds one chunk's rows at a time; the table is the same.
"""

from __future__ import annotations

import argparse
import time

from causalmmm_ppl.commands._run import data_in_chunks, load_causalmmm_run, stream_csv
from causalmmm_ppl.errors import require_finite


def run(args: argparse.Namespace) -> int:
    fit = load_causalmmm_run(args.run)
    parts = data_in_chunks(args.run, args.data, fit.schema.columns, getattr(args, "shops_per_chunk", None),
                           allow_missing_target=True, args=args)
    t0 = time.perf_counter()

    def table_of(panel):
        fit.schema.check(panel, what=str(args.data))
        table = fit.edge_probabilities(panel)
        require_finite(table["probability"], "edge probabilities")
        return table

    rows, shops = stream_csv(args.out, parts, table_of, desc="edges", quiet=args.quiet, total=parts.n_shops)
    if not args.quiet:
        print(f"edges: {shops} shop(s), {rows} ordered pairs in {time.perf_counter() - t0:.2f} s; wrote {args.out}")
    return 0
