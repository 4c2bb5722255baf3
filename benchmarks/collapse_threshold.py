"""Collapse threshold (development seeds): the edge information of SVI runs, against which the default
``collapse_information`` is checked.

Writes the section "Collapse threshold (development seeds)" of docs/benchmarks.md: the panels and runs of
:mod:`benchmarks.restarts` (each panel fitted from SVI seeds S and S + 1, one run each) on development seeds of every
off-home scenario. A threshold must lie below the information of every run that recovers the graph and above that of
a collapsed run (one whose encoder's edges stay at the prior); the reported seeds are in "SVI restarts".
"""

from __future__ import annotations

from benchmarks._doc import panel_benchmark
from benchmarks.restarts import render_runs, score_panel

TITLE = "## Collapse threshold (development seeds)"
SCENARIOS = ("sources", "sim3", "sim1", "sim2")
SEEDS = (104, 105, 106)


def render(results: list[dict], command: str, seeds: tuple[int, ...]) -> str:
    """The section: development seeds' runs, where the threshold is checked."""
    return render_runs(results, command, TITLE,
                       f"Development seeds {', '.join(map(str, seeds))}, where the default collapse_information is "
                       "checked: it must lie below the edge information of every run that recovers a graph.")


def main(argv: list[str] | None = None) -> int:
    return panel_benchmark(argv, module="benchmarks.collapse_threshold", title=TITLE,
                           description=__doc__.splitlines()[0], scenarios=SCENARIOS, seeds=SEEDS, quick_seeds=(100,),
                           score_panel=score_panel, render=render)


if __name__ == "__main__":
    raise SystemExit(main())
