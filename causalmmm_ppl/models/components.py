"""Neural components of the CausalMMM model (plain torch, no pyro): context → response priors, and the decoder.

The decoder is where the graph must matter: an effect node sees other nodes only through z-gated messages built from
the causes' saturated carryover at lag >= 1; everything else it sees is its own past and the calendar.
"""

from __future__ import annotations

import torch
from torch import nn

from causalmmm_ppl.models.likelihood import Prediction, spend_view
from causalmmm_ppl.models.response import ResponseFamily


def mlp(sizes: list[int], activation: type[nn.Module] = nn.ELU) -> nn.Sequential:
    """A small MLP: Linear-activation pairs, linear output."""
    layers: list[nn.Module] = []
    for k in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[k], sizes[k + 1]))
        if k < len(sizes) - 2:
            layers.append(activation())
    return nn.Sequential(*layers)


class ResponsePrior(nn.Module):
    """Context → prior location of each node's unconstrained response parameters (those of a
    :class:`~causalmmm_ppl.models.response.ResponseFamily`, in its order).

    A node-specific intercept, starting where the family's parameters start, plus a small network of the shop's
    (standardised) context, so that shops with similar context get similar curves a priori; the shop's own curve is a
    latent variable around it.
    """

    def __init__(self, n_nodes: int, n_context: int, family: ResponseFamily, hidden: int = 16) -> None:
        super().__init__()
        self.n_nodes, self.n_params = n_nodes, family.size
        self.intercept = nn.Parameter(family.start().repeat(n_nodes, 1))
        self.net = mlp([n_context, hidden, n_nodes * self.n_params]) if n_context > 0 and self.n_params else None
        if self.net is not None:
            nn.init.zeros_(self.net[-1].weight)
            nn.init.zeros_(self.net[-1].bias)

    def forward(self, context: torch.Tensor) -> torch.Tensor:
        """``context: (shop, k)`` → ``(shop, node, param)`` prior locations."""
        loc = self.intercept.expand(context.shape[0], self.n_nodes, self.n_params)
        if self.net is not None:
            loc = loc + self.net(context).view(context.shape[0], self.n_nodes, self.n_params)
        return loc


def weekly_profile(coef: torch.Tensor, weekday: torch.Tensor) -> torch.Tensor:
    """A shop's own weekly profile of each node on each day.

    Parameters
    ----------
    coef : (batch, node, harmonic) coefficients of the day-of-week harmonics
    weekday : (batch, time, harmonic) or (time, harmonic) the harmonics of each day

    Returns
    -------
    (batch, time, node)
    """
    if weekday.ndim == 2:
        return torch.einsum("bnh,th->btn", coef, weekday)
    return torch.einsum("bnh,bth->btn", coef, weekday)


def gated_scan(a: torch.Tensor, b: torch.Tensor, h0: torch.Tensor | None = None, keep_all: bool = True
               ) -> torch.Tensor:
    """The linear recurrence ``h[t] = a[t] * h[t - 1] + b[t]`` along axis -2.

    Two element-wise operations a day: no hidden-to-hidden product (as ``torch.nn.GRU`` has every day), so a whole
    window costs little more than its input layer. ``unbind`` matters: indexing day by day makes the backward pass
    O(time²).

    Parameters
    ----------
    a : (..., time, hidden) in (0, 1]
    b : (..., time, hidden)
    h0 : (..., hidden) state before the first day (zeros if None)
    keep_all : False returns the last day's state only, ``(..., 1, hidden)``

    Returns
    -------
    h : (..., time, hidden)
    """
    h = torch.zeros_like(b[..., 0, :]) if h0 is None else h0
    out = []
    for a_t, b_t in zip(a.unbind(-2), b.unbind(-2)):
        h = a_t * h + b_t
        if keep_all:
            out.append(h)
    return torch.stack(out, dim=-2) if keep_all else h.unsqueeze(-2)


def own_lags(x: torch.Tensor, p: int) -> torch.Tensor:
    """``x: (batch, time, node)`` → ``(batch, node, time, p)`` with ``[..., t, k] = x[:, t - k]`` (zeros before day 0)."""
    xt = nn.functional.pad(x.transpose(1, 2), (p - 1, 0))
    return xt.unfold(-1, p, 1).flip(-1)


