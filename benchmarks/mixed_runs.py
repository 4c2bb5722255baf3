"""Mixed SVI runs on few shops: do the intervals of a fit that keeps several SVI runs and mixes their posteriors
(``keep_runs = "all"``) cover the held-out periods of panels of one to eight shops, where one run's do not
(development seeds)?

Writes the section "Mixed SVI runs on few shops (development seeds)" of docs/benchmarks.md. Development seeds (100,
101, 102 by default): this informs a setting, it is not a reported figure. The panels, the holdout and the scores are
those of "Graphs from few shops" (:mod:`benchmarks.few_shops`: sim1 and sim3 at 1, 2, 4 and 8 shops, PyMC Labs' three
data sets; per-shop AUROC, mean edge probability of the true and of the absent candidates, holdout WAPE, CRPS and
90% coverage from 200 draws), each panel fitted in two ways (:data:`VARIANTS`), the other settings at their
defaults: one SVI run, and ``RUNS`` runs (seeds S, S + 1, …) mixed with equal weights (the default below 10 shops). SVI's variational posterior leaves out how far separate
runs end apart (the decoders' weights are point estimates): the mixture puts that spread into the intervals.

``python -m benchmarks.mixed_runs --jobs 2``; ``--quick`` runs tiny sizes (the test suite runs it so the script
cannot rot).
"""

from __future__ import annotations

from benchmarks._doc import panel_benchmark, section_head
from benchmarks.few_shops import HOLDOUT, SCENARIOS, SIZES, score_panel as few_shops_panel, variant_tables

TITLE = "## Mixed SVI runs on few shops (development seeds)"
SEEDS = (100, 101, 102)
RUNS = 3
#: label → the settings each panel is fitted with
VARIANTS = {"one run": {"restarts": 1, "keep_runs": "best"}, f"{RUNS} runs mixed": {"restarts": RUNS, "keep_runs": "all"}}


def score_panel(scenario: str, seed: int, quick: bool, sizes: str = SIZES) -> dict:
    """Every panel of ``scenario`` (:func:`benchmarks.few_shops.score_panel`), fitted once per variant."""
    return few_shops_panel(scenario, seed, quick, sizes, VARIANTS)


def render(results: list[dict], command: str, seeds: tuple[int, ...]) -> str:
    lines = [
        *section_head(TITLE, command),
        "",
        f"Development seeds {', '.join(map(str, seeds))} only (simulation and SVI seed). The panels of \"Graphs from "
        "few shops\": a simulated scenario's first shops (its default days), PyMC Labs' data sets (all geos and weeks, "
        "the controls as control columns, truth every channel → the target and nothing else). Each panel is fitted "
        f"as one SVI run (`{{\"restarts\": 1}}`) and as {RUNS} runs (seeds S, S + 1, …) whose posteriors are mixed "
        f"with equal weights (`{{\"restarts\": {RUNS}, \"keep_runs\": \"all\"}}`), the other settings at their "
        "defaults. Each fit sees all but the last "
        f"{HOLDOUT['sim1']} days ({HOLDOUT['pymc_labs']} weeks for PyMC Labs' data sets). Per-shop AUROC over the "
        "candidate pairs, the mean edge probability of the true and of the absent candidates, and the fit's forecast "
        "of the target over the held-out periods given their spend (and controls), scored as in \"Real panels\": WAPE "
        "of the median, CRPS in units of the shop's mean training target and the share of values inside the 90% "
        "interval (200 draws). Mean ± sd over seeds.",
        "",
    ]
    return "\n".join(lines + variant_tables(results, "SVI runs", tuple(VARIANTS)))


def main(argv: list[str] | None = None) -> int:
    return panel_benchmark(argv, module="benchmarks.mixed_runs", title=TITLE, description=__doc__.splitlines()[0],
                           scenarios=SCENARIOS, seeds=SEEDS, quick_seeds=SEEDS[:1], score_panel=score_panel,
                           render=render, options={"sizes": (SIZES, "shops of the simulated panels, comma-separated")})


if __name__ == "__main__":
    raise SystemExit(main())
