"""Turn the last H days of a panel CSV into a spend plan: keep the channels, empty the target and mediators."""

import sys

import pandas as pd

src, horizon, dst = sys.argv[1], int(sys.argv[2]), sys.argv[3]
frame = pd.read_csv(src, dtype={"shop": str})
last = sorted(frame["date"].unique())[-horizon:]
plan = frame["date"].isin(last)
frame.loc[plan, ["pv", "gmv"]] = float("nan")
frame.to_csv(dst, index=False)
print(f"plan: {plan.sum()} rows over {horizon} days -> {dst}", file=sys.stderr)
