"""Per-shop summary features that the amortized encoder reads (plain torch, no pyro).

The guide must move with each shop's own data, not only learn which edges are common across shops. Besides
node-level summaries, it therefore gets, for every ordered pair i → j, Granger-style evidence from the shop's own
series: how well saturated-carryover transforms of x_i at lag 1 explain what x_j's own past (own lags and calendar)
cannot. The transforms form a grid wide enough for real data (:data:`SCREEN_KERNELS` × :data:`SATURATIONS`: no
carryover to a decay of 0.95, two delayed peaks; none, logarithmic, Michaelis–Menten and S-shaped saturation), and
the screen picks from it with each shop's own data, never with a shape fixed in advance:

- every edge feature holds the correlation of the effect's residual with every transform of the cause;
- the screen (:data:`SCREEN_COLUMNS`) holds two conditional t-statistics of each cause among all causes of the
  effect: one with the transform that fits the cause best over all its effects in this shop (one shape per cause, as
  the model has), one with the transform that fits this pair best.

The encoder learns how to weigh this evidence by maximising the ELBO of the generative model; these statistics are
inputs to the guide only and never reach the decoder.

Evidence about an effect is computed on the scale the model scores it on: channels under the hurdle spend model
(:mod:`causalmmm_ppl.models.likelihood`) on log-spend of their active days, with their on/off history among the own
lags. Budget effects between channels act multiplicatively; on that scale the screen ranks channel → channel edges
far better than on scaled spend (see ``docs/benchmarks.md``, "Edge diagnostics").

All functions are batched over shops and nodes; windows of invalid days are weighted out.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from causalmmm_ppl.models.likelihood import holds_level, spend_view
from causalmmm_ppl.transforms import torch_ops

#: Carryover kernels of the screen's grid: ``("geometric", decay)`` or ``("delayed", decay, peak lag)``.
SCREEN_KERNELS = (
    ("geometric", 0.0), ("geometric", 0.3), ("geometric", 0.6), ("geometric", 0.8), ("geometric", 0.9),
    ("geometric", 0.95), ("delayed", 0.8, 2.0), ("delayed", 0.95, 5.0),
)
#: Saturation families of the grid, each with its half-point at the carried cause's usual level.
SATURATIONS = ("identity", "log", "michaelis_menten", "s_shaped")
N_TRANSFORMS = len(SCREEN_KERNELS) * len(SATURATIONS)
OWN_LAGS = 7
N_NODE_FEATURES = 6 + 3
N_EDGE_FEATURES = N_TRANSFORMS + 2
#: Columns of the edge features holding the conditional t-statistics (signed log), the shop's Granger screen.
SCREEN_COLUMNS = slice(N_EDGE_FEATURES - 2, N_EDGE_FEATURES)


@dataclass
class ShopFeatures:
    """Encoder inputs for a set of shops.

    Attributes
    ----------
    node : (shop, node, N_NODE_FEATURES)
    edge : (shop, cause, effect, N_EDGE_FEATURES)
    """

    node: torch.Tensor
    edge: torch.Tensor

    def index(self, idx: torch.Tensor) -> "ShopFeatures":
        return ShopFeatures(self.node[idx], self.edge[idx])

    def to(self, device: torch.device | str) -> "ShopFeatures":
        return ShopFeatures(self.node.to(device), self.edge.to(device))


def _slog(x: torch.Tensor) -> torch.Tensor:
    return torch.sign(x) * torch.log1p(x.abs())


def _lagged(x: torch.Tensor, k: int) -> torch.Tensor:
    """Shift ``x: (shop, time, ...)`` by ``k`` days along time, zeros first."""
    if k == 0:
        return x
    return torch.cat([torch.zeros_like(x[:, :k]), x[:, :-k]], dim=1)


def _weighted_standardise(x: torch.Tensor, w: torch.Tensor, dim: int) -> torch.Tensor:
    """Standardise ``x`` along ``dim`` with weights ``w`` (broadcastable); zero-variance series become 0."""
    n = w.sum(dim, keepdim=True).clamp_min(1.0)
    mean = (w * x).sum(dim, keepdim=True) / n
    var = (w * (x - mean) ** 2).sum(dim, keepdim=True) / n
    return torch.where(var > 1e-10, (x - mean) / var.clamp_min(1e-10).sqrt(), torch.zeros_like(x))


def _solve(a: torch.Tensor, b: torch.Tensor, ridge: float = 1e-3) -> torch.Tensor:
    eye = torch.eye(a.shape[-1], dtype=a.dtype, device=a.device)
    return torch.linalg.solve(a + ridge * eye * (1.0 + a.diagonal(dim1=-2, dim2=-1).mean(-1, keepdim=True)[..., None]), b)


def _kernel(kind: tuple, l_max: int) -> torch.Tensor:
    """Normalised carryover weights (lag,) of one grid kernel."""
    decay = torch.tensor(kind[1], dtype=torch.float64)
    if kind[0] == "geometric":
        return torch_ops.geometric_weights(decay, l_max, normalize=True)
    return torch_ops.delayed_weights(decay, torch.tensor(kind[2], dtype=torch.float64), l_max, normalize=True)


def _saturate(carried: torch.Tensor, level: torch.Tensor, family: str) -> torch.Tensor:
    """One saturation family of ``carried: (shop, node, time)`` with its half-point at ``level: (shop, node)``."""
    if family == "identity":
        return carried
    if family == "log":
        return torch.log1p(carried / level[..., None])
    return torch_ops.hill(carried, torch.full_like(level, 1.0 if family == "michaelis_menten" else 3.0), level)


def cause_transforms(x: torch.Tensor, w: torch.Tensor, l_max: int = 14) -> torch.Tensor:
    """The grid's saturated-carryover transforms of every node.

    Parameters
    ----------
    x : (shop, time, node) scaled values; w : (shop, time) day weights

    Returns
    -------
    g : (shop, node, transform, time), transform = kernels × saturations (:data:`N_TRANSFORMS`)
    """
    xt = x.transpose(1, 2).clamp_min(0.0)  # (shop, node, time)
    out = []
    for kind in SCREEN_KERNELS:
        carried = torch_ops.adstock(xt, _kernel(kind, l_max).to(x.dtype))
        level = ((carried * w[:, None]).sum(-1) / w.sum(-1, keepdim=True).clamp_min(1.0)).clamp_min(1e-6)
        out.extend(_saturate(carried, level, family) for family in SATURATIONS)
    return torch.stack(out, dim=2)


def conditional_tstats(causes: torch.Tensor, resid: torch.Tensor, ww: torch.Tensor) -> torch.Tensor:
    """t-statistics (signed log) of every cause in one regression per effect of its residual on all causes.

    Parameters
    ----------
    causes : (shop, effect, cause, time) standardised regressors, chosen per effect
    resid : (shop, time, effect) standardised residuals of the effects' own-past regressions
    ww : (shop, time, effect) day weights of the effects

    Returns
    -------
    (shop, cause, effect)
    """
    c = causes.shape[2]
    n = ww.sum(1).clamp_min(1.0)  # (shop, effect)
    reg = torch.cat([torch.ones_like(causes[:, :, :1]), causes], dim=2)  # (shop, effect, 1 + cause, time)
    gram = torch.einsum("sjat,stj,sjbt->sjab", reg, ww, reg)
    inv = torch.linalg.inv(gram + 1e-3 * torch.eye(c + 1, dtype=reg.dtype) * n[:, :, None, None])
    coef = torch.einsum("sjab,sjbt,stj->sja", inv, reg, ww * resid)  # (shop, effect, 1 + cause)
    res = resid - torch.einsum("sjat,sja->stj", reg, coef)
    sigma2 = (ww * res**2).sum(1) / (n - c - 1).clamp_min(1.0)  # (shop, effect)
    se = (inv.diagonal(dim1=-2, dim2=-1) * sigma2[:, :, None]).clamp_min(1e-12).sqrt()
    return _slog(coef / se)[:, :, 1:].transpose(1, 2)


def shop_features(
    x: torch.Tensor, valid: torch.Tensor, calendar: torch.Tensor, node_kinds: torch.Tensor, l_max: int = 14,
    log_nodes: torch.Tensor | None = None,
) -> ShopFeatures:
    """Compute encoder features for every shop.

    Parameters
    ----------
    x : (shop, time, node) scaled values (0 where not observed)
    valid : (shop, time) bool, all nodes observed on that day
    calendar : (time, n_calendar) calendar features
    node_kinds : (node, 3) one-hot of channel / mediator / target
    l_max : carryover lags of the transforms
    log_nodes : (node,) bool, nodes scored on log-spend of their active days (the hurdle spend model): as effects
        their evidence is computed on that scale, over those days; ``None``: none

    Returns
    -------
    ShopFeatures with node (shop, node, N_NODE_FEATURES) and edge (shop, node, node, N_EDGE_FEATURES)
    """
    x = x.to(torch.float64)
    s, t, v = x.shape
    vf = valid.to(x.dtype)
    # a day is usable when it and its OWN_LAGS predecessors are observed
    w = vf.clone()
    for k in range(1, OWN_LAGS + 1):
        w = w * _lagged(vf.unsqueeze(-1), k).squeeze(-1)
    log_nodes = torch.zeros(v, dtype=torch.bool) if log_nodes is None else log_nodes.bool()
    y, active = spend_view(x, log_nodes)  # each effect on the scale the model scores it on
    # days scored per (shop, node): usable days, and for log nodes only the active ones
    ww = w.unsqueeze(-1) * holds_level(x, log_nodes.view(1, 1, v))
    n = ww.sum(1).clamp_min(1.0)  # (shop, node)

    # own-past regression per (shop, node): intercept, own lags (and on/off lags of log nodes), calendar
    lags = torch.stack([_lagged(y, k) for k in range(1, OWN_LAGS + 1)]
                       + [_lagged(active, k) for k in range(1, OWN_LAGS + 1)], dim=-1)  # (shop, time, node, lag)
    cal = calendar.to(x.dtype).view(1, t, 1, -1).expand(s, t, v, -1)
    design = torch.cat([torch.ones_like(lags[..., :1]), lags, cal], dim=-1)  # (shop, time, node, q)
    dw = design * ww.unsqueeze(-1)
    gram = torch.einsum("stvq,stvr->svqr", dw, design)
    rhs = torch.einsum("stvq,stv->svq", dw, y)
    beta = _solve(gram, rhs.unsqueeze(-1)).squeeze(-1)  # (shop, node, q)
    resid = y - torch.einsum("stvq,svq->stv", design, beta)  # (shop, time, node)
    mean_y = (ww * y).sum(1) / n
    tss = (ww * (y - mean_y[:, None]) ** 2).sum(1).clamp_min(1e-12)
    r2 = 1.0 - (ww * resid**2).sum(1) / tss  # (shop, node)

    # node features
    wd = w.unsqueeze(-1)  # every usable day
    nd = wd.sum(1).clamp_min(1.0)
    ys = _weighted_standardise(y, ww, dim=1)
    ac1 = (ww * ys * _lagged(ys, 1)).sum(1) / n
    ac7 = (ww * ys * _lagged(ys, 7)).sum(1) / n
    zero = (wd * (x <= 0)).sum(1) / nd
    log_sd = 0.5 * torch.log(tss / n + 1e-8)
    logn = (torch.log(nd) / 10.0).expand(s, v)
    node = torch.stack([r2.clamp(-1, 1), zero, log_sd, ac1, ac7, logn], dim=-1)
    node = torch.cat([node, node_kinds.to(x.dtype).expand(s, v, 3)], dim=-1)

    # pairwise evidence: corr(resid_j(t), g_ik(t - 1)) over the effect's scored days
    g = cause_transforms(x, vf, l_max)  # (shop, node, K, time)
    g_lag = torch.cat([torch.zeros_like(g[..., :1]), g[..., :-1]], dim=-1)
    gz = _weighted_standardise(g_lag, w[:, None, None, :], dim=-1)
    rz = _weighted_standardise(resid, ww, dim=1)
    corr = torch.einsum("stj,stj,sikt->sijk", ww, rz, gz) / n[:, None, :, None]

    # conditional evidence: each cause's transform chosen by this shop's data, once per cause (the one that best
    # explains all its effects) and once per pair
    off = ~torch.eye(v, dtype=torch.bool)
    per_cause = (corr**2 * off[None, :, :, None]).sum(2).argmax(-1)  # (shop, cause)
    chosen = torch.gather(gz, 2, per_cause[:, :, None, None].expand(s, v, 1, t)).squeeze(2)  # (shop, cause, time)
    t_cause = conditional_tstats(chosen[:, None].expand(s, v, v, t), rz, ww)
    per_pair = corr.abs().argmax(-1)  # (shop, cause, effect)
    paired = torch.gather(gz[:, :, None].expand(s, v, v, -1, t), 3, per_pair[..., None, None].expand(s, v, v, 1, t))
    t_pair = conditional_tstats(paired.squeeze(3).transpose(1, 2), rz, ww)
    tstats = [t_cause, t_pair]
    edge = torch.cat([corr, torch.stack(tstats, dim=-1)], dim=-1)
    return ShopFeatures(node=node.float(), edge=edge.float())
