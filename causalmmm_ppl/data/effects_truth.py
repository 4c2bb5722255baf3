"""The simulators' true causal effects: what the target would have been had a channel's spend been 0 on a window.

A simulated panel is re-simulated with the same parameters and the same noise under an
:class:`~causalmmm_ppl.data.simulate.Intervention` on the window's days (the last ``horizon`` days). For channel k
the effect is the target summed over the window, factual minus counterfactual, in the target's units, in three kinds:

- ``total``: k's spend is 0; every other node follows the dynamics, so channels that respond to k (channel →
  channel budget effects) move, as do mediators and the target;
- ``held``: k's spend is 0 and every other channel keeps its factual spend; mediators and the target respond;
- ``direct``: as ``held``, and the mediators also keep their factual paths: only what flows along k → target.

The same machinery scores any spend plan by the simulator (:func:`simulate_plan`), so an allocation can be judged by
the truth. Numpy only.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from causalmmm_ppl.data.simulate import Intervention, SimulationResult

EFFECT_KINDS = ("total", "held", "direct")
DEFAULT_HORIZON = 14


def _resimulate(sim: SimulationResult, mask: np.ndarray, value: np.ndarray) -> np.ndarray:
    """Normalised values (shop, time, node) of ``sim``'s shops under an intervention (same parameters and noise)."""
    return sim.rerun(Intervention(mask, value)) / sim.params["scale"][:, None, :]


def _window(sim: SimulationResult, horizon: int) -> slice:
    if not 1 <= int(horizon) < sim.panel.n_time:
        raise ValueError(f"--horizon must be between 1 and {sim.panel.n_time - 1} days, got {horizon}")
    return slice(sim.panel.n_time - int(horizon), sim.panel.n_time)


def channel_off(u: np.ndarray, kinds: np.ndarray, win: slice, k: int, kind: str, multiplier: float = 0.0
                ) -> tuple[np.ndarray, np.ndarray]:
    """The intervention of one effect: channel ``k``'s spend at 0 on the window (or multiplied by ``multiplier``),
    and what else is held there.

    Parameters
    ----------
    u : (shop, time, node) the factual values in shop-normalised units; kinds : (node,) node kinds
    win : the window's days; k : the channel's node index; kind : ``total``, ``held`` or ``direct``
    multiplier : the channel's spend on the window, as a multiple of its factual spend (0: off)

    Returns
    -------
    mask, value : (shop, time, node) what :class:`~causalmmm_ppl.data.simulate.Intervention` sets, and to what
    """
    mask = np.zeros(u.shape, dtype=bool)
    if kind == "total":
        mask[:, win, k] = True
    else:
        mask[:, win, kinds == "channel"] = True
        if kind == "direct":
            mask[:, win, kinds == "mediator"] = True
    value = u.copy()
    value[:, win, k] *= multiplier
    return mask, value


def true_effects(sim: SimulationResult, horizon: int = DEFAULT_HORIZON, progress: bool = False) -> pd.DataFrame:
    """Every shop's and channel's true effects on the target over the last ``horizon`` days.

    Parameters
    ----------
    sim : a simulated panel (any scenario of :func:`causalmmm_ppl.data.simulate.simulate`)
    horizon : window length (days), the window being the panel's last days
    progress : a tqdm bar over the re-simulations

    Returns
    -------
    DataFrame ``shop, channel, kind, effect, spend``: ``effect`` = target summed over the window, factual minus
    with the channel's spend at 0 (target units); ``spend`` = the channel's factual spend in the window
    """
    panel = sim.panel
    win = _window(sim, horizon)
    kinds = np.asarray(panel.node_kinds)
    channels = np.flatnonzero(kinds == "channel")
    tgt = panel.nodes.index(panel.target)
    scale = sim.params["scale"]  # (shop, node)
    u = panel.values / scale[:, None, :]
    # the factual through the counterfactual's arithmetic: where an intervention does not reach the target, its
    # effect is exactly 0, not a rounding error of either sign
    factual = (panel.values[:, win, tgt] / scale[:, None, tgt]).sum(1) * scale[:, tgt]
    jobs = [(k, kind) for k in channels for kind in EFFECT_KINDS]
    if progress:
        from causalmmm_ppl._progress import progress as progress_bar

        jobs = progress_bar(jobs, desc="true effects", unit="run", leave=False)
    rows = []
    for k, kind in jobs:
        cf = _resimulate(sim, *channel_off(u, kinds, win, k, kind))[:, win, tgt].sum(1) * scale[:, tgt]
        rows.append(pd.DataFrame({
            "shop": list(panel.shops), "channel": panel.nodes[k], "kind": kind,
            "effect": factual - cf, "spend": panel.values[:, win, k].sum(1),
        }))
    out = pd.concat(rows, ignore_index=True)
    order = {name: i for i, name in enumerate(EFFECT_KINDS)}
    return out.sort_values(["shop", "channel", "kind"], key=lambda c: c.map(order) if c.name == "kind" else c,
                           kind="stable").reset_index(drop=True)


def simulate_plan(sim: SimulationResult, spend: np.ndarray, horizon: int = DEFAULT_HORIZON) -> np.ndarray:
    """The simulator's outcome of a spend plan on the last ``horizon`` days: every channel set to ``spend`` there.

    Parameters
    ----------
    spend : (shop, horizon, channel) spend in original units (the panel's channel order)

    Returns
    -------
    (shop, horizon, node) values in original units (channels equal the plan)
    """
    panel = sim.panel
    win = _window(sim, horizon)
    channels = np.flatnonzero(np.asarray(panel.node_kinds) == "channel")
    spend = np.asarray(spend, dtype=float)
    if spend.shape != (panel.n_shops, int(horizon), len(channels)):
        raise ValueError(f"spend must have shape (shop, horizon, channel) = "
                         f"{(panel.n_shops, int(horizon), len(channels))}, got {spend.shape}")
    if not np.isfinite(spend).all() or (spend < 0).any():
        raise ValueError("spend must be finite and non-negative")
    scale = sim.params["scale"]
    mask = np.zeros(panel.values.shape, dtype=bool)
    mask[:, win, channels] = True
    value = panel.values / scale[:, None, :]
    value[:, win, channels] = spend / scale[:, None, channels]
    return _resimulate(sim, mask, value)[:, win] * scale[:, None, :]


def split_plan(sim: SimulationResult, horizon: int = DEFAULT_HORIZON) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``history.csv`` and ``plan.csv`` of a simulated panel: the history is every day before the last ``horizon``;
    the plan is the whole panel with the mediators and the target empty on those days (the rows ``forecast`` and
    ``effects`` read as the window)."""
    panel = sim.panel
    _window(sim, horizon)
    frame = sim.panel_frame()
    dates = pd.to_datetime(frame[sim.spec.date_col])
    start = panel.dates[panel.n_time - int(horizon)]
    history = frame[dates < start].reset_index(drop=True)
    plan = frame.copy()
    empty = [n for n, k in zip(panel.nodes, panel.node_kinds) if k != "channel"]
    plan.loc[dates >= start, empty] = np.nan
    return history, plan
