"""Effect sizes: do more channel → target edges, a mediated path, the decoder's size or its likelihood bring
CausalMMM's effects up to the truth (development seeds)?

Writes the section "Effect sizes (development seeds)" of docs/benchmarks.md. Development seeds (100, 101 by
default): this informs the model, it is not a reported figure. "Effects with the true structure (reference)" finds
that a least-squares reference told CausalMMM's graph with the true channel → target edges meets sim2's effects
goals, and that the fit misses a quarter of those edges; "Causal effects and budget" finds the fit's effects about
0.7 of the truth. For every scenario (sim2, whose goals the effects issue sets, and sim1 and sim3) and seed one panel
is simulated and fitted on all but its last 14 days once per variant of the model:

- a prior edge probability of 0.5 instead of 0.1 on every channel → target pair (``edge_priors``), which asks the
  fit for the channel → target edges it misses;
- every mediator → target edge required (``mediator_prior`` 1): the path through the mediator, which fits give a low
  probability although nearly every shop has it;
- the decoder halved and doubled (``hidden``, ``msg_dim``);
- a Normal likelihood instead of the Student-t (``likelihood``).

Each fit is scored as in "Causal effects and budget" (``total`` effects over shop × channel: Spearman,
portfolio-ROAS error, 90% coverage, error share; :func:`causalmmm_ppl.evaluation.effect_metrics.effect_report`), by
Σ estimate / Σ truth of those effects, by per-shop AUROC of the edge probabilities over the candidate pairs, and by
its channel → target edges above 0.5: the share of the true ones, and the number of absent ones.

``python -m benchmarks.effect_sizes --jobs 2`` (six CausalMMM fits per panel, one to four minutes each on one core);
``--quick`` runs tiny sizes (the test suite runs it so the script cannot rot).
"""

from __future__ import annotations

from functools import partial

from benchmarks._effect_variants import METRICS, variants_main
from causalmmm_ppl.models.settings import CausalMMMSettings

TITLE = "## Effect sizes (development seeds)"
_DEFAULT = CausalMMMSettings().model


def channel_target_priors(panel, probability: float) -> dict:
    """Overrides that set the prior of every channel → target pair of ``panel`` (module-level, so that a variant
    built on it with :func:`functools.partial` reaches the worker processes)."""
    return {"edge_priors": {f"{panel.nodes[i]}->{panel.target}": probability for i in panel.channel_index}}


VARIANTS = {
    "default": {},
    "channel → target prior 0.5": partial(channel_target_priors, probability=0.5),
    "mediator → target required": {"mediator_prior": 1.0},
    f"decoder halved (hidden {_DEFAULT.hidden // 2}, messages {_DEFAULT.msg_dim // 2})":
        {"hidden": _DEFAULT.hidden // 2, "msg_dim": _DEFAULT.msg_dim // 2},
    f"decoder doubled (hidden {2 * _DEFAULT.hidden}, messages {2 * _DEFAULT.msg_dim})":
        {"hidden": 2 * _DEFAULT.hidden, "msg_dim": 2 * _DEFAULT.msg_dim},
    "Normal likelihood": {"likelihood": "normal"},
}
COLUMNS = {"spearman": METRICS["spearman"], "roas_rel_error": METRICS["roas_rel_error"],
           "coverage": METRICS["coverage"], "error_share": METRICS["error_share"], "size": "Σ estimate / Σ truth",
           "auroc": METRICS["auroc"], "ct_recall": "channel → target found", "ct_false": "channel → target false"}


def main(argv: list[str] | None = None) -> int:
    return variants_main(argv, module="benchmarks.effect_sizes", title=TITLE, description=__doc__.splitlines()[0],
                         variants=VARIANTS, column="model", metrics=COLUMNS,
                         what="the variant of the model: channel → target prior, mediator → target edges, decoder "
                              "size, likelihood")


if __name__ == "__main__":
    raise SystemExit(main())
