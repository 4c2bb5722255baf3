"""``causalmmm validate DATA <column flags> [--window N] [--model M] [--holdout H] [--config FILE]
[--shops-per-chunk K]``: check a panel and print a summary; writes no files. With ``--model``, ``--holdout`` or
``--config`` it also runs every check ``causalmmm fit`` makes before training with the same flags (settings,
holdout, settings against the data), so a fit that would fail after reading the data fails here (``--model``
defaults to causalmmm then). With ``--shops-per-chunk K`` it reads and checks DATA K shops at a time (as ``fit
--shops-per-chunk K`` reads it) and summarises the parts; the fit's checks are then those of that fit."""

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
    if getattr(args, "shops_per_chunk", None) is not None:
        return _run_parts(args, out)
    loaded = panel_from_args(args, min_days=getattr(args, "window", None))
    model = _model_to_check(args)
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


def _model_to_check(args: argparse.Namespace) -> str | None:
    """The model whose fit checks ``validate`` runs: ``--model``, causalmmm when ``--holdout`` or ``--config`` is
    given, else none."""
    model = getattr(args, "model", None)
    if model is None and (getattr(args, "holdout", None) or getattr(args, "config", None)):
        model = "causalmmm"
    return model


def _run_parts(args: argparse.Namespace, out: TextIO) -> int:
    """``validate --shops-per-chunk K``: every part read and checked as the whole panel would be, one at a time,
    and summarised together; with a model, the checks of ``fit --shops-per-chunk K``."""
    from causalmmm_ppl.commands._fit_causalmmm import shards_preflight
    from causalmmm_ppl.commands.fit import check_shard_reading
    from causalmmm_ppl.data.load import chunks_from_args

    model = _model_to_check(args)
    check_shard_reading(args, model)
    window = getattr(args, "window", None)
    if model is not None:
        _, chunks, _, _ = shards_preflight(args, check_out=False, min_days=window)
    else:
        chunks, _ = chunks_from_args(args, args.shops_per_chunk, min_days=window)
    print(format_summary(summarise_parts(chunks), str(args.data)), file=out)
    if model is not None:
        print(f"fit checks:  {model}: settings, data against settings, read {args.shops_per_chunk} shop(s) at a "
              f"time: ok", file=out)
    print("ok: the panel is valid", file=out)
    return 0


def summarise_parts(parts) -> dict:
    """``Panel.summary()`` of the panel whose shops ``parts`` (panels of the same nodes) hold, one part in memory at a
    time: the grid runs from the parts' first to their last date. The warnings about nodes constant in every shop
    and about targets are those of the whole panel: they are recomputed from each shop's least and greatest value
    (what they depend on); the others (gaps filled) are each part's own."""
    import numpy as np

    from causalmmm_ppl.data.panel import date_grid

    summary, first, last, spend, zeros = None, None, None, 0, 0
    gaps: dict[str, None] = {}
    lows, highs, seen, shops = [], [], [], []
    for part in parts:
        s = part.summary()
        if summary is None:
            summary, nodes, kinds = s, part.nodes, part.node_kinds
        else:
            summary["shops"] += s["shops"]
            summary["days_per_shop_min"] = min(summary["days_per_shop_min"], s["days_per_shop_min"])
            summary["days_per_shop_max"] = max(summary["days_per_shop_max"], s["days_per_shop_max"])
        if first is None or part.dates[0] < first[0]:
            first = (part.dates[0], s["date_min"])
        if last is None or part.dates[-1] > last[0]:
            last = (part.dates[-1], s["date_max"])
        values = part.values[..., part.channel_index][part.mask]
        spend, zeros = spend + values.size, zeros + int((values == 0).sum())
        own = _node_warnings(part.values, part.observed, nodes, kinds, part.shops)
        gaps.update(dict.fromkeys(w for w in part.warnings if w not in own))
        lows.append(np.where(part.observed, part.values, np.inf).min(1))
        highs.append(np.where(part.observed, part.values, -np.inf).max(1))
        seen.append(part.observed.any(1))
        shops += part.shops
    # each shop's least and greatest value as a two-day panel: the node and target warnings depend on nothing else
    seen_all = np.concatenate(seen)
    two_days = np.where(seen_all[:, None], np.stack([np.concatenate(lows), np.concatenate(highs)], axis=1), 0.0)
    warnings = [*gaps, *_node_warnings(two_days, np.stack([seen_all, seen_all], axis=1), nodes, kinds, shops)]
    summary.update(time_steps=len(date_grid(first[0], last[0], summary["freq"])), date_min=first[1],
                   date_max=last[1], zero_spend_share=zeros / spend if spend else 0.0, warnings=warnings)
    return summary


def _node_warnings(values, observed, nodes, kinds, shops) -> list[str]:
    """The loader's warnings about nodes constant in every shop and about the target, for ``values, observed``
    ``(shop, time, node)``."""
    from causalmmm_ppl.data import validate as V

    return [*V.constant_node_warnings(values, observed, nodes, kinds),
            *V.target_warnings(values, observed, nodes, kinds, shops)]
