"""``benchmarks.scale_out --quick`` and ``benchmarks.scale_100k --quick``: a file of their own, so that the test
suite's workers can run them beside the other benchmarks' quick modes (they launch groups of processes)."""

from __future__ import annotations

from tests.benchmarks.test_quick_modes import DOC, run_quick


def test_quick_mode(capsys):
    run_quick("scale_out", "## Scale out", capsys)


def test_quick_mode_at_many_shops(capsys):
    """The many-shops section trains and scores every shop of its panel (24 in quick mode) by chunks."""
    from benchmarks import scale_100k

    before = DOC.read_text()
    assert scale_100k.main(["--quick", "--no-write"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("## Scale out: 100,000 shops") and "| training | 1 × 1 | 8 |" in out
    assert "| `causalmmm edges` | 24 | 10 |" in out and "nan" not in out
    assert DOC.read_text() == before
