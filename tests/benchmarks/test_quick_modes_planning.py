"""The quick modes of the planning benchmarks (effects, allocation, their cost, contribution shares), in a file of
their own so that the test suite's two workers share the benchmarks' quick modes (see ``test_quick_modes.py``)."""

from __future__ import annotations

import pytest

from benchmarks._doc import DOC
from tests.benchmarks.test_quick_modes import run_quick

SCRIPTS = {
    "effects": "## Causal effects and budget",
    "allocation": "## Budget allocation",
    "peer_contributions": "## Contribution shares on PyMC-Marketing's example",
    "planning_cost": "## Planning cost: effects and allocation",
}


@pytest.mark.parametrize("name", list(SCRIPTS))
def test_quick_mode(name, capsys):
    run_quick(name, SCRIPTS[name], capsys)


def test_allocation_adds_a_variant_row_in_its_own_section(capsys):
    """``--variant`` fits CausalMMM with the settings it names beside the default and prints its row under the
    variant section's title (the reported section stays the default's)."""
    from benchmarks import allocation

    before = DOC.read_text()
    assert allocation.main(["--quick", "--no-write", "--scenarios", "sim1", "--jobs", "0",
                            "--variant", "adstock=mixed,mediator_prior=0.5"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(allocation.VARIANT_TITLE) and "--variant adstock=mixed,mediator_prior=0.5" in out
    rows = [line for line in out.splitlines() if line.startswith("| CausalMMM")]
    assert [r.split(" | ")[0] for r in rows] == ["| CausalMMM (default)",
                                                "| CausalMMM (adstock=mixed, mediator_prior=0.5)"]
    assert rows[0].split(" | ")[1] != rows[1].split(" | ")[1]  # a fit of its own, not the default's copy
    assert DOC.read_text() == before
