"""Prefix shop ids of a panel CSV (the demo's unseen shops must not share ids with the training shops)."""

import sys

import pandas as pd

src, prefix, dst = sys.argv[1], sys.argv[2], sys.argv[3]
frame = pd.read_csv(src, dtype={"shop": str})
frame["shop"] = prefix + frame["shop"]
frame.to_csv(dst, index=False)
