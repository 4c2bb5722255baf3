"""Multi-step paths in training: does scoring free-running paths beside the one-step likelihood improve effects?

Writes the section "Multi-step paths (development seeds)" of docs/benchmarks.md. Development seeds (100, 101 by
default): this decides a setting, it is not a reported figure. SVI fits CausalMMM by its one-step-ahead likelihood,
while an effect over a window is a rollout of many days, and the fits' effects fall behind the truth day by day over
the window ("Edge draws (development seeds)"). ``CausalMMMInference.multistep = K`` also scores, in every training
window, paths of K days on which the mediators and the target are fed their own predicted locations (the channels
stay observed; :meth:`causalmmm_ppl.models.causalmmm.CausalMMM.path_means`), each scored day weighted
``multistep_weight``. For every scenario and seed one panel is simulated and fitted on all but its last 14 days with
each variant in ``VARIANTS``, and scored as in "Causal effects and budget" (``total`` effects over shop × channel)
and by per-shop AUROC of the edge probabilities over the candidate pairs.

``python -m benchmarks.multistep`` (three CausalMMM fits per panel, two to four minutes each on one core);
``--quick`` runs tiny sizes (the test suite runs it so the script cannot rot).
"""

from __future__ import annotations

from benchmarks._effect_variants import variants_main

TITLE = "## Multi-step paths (development seeds)"
VARIANTS = {
    "0 (default)": {"multistep": 0},
    "14, weight 0.3": {"multistep": 14, "multistep_weight": 0.3},
    "14, weight 1": {"multistep": 14, "multistep_weight": 1.0},
}


def main(argv: list[str] | None = None) -> int:
    return variants_main(argv, module="benchmarks.multistep", title=TITLE, description=__doc__.splitlines()[0],
                         variants=VARIANTS, column="multistep",
                         what="`multistep` K, the days of the free-running paths scored in training, and "
                              "`multistep_weight`; 0: none, the default")


if __name__ == "__main__":
    raise SystemExit(main())
