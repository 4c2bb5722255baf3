"""``causalmmm effects RUN --data DATA [--interval 0.9] [--draws N] --out FILE``: every shop's and channel's effect
on the target over the plan rows of DATA (the trailing rows whose target is empty, read as ``forecast`` reads them).

For each channel the target summed over the window is compared, under the posterior, with the same sum when the
channel's planned spend is 0 there (``total``, ``held``, ``direct``; see :mod:`causalmmm_ppl.inference.effects`).
The table has ``shop, channel, kind, mean, lower, upper, spend, roas, mroas``, with ``shop = "ALL"`` rows summed over
shops. Shops whose plans start on the same day and have the same length are computed together; when the shops' plans
cover different windows, no portfolio rows are written. On a BTVC run (additive, no graph) the three kinds agree, and
the plan must start the day after the run's training end; ``--draws`` is the run's.
"""

from __future__ import annotations

import argparse

import pandas as pd

from causalmmm_ppl._io import write_csv
from causalmmm_ppl.commands._run import load_any_run_and_data
from causalmmm_ppl.commands.forecast import plan_groups
from causalmmm_ppl.errors import InputError, require_finite
from causalmmm_ppl.inference.btvc import BTVCFit


def run(args: argparse.Namespace) -> int:
    if args.draws is not None and args.draws < 2:
        raise InputError(f"--draws must be at least 2, got {args.draws}")
    if not 0.0 < args.interval < 1.0:
        raise InputError(f"--interval must be in (0, 1), got {args.interval}")
    fit, panel = load_any_run_and_data(args.run, args.data, allow_missing_target=True)
    groups = plan_groups(panel)
    tables = []
    for (start, horizon), shops in groups.items():
        sub = panel.select_shops(shops)
        if isinstance(fit, BTVCFit):  # additive: its window is the plan's days after its training end
            tables.append(fit.effects(sub.select_time(start, start + horizon), interval=args.interval,
                                      seed=args.seed))
        else:
            tables.append(fit.effects(sub.select_time(0, start), sub.select_time(start, start + horizon),
                                      interval=args.interval, num_draws=args.draws, seed=args.seed))
    # shops with different windows have no common portfolio: "ALL" rows only when every plan is the same window
    table = tables[0] if len(tables) == 1 else pd.concat([t[t["shop"] != "ALL"] for t in tables], ignore_index=True)
    require_finite(table[["mean", "lower", "upper"]], "the effects")
    write_csv(table, args.out)
    if not args.quiet:
        print(f"effects: {panel.n_shops} shop(s) x {table['channel'].nunique()} channel(s); wrote {args.out}")
    return 0
