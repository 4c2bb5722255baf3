"""``benchmarks.real_panels --runs K``: CausalMMM's rows are fits that keep K SVI runs and mix them (quick settings)."""

from __future__ import annotations

import numpy as np

from benchmarks import real_panels


def test_runs_make_each_causalmmm_row_a_mixture_of_runs(monkeypatch):
    """With ``runs = 2`` each CausalMMM row is one fit with ``restarts = 2`` and ``keep_runs = "all"``, whose
    mixture gives all ``NUM_DRAWS`` draws; the section says so."""
    from causalmmm_ppl.inference import causalmmm_fit

    fits = []
    fit = causalmmm_fit.fit_causalmmm

    def recording_fit(*args, **kwargs):
        fits.append(fit(*args, **kwargs))
        return fits[-1]

    monkeypatch.setattr(causalmmm_fit, "fit_causalmmm", recording_fit)
    monkeypatch.setattr(real_panels, "NUM_DRAWS", 9)
    out = real_panels.score_panel("pymc_example", 4, quick=True, runs=2)
    assert len(fits) == 2  # with and without controls
    for f in fits:
        assert f.seed == 4 and [run["seed"] for run in f.svi_runs] == [4, 5]
        assert len(f.mixed_runs) == sum(run["kept"] for run in f.svi_runs) - 1
    for row in ("CausalMMM", "CausalMMM, no controls"):
        assert 0.0 <= out[row]["coverage_13"] <= 1.0 and np.isfinite(out[row]["wape_13"])
    text = real_panels.render([out], "cmd", (4,))
    assert "each fit keeps 2 SVI runs" in text and "| CausalMMM | " in text
