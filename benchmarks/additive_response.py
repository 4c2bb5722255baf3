"""Additive response: do per-shop effect sizes of channels and mediators on the target, added to the recurrent
baseline (``additive``), improve effects?

Writes the section "Additive response (development seeds)" of docs/benchmarks.md. Development seeds (100, 101 by
default): this decides a setting, it is not a reported figure. The effects issue proposes, where effects through
the decoder's messages are poorly recovered or calibrated, an additive per-edge response β_ij · s_i on top of the
recurrent baseline with a posterior on β_ij, gated by z_ij. ``CausalMMMSpec.additive`` gives every shop and
candidate edge into a mediator or the target such a term (``log β_nij ~ Normal(m_ij, additive_scale)``); the
decoder then models the baseline, and with ``additive_messages`` it keeps its messages into those nodes as well.
Each panel is fitted with each variant in ``VARIANTS`` and scored as in "Causal effects and budget".

``python -m benchmarks.additive_response`` (four CausalMMM fits per panel, one to two minutes each on one core);
``--quick`` runs tiny sizes (the test suite runs it so the script cannot rot).
"""

from __future__ import annotations

from benchmarks._effect_variants import variants_main

TITLE = "## Additive response (development seeds)"
VARIANTS = {
    "messages only (default)": {},
    "level": {"additive": "level"},
    "drive": {"additive": "drive"},
    "drive and messages": {"additive": "drive", "additive_messages": True},
}


def main(argv: list[str] | None = None) -> int:
    return variants_main(argv, module="benchmarks.additive_response", title=TITLE, description=__doc__.splitlines()[0],
                         variants=VARIANTS, column="effects into mediators and target",
                         what="how effects on the mediators and the target are carried")


if __name__ == "__main__":
    raise SystemExit(main())
