"""``causalmmm report RUN [--effects FILE] [--curves FILE] --out report.html``: one self-contained HTML page of a
CausalMMM or BTVC run (images embedded as base64 PNG): data summary, graph(s) or media effects, channel effects and
response curves (the tables of ``causalmmm effects``, when given), response curves, forecasts with intervals, diagnostics, and the fit settings.
Nothing is written when RUN is not a run directory."""

from __future__ import annotations

import argparse
import sys


def run(args: argparse.Namespace) -> int:
    """Write the report of ``args.run`` to ``args.out``."""
    import matplotlib

    matplotlib.use("Agg")
    from causalmmm_ppl.reporting import write_report

    out = write_report(args.run, args.out, effects=args.effects, curves=args.curves)
    if not args.quiet:
        print(f"causalmmm report: wrote {out} ({out.stat().st_size / 1e6:.1f} MB)", file=sys.stdout)
    return 0
