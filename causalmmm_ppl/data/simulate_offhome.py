"""Simulators built to differ from the model: the scenarios a graph claim must survive off home ground.

sim1 and sim2 (:mod:`causalmmm_ppl.data.sim_market`) share the model's functional forms. The scenarios here do not:

``sim3`` (misspecified)
    - carryover is a Weibull-shaped kernel with a delayed peak over 21 lags (the model keeps 14 lags of a geometric
      decay): ``w(l) ∝ ((l + ½)/λ)^(k-1) exp(-((l + ½)/λ)^k)``, shape ``k`` in [1.5, 4], scale ``λ`` log-linear in the
      shop's context;
    - saturation is Michaelis–Menten ``x / (x + K)`` for even nodes and ``tanh(x / K)`` for odd ones (never Hill),
      with ``K`` quadratic in the context;
    - budget effects between channels *add* to spend (in units of the channel's base budget), with no log link;
    - a slow latent demand (an AR(1) plus a slow cycle) moves the mediator, the target and the budgets of the
      search-like channels (the first third of the channels): a confounder;
    - the mediator is multiplicative (a log-AR), the target additive with a pull ``tanh(level^p - 1)`` from the
      mediator's level; each node has its own weekday profile (not one per shop) and the target a month-end payday bump;
    - shops follow one of a few graph templates, with ~10% of each shop's simulator pairs flipped (the shop's own
      deviations: ``template`` in the truth says which template);
    - innovations are Student-t with 3 degrees of freedom.

``sources``
    Five channels that are pure sources (smooth positive series with their own slow dynamics, no parents, no zero
    days) drive two mediators and the target; three graph templates, few deviations. Every edge into a source is
    absent: a node that its own past explains must not acquire parents.

Both write the same outputs as the other scenarios (``panel.csv``, ``truth.csv`` with a ``template`` column,
``fit_flags.txt``). Numpy only; the three random streams (graph, parameters, noise) are spawned from the seed as in
:func:`causalmmm_ppl.data.simulate.simulate`, so ``graph=`` re-simulates the same shops under another graph.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from causalmmm_ppl.data.panel import Panel
from causalmmm_ppl.data.recursion import Recursion
from causalmmm_ppl.data.sim_layout import START_DATE, allowed_edges, check_graph, kind_edge_probability, node_layout
from causalmmm_ppl.data.sim_market import channel_schedules

WEIBULL_SHAPE = (1.5, 4.0)
WEIBULL_SCALE = (2.0, 9.0)
TAIL_DF = 3.0
DRIVE_REF = 0.5  # typical saturated carryover of a cause: the drive is centred on it


@dataclass(frozen=True)
class OffHomeScenario:
    """Sizes and generating settings of a scenario of this module.

    Attributes
    ----------
    name : ``"sim3"`` or ``"sources"``
    n_shops, n_channels, n_days, n_context, n_mediators : sizes
    n_templates : graph templates the shops follow
    flip : probability that a shop's edge on a simulator pair differs from its template's
    channel_mode : ``"budget"`` (spend with zero days, bursts and additive budget effects) or ``"smooth"`` (pure
        sources: smooth positive series with no parents)
    p_cc, p_cm, p_ct, p_mt, p_mm : template edge probabilities channel → later channel, channel → mediator,
        channel → target, mediator → target, mediator → later mediator
    l_max : carryover lags of the simulator
    w_channel : (low, high) budget effects, in units of the channel's base budget
    w_response : (low, high) effects on the mediators' log level and the target's level
    sigma_response : (low, high) innovation scale of mediators and the target
    """

    name: str
    n_shops: int
    n_channels: int
    n_days: int
    n_context: int
    n_templates: int
    flip: float
    channel_mode: str
    n_mediators: int = 1
    p_cc: float = 0.15
    p_cm: float = 0.5
    p_ct: float = 0.4
    p_mt: float = 0.9
    p_mm: float = 0.5
    l_max: int = 21
    w_channel: tuple[float, float] = (1.5, 3.0)
    w_response: tuple[float, float] = (0.6, 1.5)
    sigma_response: tuple[float, float] = (0.04, 0.08)

    @property
    def n_nodes(self) -> int:
        return self.n_channels + self.n_mediators + 1


OFF_HOME: dict[str, OffHomeScenario] = {
    "sim3": OffHomeScenario(name="sim3", n_shops=200, n_channels=6, n_days=120, n_context=2, n_templates=4, flip=0.1,
                            channel_mode="budget"),
    "sources": OffHomeScenario(name="sources", n_shops=240, n_channels=5, n_days=100, n_context=2, n_templates=3,
                               flip=0.05, channel_mode="smooth", n_mediators=2, p_cc=0.0, p_cm=0.4, p_ct=0.3,
                               p_mt=0.7, w_response=(1.5, 3.0), sigma_response=(0.02, 0.05)),
}


# ------------------------------------------------------------------------------------------------- graph
def template_graphs(rng: np.random.Generator, cfg: OffHomeScenario, kinds: tuple[str, ...],
                    allowed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Templates, then each shop's graph: its template with each allowed pair flipped with probability ``flip``.

    Returns
    -------
    adjacency : (shop, cause, effect) int8; template : (shop,) int
    """
    k = np.asarray(kinds)
    prob = kind_edge_probability(kinds, allowed, cc=cfg.p_cc, cm=cfg.p_cm, ct=cfg.p_ct, mm=cfg.p_mm, mt=cfg.p_mt)
    graphs = (rng.random((cfg.n_templates,) + prob.shape) < prob).astype(np.int8)
    template = rng.integers(0, cfg.n_templates, size=cfg.n_shops)
    pairs = allowed & (prob > 0)
    flips = (rng.random((cfg.n_shops,) + prob.shape) < cfg.flip) & pairs
    adjacency = (graphs[template] ^ flips).astype(np.int8)
    empty = adjacency[:, :, -1].sum(1) == 0  # the target always has a cause
    cause = rng.integers(0, len(k) - 1, size=cfg.n_shops)
    adjacency[np.flatnonzero(empty), cause[empty], -1] = 1
    return adjacency, template


