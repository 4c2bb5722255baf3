"""BTVC settings shared by the benchmark scripts."""

from __future__ import annotations

#: SVI steps of a ``--quick`` BTVC fit.
QUICK_SVI_STEPS = 20


def quick_inference(draws: int):
    """The ``BTVCInference`` of a benchmark's ``--quick`` BTVC fit: SVI with a few steps and ``draws`` draws (a NUTS
    compile would dominate the test suite's time; the full runs keep their own settings)."""
    from causalmmm_ppl.models.btvc_spec import BTVCInference

    return BTVCInference(method="svi", svi_steps=QUICK_SVI_STEPS, svi_draws=draws)
