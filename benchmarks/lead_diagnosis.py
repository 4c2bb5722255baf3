"""Why CausalMMM misses PyMC Labs' weekly contributions: its messages carry a cause to the next period, while the
benchmark's channels drive the target in the same week.

Prints (writes nothing to docs/benchmarks.md). For each data set of ``datasets/mmm_param_recovery/`` the default
CausalMMM is fitted twice per SVI seed: on the data as recorded, and with every channel led by one week (the row of
week t holds week t + 1's spend, the last week dropped), so that the model's "next period" is the truth's same week.
Each fit prints the mean edge probability of channel → target per channel, each channel's estimated share of its
true contribution over the scored weeks (sum of the posterior-mean ``total`` effect series / sum of the true series;
1 is right) and the benchmark's SRMSE of the posterior-mean series (as in "Contribution recovery on PyMC Labs'
benchmark data", whose weeks after the first ``HISTORY_WEEKS`` are scored; led, the same weeks of the truth). Led,
setting the scored rows' spend to 0 leaves the first scored week's own spend in place (it sits in the row before),
so that week's estimate can hold less than its truth: one week of about 70 to 120.

``python -m benchmarks.lead_diagnosis --jobs 2`` (twelve fits of under a minute each on one core); ``--quick`` runs
tiny settings (the test suite runs it).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from benchmarks._doc import print_only_panels, print_only_parser
from benchmarks.param_recovery import DATA, DATASETS, HISTORY_WEEKS, causalmmm_contributions, load, num_draws, srmse

SEEDS = (100, 101)
LEADS = (0, 1)


def led_panel(name: str, lead: int):
    """The data set ``name`` with every channel led by ``lead`` weeks within each geo (the last ``lead`` weeks
    dropped), read by the project's loader as ``load`` reads it: the panel, its channels and the true contributions
    ``(geo, week, channel)`` of the panel's weeks, each week's truth the one its target holds."""
    import tempfile
    from pathlib import Path

    from causalmmm_ppl.data.load import load_panel
    from causalmmm_ppl.data.panel import ColumnSpec

    panel, channels, controls, true = load(name)
    if not lead:
        return panel, channels, true
    frame = pd.read_csv(DATA / name / "data.csv")
    frame[list(channels)] = frame.groupby("geo")[list(channels)].shift(-lead)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "data.csv"
        frame.dropna(subset=list(channels)).to_csv(path, index=False)
        panel = load_panel(path, ColumnSpec(target="y", channels=channels, controls=controls, shop_col="geo"))
    return panel, channels, true[:, : panel.n_time]


def diagnose(name: str, seed: int, quick: bool) -> dict:
    """Both leads of one data set fitted from SVI seed ``seed`` (runs in a worker process)."""
    from causalmmm_ppl import _runtime

    _runtime.configure(1)
    from causalmmm_ppl.inference.causalmmm_fit import fit_causalmmm
    from causalmmm_ppl.models.settings import CausalMMMSettings

    rows = {}
    for lead in LEADS:
        panel, channels, true = led_panel(name, lead)
        fit = fit_causalmmm(panel, CausalMMMSettings.of(**({"steps": 20} if quick else {})), seed=seed,
                            progress=False)
        p_target = fit.edge_probability_array()[:, : len(channels), -1].mean(0)  # channels first, the target last
        est = causalmmm_contributions(fit, panel, channels, num_draws(quick), seed).mean(0)  # (geo, week, ch.)
        scored = true[:, HISTORY_WEEKS:]
        rows[lead] = {"p_target": p_target.tolist(), "share": (est.sum((0, 1)) / scored.sum((0, 1))).tolist(),
                      "srmse": float(srmse(est, scored).mean())}
    return {"scenario": name, "seed": seed, "rows": rows}


def main(argv: list[str] | None = None) -> int:
    args = print_only_parser(__doc__.splitlines()[0], "datasets", DATASETS, SEEDS).parse_args(argv)
    results, seeds = print_only_panels(args, "datasets", diagnose)
    print("| data set | channels led by | p(channel → y) | share of the true contribution | SRMSE |")
    print("|---|---|---|---|---|")
    for name in dict.fromkeys(r["scenario"] for r in results):
        runs = [r for r in results if r["scenario"] == name]
        for lead in LEADS:
            cell = {key: np.mean([r["rows"][lead][key] for r in runs], axis=0) for key in ("p_target", "share", "srmse")}
            print(f"| {name} | {lead} week | {' / '.join(f'{v:.2f}' for v in cell['p_target'])} | "
                  f"{' / '.join(f'{v:.2f}' for v in cell['share'])} | {cell['srmse']:.3f} |")
    print(f"Mean over SVI seeds {', '.join(map(str, seeds))}; channels in the data set's order.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
