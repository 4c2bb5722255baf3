"""Channel contribution shares on PyMC-Marketing's example data set, against its generating values.

Writes the section "Contribution shares on PyMC-Marketing's example" of docs/benchmarks.md. The data
(``datasets/pymc-marketing/mmm_example.csv``: 179 weeks, one unit, channels x1 and x2, two event dummies, target y)
are simulated upstream with documented contributions: x1 ≈ 29% and x2 ≈ 7% of total y. Both models are fitted to
all weeks and asked for each channel's share of the target:

- **BTVC** (NUTS, 2 chains × 1000 + 1000, the events as control columns, ``ColumnSpec.controls``):
  ``BTVCFit.contribution_shares``, the channel's
  contribution summed over the weeks over the observed target summed;
- **CausalMMM** (``CausalMMMSpec()``, the events as channels): the ``total`` effect of each channel over the weeks
  after the first 8 (the history its rollout starts from: ``CausalMMMFit.effects`` with those weeks as the window),
  over the observed target summed over the same weeks.

``python -m benchmarks.peer_contributions`` (a few minutes on one core); ``--quick`` runs tiny settings.
"""

from __future__ import annotations

import time
from pathlib import Path


from benchmarks._btvc import quick_inference
from benchmarks._doc import section_head, single_benchmark

TITLE = "## Contribution shares on PyMC-Marketing's example"
DATA = Path(__file__).resolve().parents[1] / "datasets" / "pymc-marketing" / "mmm_example.csv"
TRUTH = {"x1": 0.29, "x2": 0.07}  # documented upstream (datasets/README.md)
HISTORY_WEEKS = 8
DRAWS = 200
QUICK_DRAWS = 8


def num_draws(quick: bool) -> int:
    """Posterior draws of CausalMMM's effects: :data:`DRAWS`, or the few of a ``--quick`` run."""
    return QUICK_DRAWS if quick else DRAWS


def run(quick: bool, seed: int = 0) -> dict:
    from causalmmm_ppl import _runtime

    _runtime.configure(1)
    from causalmmm_ppl.data.load import load_panel
    from causalmmm_ppl.data.panel import ColumnSpec
    from causalmmm_ppl.inference.btvc import fit_btvc
    from causalmmm_ppl.inference.causalmmm_fit import fit_causalmmm
    from causalmmm_ppl.models.btvc_spec import BTVCInference, BTVCSpec
    from causalmmm_ppl.models.settings import CausalMMMSettings

    events = ("event_1", "event_2")
    # BTVC reads the events as control columns; CausalMMM reads the same rows with the events as channels, its input
    # as before controls were columns of their own, so that its figures do not change
    btvc_panel = load_panel(DATA, ColumnSpec(target="y", channels=("x1", "x2"), controls=events, date_col="date_week"))
    panel = load_panel(DATA, ColumnSpec(target="y", channels=("x1", "x2") + events, date_col="date_week"))
    out: dict = {"weeks": panel.n_time, "draws": num_draws(quick)}
    t0 = time.perf_counter()
    inference = quick_inference(50) if quick else BTVCInference(method="nuts", num_chains=2, num_warmup=1000,
                                                                num_samples=1000)
    btvc = fit_btvc(btvc_panel, BTVCSpec(), inference, seed=seed, progress=False)
    out["btvc_seconds"] = time.perf_counter() - t0
    shares = btvc.contribution_shares().set_index("channel")
    out["btvc"] = {c: shares.loc[c, ["mean", "lower", "upper"]].astype(float).tolist() for c in TRUTH}
    t0 = time.perf_counter()
    fit = fit_causalmmm(panel, CausalMMMSettings.of(**({"steps": 20} if quick else {})), seed=seed, progress=False)
    history, window = panel.select_time(0, HISTORY_WEEKS), panel.select_time(HISTORY_WEEKS, panel.n_time)
    table = fit.effects(history, window, kinds=("total",), num_draws=out["draws"], seed=seed)
    out["causalmmm_seconds"] = time.perf_counter() - t0
    y_total = float(window.values[0, :, -1].sum())
    rows = table[(table["shop"] != "ALL") & (table["kind"] == "total")].set_index("channel")
    out["causalmmm"] = {c: (rows.loc[c, ["mean", "lower", "upper"]].astype(float) / y_total).tolist() for c in TRUTH}
    return out


def render(result: dict, command: str) -> str:
    """The section; the draws named are the result's own (``result["draws"]``)."""
    lines = [
        *section_head(TITLE, command),
        "",
        f"PyMC-Marketing's `mmm_example.csv` ({result['weeks']} weeks, one unit; generating shares x1 ≈ 29%, x2 ≈ 7% "
        "of total y). Each cell: the model's posterior mean share of the target [90% interval]; BTVC over all weeks "
        f"(NUTS 2 × 1000 + 1000, events as controls), CausalMMM over the weeks after the first {HISTORY_WEEKS} (its "
        f"`total` effects with those weeks as the window, {result['draws']} draws, events as channels).",
        "",
        "| channel | true share | BTVC | CausalMMM |",
        "|---|---|---|---|",
    ]
    for c, truth in TRUTH.items():
        cells = [f"{m:.1%} [{lo:.1%}, {hi:.1%}]" for m, lo, hi in (result["btvc"][c], result["causalmmm"][c])]
        lines.append(f"| {c} | {truth:.0%} | " + " | ".join(cells) + " |")
    lines += ["", f"Fit and shares: BTVC {result['btvc_seconds']:.0f} s, CausalMMM {result['causalmmm_seconds']:.0f} s "
              "(one core)."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    return single_benchmark(argv, module="benchmarks.peer_contributions", title=TITLE,
                            description=__doc__.splitlines()[0], run=run, render=render)


if __name__ == "__main__":
    raise SystemExit(main())
