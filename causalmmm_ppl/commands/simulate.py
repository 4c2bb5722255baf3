"""``causalmmm simulate``: write a simulated panel with its true graph and effects.

Files: ``panel.csv``, ``truth.csv`` (the graph), ``fit_flags.txt``, and for the last ``--horizon`` days
``effects.csv`` (every shop's and channel's true ``total``, ``held`` and ``direct`` effect on the target, from the
simulator re-run with the same noise; :mod:`causalmmm_ppl.data.effects_truth`), ``history.csv`` (the days before)
and ``plan.csv`` (the whole panel with the mediators and the target empty on those days, as ``forecast`` and
``effects`` read a plan).
"""

from __future__ import annotations

import argparse
import sys

from causalmmm_ppl.data.simulate import scenario_config, simulate

# Show a progress bar over days when a panel has at least this many values (shops × days × nodes).
PROGRESS_MIN_VALUES = 200_000


def run(args: argparse.Namespace) -> int:
    """Simulate the scenario and write ``args.out`` atomically.

    Raises
    ------
    ValueError
        Bad sizes (e.g. ``--shops 0``, too few ``--days``), or an ``--out`` this tool did not write (without
        ``--force``); nothing is written.
    """
    cfg = scenario_config(args.scenario, n_shops=args.shops, n_channels=args.channels, n_days=args.days)
    progress = not args.quiet and cfg.n_shops * cfg.n_days * cfg.n_nodes >= PROGRESS_MIN_VALUES
    result = simulate(
        cfg.name, n_shops=cfg.n_shops, n_channels=cfg.n_channels, n_days=cfg.n_days, seed=args.seed,
        progress=progress,
    )
    out = result.write(args.out, force=bool(getattr(args, "force", False)), horizon=args.horizon, progress=progress)
    if not args.quiet:
        n_edges = int(result.adjacency.sum())
        print(
            f"wrote {out}: {cfg.name}, {cfg.n_shops} shops × {cfg.n_nodes} nodes × {cfg.n_days} days, "
            f"{n_edges} true edges; fit flags in {out / 'fit_flags.txt'}",
            file=sys.stdout,
        )
    return 0
