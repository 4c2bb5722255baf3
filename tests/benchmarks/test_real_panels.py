"""``benchmarks.real_panels --runs K``: CausalMMM's rows pool the forecast draws of K fits (quick settings)."""

from __future__ import annotations

import numpy as np

from benchmarks import real_panels


def test_pooled_runs_score_the_same_number_of_draws_from_several_fits(monkeypatch):
    """With ``runs = 2`` each CausalMMM row is two fits from seeds S and S + RUN_STRIDE, each giving half the draws,
    scored as one forecast of ``NUM_DRAWS`` draws; the section says so."""
    from causalmmm_ppl.inference import causalmmm_fit
    from causalmmm_ppl.inference.causalmmm_results import CausalMMMFit

    seeds, shapes = [], []
    fit = causalmmm_fit.fit_causalmmm
    sample = CausalMMMFit.forecast_samples

    def recording_fit(*args, seed, **kwargs):
        seeds.append(seed)
        return fit(*args, seed=seed, **kwargs)

    def recording_sample(self, *args, **kwargs):
        draws = sample(self, *args, **kwargs)
        shapes.append(np.asarray(draws).shape[0])
        return draws

    monkeypatch.setattr(causalmmm_fit, "fit_causalmmm", recording_fit)
    monkeypatch.setattr(CausalMMMFit, "forecast_samples", recording_sample)
    monkeypatch.setattr(real_panels, "NUM_DRAWS", 9)
    out = real_panels.score_panel("pymc_example", 4, quick=True, runs=2)
    assert seeds == [4, 4 + real_panels.RUN_STRIDE] * 2  # with and without controls
    assert shapes == [5, 5] * 2  # ceil(9 / 2) each, the pooled forecast cut to 9
    for row in ("CausalMMM", "CausalMMM, no controls"):
        assert 0.0 <= out[row]["coverage_13"] <= 1.0 and np.isfinite(out[row]["wape_13"])
    text = real_panels.render([out], "cmd", (4,))
    assert "CausalMMM rows: 2 fits each" in text and "| CausalMMM | " in text
