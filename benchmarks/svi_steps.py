"""SVI steps and effects: does a default fit train too long for a small panel (development seeds)?

Writes the section "SVI steps and effects (development seeds)" of docs/benchmarks.md. Development seeds (100, 101 by
default): this informs a default, it is not a reported figure. "Effects with the true structure (reference)" finds
that on sim2 (20 shops) the channel → target edges a fit misses are what hold its effects back, and that SVI ranks
them below the guide's screen it starts from. For every scenario and seed one panel is simulated and fitted on all
but its last 14 days with the default number of SVI steps, with half and with a third of it (the whole schedule of
learning rate, temperature and KL warm-up follows the step count; every fit mixes its default number of SVI runs),
and scored as in "Causal effects and budget" (``total`` effects over shop × channel: Spearman, portfolio-ROAS error,
90% coverage, error share;
:func:`causalmmm_ppl.evaluation.effect_metrics.effect_report`) and by per-shop AUROC of the edge probabilities over
the candidate pairs.

``python -m benchmarks.svi_steps`` (three CausalMMM fits per panel, two to five minutes each on one core);
``--quick`` runs tiny sizes (the test suite runs it so the script cannot rot).
"""

from __future__ import annotations

from benchmarks._effect_variants import variants_main
from causalmmm_ppl.models.settings import CausalMMMInference

TITLE = "## SVI steps and effects (development seeds)"
DEFAULT = CausalMMMInference().steps
STEPS = {f"{DEFAULT} (default)": {}, **{f"{DEFAULT // k}": {"steps": DEFAULT // k} for k in (2, 3)}}


def main(argv: list[str] | None = None) -> int:
    return variants_main(argv, module="benchmarks.svi_steps", title=TITLE, description=__doc__.splitlines()[0],
                         variants=STEPS, column="SVI steps", what="the number of SVI steps")


if __name__ == "__main__":
    raise SystemExit(main())
