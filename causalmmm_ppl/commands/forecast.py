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

from causalmmm_ppl.commands._run import data_in_chunks, stream_csv
from causalmmm_ppl.errors import InputError, require_finite
from causalmmm_ppl.inference.mmm_fit import load_run


def plan_groups(panel, require: bool = True) -> tuple[dict[tuple[int, int], np.ndarray], list[str]]:
    """Group shops by (first plan day, plan length) on the panel's grid.

    Returns
    -------
    groups : ``{(first plan day, plan length): shop positions}``
    left_out : the shops without plan rows (their rows all have a target: a shop whose data end early)

    Raises InputError when no shop has plan rows (unless ``require`` is false: a part of a panel read in chunks),
    and for a shop with no history or a plan that stops before the shop's rows do.
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
    if not groups and require:
        raise no_plan(panel.target)
    return {k: np.asarray(v) for k, v in groups.items()}, left_out


def split_at_plan(panel, start: int, horizon: int):
    """``(history, plan)``: the panel's days before ``start`` and the ``horizon`` days from it (a key of
    :func:`plan_groups`)."""
    return panel.select_time(0, start), panel.select_time(start, start + horizon)


def no_plan(target: str) -> InputError:
    return InputError(f"no rows with an empty {target!r} to forecast: a shop's plan is its trailing rows with the "
                      f"target left empty")


def warn_left_out(left_out: list[str], target: str, what: str) -> None:
    """One warning line on stderr naming the shops without plan rows, which ``what`` leaves out."""
    if left_out:
        names = ", ".join(repr(s) for s in left_out[:5]) + (", ..." if len(left_out) > 5 else "")
        shops = f"shop {names} has" if len(left_out) == 1 else f"{len(left_out)} shops ({names}) have"
        whose = "its" if len(left_out) == 1 else "their"
        print(f"warning: {shops} no rows with an empty {target!r} ({whose} data end before the plan): left out of "
              f"the {what}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    fit, columns = load_run(args.run)
    parts = data_in_chunks(args.run, args.data, columns, getattr(args, "shops_per_chunk", None),
                           allow_missing_target=True, args=args)
    schema = getattr(fit, "schema", None)  # a model that keeps its node schema checks DATA against it
    forecast_shops, left_out = 0, []

    def table_of(panel) -> pd.DataFrame:
        nonlocal forecast_shops
        if schema is not None:
            schema.check(panel, what=str(args.data))
        groups, left = plan_groups(panel, require=parts.n_shops is None)
        left_out.extend(left)
        tables = []
        for (start, horizon), idx in groups.items():
            history, plan = split_at_plan(panel.select_shops(idx), start, horizon)
            tables.append(fit.forecast(history, plan, interval=args.interval, seed=args.seed,
                                       progress=not args.quiet and parts.n_shops is None))
            forecast_shops += len(idx)
        if not tables:
            return pd.DataFrame()
        table = pd.concat(tables, ignore_index=True)
        require_finite(table[["mean", "lower", "upper"]], "the forecast")
        return panel.labelled(table)

    def check() -> None:
        if not forecast_shops:
            raise no_plan(columns.target)

    rows, shops = stream_csv(args.out, parts, table_of, desc="forecast", quiet=args.quiet, total=parts.n_shops,
                      check=check, date_format="%Y-%m-%d")
    warn_left_out(left_out, columns.target, "forecast")
    if not args.quiet:
        print(f"forecast: {shops} shop(s), {rows} rows; wrote {args.out}")
    return 0
