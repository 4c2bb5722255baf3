"""``causalmmm validate DATA <column flags> [--window N] [--model M] [--holdout H] [--config FILE]``: check a panel
and print a summary; writes no files. With ``--model``, ``--holdout`` or ``--config`` it also runs every check
``causalmmm fit`` makes before training with the same flags (settings, holdout, settings against the data), so a
fit that would fail after reading the data fails here (``--model`` defaults to causalmmm then)."""

from __future__ import annotations

import argparse
import importlib
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
    """Load ``args.data`` with the column flags (``--window`` sets the days every shop needs), print a summary, and
    with ``--model``/``--holdout``/``--config`` run the fit's pre-training checks."""
    from causalmmm_ppl.commands.fit import _MODULES

    out = out or sys.stdout
    loaded = panel_from_args(args, min_days=getattr(args, "window", None))
    model = getattr(args, "model", None)
    if model is None and (getattr(args, "holdout", None) or getattr(args, "config", None)):
        model = "causalmmm"
    checked = None
    if model is not None:
        _, checked = importlib.import_module(_MODULES[model]).preflight(args, check_out=False, loaded=loaded)
    print(format_summary(loaded[0].summary(), str(args.data)), file=out)
    if checked is not None:
        h, split = checked.holdout, checked.split
        forecast = f"; holdout: the last {h} periods of {len(split.shops)} shop(s)" if h else ""
        print(f"fit checks:  {model}: settings, data against settings{forecast}: ok", file=out)
        if split.note:
            print(f"  - {split.note}", file=out)
    print("ok: the panel is valid", file=out)
    return 0
