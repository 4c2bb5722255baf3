"""Edge gains: does a per-shop, per-edge effect size with a posterior (``edge_gain``) improve effects?

Writes the section "Edge gains (development seeds)" of docs/benchmarks.md. Development seeds (100, 101 by default):
this decides a setting, it is not a reported figure. The effects issue proposes giving each shop's edge a size of
its own with a posterior, because the decoder's population weights W_ij, which carry the size of every effect, are
point estimates. ``CausalMMMSpec.edge_gain = s`` multiplies the message of edge i → j in shop n by ``exp(g_nij)``,
``g_nij ~ Normal(0, s)``, with the amortized guide giving each ``g_nij`` a Normal posterior. For every scenario and
seed one panel is simulated and fitted on all but its last 14 days with each prior scale in ``GAINS`` (0: no gain,
the default), and scored as in "Causal effects and budget" (``total`` effects over shop × channel: Spearman,
portfolio-ROAS error, 90% coverage, error share; :func:`causalmmm_ppl.evaluation.effect_metrics.effect_report`) and
by per-shop AUROC of the edge probabilities over the candidate pairs.

``python -m benchmarks.edge_gain`` (three CausalMMM fits per panel, one to two minutes each on one core);
``--quick`` runs tiny sizes (the test suite runs it so the script cannot rot).
"""

from __future__ import annotations

from benchmarks._effect_variants import variants_main

TITLE = "## Edge gains (development seeds)"
GAINS = (0.0, 0.3, 1.0)
VARIANTS = {f"{gain:g}{' (default)' if gain == 0 else ''}": {"edge_gain": gain} for gain in GAINS}


def main(argv: list[str] | None = None) -> int:
    return variants_main(argv, module="benchmarks.edge_gain", title=TITLE, description=__doc__.splitlines()[0],
                         variants=VARIANTS, column="edge_gain",
                         what="prior scale s of the log edge gains, `edge_gain`; 0: no gain, the default")


if __name__ == "__main__":
    raise SystemExit(main())
