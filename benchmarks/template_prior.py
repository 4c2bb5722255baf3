"""Template prior: a fixed or a learned prior on the population layer's template edge probabilities.

Writes the section "Template prior (development seeds)" of docs/benchmarks.md. Development seeds (100, 101 by
default): this informs a setting, it is not a reported figure. The population layer learns each edge's probability
under each graph template from the shops' encoder logits, with a Beta prior on it: by default a fixed one of two
pseudo-shops centred on the model's prior edge probability (``edge_template_prior="fixed"``), or one per class of
edges (channel → channel, channel → mediator, channel → target, ...) whose two parameters the layer learns from the
population (``"class"``, type-II maximum likelihood, at most one template's worth of shops). Where every shop draws
its own graph (sim2), a per-edge probability learned from 20 shops follows their sampling noise and reorders one
class's pairs across channels; a learned prior pulls it toward the class's share. Each panel is fitted once on all
but its last 14 days; the same encoder logits are pooled with each prior (``CausalMMMFit.read_with``); each
reading's effects are scored as in "Causal effects and budget" (``total`` effects over shop × channel, 100 draws;
also the coverage of the ``held`` effects), its edges by per-shop AUROC and log loss over the candidate pairs and
by the AUROC of the channel → target pairs over all shops.

``python -m benchmarks.template_prior`` (one CausalMMM fit per panel, one to five minutes on one core, then one
effects table per prior); ``--quick`` runs tiny sizes (the test suite runs it so the script cannot rot).
"""

from __future__ import annotations

from benchmarks._effect_variants import METRICS, readings_main

TITLE = "## Template prior (development seeds)"
#: row label → the output settings a reading changes (``CausalMMMFit.read_with``)
VARIANTS = {"fixed (default)": {"edge_template_prior": "fixed"}, "learned per class": {"edge_template_prior": "class"}}
COLUMNS = {**METRICS, "log_loss": "edge log loss", "ct_auroc": "channel → target AUROC over shops"}


def main(argv: list[str] | None = None) -> int:
    return readings_main(argv, module="benchmarks.template_prior", title=TITLE, description=__doc__.splitlines()[0],
                         readings=VARIANTS, column="template prior", metrics=COLUMNS,
                         what="its encoder's logits pooled with the fixed prior, `edge_template_prior=\"fixed\"`, "
                              "the default, and with a prior learned per class of edges, `\"class\"`")


if __name__ == "__main__":
    raise SystemExit(main())
