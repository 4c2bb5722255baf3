"""Budget allocation: the optimiser against closed-form optima, the constraints, risk, and a real BTVC fit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from causalmmm_ppl.data.panel import Panel
from causalmmm_ppl.errors import InputError
from causalmmm_ppl.inference.allocate import DEFAULT_BOUNDS, GRID_STEP, allocate, curve_grid, read_bounds
from causalmmm_ppl.transforms import np_ops

H = 7


def plan_panel(spend: np.ndarray) -> Panel:
    """A plan of ``spend: (shop, channel)`` per day over H days (constant shape), target empty."""
    n_shops, n_ch = spend.shape
    values = np.concatenate([np.repeat(spend[:, None, :], H, axis=1), np.zeros((n_shops, H, 1))], axis=-1)
    observed = np.ones(values.shape, bool)
    observed[..., -1] = False
    return Panel(values=values, observed=observed, context=np.zeros((n_shops, 0)),
                 shops=tuple(f"s{i}" for i in range(n_shops)), dates=pd.date_range("2024-01-01", periods=H),
                 nodes=tuple(f"c{k}" for k in range(n_ch)) + ("y",), node_kinds=("channel",) * n_ch + ("target",))


class LogResponse:
    """A model with a closed form: the window's target is ``Σ_c a[draw, shop, c]·log(1 + spend_c / 50)``, plus an optional
    penalty ``k·(Δ_0·Δ_1)²`` on moving channels 0 and 1 together (Δ: change of their spend), which no single-channel
    curve shows. The same ``effect_samples`` call as the fitted models."""

    def __init__(self, a: np.ndarray, interaction: float = 0.0) -> None:
        self.a = a  # (draw, shop, channel)
        self.interaction = interaction
        self.channel_names = [f"c{k}" for k in range(a.shape[-1])]
        self.base: np.ndarray | None = None

    def target(self, spend: np.ndarray) -> np.ndarray:  # (shop, channel) -> (draw, shop)
        out = (self.a * np.log1p(spend / 50.0)).sum(-1)
        if self.interaction and self.base is not None:
            d = spend - self.base
            out = out - self.interaction * (d[:, 0] * d[:, 1]) ** 2
        return out

    def effect_samples(self, history, plan, scenarios, *, num_draws=None, seed=None, progress=False):
        spend = plan.values[..., : self.a.shape[-1]].sum(1)
        if self.base is None:
            self.base = spend
        counter = {}
        for kind, c, m in scenarios:
            changed = spend.copy()
            changed[:, self.channel_names.index(c)] *= m
            counter[(kind, c, m)] = self.target(changed)
        return self.target(spend), counter


def test_the_optimum_of_a_closed_form_response():
    """Maximising Σ a_c·log(1 + x_c / 50) with Σ x_c = 300 equates a_c / (50 + x_c): x = (25, 100, 175) for
    a = (1, 2, 3); the surrogate's optimum is within 3% of it, and the reported uplift is the exact one."""
    a = np.array([[[1.0, 2.0, 3.0]]])
    spend = np.array([[100.0, 100.0, 100.0]])
    fit = LogResponse(a)
    bounds = (np.zeros(3), np.full(3, 5.0))
    result = allocate(fit, None, plan_panel(spend / H), bounds=bounds)
    best = np.array([25.0, 100.0, 175.0])
    np.testing.assert_allclose(result.allocated[0], best, rtol=0.03)
    assert result.allocated.sum() == pytest.approx(300.0, rel=1e-6)
    exact = fit.target(result.allocated) - fit.target(spend)
    np.testing.assert_allclose(result.uplift, exact, rtol=1e-9)
    assert result.uplift.sum() > 0.99 * (fit.target(best[None]) - fit.target(spend)).sum()
    assert not result.kept_plan
    table = result.table()
    assert list(table.columns) == ["shop", "channel", "planned", "allocated", "multiplier"]
    assert table[table["shop"] == "ALL"]["allocated"].sum() == pytest.approx(300.0)


@given(
    a=st.lists(st.floats(0.1, 5.0), min_size=6, max_size=6),
    spend=st.lists(st.floats(1.0, 100.0), min_size=6, max_size=6),
    budget_factor=st.floats(0.6, 1.8),
    scope=st.sampled_from(["portfolio", "shop"]),
)
def test_budget_and_bounds_hold(a, spend, budget_factor, scope):
    a = np.asarray(a).reshape(1, 2, 3)
    spend = np.asarray(spend).reshape(2, 3)
    result = allocate(LogResponse(a), None, plan_panel(spend / H), budget=budget_factor * spend.sum(), scope=scope)
    m = result.multipliers
    assert (m >= DEFAULT_BOUNDS[0] - 1e-9).all() and (m <= DEFAULT_BOUNDS[1] + 1e-9).all()
    budgets = budget_factor * (spend.sum(1) if scope == "shop" else np.array([spend.sum()]))
    spent = result.allocated.sum(1) if scope == "shop" else np.array([result.allocated.sum()])
    np.testing.assert_allclose(spent, budgets, rtol=1e-6)


def test_risk_moves_money_to_the_certain_channel():
    """Channel 0 pays more on average but is uncertain (its coefficient varies by draw); channel 1 pays surely. The
    mean target favours channel 0, its 5% quantile channel 1."""
    rng = np.random.default_rng(0)
    a = np.stack([rng.normal(1.3, 1.0, 400), np.full(400, 1.0)], -1)[:, None, :]
    spend = np.array([[50.0, 50.0]])
    mean = allocate(LogResponse(a), None, plan_panel(spend / H))
    cautious = allocate(LogResponse(a), None, plan_panel(spend / H), risk=0.05)
    assert mean.multipliers[0, 0] > 1.2 > 0.8 > mean.multipliers[0, 1]
    assert cautious.multipliers[0, 1] > 1.2 > 0.8 > cautious.multipliers[0, 0]


