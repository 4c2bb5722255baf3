"""Mediator prior and carryover: does an even prior on the mediator → target edges carry the mediated effects that
the fits miss (development seeds)?

Writes the section "Mediator prior and carryover (development seeds)" of docs/benchmarks.md. Development seeds (100,
101 by default): this informs a default, it is not a reported figure. A node declared a mediator is one the user
expects on the way from the channels to the target, yet the default prior gives its edge into the target the same
probability as any other pair (``prior_prob``, 0.1). On sim1 and sim2 that edge is in nearly every shop, and the
fits leave it near the prior or pool it to 0 ("Mediated effects"); with the mixed carryover family the mediated path
on sim1 can be lost entirely. For every scenario and seed one panel is simulated and fitted on all but its last 14
days with each carryover family (geometric, the default, and mixed), with the default prior and with a prior
probability of 0.5 on every mediator → target pair (``mediator_prior``: an expert belief, so such a pair keeps its
own prior and is not pooled), and scored as in "Causal effects and budget" (``total`` effects over shop × channel:
Spearman, portfolio-ROAS error, 90% coverage; :func:`causalmmm_ppl.evaluation.effect_metrics.effect_report`), by
the coverage of the ``held`` effects, by Σ estimate / Σ truth of the ``total`` effects and by per-shop AUROC of the
edge probabilities over the candidate pairs.

``python -m benchmarks.mediator_prior --jobs 2`` (four CausalMMM fits per panel, one to three minutes each on one
core); ``--quick`` runs tiny sizes (the test suite runs it so the script cannot rot).
"""

from __future__ import annotations

from benchmarks._effect_variants import METRICS, family_label, variants_main

TITLE = "## Mediator prior and carryover (development seeds)"
VARIANTS = {}
for _family in ("geometric", "mixed"):
    VARIANTS[family_label(_family)] = {"adstock": _family}
    VARIANTS[f"{family_label(_family)}, mediator → target prior 0.5"] = {"adstock": _family, "mediator_prior": 0.5}
COLUMNS = {"spearman": METRICS["spearman"], "roas_rel_error": METRICS["roas_rel_error"],
           "coverage": METRICS["coverage"], "held_coverage": METRICS["held_coverage"],
           "size": "Σ estimate / Σ truth", "auroc": METRICS["auroc"]}


def main(argv: list[str] | None = None) -> int:
    return variants_main(argv, module="benchmarks.mediator_prior", title=TITLE, description=__doc__.splitlines()[0],
                         variants=VARIANTS, column="model", metrics=COLUMNS,
                         what="the carryover family, `adstock`, and the prior of the mediator → target pairs")


if __name__ == "__main__":
    raise SystemExit(main())
