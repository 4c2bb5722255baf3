"""Rolling-origin backtests: origins, no look-ahead, scoring."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from causalmmm_ppl.data.panel import Panel
from causalmmm_ppl.evaluation.backtest import blind_plan, rolling_backtest, rolling_origins, summarize
from causalmmm_ppl.evaluation.baselines import seasonal_naive


def make_panel(shops: int = 2, days: int = 70, seed: int = 0) -> Panel:
    rng = np.random.default_rng(seed)
    t = np.arange(days)
    week = 1.0 + 0.5 * np.sin(2 * np.pi * t / 7)
    values = np.empty((shops, days, 3))
    values[..., 0] = rng.uniform(0, 1, (shops, days))  # channel
    values[..., 1] = week * 2.0  # mediator, weekly
    values[..., 2] = week * (np.arange(shops)[:, None] + 5.0)  # target, weekly
    return Panel(values=values, observed=np.ones(values.shape, bool), context=np.zeros((shops, 0)),
                 shops=tuple(f"s{k}" for k in range(shops)), dates=pd.date_range("2023-01-02", periods=days),
                 nodes=("c0", "pv", "gmv"), node_kinds=("channel", "mediator", "target"))


def test_rolling_origins():
    assert rolling_origins(100, 30, 2) == [40, 70]
    assert rolling_origins(100, 7, 3, step=5) == [83, 88, 93]
    with pytest.raises(ValueError):
        rolling_origins(50, 30, 2)


def test_blind_plan_keeps_only_channels():
    p = make_panel()
    plan = blind_plan(p, 60, 70)
    assert plan.n_time == 10 and plan.dates[0] == p.dates[60]
    assert plan.observed[..., 0].all() and not plan.observed[..., 1:].any()
    assert np.all(plan.values[..., 1:] == 0)
    np.testing.assert_array_equal(plan.values[..., 0], p.values[:, 60:70, 0])


def test_no_model_sees_the_days_it_forecasts():
    p = make_panel()
    seen = []

    def spy(history, plan, seed):
        seen.append((history.n_time, history.dates[-1], plan.dates[0], plan.observed[..., 1:].any(),
                     np.abs(plan.values[..., 1:]).sum()))
        return np.zeros((1, plan.n_shops, plan.n_time, plan.n_nodes))

    rolling_backtest(p, {"spy": spy}, horizons=(7, 14), n_origins=3)
    origins = rolling_origins(p.n_time, 14, 3)
    assert [s[0] for s in seen] == origins  # fit on days < o only
    for (n, last, first, obs, leak), o in zip(seen, origins):
        assert last < first and first == p.dates[o]
        assert not obs and leak == 0.0


def test_perfect_and_seasonal_naive_forecasts_score_zero_on_a_weekly_series():
    p = make_panel()

    def oracle(history, plan, seed):
        o = history.n_time
        return p.values[None, :, o : o + plan.n_time].copy()

    res = rolling_backtest(
        p, {"oracle": oracle, "naive": lambda h, pl, s: seasonal_naive.forecast(h, pl, num_draws=20, seed=s)},
        horizons=(7, 14), n_origins=2,
    )
    assert set(res.model) == {"oracle", "naive"} and len(res) == 2 * 2 * 2
    for name in ("oracle", "naive"):
        r = res[res.model == name]
        np.testing.assert_allclose(r.mse, 0.0, atol=1e-18)
        np.testing.assert_allclose(r.crps, 0.0, atol=1e-9)
    assert (res[res.model == "oracle"].coverage == 1.0).all()  # (naive: zero-width intervals, rounding decides)
    s = summarize(res)
    assert list(s.columns[:2]) == ["model", "horizon"] and len(s) == 4


def test_scores_cover_days_one_to_h_and_scaled_units():
    p = make_panel()

    def plus_one(history, plan, seed):
        o = history.n_time
        out = p.values[None, :, o : o + plan.n_time].copy()
        out[:, :, 7:, 2] += 1.0  # wrong only after day 7
        return out

    res = rolling_backtest(p, {"m": plus_one}, horizons=(7, 14), n_origins=1)
    assert res.loc[res.horizon == 7, "mse"].item() == 0.0
    assert res.loc[res.horizon == 14, "mse"].item() == pytest.approx(0.5)
    # scaled: divided by each shop's mean target over its training days (5 and 6 × the mean weekly factor)
    hist = p.values[:, :56, 2].mean(1)
    expected = np.mean([(1.0 / hist[s]) ** 2 for s in range(2)]) * 0.5
    assert res.loc[res.horizon == 14, "mse_scaled"].item() == pytest.approx(expected)


def test_wrong_shape_is_an_error():
    p = make_panel()
    with pytest.raises(ValueError, match="shape"):
        rolling_backtest(p, {"bad": lambda h, pl, s: np.zeros((1, 2, 3))}, horizons=(7,), n_origins=1)
