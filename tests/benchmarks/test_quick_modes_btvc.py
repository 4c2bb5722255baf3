"""The quick modes of the BTVC benchmarks that compile several JAX programs (many shops: NUTS and SVI; the two SVI
engines; the two NUTS engines), in a file of their own so that the test suite's workers share the benchmarks'
quick modes (see ``test_quick_modes.py``)."""

from __future__ import annotations

import pytest

from tests.benchmarks.test_quick_modes import run_quick

SCRIPTS = {
    "btvc_panels": "## BTVC on many shops",
    "btvc_svi_engines": "## BTVC: SVI engines",
    "btvc_nuts_engines": "## BTVC: NUTS engines",
}


@pytest.mark.parametrize("name", list(SCRIPTS))
def test_quick_mode(name, capsys):
    run_quick(name, SCRIPTS[name], capsys)
