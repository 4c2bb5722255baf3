"""``causalmmm allocate RUN --data PLAN [--budget B] [--bounds FILE] [--scope portfolio|shop] [--risk Q]
[--draws N] [--interval 0.9] --out NEWPLAN``: redistribute the plan's spend across channels to maximise the target.

The plan is the trailing rows of PLAN with an empty target, as ``forecast`` reads them; every shop's plan must cover
the same days. Each shop's and channel's spend in the window is multiplied by one factor (the channel keeps its
day-to-day shape), the total stays at ``--budget`` (default: the plan's own total; with ``--scope shop`` every shop
keeps its share of it), and every factor stays within the channel's bounds (``--bounds``: a CSV ``channel, lower,
upper`` of multiples of the planned spend; default 0.5 to 2). The objective is the target summed over the window
under the posterior (its mean, or its ``--risk`` quantile); see :mod:`causalmmm_ppl.inference.allocate`.

NEWPLAN is PLAN's panel with the new spend on the window's rows (history unchanged, target empty there): a file
``forecast`` and ``effects`` read. The expected uplift against the plan, with its interval, is printed (also with
``--quiet``, which silences the progress bar only).
"""

from __future__ import annotations

import argparse

import pandas as pd

from causalmmm_ppl._io import write_csv
from causalmmm_ppl.commands._run import load_any_run_and_data
from causalmmm_ppl.commands.forecast import plan_groups, split_at_plan
from causalmmm_ppl.data.load import read_table
from causalmmm_ppl.errors import InputError
from causalmmm_ppl.inference.allocate import allocate, read_bounds


def run(args: argparse.Namespace) -> int:
    if args.draws is not None and args.draws < 2:
        raise InputError(f"--draws must be at least 2, got {args.draws}")
    if not 0.0 < args.interval < 1.0:
        raise InputError(f"--interval must be in (0, 1), got {args.interval}")
    if args.budget is not None and not args.budget >= 0:
        raise InputError(f"--budget must be a non-negative number, got {args.budget:g}")
    if args.risk is not None and not 0.0 < args.risk < 1.0:
        raise InputError(f"--risk must be in (0, 1), got {args.risk:g}")
    fit, panel, columns = load_any_run_and_data(args.run, args.data, allow_missing_target=True, args=args)
    bounds = None
    if args.bounds is not None:
        bounds = read_bounds(read_table(args.bounds, str_columns=("channel",)), fit.channel_names,
                             source=str(args.bounds))
    groups, left_out = plan_groups(panel)
    if left_out:
        raise InputError(f"shop {left_out[0]!r} has no rows with an empty {panel.target!r} (its data end before the "
                         f"plan); allocate needs every shop's plan over one window")
    if len(groups) > 1:
        days = ", ".join(f"{panel.label(int(start))} (+{panel.periods(n)})" for start, n in groups)
        raise InputError(f"the shops' plans cover different windows ({days}); allocate needs one window for all shops")
    (start, horizon), _ = next(iter(groups.items()))
    history, plan = split_at_plan(panel, start, horizon)
    result = allocate(fit, history, plan, budget=args.budget, bounds=bounds, scope=args.scope, risk=args.risk,
                      num_draws=args.draws, seed=args.seed, progress=not args.quiet)
    frames = [p.to_frame(columns.shop_col, columns.date_col) for p in (history, result.apply(plan))]
    order = {shop: i for i, shop in enumerate(panel.shops)}  # PLAN's order: each shop's history, then its window
    frame = pd.concat(frames, ignore_index=True).sort_values(
        [columns.shop_col, columns.date_col], key=lambda c: c.map(order) if c.name == columns.shop_col else c,
        kind="stable")
    write_csv(frame, args.out, date_format="%Y-%m-%d")
    mean, lo, hi = result.uplift_summary(args.interval)  # the answer: printed with --quiet too
    what = "mean" if args.risk is None else f"{args.risk:g}-quantile"
    print(f"allocate: {panel.n_shops} shop(s) x {len(result.channels)} channel(s), budget "
          f"{result.allocated.sum():.6g} over {panel.periods(horizon)} ({args.scope}, {what} of {panel.target})")
    if result.kept_plan:
        print("allocate: no reallocation scored above the plan; the plan is kept")
    print(f"allocate: expected uplift vs the plan {mean:+.6g} {panel.target} "
          f"({args.interval:.0%} interval {lo:+.6g} to {hi:+.6g}); wrote {args.out}")
    return 0
