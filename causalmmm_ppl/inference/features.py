"""Per-shop summary features that the amortized encoder reads (plain torch, no pyro).

The guide must move with each shop's own data, not only learn which edges are common across shops. Besides
node-level summaries, it therefore gets, for every ordered pair i → j, Granger-style evidence from the shop's own
series: how well each of a few fixed saturated-carryover transforms of x_i at lag 1 explains what x_j's own past
(own lags and calendar) cannot. The encoder learns how to weigh this evidence by maximising the ELBO of the
generative model; these statistics are inputs to the guide only and never reach the decoder.

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

#: Fixed carryover decays and Hill shapes of the cause transforms (identity = no saturation).
FEATURE_DECAYS = (0.0, 0.5, 0.8)
FEATURE_SHAPES = (None, 1.0, 3.0)
OWN_LAGS = 7
N_NODE_FEATURES = 6 + 3
N_EDGE_FEATURES = len(FEATURE_DECAYS) * len(FEATURE_SHAPES) + 2
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


def cause_transforms(x: torch.Tensor, w: torch.Tensor, l_max: int = 14) -> torch.Tensor:
    """Fixed saturated-carryover transforms of every node.

    Parameters
    ----------
    x : (shop, time, node) scaled values; w : (shop, time) day weights

    Returns
    -------
    g : (shop, node, transform, time), transform = decays × shapes
    """
    xt = x.transpose(1, 2).clamp_min(0.0)  # (shop, node, time)
    out = []
    for d in FEATURE_DECAYS:
        carried = torch_ops.geometric_adstock(xt, torch.full(xt.shape[:2], d, dtype=x.dtype), l_max, normalize=True)
        level = (carried * w[:, None]).sum(-1) / w.sum(-1, keepdim=True).clamp_min(1.0)
        level = level.clamp_min(1e-6)
        for a in FEATURE_SHAPES:
            out.append(carried if a is None else torch_ops.hill(carried, torch.full_like(level, a), level))
    return torch.stack(out, dim=2)


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

    # conditional evidence: t-statistics of all causes together, for two transforms
    tstats = []
    for k in (1 * len(FEATURE_SHAPES) + 1, 2 * len(FEATURE_SHAPES) + 2):  # (decay 0.5, α=1) and (decay 0.8, α=3)
        reg = torch.cat([torch.ones_like(gz[:, :1, k]), gz[:, :, k]], dim=1)  # (shop, 1 + node, time)
        gram = torch.einsum("sat,stj,sbt->sjab", reg, ww, reg)  # (shop, effect, 1 + node, 1 + node)
        inv = torch.linalg.inv(gram + 1e-3 * torch.eye(v + 1, dtype=x.dtype) * n[:, :, None, None])
        coef = torch.einsum("sjab,sbt,stj->saj", inv, reg, ww * rz)  # (shop, 1 + node, effect)
        res = rz - torch.einsum("sat,saj->stj", reg, coef)
        sigma2 = (ww * res**2).sum(1) / (n - v - 1).clamp_min(1.0)  # (shop, effect)
        se = (inv.diagonal(dim1=-2, dim2=-1).transpose(1, 2) * sigma2[:, None, :]).clamp_min(1e-12).sqrt()
        tstats.append(_slog(coef / se)[:, 1:])  # (shop, cause, effect)
    edge = torch.cat([corr, torch.stack(tstats, dim=-1)], dim=-1)
    return ShopFeatures(node=node.float(), edge=edge.float())
