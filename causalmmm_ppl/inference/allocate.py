"""Budget allocation: redistribute a plan's spend across channels to maximise the target under the posterior.

A plan fixes every channel's spend on every day of its window. An allocation multiplies each shop's and channel's
planned spend by one factor ``m[shop, channel]`` (the channel keeps its day-to-day shape within the window), keeps
the total spend at the budget (per shop, or over the portfolio of shops), and keeps every factor within its bounds
(default 0.5–2). The objective is the target summed over the window, under the posterior: its mean, or with
``risk = q`` its q-quantile over draws (a cautious planner takes q < 0.5).

The model is queried only through ``fit.effect_samples`` (CausalMMM and BTVC alike), with common random numbers:

1. **Response curves**: for every channel, the target at ``grid`` multiples of its planned spend, the other channels
   at their plan (``held``: a plan sets every channel, so none responds to another; effects still flow through the
   mediators), per draw and shop: ``(grid, draw, shop, channel)``.
2. **Surrogate**: the target's change is taken as the sum over shops and channels of each curve, interpolated
   monotonically (PCHIP) between grid points, per draw. Its gradient is exact, so SLSQP (scipy) handles the budget
   equality and the bounds. Channels interact only through what the sum leaves out (e.g. a mediator fed by two
   channels), so
3. **the allocation is scored by the model itself**: the whole new plan is rolled out against the old one with the
   same draws and noise, and that uplift is what is reported. When the budget is the plan's own and the plan scores
   higher than the optimiser's answer, the plan is kept.
"""

from __future__ import annotations

import dataclasses

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.interpolate import PchipInterpolator
from scipy.optimize import minimize

from causalmmm_ppl.data.panel import Panel
from causalmmm_ppl.errors import InputError

SCOPES = ("portfolio", "shop")
#: Default bounds of each channel's spend, as multiples of its planned spend.
DEFAULT_BOUNDS = (0.5, 2.0)
#: Largest spacing of the response-curve grid (multiples of the planned spend).
GRID_STEP = 0.25


@dataclass(frozen=True)
class Allocation:
    """The result of :func:`allocate`.

    Attributes
    ----------
    shops, channels : names
    planned : (shop, channel) the plan's spend in the window
    multipliers : (shop, channel) the allocation's spend over the plan's (1 where the plan has no spend)
    uplift : (draw, shop) the target summed over the window under the allocation minus under the plan, by the model
        with common random numbers
    risk : the quantile optimised, or None for the mean
    kept_plan : the optimiser's answer scored below the plan, and the plan was kept
    """

    shops: tuple[str, ...]
    channels: tuple[str, ...]
    planned: np.ndarray
    multipliers: np.ndarray
    uplift: np.ndarray
    risk: float | None
    kept_plan: bool

    @property
    def allocated(self) -> np.ndarray:
        """(shop, channel) the allocation's spend in the window."""
        return self.planned * self.multipliers

    def table(self) -> pd.DataFrame:
        """``shop, channel, planned, allocated, multiplier``, with ``shop = "ALL"`` rows summed over shops."""
        shops = np.repeat(np.asarray(self.shops + ("ALL",), dtype=object), len(self.channels))
        planned = np.concatenate([self.planned, self.planned.sum(0, keepdims=True)])
        allocated = np.concatenate([self.allocated, self.allocated.sum(0, keepdims=True)])
        with np.errstate(divide="ignore", invalid="ignore"):
            mult = np.where(planned > 0, allocated / planned, 1.0)
        return pd.DataFrame({"shop": shops, "channel": np.tile(np.asarray(self.channels, dtype=object),
                                                               len(self.shops) + 1),
                             "planned": planned.ravel(), "allocated": allocated.ravel(), "multiplier": mult.ravel()})

    def uplift_summary(self, interval: float = 0.9) -> tuple[float, float, float]:
        """Mean and central interval of the portfolio uplift (target units, summed over shops and the window)."""
        total = self.uplift.sum(1)
        lo, hi = np.quantile(total, [(1 - interval) / 2, (1 + interval) / 2])
        return float(total.mean()), float(lo), float(hi)

    def apply(self, plan: Panel) -> Panel:
        """``plan`` with its channels' values multiplied by the allocation (its shops in this allocation's order)."""
        return scale_channels(plan, self.channels, self.multipliers)


