"""Print how much an allocated plan (causalmmm allocate) gains by a simulator's truth, against the simulator's optimum.

    python scripts/score_allocation.py NEWPLAN PLAN --scenario sim1 --shops 12 --days 240 --seed 0 [--horizon 14]

The simulation is re-run from its flags (the same ones `causalmmm simulate` took; checked against PLAN's spend), the
allocation read as NEWPLAN's spend over PLAN's spend per shop and channel on the window, and scored with the same
noise (:mod:`causalmmm_ppl.evaluation.allocation_truth`). The oracle is the same optimiser run on the simulator.
"""

import argparse
import sys

import numpy as np
import pandas as pd

from causalmmm_ppl.data.simulate import simulate
from causalmmm_ppl.evaluation.allocation_truth import oracle_allocation, true_target, true_uplift, window_spend

p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
p.add_argument("new_plan")
p.add_argument("plan")
p.add_argument("--scenario", required=True)
p.add_argument("--shops", type=int, required=True)
p.add_argument("--days", type=int, required=True)
p.add_argument("--seed", type=int, required=True)
p.add_argument("--horizon", type=int, default=14)
args = p.parse_args()

sim = simulate(args.scenario, n_shops=args.shops, n_days=args.days, seed=args.seed)
panel = sim.panel
channels = [panel.nodes[i] for i in panel.channel_index]
spend = window_spend(sim, args.horizon)  # (shop, day, channel)
window = {str(d.date()) for d in panel.dates[-args.horizon:]}


def window_totals(path: str) -> np.ndarray:
    frame = pd.read_csv(path, dtype={"shop": str})
    frame = frame[frame["date"].astype(str).isin(window)]
    return frame.groupby("shop", sort=False)[channels].sum().loc[list(panel.shops)].to_numpy(float)


planned, allocated = window_totals(args.plan), window_totals(args.new_plan)
if not np.allclose(planned, spend.sum(1), rtol=1e-6):
    sys.exit(f"{args.plan}: its spend is not the simulation's ({args.scenario}, seed {args.seed}); check the flags")
multipliers = np.where(planned > 0, allocated / np.where(planned > 0, planned, 1.0), 1.0)
base = float(true_target(sim, spend, np.ones(planned.shape), args.horizon).sum())
gain = true_uplift(sim, multipliers, args.horizon)
best = true_uplift(sim, oracle_allocation(sim, horizon=args.horizon), args.horizon)
print(f"allocation by the truth: {panel.target} over the window {gain / base:+.1%} against the plan; "
      f"the simulator's own optimum {best / base:+.1%} (the allocation reaches {gain / best:.0%} of it)")
