"""``causalmmm edges RUN --data DATA --out FILE``: edge probabilities for the shops in DATA, seen in training or not,
by one pass of the amortized encoder (no retraining). Text cells that a spreadsheet would run as a formula are
written with a leading ``'``.

``--shops-per-chunk K`` reads DATA K shops at a time (a Parquet file chunk by chunk) and appends each chunk's rows
to FILE as it goes, so memory follows the chunk, not the panel; the table is the same.
"""

from __future__ import annotations

import argparse
import time

from causalmmm_ppl._io import atomic_file, neutralise_formulas, write_csv
from causalmmm_ppl._progress import progress as progress_bar
from causalmmm_ppl.commands._run import data_in_chunks, load_causalmmm_run, load_run_and_data
from causalmmm_ppl.errors import require_finite


def run(args: argparse.Namespace) -> int:
    per_chunk = getattr(args, "shops_per_chunk", None)
    t0 = time.perf_counter()
    if per_chunk is None:
        fit, panel = load_run_and_data(args.run, args.data, allow_missing_target=True, args=args)
        t0 = time.perf_counter()
        table = fit.edge_probabilities(panel)
        require_finite(table["probability"], "edge probabilities")
        write_csv(table, args.out)
        shops, rows = panel.n_shops, len(table)
    else:
        fit = load_causalmmm_run(args.run)
        chunks = data_in_chunks(fit, args.run, args.data, per_chunk, allow_missing_target=True, args=args)
        shops = rows = 0
        with atomic_file(args.out) as tmp, open(tmp, "w", newline="") as out, \
                progress_bar(total=chunks.n_shops, disable=args.quiet, desc="edges", unit="shop") as bar:
            for panel in chunks:
                fit.schema.check(panel, what=str(args.data))
                table = fit.edge_probabilities(panel)
                require_finite(table["probability"], "edge probabilities")
                neutralise_formulas(table).to_csv(out, index=False, header=not rows)
                shops, rows = shops + panel.n_shops, rows + len(table)
                bar.update(panel.n_shops)
    seconds = time.perf_counter() - t0
    if not args.quiet:
        print(f"edges: {shops} shop(s), {rows} ordered pairs in {seconds:.2f} s; wrote {args.out}")
    return 0