def scale_channels(plan: Panel, channels: Sequence[str], multipliers: np.ndarray) -> Panel:
    """A copy of ``plan`` with each shop's channel values multiplied by ``multipliers: (shop, channel)``."""
    values = plan.values.copy()
    idx = [plan.nodes.index(c) for c in channels]
    values[..., idx] = values[..., idx] * np.asarray(multipliers, dtype=float)[:, None, :]
    return dataclasses.replace(plan, values=values)


def read_bounds(frame: pd.DataFrame, channels: Sequence[str], source: str = "--bounds") -> tuple[np.ndarray, np.ndarray]:
    """Per-channel bounds from a table ``channel, lower, upper`` (multiples of the planned spend); channels not
    listed keep :data:`DEFAULT_BOUNDS`.

    Returns
    -------
    lower, upper : (channel,)

    Raises InputError naming the column, row or channel at fault.
    """
    missing = [c for c in ("channel", "lower", "upper") if c not in frame.columns]
    if missing:
        raise InputError(f"{source}: no column {missing[0]!r} (expected channel, lower, upper)")
    lower = np.full(len(channels), DEFAULT_BOUNDS[0])
    upper = np.full(len(channels), DEFAULT_BOUNDS[1])
    seen = set()
    for row, (name, lo, hi) in enumerate(frame[["channel", "lower", "upper"]].itertuples(index=False), start=2):
        name = str(name)
        if name not in channels:
            raise InputError(f"{source} row {row}: unknown channel {name!r}; the run's channels are "
                             f"{', '.join(channels)}")
        if name in seen:
            raise InputError(f"{source} row {row}: channel {name!r} is listed twice")
        seen.add(name)
        try:
            lo, hi = float(lo), float(hi)
        except (TypeError, ValueError):
            raise InputError(f"{source} row {row}: lower and upper must be numbers") from None
        if not (np.isfinite(lo) and np.isfinite(hi)) or lo < 0 or hi < lo:
            raise InputError(f"{source} row {row} ({name}): need 0 <= lower <= upper, got {lo:g} and {hi:g}")
        k = list(channels).index(name)
        lower[k], upper[k] = lo, hi
    return lower, upper


def curve_grid(lower: float, upper: float, step: float = GRID_STEP) -> np.ndarray:
    """Multipliers from ``lower`` to ``upper`` with 1 among them, at most ``step`` apart (and at least 2 on each side
    of 1 that the bounds reach)."""
    below = np.linspace(min(lower, 1.0), 1.0, max(2, int(np.ceil((1.0 - lower) / step)) + 1)) if lower < 1 else []
    above = np.linspace(1.0, max(upper, 1.0), max(2, int(np.ceil((upper - 1.0) / step)) + 1)) if upper > 1 else []
    return np.unique(np.concatenate([below, [1.0], above]))


