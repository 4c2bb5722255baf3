"""Allocations scored by a simulator's truth, and the simulator's own optimal allocation (the oracle).

An allocation (multipliers of each shop's and channel's planned spend over a window, see
:mod:`causalmmm_ppl.inference.allocate`) is scored by re-running the simulator with the same noise and the new spend
on the window (:func:`causalmmm_ppl.data.effects_truth.simulate_plan`). The oracle is the same optimiser (SLSQP, the
same budget and bounds) run on the simulator itself, with finite-difference gradients: the simulated shops are
independent, so one re-run per channel moves that channel in every shop at once.
"""

from __future__ import annotations

import numpy as np

from causalmmm_ppl.data.effects_truth import DEFAULT_HORIZON, simulate_plan
from causalmmm_ppl.data.simulate import SimulationResult
from causalmmm_ppl.inference.allocate import budget_problem, optimise

#: Relative step of the oracle's finite differences.
FD_STEP = 1e-3


def window_spend(sim: SimulationResult, horizon: int = DEFAULT_HORIZON) -> np.ndarray:
    """The simulated channels' spend on the last ``horizon`` days: (shop, horizon, channel), original units."""
    panel = sim.panel
    return panel.values[:, panel.n_time - int(horizon):, panel.channel_index]


def true_target(sim: SimulationResult, spend: np.ndarray, multipliers: np.ndarray,
                horizon: int = DEFAULT_HORIZON) -> np.ndarray:
    """Each shop's true target summed over the window with ``spend: (shop, horizon, channel)`` scaled by
    ``multipliers: (shop, channel)``: (shop,)."""
    out = simulate_plan(sim, spend * np.asarray(multipliers)[:, None, :], horizon)
    return out[..., sim.panel.n_nodes - 1].sum(1)


def true_uplift(sim: SimulationResult, multipliers: np.ndarray, horizon: int = DEFAULT_HORIZON) -> float:
    """The true change of the portfolio's target over the window when the plan (the simulated spend) is scaled by
    ``multipliers: (shop, channel)``."""
    spend = window_spend(sim, horizon)
    ones = np.ones(spend.shape[::2])
    return float(true_target(sim, spend, multipliers, horizon).sum() - true_target(sim, spend, ones, horizon).sum())


def oracle_allocation(sim: SimulationResult, *, budget: float | None = None,
                      bounds: tuple[np.ndarray, np.ndarray] | None = None, scope: str = "portfolio",
                      horizon: int = DEFAULT_HORIZON) -> np.ndarray:
    """The allocation that maximises the simulator's target over the window (same problem as
    :func:`~causalmmm_ppl.inference.allocate.allocate`, the simulated spend as the plan).

    Returns
    -------
    (shop, channel) multipliers of the planned spend
    """
    spend = window_spend(sim, horizon)
    planned = spend.sum(1)
    _, lower, upper, groups, budgets = budget_problem(planned, budget, bounds, scope, sim.panel.shops)
    scale = float(true_target(sim, spend, np.ones(planned.shape), horizon).sum())

    def value_and_grad(m: np.ndarray) -> tuple[float, np.ndarray]:
        base = true_target(sim, spend, m, horizon)
        grad = np.empty(m.shape)
        for c in range(m.shape[1]):
            step = m.copy()
            step[:, c] += FD_STEP
            grad[:, c] = (true_target(sim, spend, step, horizon) - base) / FD_STEP
        return float(base.sum()) / scale, grad / scale

    return optimise(value_and_grad, planned, lower, upper, budgets, groups)


def random_allocation(planned: np.ndarray, *, budget: float | None = None,
                      bounds: tuple[np.ndarray, np.ndarray] | None = None, scope: str = "portfolio",
                      shops: tuple[str, ...] = (), seed: int = 0) -> np.ndarray:
    """A random feasible allocation (the reference an optimiser must beat): multipliers drawn uniformly within the
    bounds, then rescaled within them until every group's spend meets its budget.

    Parameters
    ----------
    planned : (shop, channel) the plan's spend in the window

    Returns
    -------
    (shop, channel) multipliers
    """
    _, lower, upper, groups, budgets = budget_problem(planned, budget, bounds, scope, shops or
                                                      tuple(map(str, range(planned.shape[0]))))
    rng = np.random.default_rng(seed)
    m = rng.uniform(lower, upper, size=planned.shape)
    for _ in range(200):
        for g, b in zip(groups, budgets):
            spent = float((planned[g] * m[g]).sum())
            if spent > 0:
                m[g] = np.clip(m[g] * b / spent, lower, upper)
    return m
