"""Print how well an effects.csv (causalmmm effects) recovers a simulator's true effects.csv."""

import sys

import pandas as pd

from causalmmm_ppl.evaluation.effect_metrics import effect_report

estimate = pd.read_csv(sys.argv[1], dtype={"shop": str})
truth = pd.read_csv(sys.argv[2], dtype={"shop": str})
for kind in ("total", "held", "direct"):
    r = effect_report(estimate, truth, kind)
    print(f"{kind} effects over {truth['shop'].nunique()} shops: Spearman {r['spearman']:.2f}, portfolio ROAS error "
          f"{r['roas_rel_error']:.0%} (median over channels), {r['coverage']:.0%} of true effects inside the intervals")
