"""Print how well an edges.csv recovers a truth.csv (per-shop AUROC/AUPRC, SHD at 0.5)."""

import sys

import pandas as pd

from causalmmm_ppl.evaluation.graph_metrics import edges_to_array, graph_report

edges = pd.read_csv(sys.argv[1], dtype={"shop": str})
truth = pd.read_csv(sys.argv[2], dtype={"shop": str})
shops = tuple(dict.fromkeys(truth["shop"]))
nodes = tuple(dict.fromkeys(list(truth["cause"]) + list(truth["effect"])))
prob = edges_to_array(edges, shops, nodes, value="probability")
true = edges_to_array(truth, shops, nodes, value="edge")
r = graph_report(prob, true)
print(
    f"graph recovery over {r['n_shops']} shops: AUROC {r['auroc_mean']:.3f} ± {r['auroc_std']:.3f}, "
    f"AUPRC {r['auprc_mean']:.3f} ± {r['auprc_std']:.3f}, SHD at 0.5 {r['shd_mean']:.1f}"
)
