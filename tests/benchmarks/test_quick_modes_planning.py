"""The quick modes of the planning benchmarks (effects, allocation, their cost, contribution shares), in a file of
their own so that the test suite's two workers share the benchmarks' quick modes (see ``test_quick_modes.py``)."""

from __future__ import annotations

import pytest

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
