"""sim1 and sim2: simulated markets with the model's own functional forms (home ground).

Nodes are advertising channels ``c0..c{D-1}`` (spend), then mediators (``pv``), then the target ``gmv``. Every shop
has a DAG over the nodes (channel → channel, channel → mediator, channel → target, mediator → target; never
target → anything, never mediator → channel). Causes act with lag >= 1 through shop-specific, context-driven carryover
(geometric or delayed adstock) and Hill saturation:

``s_i(t) = Hill(adstock(u_i))(t)``, and node ``j`` at day ``t`` receives ``drive_j(t) = sum_i w_ij * s_i(t - 1)``,

where ``u_i`` is node ``i`` in shop-normalised units (``x_i / scale_i``). Every node also has its own past
(autoregression), a weekly seasonality whose weekday profile is shared by all nodes of a shop, a slow latent market
demand ``m(t)`` that moves every node of the shop (budgets follow demand: both are confounders), and noise; channels
have campaign bursts and runs of zero-spend days.

* Channels: ``u_j(t) = on_j(t) * exp(h_j(t) + l_j m(t) + season_j(t) + burst_j(t) + drive_j(t) - c_j)`` with ``h_j``
  an AR(1) state; the drive acts on log-spend (budget shifts; ``c_j`` centres it), so spend is >= 0.
* Mediators and the target: ``y_j(t) = rho_j y_j(t-1) + (1 - rho_j)(1 + l_j m(t)) + season_j(t) + drive_j(t)
  + sigma_j eps_j(t)`` and ``u_j(t) = softplus(4 y_j(t)) / 4`` (>= 0, equal to ``y_j`` at its usual level).

Spend before the first day is zero, which is the convention of :func:`causalmmm_ppl.transforms.np_ops.adstock`: the
transformed causes recomputed from the panel with :func:`transformed_causes` equal the ones that generated it.

Randomness comes from three independent streams spawned from the seed (graph, parameters, noise), so a caller can
re-simulate the same shops with the same parameters and noise under another graph
(:func:`causalmmm_ppl.data.simulate.simulate` with ``graph=adj``), e.g. with one edge removed. Numpy only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from causalmmm_ppl.data.recursion import Recursion
from causalmmm_ppl.data.sim_layout import allowed_edges, kind_edge_probability
from causalmmm_ppl.transforms.np_ops import adstock, delayed_weights, geometric_weights, hill

CHANNEL_DRIVE_REF = 0.8  # typical Hill(adstock(spend)) of a channel; centres the drive into log-spend


# ------------------------------------------------------------------------------------------------- scenarios
@dataclass(frozen=True)
class Scenario:
    """Sizes and generating settings of a simulated scenario.

    Attributes
    ----------
    name : scenario name (``"sim1"`` or ``"sim2"``)
    n_shops, n_channels, n_mediators, n_days, n_context : sizes
    n_templates : number of graph templates shared across shops; ``None``: every shop draws its own graph
    p_cc, p_cm, p_ct, p_mt : edge probabilities channel → later channel, channel → mediator, channel → target,
        mediator → target
    l_max : carryover window (days)
    w_channel : (low, high) edge weight range into channels (log-spend units)
    w_response : (low, high) edge weight range into mediators and the target (units of the node's base level)
    sigma_response : (low, high) innovation noise of mediators and the target
    gamma_channel : (low, high) Hill half-saturation of channels, relative to their usual normalised level
    rho_channel, sigma_channel : (low, high) AR(1) coefficient and innovation noise of channels' log-spend
    alpha_range : (low, high) Hill shape
    season_channel, season_response : (low, high) weekly-seasonality amplitude (log-spend; additive)
    burst_mult : (low, high) campaign spend multiplier
    demand_sd : (low, high) standard deviation of the shop's latent market demand (a slow confounder of all nodes)
    """

    name: str
    n_shops: int
    n_channels: int
    n_days: int
    n_context: int
    n_templates: int | None
    n_mediators: int = 1
    p_cc: float = 0.12
    p_cm: float = 0.4
    p_ct: float = 0.35
    p_mt: float = 0.9
    l_max: int = 14
    w_channel: tuple[float, float] = (0.5, 1.0)
    w_response: tuple[float, float] = (0.15, 0.45)
    sigma_response: tuple[float, float] = (0.12, 0.2)
    gamma_channel: tuple[float, float] = (0.4, 1.2)
    rho_channel: tuple[float, float] = (0.5, 0.8)
    sigma_channel: tuple[float, float] = (0.15, 0.3)
    alpha_range: tuple[float, float] = (1.5, 5.0)
    season_channel: tuple[float, float] = (0.1, 0.3)
    season_response: tuple[float, float] = (0.05, 0.15)
    burst_mult: tuple[float, float] = (1.5, 3.0)
    demand_sd: tuple[float, float] = (0.1, 0.3)

    @property
    def n_nodes(self) -> int:
        return self.n_channels + self.n_mediators + 1


SCENARIOS: dict[str, Scenario] = {
    # Like the paper's released demo data: 300 shops, 8 nodes (6 channels, pv, gmv), 100 days, 3 graph templates.
    # Short series, so effects are stronger and noise lower than in sim2.
    "sim1": Scenario(name="sim1", n_shops=300, n_channels=6, n_days=100, n_context=2, n_templates=3,
                     p_cc=0.15, p_cm=0.5, p_ct=0.4, w_channel=(0.8, 1.5), w_response=(0.3, 0.8),
                     sigma_response=(0.08, 0.15)),
    # AirMMM scale: 50 shops, 14 nodes (12 channels, pv, gmv), 676 days, every shop its own graph.
    "sim2": Scenario(name="sim2", n_shops=50, n_channels=12, n_days=676, n_context=5, n_templates=None),
}


# ------------------------------------------------------------------------------------------------- graph
def draw_graph(rng: np.random.Generator, cfg: Scenario, kinds: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Draw per-shop DAGs.

    Returns
    -------
    adjacency : (shop, cause, effect) int8
    template : (shop,) int, the template each shop drew (``-1`` when every shop has its own graph)
    """
    k = np.asarray(kinds)
    prob = kind_edge_probability(kinds, allowed_edges(kinds), cc=cfg.p_cc, cm=cfg.p_cm, ct=cfg.p_ct, mm=cfg.p_cc,
                                 mt=cfg.p_mt)
    n_graphs = cfg.n_templates if cfg.n_templates else cfg.n_shops
    graphs = (rng.random((n_graphs,) + prob.shape) < prob).astype(np.int8)
    # The target always receives at least one edge: give an empty target a random allowed cause.
    empty = graphs[:, :, -1].sum(1) == 0
    cause = rng.integers(0, len(k) - 1, size=n_graphs)
    graphs[np.flatnonzero(empty), cause[empty], -1] = 1
    if cfg.n_templates:
        template = rng.integers(0, cfg.n_templates, size=cfg.n_shops)
        return graphs[template], template
    return graphs, np.full(cfg.n_shops, -1)


# ------------------------------------------------------------------------------------------------- parameters
def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def _softplus(z: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, z)


def _context_field(rng: np.random.Generator, context: np.ndarray, n_nodes: int, noise: float = 0.25) -> np.ndarray:
    """A smooth function of the shop's context per node, plus small noise: (shop, node) values, roughly N(0, 1)."""
    k = context.shape[1]
    load = rng.normal(0.0, 1.0 / np.sqrt(max(k, 1)), size=(n_nodes, k))
    bias = rng.normal(0.0, 0.5, size=n_nodes)
    return np.tanh(context @ load.T) * 1.2 + bias + noise * rng.standard_normal((context.shape[0], n_nodes))


def response_level(cfg: Scenario) -> float:
    """Typical normalised level of a mediator under the scenario's edge probabilities (its Hill scale reference).

    A mediator's level is ``1 + sum_i w_ij * s_i / (1 - rho_j)`` on average; this uses the expected number of
    channel parents, the mean weight, a typical ``s`` of 0.8 and ``rho`` of 0.5. It depends on the scenario only,
    not on the drawn graph, so parameters stay the same under another graph.
    """
    parents = cfg.p_cm * cfg.n_channels
    return 1.0 + parents * float(np.mean(cfg.w_response)) * 0.8 / 0.5


def draw_params(rng: np.random.Generator, cfg: Scenario, kinds: tuple[str, ...]) -> dict:
    """Draw every generating parameter except the graph and the noise.

    Returns
    -------
    dict with
        context : (shop, context); carryover : (node,) ``"geometric"`` or ``"delayed"``;
        decay, delay, alpha, gamma : (shop, node) (gamma in shop-normalised units; delay 0 for geometric nodes);
        carryover_weights : (shop, node, lag), normalised; rho, sigma : (shop, node);
        weight_full : (shop, cause, effect) the weight an edge has when present;
        season_profile : (shop, weekday) shared by a shop's nodes; season_amp : (shop, node);
        scale : (shop, node) original units per normalised unit;
        off_start, off_end, burst_start, burst_end : (shop, channel) Markov switching probabilities.
    """
    s, v, d = cfg.n_shops, cfg.n_nodes, cfg.n_channels
    k = np.asarray(kinds)
    is_ch = k == "channel"
    context = rng.standard_normal((s, cfg.n_context))
    carry = np.where(is_ch & (np.arange(v) % 2 == 1), "delayed", "geometric")
    delayed = carry == "delayed"
    decay = np.where(is_ch, 0.3 + 0.6 * _sigmoid(_context_field(rng, context, v)),
                     0.1 + 0.5 * _sigmoid(_context_field(rng, context, v)))
    delay = np.where(delayed, 1.0 + 4.0 * _sigmoid(_context_field(rng, context, v)), 0.0)
    a_lo, a_hi = cfg.alpha_range
    alpha = a_lo + (a_hi - a_lo) * _sigmoid(_context_field(rng, context, v))
    # Half-saturation relative to the cause's usual adstocked level (1 in normalised units): channels saturate early,
    # so spend bursts add little and zero-spend runs matter; mediators sit mid-curve.
    g_lo, g_hi = cfg.gamma_channel
    gamma = np.where(is_ch, g_lo + (g_hi - g_lo) * _sigmoid(_context_field(rng, context, v)),
                     (0.7 + 0.5 * _sigmoid(_context_field(rng, context, v))) * response_level(cfg))
    geo = geometric_weights(decay, cfg.l_max, normalize=True)
    dly = delayed_weights(decay, delay, cfg.l_max, normalize=True)
    weights = np.where(delayed[None, :, None], dly, geo)
    rho = np.where(is_ch, rng.uniform(*cfg.rho_channel, (s, v)), rng.uniform(0.3, 0.7, (s, v)))
    sigma = np.where(is_ch, rng.uniform(*cfg.sigma_channel, (s, v)), rng.uniform(*cfg.sigma_response, (s, v)))
    w_ch = rng.uniform(*cfg.w_channel, (s, v, v))
    w_resp = rng.uniform(*cfg.w_response, (s, v, v))
    weight_full = np.where(is_ch[None, None, :], w_ch, w_resp)
    profile = rng.normal(0.0, 1.0, (s, 7))
    profile -= profile.mean(1, keepdims=True)
    season_amp = np.where(is_ch, rng.uniform(*cfg.season_channel, (s, v)), rng.uniform(*cfg.season_response, (s, v)))
    size = np.exp(0.5 * np.tanh(context @ rng.normal(0, 1, cfg.n_context)) + 0.3 * rng.standard_normal(s))
    base = np.where(is_ch, 500.0, np.where(k == "target", 20000.0, 4000.0))
    scale = size[:, None] * base * np.exp(0.5 * rng.standard_normal((s, v)))
    return {
        "context": context,
        "carryover": carry,
        "decay": decay,
        "delay": delay,
        "alpha": alpha,
        "gamma": gamma,
        "carryover_weights": weights,
        "rho": rho,
        "sigma": sigma,
        "weight_full": weight_full,
        "season_profile": profile,
        "season_amp": season_amp,
        "scale": scale,
        "off_start": rng.uniform(0.03, 0.12, (s, d)),
        "off_end": rng.uniform(0.3, 0.6, (s, d)),
        "burst_start": rng.uniform(0.02, 0.06, (s, d)),
        "burst_end": rng.uniform(0.15, 0.3, (s, d)),
        "burst_mult": cfg.burst_mult,
        "demand_rho": rng.uniform(0.9, 0.98, s),
        "demand_sd": rng.uniform(*cfg.demand_sd, s),
        "demand_load": np.where(is_ch, rng.uniform(0.5, 1.0, (s, v)), rng.uniform(0.3, 0.8, (s, v))),
        "l_max": cfg.l_max,
    }


def demand_path(rng: np.random.Generator, params: dict, n_days: int) -> np.ndarray:
    """The shop's latent market demand: a slow, stationary AR(1) shared by all of its nodes (a hidden confounder).

    Returns
    -------
    (shop, time) demand, mean 0, standard deviation ``params["demand_sd"]``
    """
    rho, sd = params["demand_rho"], params["demand_sd"]
    xi = rng.standard_normal((n_days, len(rho)))
    out = np.empty((n_days, len(rho)))
    out[0] = sd * xi[0]
    for t in range(1, n_days):
        out[t] = rho * out[t - 1] + np.sqrt(1.0 - rho**2) * sd * xi[t]
    return out.T


def channel_schedules(rng: np.random.Generator, params: dict, n_days: int) -> tuple[np.ndarray, np.ndarray]:
    """Zero-spend runs and campaign bursts of every channel (two-state Markov chains).

    Returns
    -------
    on : (shop, time, channel) bool, False on zero-spend days
    burst : (shop, time, channel) log spend multiplier (0 outside campaigns, log 2..log 5 inside)
    """
    off_start, off_end = params["off_start"], params["off_end"]
    b_start, b_end = params["burst_start"], params["burst_end"]
    s, d = off_start.shape
    u_off = rng.random((n_days, s, d))
    u_burst = rng.random((n_days, s, d))
    lo, hi = params["burst_mult"]
    mult = rng.uniform(np.log(lo), np.log(hi), (n_days, s, d))
    off = rng.random((s, d)) < off_start / (off_start + off_end)
    level = np.zeros((s, d))
    on = np.empty((n_days, s, d), dtype=bool)
    burst = np.empty((n_days, s, d))
    for t in range(n_days):
        off = np.where(off, u_off[t] >= off_end, u_off[t] < off_start)
        in_burst = level > 0
        ended = np.where(u_burst[t] < b_end, 0.0, level)
        started = np.where(u_burst[t] < b_start, mult[t], 0.0)
        level = np.where(in_burst, ended, started)
        on[t] = ~off
        burst[t] = level
    return on.transpose(1, 0, 2), burst.transpose(1, 0, 2)


# ------------------------------------------------------------------------------------------------- dynamics
def _transform_last(window: np.ndarray, params: dict) -> np.ndarray:
    """Hill(adstock(u)) at the last day of ``window: (shop, node, time)`` → (shop, node)."""
    ad = adstock(window, params["carryover_weights"])[..., -1:]
    return hill(ad, params["alpha"], params["gamma"])[..., 0]


class MarketRecursion(Recursion):
    """sim1's and sim2's dynamics (the module docstring's equations), vectorised over shops and nodes; the state is
    the channels' AR state ``h`` and the other nodes' level ``y``, both (shop, node).

    Parameters
    ----------
    params : see :func:`draw_params`
    adjacency : (shop, cause, effect) 0/1
    kinds : (node,) node kinds
    eps : (time, shop, node) standard normal innovations
    on, burst : (shop, time, channel) see :func:`channel_schedules`
    weekday : (time,) 0..6
    demand : (shop, time) see :func:`demand_path`
    """

    def __init__(self, params: dict, adjacency: np.ndarray, kinds: tuple[str, ...], eps: np.ndarray, on: np.ndarray,
                 burst: np.ndarray, weekday: np.ndarray, demand: np.ndarray) -> None:
        n_days, s, v = eps.shape
        self.shape = (s, v, n_days)
        self.params, self.eps, self.on, self.burst = params, eps, on, burst
        self.d = int((np.asarray(kinds) == "channel").sum())
        self.w = adjacency * params["weight_full"]
        self.weekday, self.demand = weekday, demand
        # Channels: a parent's typical transformed level moves budgets neither up nor down on average.
        self.offset = CHANNEL_DRIVE_REF * self.w[:, :, :self.d].sum(1)

    def initial(self) -> tuple:
        rho, sigma, eps = self.params["rho"], self.params["sigma"], self.eps
        h = sigma * eps[0] / np.sqrt(1.0 - rho**2)  # channels' AR state starts stationary
        y = np.ones(self.shape[:2]) + sigma * eps[0]
        return h, y

    def step(self, t: int, u: np.ndarray, state: tuple) -> tuple:
        p, d = self.params, self.d
        rho, sigma = p["rho"], p["sigma"]
        h, y = state
        season = p["season_amp"] * p["season_profile"][:, self.weekday[t]][:, None]  # (shop, node)
        market = p["demand_load"] * self.demand[:, t, None]  # (shop, node)
        if t > 0:
            drive = np.einsum("si,sij->sj", _transform_last(u[:, :, max(0, t - p["l_max"]):t], p), self.w)
            h = rho * h + sigma * self.eps[t]
            y = rho * y + (1.0 - rho) * (1.0 + market) + season + drive + sigma * self.eps[t]
        else:
            drive = np.zeros(self.shape[:2])
        log_spend = h[:, :d] + market[:, :d] + season[:, :d] + self.burst[:, t] + drive[:, :d] - self.offset
        u[:, :d, t] = self.on[:, t] * np.exp(log_spend)
        u[:, d:, t] = _softplus(y[:, d:] * 4.0) / 4.0
        return h, y
