"""Carryover family and effects: which carryover family recovers the true effects (development seeds)?

Writes the section "Carryover family and effects (development seeds)" of docs/benchmarks.md. Development seeds
(100, 101 by default): this informs a default, it is not a reported figure. The fit's rollouts propagate one day's
spend to the target too early and too briefly for channels whose carryover peaks days after the spend, and a
sustained intervention (an effect over a window) sums those responses (``python -m benchmarks.effects_diagnosis``,
its impulse responses). "Response families" compared the families by the graph only. For every scenario and seed
one panel is simulated and fitted on all but its last 14 days with each carryover family in ``FAMILIES`` (Hill
saturation), and scored as in "Causal effects and budget" (``total`` effects over shop × channel: Spearman,
portfolio-ROAS error, 90% coverage, error share; :func:`causalmmm_ppl.evaluation.effect_metrics.effect_report`) and
by per-shop AUROC of the edge probabilities over the candidate pairs.

``python -m benchmarks.carryover_effects`` (two CausalMMM fits per panel, one to three minutes each on one core);
``--quick`` runs tiny sizes (the test suite runs it so the script cannot rot).
"""

from __future__ import annotations

from benchmarks._effect_variants import family_label, variants_main

TITLE = "## Carryover family and effects (development seeds)"
#: row label → settings; every row names its family
FAMILIES = {family_label(name): {"adstock": name} for name in ("geometric", "buildup", "delayed", "mixed")}


def main(argv: list[str] | None = None) -> int:
    return variants_main(argv, module="benchmarks.carryover_effects", title=TITLE,
                         description=__doc__.splitlines()[0], variants=FAMILIES, column="carryover",
                         what="the causes' carryover family, `adstock`; Hill saturation")


if __name__ == "__main__":
    raise SystemExit(main())
