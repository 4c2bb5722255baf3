"""Edge miss rate and effects: how the population layer's miss rate μ moves the recovered effects.

Writes the section "Edge miss rate and effects (development seeds)" of docs/benchmarks.md. Development seeds (100,
101 by default): this informs a setting, it is not a reported figure. On a development seed of sim1 the fit's
effects reach the truth when the simulator's graph is imposed, and fall a third short under the fit's own posterior,
whose channel → target edges that exist are held at 0.1–0.9 ("Multi-step paths (development seeds)"). The
population layer reads each shop's encoder score through error rates: μ (``edge_miss_rate``), the share of present
edges the encoder scores like absent ones: the larger it is, the more an edge that its template holds keeps of the
template's probability where the shop's own score is low; the smaller, the further such a score pulls it down. Each panel is fitted once on all but its last 14 days; the same encoder logits are
pooled again with each μ in ``RATES`` (``CausalMMMFit.read_with``; everything else as fitted), and also read
without the layer (``edge_pooling=0``: the encoder's own edges); each reading's effects are scored as in
"Causal effects and budget" (``total`` effects over shop × channel, 100 draws; also the coverage of the ``held``
effects), with the edges' per-shop AUROC and log loss over the candidate pairs.

``python -m benchmarks.miss_rate`` (one CausalMMM fit per panel, one to two minutes on one core, then one effects
table per rate); ``--quick`` runs tiny sizes (the test suite runs it so the script cannot rot).
"""

from __future__ import annotations

from benchmarks._effect_variants import METRICS, readings_main
from causalmmm_ppl.models.settings import EDGE_MISS_RATE

TITLE = "## Edge miss rate and effects (development seeds)"
RATES = (0.03, 0.1, 0.3, 0.5, 0.7)
#: row label → the output settings a reading changes (``CausalMMMFit.read_with``)
VARIANTS = {**{f"μ = {rate:g}{' (default)' if rate == EDGE_MISS_RATE else ''}": {"edge_miss_rate": rate}
               for rate in RATES},
            "no pooling (the encoder's own edges)": {"edge_pooling": 0}}
COLUMNS = {**METRICS, "log_loss": "edge log loss"}


def main(argv: list[str] | None = None) -> int:
    return readings_main(argv, module="benchmarks.miss_rate", title=TITLE, description=__doc__.splitlines()[0],
                         readings=VARIANTS, column="reading", metrics=COLUMNS,
                         what="its encoder's logits pooled with each miss rate μ, `edge_miss_rate`, 0.3 the "
                              "default, and read without the population layer, `edge_pooling=0`")


if __name__ == "__main__":
    raise SystemExit(main())
