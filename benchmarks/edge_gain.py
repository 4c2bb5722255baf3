"""Edge gains: does a per-shop, per-edge effect size with a posterior (``edge_gain``) improve effects?

Writes the section "Edge gains (development seeds)" of docs/benchmarks.md. Development seeds (100, 101 by default):
this decides a setting, it is not a reported figure. The effects issue proposes giving each shop's edge a size of
its own with a posterior, because the decoder's population weights W_ij, which carry the size of every effect, are
point estimates. ``CausalMMMSpec.edge_gain = s`` multiplies the message of edge i → j in shop n by ``exp(g_nij)``,
``g_nij ~ Normal(0, s)``, with the amortized guide giving each ``g_nij`` a Normal posterior; with
``learn_gain_scale`` s is learned with the decoder (type-II), so the ELBO says how far shops' effect sizes spread.
For every scenario and seed one panel is simulated and fitted on all but its last 14 days with each variant in
``VARIANTS`` (0: no gain, the default), and scored as in "Causal effects and budget" (``total`` effects over shop ×
channel: Spearman, portfolio-ROAS error, 90% coverage, error share;
:func:`causalmmm_ppl.evaluation.effect_metrics.effect_report`) and by per-shop AUROC of the edge probabilities over
the candidate pairs; a learned s is shown as the fit ends.

``python -m benchmarks.edge_gain`` (four CausalMMM fits per panel, one to two minutes each on one core);
``--quick`` runs tiny sizes (the test suite runs it so the script cannot rot).
"""

from __future__ import annotations

from benchmarks._effect_variants import METRICS, variants_main

TITLE = "## Edge gains (development seeds)"
#: label → overrides: no gain (the default), a fixed prior scale, and a scale learned from two starts
VARIANTS = {"0 (default)": {"edge_gain": 0.0}, "0.3": {"edge_gain": 0.3},
            "0.3, learned": {"edge_gain": 0.3, "learn_gain_scale": True},
            "1, learned": {"edge_gain": 1.0, "learn_gain_scale": True}}


def main(argv: list[str] | None = None) -> int:
    return variants_main(argv, module="benchmarks.edge_gain", title=TITLE, description=__doc__.splitlines()[0],
                         variants=VARIANTS, column="edge_gain",
                         what="prior scale s of the log edge gains, `edge_gain`; 0: no gain, the default; "
                              "\"learned\": s starts there and is learned with the decoder, `learn_gain_scale`",
                         metrics={**METRICS, "gain_scale": "learned s"})


if __name__ == "__main__":
    raise SystemExit(main())
