"""Collapse threshold and mixed runs (development seeds): the SVI runs of the defaults, each alone, the better by
ELBO, and mixed; the edge information against which the default ``collapse_information`` is checked.

Writes the section "Collapse threshold and mixed runs (development seeds)" of docs/benchmarks.md: the panels and runs
of :mod:`benchmarks.restarts` (each panel fitted once with the defaults, which train SVI runs from seeds S and S + 1
and mix them) on development seeds of every off-home scenario. The number of runs a fit trains and mixes from
``FEW_SHOPS`` shops on (:data:`~causalmmm_ppl.models.settings.PANEL_RUNS`) was chosen here. A collapse threshold must
lie below the information of every run that recovers the graph and above that of a collapsed run (one whose
encoder's edges stay at the prior); the reported seeds are in "SVI restarts".
"""

from __future__ import annotations

from benchmarks._doc import panel_benchmark
from benchmarks.restarts import render_runs, score_panel

TITLE = "## Collapse threshold and mixed runs (development seeds)"
SCENARIOS = ("sources", "sim3", "sim1", "sim2")
SEEDS = (104, 105, 106)


def render(results: list[dict], command: str, seeds: tuple[int, ...]) -> str:
    """The section: development seeds' runs, where the threshold is checked."""
    return render_runs(results, command, TITLE,
                       f"Development seeds {', '.join(map(str, seeds))}, where the number of runs mixed from 10 shops "
                       "on was chosen and the default collapse_information is checked: it must lie below the edge "
                       "information of every run that recovers a graph.")


def main(argv: list[str] | None = None) -> int:
    return panel_benchmark(argv, module="benchmarks.collapse_threshold", title=TITLE,
                           description=__doc__.splitlines()[0], scenarios=SCENARIOS, seeds=SEEDS, quick_seeds=(100,),
                           score_panel=score_panel, render=render)


if __name__ == "__main__":
    raise SystemExit(main())
