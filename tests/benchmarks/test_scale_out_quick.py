"""``benchmarks.scale_out --quick``: its own file, so that the test suite's two workers can run it beside the other
benchmarks' quick modes (it launches several groups of processes)."""

from __future__ import annotations

from tests.benchmarks.test_quick_modes import run_quick


def test_quick_mode(capsys):
    run_quick("scale_out", "## Scale out", capsys)
