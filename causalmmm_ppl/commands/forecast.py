"""``causalmmm forecast RUN --data DATA [--interval 0.9] --out FILE``: forecast the rows of DATA whose target is
empty, given their channel values (a spend plan), from the rows before them (the history).

Any registered model's run is read (:mod:`causalmmm_ppl.inference.mmm_fit`). On a BTVC run the history is the run's
own training data: the plan must start the day after its training end, and only the target is forecast (BTVC does
not model mediators).

Each shop's plan is its trailing rows with an empty target; they must carry every channel. Shops whose plans start
on the same day and have the same length are forecast together. A shop without such rows (its data end before the
others' plans: a ragged panel) is left out with one warning line. A forecast that is not finite is an error; text
cells that a spreadsheet would run as a formula are written with a leading ``'``.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
import pandas as pd

from causalmmm_ppl._io import write_csv
from causalmmm_ppl.commands._run import load_any_run_and_data
from causalmmm_ppl.errors import InputError, require_finite


def plan_groups(panel) -> tuple[dict[tuple[int, int], np.ndarray], list[str]]:
    """Group shops by (first plan day, plan length) on the panel's grid.

    Returns
    -------
    groups : ``{(first plan day, plan length): shop positions}``
    left_out : the shops without plan rows (their rows all have a target: a shop whose data end early)

    Raises InputError when no shop has plan rows, and for a shop with no history or a plan that stops before the
    shop's rows do.
    """
    rows = panel.mask  # (shop, time)
    target = panel.target_observed
    groups: dict[tuple[int, int], list[int]] = {}
    left_out: list[str] = []
    for s in range(panel.n_shops):
        plan_days = np.flatnonzero(rows[s] & ~target[s])
        if plan_days.size == 0:
            left_out.append(panel.shops[s])
            continue
        hist_days = np.flatnonzero(target[s])
        if hist_days.size == 0:
            raise InputError(f"shop {panel.shops[s]!r}: no history (rows with {panel.target!r}) before the plan")
        start, stop = plan_days[0], plan_days[-1] + 1
        if stop - start != plan_days.size:
            raise InputError(
                f"shop {panel.shops[s]!r}: the plan has gaps: every day from {panel.label(int(start))} to "
                f"{panel.label(int(stop - 1))} needs its channel values (the horizon is longer than the plan)"
            )
        groups.setdefault((int(start), int(stop - start)), []).append(s)
    if not groups:
        raise InputError(f"no rows with an empty {panel.target!r} to forecast: a shop's plan is its trailing rows "
                         f"with the target left empty")
    return {k: np.asarray(v) for k, v in groups.items()}, left_out


def warn_left_out(left_out: list[str], target: str, what: str) -> None:
    """One warning line on stderr naming the shops without plan rows, which ``what`` leaves out."""
    if left_out:
        names = ", ".join(repr(s) for s in left_out[:5]) + (", ..." if len(left_out) > 5 else "")
        shops = f"shop {names} has" if len(left_out) == 1 else f"{len(left_out)} shops ({names}) have"
        whose = "its" if len(left_out) == 1 else "their"
        print(f"warning: {shops} no rows with an empty {target!r} ({whose} data end before the plan): left out of "
              f"the {what}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    fit, panel, _ = load_any_run_and_data(args.run, args.data, allow_missing_target=True, args=args)
    tables = []
    groups, left_out = plan_groups(panel)
    warn_left_out(left_out, panel.target, "forecast")
    for (start, horizon), shops in groups.items():
        sub = panel.select_shops(shops)
        history, plan = sub.select_time(0, start), sub.select_time(start, start + horizon)
        tables.append(fit.forecast(history, plan, interval=args.interval, seed=args.seed, progress=not args.quiet))
    table = pd.concat(tables, ignore_index=True)
    require_finite(table[["mean", "lower", "upper"]], "the forecast")
    write_csv(panel.labelled(table), args.out, date_format="%Y-%m-%d")
    if not args.quiet:
        print(f"forecast: {panel.n_shops} shop(s), {len(table)} rows; wrote {args.out}")
    return 0