def test_the_plan_is_kept_when_the_whole_new_plan_scores_below_it():
    """Each channel's curve alone says: move money from channel 1 to channel 0. Moving both together costs more than
    it gains (an interaction no single curve shows); the model's score of the whole plan catches it."""
    a = np.array([[[2.0, 1.0]]])
    spend = np.array([[100.0, 100.0]])
    result = allocate(LogResponse(a, interaction=1.0), None, plan_panel(spend / H))
    assert result.kept_plan
    np.testing.assert_array_equal(result.multipliers, 1.0)
    assert np.all(result.uplift == 0.0)
    assert not allocate(LogResponse(a), None, plan_panel(spend / H)).kept_plan


@pytest.mark.parametrize("kwargs, needle", [
    ({"budget": -1.0}, "--budget"),
    ({"budget": 1e6}, "infeasible for the portfolio"),
    ({"budget": 10.0, "scope": "shop"}, "infeasible for shop 's0'"),
    ({"risk": 1.5}, "--risk"),
    ({"scope": "region"}, "--scope"),
])
def test_bad_problems_are_refused(kwargs, needle):
    fit = LogResponse(np.ones((1, 2, 2)))
    with pytest.raises(InputError, match=needle):
        allocate(fit, None, plan_panel(np.full((2, 2), 10.0)), **kwargs)
    with pytest.raises(InputError, match="no spend"):
        allocate(fit, None, plan_panel(np.zeros((2, 2))))


def test_read_bounds():
    lower, upper = read_bounds(pd.DataFrame({"channel": ["c1"], "lower": [0.0], "upper": [3.0]}), ["c0", "c1"])
    np.testing.assert_array_equal(lower, [DEFAULT_BOUNDS[0], 0.0])
    np.testing.assert_array_equal(upper, [DEFAULT_BOUNDS[1], 3.0])
    for frame, needle in (
        (pd.DataFrame({"channel": ["c9"], "lower": [0.0], "upper": [1.0]}), "row 2: unknown channel 'c9'"),
        (pd.DataFrame({"channel": ["c0", "c0"], "lower": [0.0, 0.0], "upper": [1.0, 1.0]}), "row 3.*twice"),
        (pd.DataFrame({"channel": ["c0"], "lower": [2.0], "upper": [1.0]}), "lower <= upper"),
        (pd.DataFrame({"channel": ["c0"], "lower": ["a"], "upper": [1.0]}), "numbers"),
        (pd.DataFrame({"channel": ["c0"], "upper": [1.0]}), "'lower'"),
    ):
        with pytest.raises(InputError, match=needle):
            read_bounds(frame, ["c0", "c1"])


@given(lower=st.floats(0.0, 1.5), width=st.floats(0.0, 4.0))
def test_curve_grid_spans_the_bounds_with_the_plan_among_its_points(lower, width):
    upper = lower + width
    grid = curve_grid(lower, upper)
    assert 1.0 in grid and np.all(np.diff(grid) > 0)
    assert grid[0] == pytest.approx(min(lower, 1.0)) and grid[-1] == pytest.approx(max(upper, 1.0))
    assert np.diff(grid).max() <= GRID_STEP + 1e-12


@pytest.fixture(scope="module")
def btvc_two_channels():
    """Two shops, two channels of equal spend, channel a pays 8× channel b: β·Hill(adstock(x / mean x))."""
    from causalmmm_ppl.inference.btvc import fit_btvc
    from causalmmm_ppl.models.btvc_spec import BTVCSpec

    rng = np.random.default_rng(5)
    n = 140
    values = []
    for _ in range(2):
        x = rng.lognormal(0.0, 0.6, (n, 2)) * (rng.random((n, 2)) > 0.15)
        sat = [np_ops.hill(np_ops.geometric_adstock(x[:, k] / x[:, k].mean(), np.asarray(0.5), l_max=28,
                                                    normalize=True), np.asarray(1.5), np.asarray(1.0)) for k in (0, 1)]
        y = 100 + 40 * sat[0] + 5 * sat[1] + rng.normal(0, 2.0, n)
        values.append(np.column_stack([x, y]))
    vals = np.stack(values)
    panel = Panel(values=vals, observed=np.ones(vals.shape, bool), context=np.zeros((2, 0)), shops=("s0", "s1"),
                  dates=pd.date_range("2023-01-02", periods=n), nodes=("a", "b", "y"),
                  node_kinds=("channel", "channel", "target"))
    fit = fit_btvc(panel.select_time(0, n - 14), BTVCSpec(yearly_order=0), method="svi", svi_steps=1500,
                   svi_draws=200, seed=0, progress=False)
    return fit, panel


def test_btvc_moves_money_to_the_channel_that_pays(btvc_two_channels):
    """The truth's optimum within 0.5–2× at the plan's budget: channel a at 1.5×, b at 0.5× (a's marginal return
    stays above b's there); BTVC's allocation finds it and expects an uplift."""
    fit, panel = btvc_two_channels
    plan = panel.select_time(panel.n_time - 14, panel.n_time)
    result = allocate(fit, None, plan, scope="shop")
    np.testing.assert_allclose(result.allocated.sum(1), result.planned.sum(1), rtol=1e-6)
    assert (result.multipliers[:, 0] > 1.3).all() and (result.multipliers[:, 1] < 0.7).all()
    assert result.uplift_summary()[1] > 0  # the whole 90% interval is a gain
