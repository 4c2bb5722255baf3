"""``causalmmm validate DATA <column flags> [--window N]``: check a panel and print a summary; writes no files."""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

from causalmmm_ppl.data.load import panel_from_args


def format_summary(summary: dict, data: str = "") -> str:
    """A readable multi-line summary from ``Panel.summary()``."""
    freq = "daily" if summary["freq"] == "D" else f"weekly ({summary['freq']})"
    unit = "days" if summary["freq"] == "D" else "weeks"
    lines = [
        f"data:        {data}" if data else None,
        f"shops:       {summary['shops']}",
        f"time steps:  {summary['time_steps']} {freq}; {unit} per shop {summary['days_per_shop_min']}"
        f"-{summary['days_per_shop_max']}",
        f"date range:  {summary['date_min']} to {summary['date_max']}",
        f"nodes:       {summary['nodes']}",
        f"  channels:  {', '.join(summary['channels']) or '(none)'}",
        f"  mediators: {', '.join(summary['mediators']) or '(none)'}",
        f"  target:    {summary['target']}",
        f"context:     {', '.join(summary['context']) or '(none)'}",
        f"zero spend:  {100 * summary['zero_spend_share']:.1f}% of channel values",
        f"warnings:    {len(summary['warnings']) or 'none'}",
    ]
    lines += [f"  - {w}" for w in summary["warnings"]]
    return "\n".join(line for line in lines if line is not None)


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Load ``args.data`` with the column flags (``--window`` sets the days every shop needs) and print a summary."""
    panel, _ = panel_from_args(args, min_days=getattr(args, "window", None))
    print(format_summary(panel.summary(), str(args.data)), file=out or sys.stdout)
    print("ok: the panel is valid", file=out or sys.stdout)
    return 0