class Decoder(nn.Module):
    """Per-node gated recurrent dynamics driven by z-gated messages.

    ``m_j(t) = Σ_i z_ij · W_ij · s_i(t)`` with ``W_ij ∈ R^msg_dim`` one per ordered pair, shared by all shops: the
    shop's graph z says whether i drives j, the population weight says how. A pair that drives its effect in some
    shops learns its weight from those shops; a pair that never does loses its weight, and its edge then buys no
    likelihood anywhere and falls to the sparse prior. (With node-level weights ``W_ij = w0 + U_i + V_j`` a channel's one
    or two true causes and its dozen candidates would share one weight.)
    The input of node j on day t is ``u_j(t) = [v_j(t), …, v_j(t - p + 1), a_j(t), …, a_j(t - p + 1), m_j(t),
    calendar(t), e_j]``: its own recent past (its autoregressive baseline), the message, the calendar and a node
    embedding — nothing from any other node except through z. Time-varying controls (the last ``n_controls`` columns
    of the calendar input, those of the day predicted) reach the nodes in ``control_nodes`` only (the mediators and
    the target); the others read them as 0. For channels under the hurdle spend model
    (``log_nodes``) ``v`` is log-spend on active days (0 when off) and ``a`` the active indicator; for other nodes
    ``v = x`` and ``a = 0``. The state follows a gated recurrent update whose gates depend on the input (a minimal
    GRU, Feng et al. 2024), ``h_j(t) = (1 - g_j(t)) ⊙ h_j(t - 1) + g_j(t) ⊙ h̃_j(t)``, computed for all days at once
    by :func:`gated_scan`; the readout gives the location ``loc_j(t + 1) = v_j(t) + r_1([h_j(t), u_j(t)])`` (of the
    value, or of log-spend) and the on-logit ``r_2(…)`` of a hurdle node (see
    :mod:`causalmmm_ppl.models.likelihood`). Weights are shared by nodes and shops;
    the node embedding ``e_j`` lets them specialise.
    """

    def __init__(self, n_nodes: int, n_calendar: int, hidden: int, msg_dim: int, node_emb: int, lags: int = 7,
                 log_nodes: torch.Tensor | None = None, n_controls: int = 0,
                 control_nodes: torch.Tensor | None = None, memory: bool = True) -> None:
        super().__init__()
        self.n_nodes, self.hidden, self.msg_dim, self.lags = n_nodes, hidden, msg_dim, lags
        self.memory = bool(memory)  # False: the keep gate is 0, each day's state is that day's candidate
        self.edge_weight = nn.Parameter(0.3 * torch.randn(n_nodes, n_nodes, msg_dim))  # W: (cause, effect, msg)
        self.node_embedding = nn.Parameter(0.3 * torch.randn(n_nodes, node_emb))
        log_nodes = torch.zeros(n_nodes, dtype=torch.bool) if log_nodes is None else log_nodes.bool()
        self.register_buffer("log_nodes", log_nodes)  # (node,): nodes predicted on log-spend (hurdle spend model)
        reads = torch.ones(n_nodes, n_calendar)  # (node, calendar column): 0 where a node does not read a control
        if n_controls:
            reads[~control_nodes.bool(), n_calendar - n_controls :] = 0.0
        self.register_buffer("calendar_reads", reads, persistent=False)
        n_in = 2 * lags + msg_dim + n_calendar + node_emb
        self.gates = nn.Linear(n_in, 2 * hidden)
        self.readout = mlp([hidden + n_in, hidden, 2])  # location change, on-logit

    def messages(self, s: torch.Tensor, z: torch.Tensor, nodes: torch.Tensor | None = None) -> torch.Tensor:
        """``s: (batch, node_i, time)``, ``z: (batch, node_i, node_j)`` → ``(batch, node_j, time, msg)``; ``nodes``
        (an index of effect nodes) keeps only those effects' messages."""
        w = self.edge_weight if nodes is None else self.edge_weight[:, nodes]
        return torch.einsum("bit,bij,ijm->bjtm", s, z if nodes is None else z[..., nodes], w)

    def _inputs(self, lags: torch.Tensor, msg: torch.Tensor, calendar: torch.Tensor,
                nodes: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """``lags: (batch, node, time, p)`` own values, ``msg: (batch, node, time, M)``, ``calendar: (batch, time, F)``
        → inputs ``(batch, node, time, features)`` and the own level of the latest lag ``(batch, node, time)``;
        ``nodes``: the index of the nodes given (all when None)."""
        b, v, t, _ = lags.shape
        log_nodes, emb, reads = self.log_nodes, self.node_embedding, self.calendar_reads
        if nodes is not None:
            log_nodes, emb, reads = log_nodes[nodes], emb[nodes], reads[nodes]
        level, active = spend_view(lags, log_nodes.view(1, v, 1, 1))  # own past as the likelihood scores it
        parts = [
            level,
            active,
            msg,
            calendar.unsqueeze(1) * reads.view(1, v, 1, -1),
            emb.view(1, v, 1, -1).expand(b, v, t, -1),
        ]
        return torch.cat(parts, dim=-1), level[..., 0]

    def _predict(self, h: torch.Tensor, u: torch.Tensor, base: torch.Tensor) -> Prediction:
        out = self.readout(torch.cat([h, u], dim=-1))
        return Prediction(base + out[..., 0], out[..., 1])

    def _gates(self, u: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        g = self.gates(u)
        keep = torch.sigmoid(g[..., : self.hidden])  # 1 - update gate
        if not self.memory:
            keep = torch.zeros_like(keep)
        return keep, (1.0 - keep) * torch.tanh(g[..., self.hidden :])

    def forward(
        self, x: torch.Tensor, s: torch.Tensor, z: torch.Tensor, calendar: torch.Tensor, last_only: bool = False,
        all_states: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Teacher-forced one-step-ahead means.

        Parameters
        ----------
        x : (batch, time, node) scaled values
        s : (batch, node, time) causes' signals (:meth:`~causalmmm_ppl.models.response.ResponseFamily.signals`)
        z : (batch, node, node) graph, ``z[b, i, j]`` gates cause i → effect j
        calendar : (batch, time, n_calendar) calendar features of each day
        last_only : read out the last day only (what a rollout starts from; the state still runs over every day)
        all_states : return the state after every day instead of the last (not with ``last_only``)

        Returns
        -------
        pred : tensors (batch, time, node), ``pred[:, t]`` predicts ``x[:, t + 1]`` (time 1 with ``last_only``)
        h : (batch, node, hidden) state after the last day (for rollouts); with ``all_states`` (batch, node, time,
            hidden), ``h[:, :, t]`` the state after day t
        """
        u, base = self._inputs(own_lags(x, self.lags), self.messages(s, z), calendar)
        keep, new = self._gates(u)
        h = gated_scan(keep, new, keep_all=not last_only)  # (batch, node, time or 1, hidden)
        if last_only:
            u, base = u[..., -1:, :], base[..., -1:]
        pred = self._predict(h, u, base)  # (batch, node, time)
        return Prediction(pred.loc.transpose(1, 2), pred.on_logit.transpose(1, 2)), h if all_states else h[..., -1, :]

    def step(
        self, lags: torch.Tensor, s_t: torch.Tensor, z: torch.Tensor, calendar_t: torch.Tensor, h: torch.Tensor,
        nodes: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """One day of the recurrence (for rollouts).

        Parameters
        ----------
        lags : (batch, node, p) values on days t, t - 1, …; s_t : (batch, node) signals on day t
        z : (batch, node, node); calendar_t : (batch, n_calendar); h : (batch, node, hidden) state after day t - 1
        nodes : an index of effect nodes: only these are stepped (``lags`` and ``h`` hold these nodes; ``s_t`` and
            ``z`` every node, the causes). None: every node

        Returns
        -------
        pred : tensors (batch, node), the prediction of day t + 1; h : (batch, node, hidden) state after day t
        """
        msg = self.messages(s_t.unsqueeze(-1), z, nodes)
        u, base = self._inputs(lags.unsqueeze(2), msg, calendar_t.unsqueeze(1), nodes)
        u, base = u.squeeze(2), base.squeeze(2)
        keep, new = self._gates(u)
        h = keep * h + new
        return self._predict(h, u, base), h