# ------------------------------------------------------------------------------------------------- parameters
def weibull_weights(shape: np.ndarray, scale: np.ndarray, l_max: int) -> np.ndarray:
    """Normalised Weibull-pdf carryover weights over lags ``0..l_max-1`` (peak after lag 0 when ``shape > 1``).

    Parameters
    ----------
    shape, scale : (...) Weibull shape ``k`` and scale ``λ`` (days)

    Returns
    -------
    (..., lag)
    """
    lag = (np.arange(l_max) + 0.5) / scale[..., None]
    w = lag ** (shape[..., None] - 1.0) * np.exp(-(lag ** shape[..., None]))
    return w / w.sum(-1, keepdims=True)


def saturate(x: np.ndarray, family: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Michaelis–Menten ``x / (x + K)`` where ``family`` is 0, ``tanh(x / K)`` where it is 1; ``x >= 0``.

    Parameters
    ----------
    x, k : (shop, node); family : (node,) 0 or 1
    """
    return np.where(family == 0, x / (x + k), np.tanh(x / k))


def draw_offhome_params(rng: np.random.Generator, cfg: OffHomeScenario, kinds: tuple[str, ...]) -> dict:
    """Every generating parameter except the graph and the noise (shapes with named dims in the keys' comments)."""
    s, v, d = cfg.n_shops, cfg.n_nodes, cfg.n_channels
    k = np.asarray(kinds)
    is_ch = k == "channel"
    context = rng.standard_normal((s, cfg.n_context))
    a_scale = rng.normal(0.0, 0.35, (cfg.n_context, v))
    shape = rng.uniform(*WEIBULL_SHAPE, (s, v))
    scale = np.clip(np.exp(np.log(4.0) + context @ a_scale + 0.2 * rng.standard_normal((s, v))), *WEIBULL_SCALE)
    c_sat = rng.normal(0.0, 1.0, (cfg.n_context, v))
    sat_k = np.exp(np.log(0.8) + 0.25 * ((context @ c_sat) ** 2 - 1.0) / max(cfg.n_context, 1)
                   + 0.2 * rng.standard_normal((s, v)))
    profile = rng.normal(0.0, 1.0, (s, v, 7))
    profile -= profile.mean(-1, keepdims=True)
    size = np.exp(0.4 * context[:, 0] + 0.3 * rng.standard_normal(s))
    base = np.where(is_ch, 500.0, np.where(k == "target", 20000.0, 4000.0))
    search = np.zeros(v, dtype=bool)
    search[: max(1, d // 3)] = cfg.channel_mode == "budget"
    return {
        "context": context,  # (shop, context)
        "weibull_shape": shape,  # (shop, node)
        "weibull_scale": scale,  # (shop, node)
        "carryover_weights": weibull_weights(shape, scale, cfg.l_max),  # (shop, node, lag)
        "saturation_family": (np.arange(v) % 2).astype(int),  # (node,) 0 Michaelis–Menten, 1 tanh
        "saturation_k": sat_k,  # (shop, node), in units of the cause's usual level
        "weight_full": np.where(is_ch[None, None, :], rng.uniform(*cfg.w_channel, (s, v, v)),
                                rng.uniform(*cfg.w_response, (s, v, v))),  # (shop, cause, effect)
        "rho": np.where(is_ch, rng.uniform(0.6, 0.9, (s, v)), rng.uniform(0.4, 0.8, (s, v))),  # (shop, node)
        "sigma": np.where(is_ch, rng.uniform(0.1, 0.2, (s, v)), rng.uniform(*cfg.sigma_response, (s, v))),
        "season_profile": profile * np.where(is_ch, 0.12, 0.05)[None, :, None],  # (shop, node, weekday)
        "payday": rng.uniform(0.05, 0.15, s),  # (shop,) month-end bump of the target
        "search": search,  # (node,) channels whose budgets follow demand
        "demand_load": rng.uniform(0.4, 0.9, (s, v)),  # (shop, node)
        "demand_rho": rng.uniform(0.95, 0.99, s),
        "demand_sd": rng.uniform(0.15, 0.3, s),
        "demand_period": rng.uniform(40.0, 90.0, s),
        "demand_phase": rng.uniform(0.0, 2 * np.pi, s),
        "pv_power": rng.uniform(1.2, 1.8, s),  # (shop,) the target's pull: tanh(mediator level ** power - 1)
        "scale": size[:, None] * base * np.exp(0.5 * rng.standard_normal((s, v))),  # (shop, node)
        "off_start": rng.uniform(0.03, 0.1, (s, d)),
        "off_end": rng.uniform(0.3, 0.6, (s, d)),
        "burst_start": rng.uniform(0.02, 0.05, (s, d)),
        "burst_end": rng.uniform(0.15, 0.3, (s, d)),
        "burst_mult": (1.3, 2.0),
        "l_max": cfg.l_max,
    }


# ------------------------------------------------------------------------------------------------- dynamics
def _student_t(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Student-t(3) innovations scaled to unit standard deviation."""
    return rng.standard_t(TAIL_DF, shape) / np.sqrt(TAIL_DF / (TAIL_DF - 2.0))


def offhome_demand(rng: np.random.Generator, params: dict, n_days: int) -> np.ndarray:
    """(shop, time) latent demand: a persistent AR(1) plus a slow cycle, mean 0."""
    rho, sd = params["demand_rho"], params["demand_sd"]
    xi = rng.standard_normal((n_days, len(rho)))
    ar = np.empty((n_days, len(rho)))
    ar[0] = sd * xi[0]
    for t in range(1, n_days):
        ar[t] = rho * ar[t - 1] + np.sqrt(1.0 - rho**2) * sd * xi[t]
    cycle = sd * np.sin(2 * np.pi * np.arange(n_days)[:, None] / params["demand_period"] + params["demand_phase"])
    return (ar + cycle).T


def smooth_sources(rng: np.random.Generator, params: dict, n_days: int, d: int) -> np.ndarray:
    """(shop, time, channel) smooth positive source series: ``exp`` of a pseudo-cyclic AR(2) (no zero days)."""
    s = params["rho"].shape[0]
    period = rng.uniform(7.0, 30.0, (s, d))
    r = rng.uniform(0.9, 0.97, (s, d))
    a1, a2 = 2 * r * np.cos(2 * np.pi / period), -(r**2)
    z = np.zeros((n_days, s, d))
    eps = 0.06 * rng.standard_normal((n_days, s, d))
    for t in range(2, n_days):
        z[t] = a1 * z[t - 1] + a2 * z[t - 2] + eps[t]
    z /= z.std(0, keepdims=True) + 1e-9
    return np.exp(0.5 * z).transpose(1, 0, 2)


class OffHomeRecursion(Recursion):
    """This module's dynamics, vectorised over shops and nodes. The noise (Student-t innovations, demand, channel
    schedules or smooth sources) is drawn from ``rng`` here, in that order; the state is the channels' budgets
    (shop, channel), the log-levels of the mediators (shop, node) and the target's level (shop,).
    """

    def __init__(self, params: dict, adjacency: np.ndarray, kinds: tuple[str, ...], cfg: OffHomeScenario,
                 rng: np.random.Generator, dates) -> None:

        k = np.asarray(kinds)
        self.is_ch, self.is_med, self.is_tgt = k == "channel", k == "mediator", k == "target"
        self.d, n, v, s = int(self.is_ch.sum()), cfg.n_days, cfg.n_nodes, cfg.n_shops
        self.shape = (s, v, n)
        self.params, self.cfg = params, cfg
        self.w = w = adjacency * params["weight_full"]  # (shop, cause, effect)
        self.eps = _student_t(rng, (n, s, v))
        self.demand = offhome_demand(rng, params, n)
        self.weekday = np.asarray(dates.day_of_week)
        self.month_end = np.asarray(dates.day >= 25, dtype=float)
        if cfg.channel_mode == "budget":
            self.on, self.burst = channel_schedules(rng, params, n)
        else:
            self.sources = smooth_sources(rng, params, n, self.d)
        self.tgt = int(np.flatnonzero(self.is_tgt)[0])
        # a cause at its usual saturation level moves its effects neither up nor down on average (mediators act on
        # the target through the pull below, centred by itself, so they are left out of the target's reference)
        is_med = self.is_med
        self.drive_ref = DRIVE_REF * (w * (~is_med)[None, :, None]).sum(1) + DRIVE_REF * (
            w * is_med[None, :, None]).sum(1) * (~self.is_tgt)[None]

    def initial(self) -> tuple:
        s, v, _ = self.shape
        return np.ones((s, self.d)), np.zeros((s, v)), np.ones(s)

    def step(self, t: int, u: np.ndarray, state: tuple) -> tuple:
        p, w, d, tgt, is_med = self.params, self.w, self.d, self.tgt, self.is_med
        rho, sigma, eps, drive_ref = p["rho"], p["sigma"], self.eps, self.drive_ref
        budget, log_med, y_tgt = state
        if t > 0:
            weights = p["carryover_weights"]  # (shop, node, lag)
            window = u[:, :, max(0, t - weights.shape[-1]):t][:, :, ::-1]  # lag 0 = yesterday
            carried = (window * weights[:, :, : window.shape[-1]]).sum(-1)  # (shop, node)
            f = saturate(carried, p["saturation_family"], p["saturation_k"])
            drive = np.einsum("si,sij->sj", f, w)  # (shop, effect)
        else:
            drive = np.zeros(self.shape[:2])
        season = p["season_profile"][:, :, self.weekday[t]]  # (shop, node)
        market = p["demand_load"] * self.demand[:, t, None]  # (shop, node)
        if self.cfg.channel_mode == "budget":
            budget = rho[:, :d] * budget + (1 - rho[:, :d]) * 1.0 + sigma[:, :d] * eps[t, :, :d]
            level = budget + drive[:, :d] - drive_ref[:, :d] + np.where(p["search"][:d], market[:, :d], 0.0)
            level = np.maximum(level, 0.05) * np.exp(season[:, :d] + self.burst[:, t])
            u[:, :d, t] = self.on[:, t] * level
        else:
            u[:, :d, t] = self.sources[:, t]
        # mediators: multiplicative (a log-AR whose long-run level moves by the causes' drive and demand)
        log_med = rho * log_med + (1 - rho) * (drive - drive_ref + 0.5 * market) + season + sigma * eps[t]
        u[:, is_med, t] = np.exp(log_med[:, is_med] - 0.5)
        # target: additive around its level; yesterday's mediator level pulls it through tanh(level^power - 1)
        pull = 0.0
        if is_med.any() and t > 0:
            pull = (w[:, is_med, tgt] * np.tanh(u[:, is_med, t - 1] ** p["pv_power"][:, None] - 1.0)).sum(1)
        direct = (f * (~is_med)[None] * w[:, :, tgt]).sum(1) if t > 0 else 0.0
        y_tgt = (rho[:, tgt] * y_tgt + (1 - rho[:, tgt]) * (1.0 + market[:, tgt] + pull + direct - drive_ref[:, tgt])
                 + season[:, tgt] + p["payday"] * self.month_end[t] + sigma[:, tgt] * eps[t, :, tgt])
        u[:, tgt, t] = np.maximum(y_tgt, 0.01)
        return budget, log_med, y_tgt


def simulate_offhome(cfg: OffHomeScenario, *, seed: int, graph: np.ndarray | None = None, intervention=None) -> dict:
    """Simulate one of this module's scenarios (``graph`` and ``intervention`` as in
    :func:`causalmmm_ppl.data.simulate.simulate`).

    Returns
    -------
    dict with ``panel`` (Panel), ``adjacency`` (shop, cause, effect) int8, ``template`` (shop,), ``params``,
    ``recursion`` (:class:`OffHomeRecursion`)
    """
    import pandas as pd


    nodes, kinds = node_layout(cfg.n_channels, cfg.n_mediators)
    rng_graph, rng_params, rng_noise = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3))
    allowed = allowed_edges(kinds)
    drawn, template = template_graphs(rng_graph, cfg, kinds, allowed)
    adjacency = drawn if graph is None else check_graph(graph, kinds, cfg.n_shops)
    params = draw_offhome_params(rng_params, cfg, kinds)
    dates = pd.date_range(START_DATE, periods=cfg.n_days, freq="D")
    recursion = OffHomeRecursion(params, adjacency, kinds, cfg, rng_noise, dates)
    u = recursion.run(intervention)
    width = max(3, len(str(cfg.n_shops - 1)))
    shops = tuple(f"s{i:0{width}d}" for i in range(cfg.n_shops))
    panel = Panel(values=u * params["scale"][:, None, :], observed=np.ones(u.shape, dtype=bool),
                  context=params["context"], shops=shops, dates=dates, nodes=nodes, node_kinds=kinds,
                  context_names=tuple(f"ctx{k}" for k in range(cfg.n_context)), freq="D")
    return {"panel": panel, "adjacency": adjacency, "template": template, "params": params, "recursion": recursion}
