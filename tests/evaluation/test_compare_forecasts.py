"""Held-out comparison (leave-future-out): each model's log predictive density of the held-out target, and the
table that ranks runs by it."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import logsumexp
from scipy.stats import gaussian_kde

from causalmmm_ppl.data.simulate import simulate
from causalmmm_ppl.evaluation.compare import FORECAST_COLUMNS, compare_forecasts
from causalmmm_ppl.inference.btvc import fit_btvc
from causalmmm_ppl.inference.causalmmm_fit import fit_causalmmm
from causalmmm_ppl.models.btvc_spec import BTVCInference, BTVCSpec
from causalmmm_ppl.models.settings import CausalMMMSettings

DAYS, HISTORY = 80, 70


@pytest.fixture(scope="module")
def panel():
    return simulate("sim1", n_shops=6, n_days=DAYS, seed=5).panel


@pytest.fixture(scope="module")
def fits(panel):
    history = panel.select_time(0, HISTORY)
    trained = fit_causalmmm(history, CausalMMMSettings.of(steps=120), seed=1, progress=False)
    untrained = fit_causalmmm(history, CausalMMMSettings.of(steps=2), seed=1, progress=False)
    btvc = fit_btvc(history, BTVCSpec(yearly_order=0), BTVCInference(method="svi", svi_steps=300, svi_draws=200),
                    seed=0, progress=False)
    return {"trained": trained, "untrained": untrained, "btvc": btvc}


def _pointwise(lp: np.ndarray) -> np.ndarray:
    return logsumexp(lp, axis=0) - np.log(lp.shape[0])


def _kde(draws: np.ndarray, observed: np.ndarray) -> np.ndarray:
    """(shop, day) log density of the observed values under a Gaussian KDE of the forecast draws (draw, shop, day)."""
    return np.array([[np.log(gaussian_kde(draws[:, s, t])(observed[s, t])[0]) for t in range(draws.shape[2])]
                     for s in range(draws.shape[1])])


@pytest.mark.parametrize("name", ["trained", "btvc"])
def test_the_predictive_density_is_the_density_of_the_forecast_draws(name, panel, fits):
    """Each model's h-step-ahead density (from its likelihood, per draw) agrees with a kernel density estimate of
    its own forecast draws at the observed values: both estimate the same predictive distribution."""
    fit = fits[name]
    history, window = panel.select_time(0, HISTORY), panel.select_time(HISTORY, DAYS)
    lp = fit.predictive_log_density(history, window, num_draws=200, seed=0)
    assert lp.shape[1:] == (6, DAYS - HISTORY) and np.isfinite(lp).all()
    draws = (fit.forecast_samples(history, window, num_draws=400, seed=3)[..., -1] if name == "trained"
             else fit.forecast_samples(window))
    kde = _kde(draws, window.values[..., -1])
    ours = _pointwise(lp)
    assert np.corrcoef(ours.ravel(), kde.ravel())[0, 1] > 0.95
    assert abs(ours.sum() - kde.sum()) < 0.03 * abs(kde.sum())


def test_held_out_comparison_ranks_the_trained_fit_first(panel, fits):
    runs = {name: (fits[name], panel, "causalmmm" if name != "btvc" else "btvc") for name in fits}
    result = compare_forecasts(runs, num_draws=50)
    table = result.table
    assert list(table.columns) == list(FORECAST_COLUMNS)
    assert table["run"].iloc[0] != "untrained" and table["run"].iloc[-1] == "untrained"
    assert (table["n_obs"] == 6 * (DAYS - HISTORY)).all() and (table["periods"] == DAYS - HISTORY).all()
    worst = table.iloc[-1]
    assert worst["elpd_diff"] > 2 * worst["dse"] > 0  # a clear loss, not noise
    assert "60 held-out observations of 'gmv'" in result.summary


def test_runs_fitted_up_to_different_periods_are_refused(panel, fits):
    shorter = fit_causalmmm(panel.select_time(0, HISTORY - 1), CausalMMMSettings.of(steps=2), seed=1, progress=False)
    with pytest.raises(ValueError, match="fitted up to different periods"):
        compare_forecasts({"a": (fits["trained"], panel, "causalmmm"), "b": (shorter, panel, "causalmmm")})
    with pytest.raises(ValueError, match="no periods after the runs' training end"):
        compare_forecasts({"a": (fits["trained"], panel.select_time(0, HISTORY), "causalmmm"),
                           "b": (fits["btvc"], panel.select_time(0, HISTORY), "btvc")})
