"""Message-weight prior and effects: what does a prior on the decoder's message weights (``edge_weight_prior``) do to
effects and graphs at full panel size (development seeds)?

Writes the section "Message-weight prior and effects (development seeds)" of docs/benchmarks.md. Development seeds
(100, 101 by default): this informs a setting, it is not a reported figure. "Graphs from few shops (development
seeds)" asks whether ``Normal(0, σ²)`` on every message weight keeps false edges off where a panel has one or a few
shops; this asks what it costs where shops are many. For every scenario and seed one panel is simulated and fitted
on all but its last 14 days once per prior scale, and scored as in "Causal effects and budget" (``total`` effects
over shop × channel: Spearman, portfolio-ROAS error, 90% coverage, error share;
:func:`causalmmm_ppl.evaluation.effect_metrics.effect_report`) and by per-shop AUROC of the edge probabilities over
the candidate pairs.

``python -m benchmarks.weight_prior --jobs 2`` (three CausalMMM fits per panel, one to three minutes each on one
core); ``--quick`` runs tiny sizes (the test suite runs it so the script cannot rot).
"""

from __future__ import annotations

from benchmarks._effect_variants import variants_main
from benchmarks.few_shops import SCALES
from causalmmm_ppl.models.spec import FEW_SHOPS

TITLE = "## Message-weight prior and effects (development seeds)"
#: few_shops' prior scales; at these sizes (FEW_SHOPS shops or more) no prior is the default
VARIANTS = {("none (default)" if label == "none" else label): {"edge_weight_prior": scale}
            for label, scale in SCALES.items()}


def main(argv: list[str] | None = None) -> int:
    return variants_main(argv, module="benchmarks.weight_prior", title=TITLE, description=__doc__.splitlines()[0],
                         variants=VARIANTS, column="σ",
                         what="prior scale σ of the decoder's message weights, `edge_weight_prior`; none: maximum "
                              f"likelihood, the default from {FEW_SHOPS} shops on")


if __name__ == "__main__":
    raise SystemExit(main())
