"""Simulated multi-shop marketing panels with a known causal (Granger) graph per shop: the entry point.

:func:`simulate` runs a scenario: ``sim1`` and ``sim2`` share the model's functional forms
(:mod:`causalmmm_ppl.data.sim_market`, whose docstring gives their equations); ``sim3`` and ``sources`` are built to
differ from it (:mod:`causalmmm_ppl.data.simulate_offhome`). Node names and graph rules are common
(:mod:`causalmmm_ppl.data.sim_layout`). Every scenario returns a :class:`SimulationResult` (panel, truth, generating
parameters) whose recursion can be replayed under an intervention. Numpy only: data code imports no engine.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from causalmmm_ppl.data.panel import ColumnSpec, Panel
from causalmmm_ppl.data.recursion import Intervention, Recursion
from causalmmm_ppl.data.sim_layout import START_DATE, check_graph, node_layout
from causalmmm_ppl.data.sim_market import (
    SCENARIOS,
    MarketRecursion,
    Scenario,
    channel_schedules,
    demand_path,
    draw_graph,
    draw_params,
)
from causalmmm_ppl.data.simulate_offhome import OFF_HOME, OffHomeScenario, simulate_offhome
from causalmmm_ppl.transforms.np_ops import adstock, hill

MIN_DAYS = 28
SIZE_FIELDS = ("n_shops", "n_channels", "n_days")  # set by size overrides, not by ``settings``


def scenario_config(
    scenario: str = "sim1", *, n_shops: int | None = None, n_channels: int | None = None, n_days: int | None = None,
    settings: Mapping[str, object] | None = None,
) -> Scenario | OffHomeScenario:
    """The settings of ``scenario`` (:data:`SCENARIOS`, or the misspecified ones of
    :mod:`causalmmm_ppl.data.simulate_offhome`) with optional size overrides, checked.

    ``settings`` overrides generating settings by field name (e.g. ``{"demand_sd": (0.0, 0.0)}``: no latent demand;
    ranges given as lists become tuples): a variant of the scenario for a diagnosis.

    Raises
    ------
    ValueError
        Unknown scenario, a size out of range (the message names the flag and the allowed range), or a setting the
        scenario does not have (the message lists those it has).
    """
    known = {**SCENARIOS, **OFF_HOME}
    if scenario not in known:
        raise ValueError(f"unknown scenario {scenario!r}; expected one of {', '.join(known)}")
    cfg = known[scenario]
    over = dict(zip(SIZE_FIELDS, (n_shops, n_channels, n_days)))
    cfg = replace(cfg, **{k: int(v) for k, v in over.items() if v is not None})
    if settings:
        names = [f.name for f in fields(cfg) if f.name != "name" and f.name not in SIZE_FIELDS]
        unknown = sorted(set(settings) - set(names))
        if unknown:
            raise ValueError(f"scenario {scenario} has no setting {', '.join(map(repr, unknown))}; its settings: "
                             f"{', '.join(names)}")
        cfg = replace(cfg, **{k: tuple(v) if isinstance(v, list) else v for k, v in settings.items()})
    if cfg.n_shops < 1:
        raise ValueError(f"--shops must be at least 1, got {cfg.n_shops}")
    if cfg.n_channels < 1:
        raise ValueError(f"--channels must be at least 1, got {cfg.n_channels}")
    if cfg.n_channels > 200:
        raise ValueError(f"--channels must be at most 200, got {cfg.n_channels}")
    if cfg.n_days < MIN_DAYS:
        raise ValueError(f"--days must be at least {MIN_DAYS} (four weeks), got {cfg.n_days}")
    return cfg


# ------------------------------------------------------------------------------------------------- result
@dataclass(frozen=True, eq=False)
class SimulationResult:
    """A simulated panel with its ground truth.

    Attributes
    ----------
    panel : the simulated :class:`~causalmmm_ppl.data.panel.Panel` (fully observed, daily from 2022-01-01)
    truth : long table ``shop, cause, effect, edge`` (edge 0/1) over all ordered pairs ``i != j`` of nodes, every shop
    adjacency : (shop, cause, effect) int8, 0/1, zero diagonal
    params : generating parameters (numpy arrays with named-dim shapes, see :func:`simulate`)
    recursion : the dynamics that made the panel, inputs fixed (with ``simulate(..., keep_recursion=True)``; else
        :meth:`rerun` rebuilds them once from the seed): :meth:`rerun` replays them under an intervention
    """

    panel: Panel
    truth: pd.DataFrame
    adjacency: np.ndarray
    params: dict = field(compare=False)
    recursion: Recursion | None = field(default=None, repr=False, compare=False)

    def rerun(self, intervention: Intervention) -> np.ndarray:
        """The panel's values under ``intervention`` (same parameters, graph and noise).

        Returns
        -------
        (shop, time, node) original units
        """
        return self._dynamics.replay(intervention) * self.params["scale"][:, None, :]

    @cached_property
    def _dynamics(self) -> Recursion:
        """The recursion :meth:`rerun` replays: the one kept by ``simulate(..., keep_recursion=True)``, else rebuilt
        once from the seed."""
        if self.recursion is not None:
            return self.recursion
        p, kinds = self.params, np.asarray(self.panel.node_kinds)
        return simulate(p["scenario"], n_shops=self.panel.n_shops, n_channels=int((kinds == "channel").sum()),
                        n_days=self.panel.n_time, seed=int(p["seed"]), graph=self.adjacency,
                        settings=p.get("settings"), keep_recursion=True).recursion

    @property
    def spec(self) -> ColumnSpec:
        """The column roles of ``panel.csv``."""
        p = self.panel
        kinds = np.asarray(p.node_kinds)
        return ColumnSpec(
            target=p.target,
            channels=tuple(n for n, k in zip(p.nodes, kinds) if k == "channel"),
            mediators=tuple(n for n, k in zip(p.nodes, kinds) if k == "mediator"),
            context=tuple(p.context_names),
        )

    def fit_flags(self) -> str:
        """One line: the ``causalmmm fit`` column flags for ``panel.csv``."""
        spec = self.spec
        parts = [f"--target {spec.target}", f"--channels {','.join(spec.channels)}"]
        if spec.mediators:
            parts.append(f"--mediators {','.join(spec.mediators)}")
        if spec.context:
            parts.append(f"--context {','.join(spec.context)}")
        parts += [f"--shop-col {spec.shop_col}", f"--date-col {spec.date_col}"]
        return " ".join(parts)

    def panel_frame(self) -> pd.DataFrame:
        """``panel.csv`` as a table: shop, date, node columns, context columns."""
        return self.panel.to_frame(shop_col=self.spec.shop_col, date_col=self.spec.date_col)

    def write(self, out_dir: str | os.PathLike[str], *, force: bool = False, horizon: int | None = None,
              progress: bool = False) -> Path:
        """Write ``panel.csv``, ``truth.csv`` and ``fit_flags.txt`` into ``out_dir``, all or nothing; with ``horizon``
        also ``effects.csv``, ``history.csv`` and ``plan.csv`` for the last ``horizon`` days (see
        :mod:`causalmmm_ppl.data.effects_truth`).

        ``out_dir`` is replaced if it is empty or was written by this tool (``force=True``: any directory); see
        :func:`causalmmm_ppl._io.run_directory`.
        """
        from causalmmm_ppl._io import run_directory
        from causalmmm_ppl.data.effects_truth import split_plan, true_effects

        csv = dict(index=False, float_format="%.8g", date_format="%Y-%m-%d")
        if horizon is not None:  # checked (and computed) before anything is written
            effects = true_effects(self, horizon, progress=progress)
            history, plan = split_plan(self, horizon)
        with run_directory(out_dir, kind="simulation", force=force) as held, held.commit() as tmp:
            self.panel_frame().to_csv(tmp / "panel.csv", **csv)
            self.truth.to_csv(tmp / "truth.csv", index=False)
            (tmp / "fit_flags.txt").write_text(self.fit_flags() + "\n")
            if horizon is not None:
                effects.to_csv(tmp / "effects.csv", index=False, float_format="%.8g")
                history.to_csv(tmp / "history.csv", **csv)
                plan.to_csv(tmp / "plan.csv", **csv)
        return Path(out_dir)


def transformed_causes(result: SimulationResult) -> np.ndarray:
    """The true transformed causes ``Hill(adstock(x_i / scale_i))(t)`` recomputed from the panel with np_ops.

    Returns
    -------
    (shop, time, node); the drive into node ``j`` at day ``t`` is ``sum_i w_ij * out[:, t - 1, i]``.
    """
    p = result.params
    u = result.panel.values / p["scale"][:, None, :]
    ad = adstock(u.transpose(0, 2, 1), p["carryover_weights"])
    return hill(ad, p["alpha"], p["gamma"]).transpose(0, 2, 1)


def truth_frame(adjacency: np.ndarray, shops: tuple[str, ...], nodes: tuple[str, ...],
                template: np.ndarray | None = None) -> pd.DataFrame:
    """Long table ``shop, cause, effect, edge`` over every shop and ordered pair ``cause != effect``, with a
    ``template`` column (the graph template the shop follows, -1 for none) when ``template: (shop,)`` is given."""
    s, v, _ = adjacency.shape
    si, ci, ei = np.meshgrid(np.arange(s), np.arange(v), np.arange(v), indexing="ij")
    keep = (ci != ei).ravel()
    names = np.asarray(nodes, dtype=object)
    frame = pd.DataFrame({
        "shop": np.asarray(shops, dtype=object)[si.ravel()[keep]],
        "cause": names[ci.ravel()[keep]],
        "effect": names[ei.ravel()[keep]],
        "edge": adjacency.ravel()[keep].astype(int),
    })
    if template is not None:
        frame["template"] = np.asarray(template, dtype=int)[si.ravel()[keep]]
    return frame


def simulate(
    scenario: str = "sim1",
    *,
    n_shops: int | None = None,
    n_channels: int | None = None,
    n_days: int | None = None,
    seed: int = 0,
    graph: np.ndarray | None = None,
    intervention: Intervention | None = None,
    progress: bool = False,
    keep_recursion: bool = False,
    settings: Mapping[str, object] | None = None,
) -> SimulationResult:
    """Simulate a panel with a known per-shop causal graph.

    Parameters
    ----------
    scenario : ``"sim1"`` (300 shops × 8 nodes × 100 days, 3 graph templates, 2 context variables), ``"sim2"``
        (50 shops × 14 nodes × 676 days, a graph per shop, 5 context variables), or the scenarios built to differ
        from the model (:mod:`causalmmm_ppl.data.simulate_offhome`): ``"sim3"`` (200 shops × 8 nodes × 120 days, 4
        templates with ~10% of each shop's pairs flipped) and ``"sources"`` (240 shops × 8 nodes × 100 days, five
        pure source channels)
    n_shops, n_channels, n_days : size overrides
    seed : same seed → identical output
    graph : (shop, cause, effect) 0/1, optional: simulate these shops (same parameters and noise as without it) under
        this graph instead of the drawn one, e.g. the drawn ``adjacency`` with one edge removed
    intervention : optional values imposed on chosen (shop, day, node) cells (same parameters and noise), e.g. a
        channel's spend set to 0 on the last days: the simulator's true counterfactual
        (:mod:`causalmmm_ppl.data.effects_truth`)
    progress : tqdm bar over days
    keep_recursion : the result holds the recursion (its noise: about the panel's memory again), which
        :meth:`SimulationResult.rerun` replays; without it, ``rerun`` rebuilds it once from the seed
    settings : generating settings overridden by name (:func:`scenario_config`), e.g. ``{"demand_sd": (0, 0)}``;
        the parameters, graph and noise are drawn from the same streams, so only what the settings change differs

    Returns
    -------
    SimulationResult
        ``params`` holds the arrays of :func:`draw_params`, plus ``weights`` (shop, cause, effect) = adjacency ×
        weight_full, ``gamma_original`` (shop, node) half-saturation in original units, ``template`` (shop,),
        ``scenario``, ``seed`` and ``settings`` (the overrides, ``{}`` for none; the scenarios of
        :mod:`~causalmmm_ppl.data.simulate_offhome` hold their own parameters, without ``gamma_original``).
        ``truth`` has a ``template`` column (-1: the shop follows none).
    """
    cfg = scenario_config(scenario, n_shops=n_shops, n_channels=n_channels, n_days=n_days, settings=settings)
    settings = dict(settings or {})
    if int(seed) < 0:
        raise ValueError(f"--seed must be a non-negative integer, got {seed}")
    if isinstance(cfg, OffHomeScenario):
        out = simulate_offhome(cfg, seed=seed, graph=graph, intervention=intervention)
        panel, adjacency, params = out["panel"], out["adjacency"], out["params"]
        params = dict(params, weights=adjacency * params["weight_full"], template=out["template"], scenario=cfg.name,
                      seed=seed, settings=settings)
        return SimulationResult(panel=panel, truth=truth_frame(adjacency, panel.shops, panel.nodes, out["template"]),
                                adjacency=adjacency, params=params,
                                recursion=out["recursion"] if keep_recursion else None)
    nodes, kinds = node_layout(cfg.n_channels, cfg.n_mediators)
    rng_graph, rng_params, rng_noise = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3))
    drawn, template = draw_graph(rng_graph, cfg, kinds)
    adjacency = drawn if graph is None else check_graph(graph, kinds, cfg.n_shops)
    params = draw_params(rng_params, cfg, kinds)
    eps = rng_noise.standard_normal((cfg.n_days, cfg.n_shops, cfg.n_nodes))
    on, burst = channel_schedules(rng_noise, params, cfg.n_days)
    demand = demand_path(rng_noise, params, cfg.n_days)
    dates = pd.date_range(START_DATE, periods=cfg.n_days, freq="D")
    recursion = MarketRecursion(params, adjacency, kinds, eps, on, burst, np.asarray(dates.day_of_week), demand)
    u = recursion.run(intervention, progress=progress)
    width = max(3, len(str(cfg.n_shops - 1)))
    shops = tuple(f"s{i:0{width}d}" for i in range(cfg.n_shops))
    panel = Panel(
        values=u * params["scale"][:, None, :],
        observed=np.ones(u.shape, dtype=bool),
        context=params["context"],
        shops=shops,
        dates=dates,
        nodes=nodes,
        node_kinds=kinds,
        context_names=tuple(f"ctx{k}" for k in range(cfg.n_context)),
        freq="D",
    )
    params = dict(params, weights=adjacency * params["weight_full"], gamma_original=params["gamma"] * params["scale"],
                  template=template, scenario=cfg.name, seed=seed, settings=settings)
    return SimulationResult(panel=panel, truth=truth_frame(adjacency, shops, nodes, template), adjacency=adjacency,
                            params=params, recursion=recursion if keep_recursion else None)