class CurveSurrogate:
    """The target's change as a sum of per-channel response curves, per draw.

    Parameters
    ----------
    grid : (point,) multipliers, increasing, with 1 among them
    change : (point, draw, shop, channel) the target summed over the window at each multiplier minus at the plan
    """

    def __init__(self, grid: np.ndarray, change: np.ndarray) -> None:
        self.grid = np.asarray(grid, dtype=float)
        coef = PchipInterpolator(self.grid, change, axis=0).c  # (4, segment, draw, shop, channel)
        self.coef = np.transpose(coef, (3, 4, 1, 0, 2))  # (shop, channel, segment, 4, draw)

    def draws(self, m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per-draw change and its gradient at multipliers ``m: (shop, channel)``.

        Returns
        -------
        value : (shop, channel, draw); slope : (shop, channel, draw)
        """
        m = np.clip(m, self.grid[0], self.grid[-1])
        seg = np.clip(np.searchsorted(self.grid, m, side="right") - 1, 0, len(self.grid) - 2)
        dx = (m - self.grid[seg])[..., None]
        s_idx, c_idx = np.indices(m.shape)
        c = self.coef[s_idx, c_idx, seg]  # (shop, channel, 4, draw)
        value = ((c[:, :, 0] * dx + c[:, :, 1]) * dx + c[:, :, 2]) * dx + c[:, :, 3]
        slope = (3 * c[:, :, 0] * dx + 2 * c[:, :, 1]) * dx + c[:, :, 2]
        return value, slope


def objective(total: np.ndarray, risk: float | None) -> tuple[float, np.ndarray]:
    """The mean over draws of ``total: (draw,)``, or its ``risk``-quantile, and the weights of each draw in it."""
    n = total.shape[0]
    weights = np.zeros(n)
    if risk is None:
        weights[:] = 1.0 / n
    else:
        order = np.argsort(total)
        pos = risk * (n - 1)
        lo = int(np.floor(pos))
        hi = min(lo + 1, n - 1)
        weights[order[lo]] += 1.0 - (pos - lo)
        weights[order[hi]] += pos - lo
    return float(weights @ total), weights


def budget_groups(scope: str, n_shops: int) -> list[np.ndarray]:
    """The shops that share one budget: all of them (``portfolio``) or each alone (``shop``)."""
    if scope not in SCOPES:
        raise InputError(f"--scope must be one of {', '.join(SCOPES)}, got {scope!r}")
    return [np.arange(n_shops)] if scope == "portfolio" else [np.asarray([s]) for s in range(n_shops)]


def check_feasible(planned: np.ndarray, lower: np.ndarray, upper: np.ndarray, budgets: list[float],
                   groups: list[np.ndarray], shops: Sequence[str]) -> None:
    """Raise InputError when a budget cannot be met within the bounds."""
    for g, b in zip(groups, budgets):
        lo, hi = float((planned[g] * lower).sum()), float((planned[g] * upper).sum())
        if not lo - 1e-9 * max(hi, 1.0) <= b <= hi + 1e-9 * max(hi, 1.0):
            where = "the portfolio" if len(groups) == 1 else f"shop {shops[int(g[0])]!r}"
            raise InputError(f"the bounds are infeasible for {where}: within them its spend ranges from {lo:.6g} to "
                             f"{hi:.6g}, the budget is {b:.6g}")


def optimise(value_and_grad, planned: np.ndarray, lower: np.ndarray, upper: np.ndarray, budgets: list[float],
             groups: list[np.ndarray]) -> np.ndarray:
    """SLSQP: the multipliers ``(shop, channel)`` maximising ``value_and_grad(m) -> (value, (shop, channel)
    gradient)`` with every group's spend at its budget and every multiplier within ``[lower, upper]: (channel,)``.
    Channels without planned spend keep multiplier 1 (they have nothing to scale)."""
    free = planned > 0
    lo = np.broadcast_to(lower, planned.shape)[free]
    hi = np.broadcast_to(upper, planned.shape)[free]

    def full(x: np.ndarray) -> np.ndarray:
        m = np.ones(planned.shape)
        m[free] = x
        return m

    def fun(x: np.ndarray) -> tuple[float, np.ndarray]:
        value, grad = value_and_grad(full(x))
        return -value, -grad[free]

    constraints = []
    x0 = np.empty(int(free.sum()))
    owner = np.broadcast_to(np.arange(planned.shape[0])[:, None], planned.shape)[free]
    for g, b in zip(groups, budgets):
        sel = np.isin(owner, g)
        spend = planned[free] * sel
        total = float(spend.sum())
        if total <= 0:
            continue
        x0[sel] = np.clip(b / total, lo[sel], hi[sel])
        constraints.append({"type": "eq", "fun": lambda x, s=spend, b=b, t=total: (s @ x - b) / t,
                            "jac": lambda x, s=spend, t=total: s / t})
    res = minimize(fun, x0, jac=True, method="SLSQP", bounds=list(zip(lo, hi)), constraints=constraints,
                   options={"maxiter": 200, "ftol": 1e-9})
    return full(np.clip(res.x, lo, hi))


def budget_problem(planned: np.ndarray, budget: float | None, bounds: tuple[np.ndarray, np.ndarray] | None,
                   scope: str, shops: Sequence[str]) -> tuple[float, np.ndarray, np.ndarray, list[np.ndarray],
                                                              list[float]]:
    """Check and complete an allocation problem.

    Returns
    -------
    budget, lower, upper ((channel,) each), groups (shops sharing a budget), budgets (one per group)

    Raises InputError for a plan without spend, a negative budget or bounds that cannot meet it.
    """
    total = float(planned.sum())
    if total <= 0:
        raise InputError("the plan has no spend to redistribute (every channel is 0 on every plan day)")
    budget = total if budget is None else float(budget)
    if not np.isfinite(budget) or budget < 0:
        raise InputError(f"--budget must be a non-negative number, got {budget:g}")
    n = planned.shape[1]
    lower, upper = bounds if bounds is not None else (np.full(n, DEFAULT_BOUNDS[0]), np.full(n, DEFAULT_BOUNDS[1]))
    groups = budget_groups(scope, planned.shape[0])
    budgets = [budget * float(planned[g].sum()) / total for g in groups]
    check_feasible(planned, lower, upper, budgets, groups, shops)
    return budget, np.asarray(lower, float), np.asarray(upper, float), groups, budgets


def allocate(
    fit,
    history: Panel | None,
    plan: Panel,
    *,
    budget: float | None = None,
    bounds: tuple[np.ndarray, np.ndarray] | None = None,
    scope: str = "portfolio",
    risk: float | None = None,
    num_draws: int | None = None,
    seed: int | None = None,
    progress: bool = False,
) -> Allocation:
    """Redistribute the plan's spend across channels (see the module docstring).

    Parameters
    ----------
    fit : a fit with ``effect_samples`` and ``channel_names`` (CausalMMM, BTVC)
    history, plan : as in the fit's ``effect_samples`` (plan: the window's days, every channel on every day)
    budget : the window's total spend (over all shops); default the plan's own. With ``scope = "shop"`` each shop's
        budget is its share of the plan's spend times ``budget``
    bounds : ``(lower, upper)`` each (channel,), multiples of the planned spend; default :data:`DEFAULT_BOUNDS`
    scope : ``portfolio`` (one budget over all shops) or ``shop`` (one per shop)
    risk : maximise this quantile of the target over draws instead of its mean
    num_draws, seed : posterior draws and the seed of the common random numbers
    progress : a tqdm bar over the response curves' rollouts

    Raises InputError for a negative budget, a plan without spend, bounds that cannot meet the budget, or a risk
    outside (0, 1).
    """
    channels = list(fit.channel_names)
    planned = plan.values[..., [plan.nodes.index(c) for c in channels]].sum(1)  # (shop, channel)
    if risk is not None and not 0.0 < risk < 1.0:
        raise InputError(f"--risk must be in (0, 1), got {risk:g}")
    budget, lower, upper, groups, budgets = budget_problem(planned, budget, bounds, scope, plan.shops)

    grid = curve_grid(float(np.min(lower)), float(np.max(upper)))
    scenarios = [("held", c, float(m)) for c in channels for m in grid if m != 1.0]
    factual, counter = fit.effect_samples(history, plan, scenarios, num_draws=num_draws, seed=seed, progress=progress)
    change = np.stack([np.stack([np.zeros_like(factual) if m == 1.0 else counter[("held", c, float(m))] - factual
                                 for c in channels], axis=-1) for m in grid])  # (point, draw, shop, channel)
    surrogate = CurveSurrogate(grid, change)
    scale = max(float(np.abs(factual.sum(1)).mean()), 1e-12)  # the objective in units of the plan's target

    plan_total = factual.sum(1)  # (draw,) the portfolio's target at the plan

    def value_and_grad(m: np.ndarray) -> tuple[float, np.ndarray]:
        value, slope = surrogate.draws(m)
        f, w = objective(plan_total + value.sum((0, 1)), risk)
        return f / scale, slope @ w / scale

    m = optimise(value_and_grad, planned, lower, upper, budgets, groups)
    new, _ = fit.effect_samples(history, scale_channels(plan, channels, m), [], num_draws=num_draws, seed=seed)
    uplift = new - factual  # (draw, shop)
    plan_feasible = abs(budget - planned.sum()) <= 1e-9 * planned.sum() and bool(np.all((lower <= 1.0) & (1.0 <= upper)))
    kept = plan_feasible and objective(new.sum(1), risk)[0] < objective(plan_total, risk)[0]
    if kept:
        m, uplift = np.ones_like(m), np.zeros_like(uplift)
    return Allocation(shops=tuple(plan.shops), channels=tuple(channels), planned=planned, multipliers=m,
                      uplift=uplift, risk=risk, kept_plan=kept)
