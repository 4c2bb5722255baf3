"""A graph-free recurrent forecaster: one GRU over all nodes at once, shared by all shops (torch).

Every node sees every other node through a dense recurrent state — no graph, no carryover or saturation: the
"does the structure help?" baseline for forecasts. Values are scaled per shop and node by the training mean of |x|
(the same "mean" scaling as CausalMMM). On day t the GRU reads ``[x(t), calendar(t + 1)]`` and emits a Gaussian
``N(x(t) + μ(t), σ(t))`` for ``x(t + 1)`` of every node; it is trained by maximum likelihood on random windows of
random shops (Adam). Forecasts roll the recurrence forward: channels come from the plan, every other node is
sampled, so the draws carry the model's own noise (not its parameter uncertainty).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from causalmmm_ppl.data.calendar import calendar_features
from causalmmm_ppl.data.panel import Panel
from causalmmm_ppl.data.scaling import PanelScaler


class _Net(nn.Module):
    def __init__(self, n_nodes: int, n_calendar: int, hidden: int) -> None:
        super().__init__()
        self.gru = nn.GRU(n_nodes + n_calendar, hidden, batch_first=True)
        self.head = nn.Linear(hidden, 2 * n_nodes)

    def forward(self, x: torch.Tensor, cal_next: torch.Tensor, h0: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``x: (batch, time, node)``, ``cal_next: (batch, time, F)`` → mean, sd of ``x[:, t + 1]``, last state."""
        out, h = self.gru(torch.cat([x, cal_next], -1), h0)
        mu, log_sd = self.head(out).chunk(2, dim=-1)
        return x + mu, torch.nn.functional.softplus(log_sd) + 1e-3, h


@dataclass
class RecurrentFit:
    net: _Net
    scaler: PanelScaler
    channel_mask: np.ndarray
    loss: list[float]


def fit(history: Panel, hidden: int = 32, steps: int = 400, window: int = 64, batch_shops: int = 32,
        lr: float = 0.01, seed: int = 0) -> RecurrentFit:
    """Train the GRU on a panel (every observed day is a training day)."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    scaler = PanelScaler.fit(history, method="mean")
    x = np.where(history.observed, scaler.transform(history.values), 0.0)
    xt = torch.as_tensor(x, dtype=torch.float32)
    ok = torch.as_tensor(history.observed)
    cal = torch.as_tensor(calendar_features(history.dates))
    s, t, v = xt.shape
    net = _Net(v, cal.shape[-1], hidden)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    w = min(window, t - 1)
    losses = []
    for _ in range(steps):
        shops = torch.as_tensor(rng.choice(s, size=min(batch_shops, s), replace=False))
        start = int(rng.integers(0, t - w)) if t - w > 0 else 0
        xb = xt[shops, start : start + w + 1]
        mb = ok[shops, start : start + w + 1]
        cb = cal[start + 1 : start + w + 1].expand(len(shops), -1, -1)
        mu, sd, _ = net(xb[:, :-1], cb)
        mask = mb[:, 1:] & mb[:, :-1]
        nll = -torch.distributions.Normal(mu, sd).log_prob(xb[:, 1:])
        loss = (nll * mask).sum() / mask.sum().clamp_min(1)
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(net.parameters(), 5.0)
        opt.step()
        losses.append(loss.item())
    return RecurrentFit(net, scaler, np.asarray(history.node_kinds) == "channel", losses)


@torch.no_grad()
def predict(model: RecurrentFit, history: Panel, plan: Panel, num_draws: int = 200, seed: int = 0) -> np.ndarray:
    """Draws ``(draw, shop, horizon, node)`` in original units; channels equal the plan."""
    torch.manual_seed(seed)
    x = np.where(history.observed, model.scaler.transform(history.values), 0.0)
    plan_x = torch.as_tensor(model.scaler.transform(plan.values), dtype=torch.float32)  # (shop, H, node)
    xt = torch.as_tensor(x, dtype=torch.float32)
    dates = history.dates.append(plan.dates)
    cal = torch.as_tensor(calendar_features(dates))
    s, t, v = xt.shape
    h_len = plan.n_time
    ch = torch.as_tensor(model.channel_mask)
    mu, sd, h = model.net(xt, cal[1 : t + 1].expand(s, -1, -1))
    mu, sd = mu[:, -1].repeat(num_draws, 1), sd[:, -1].repeat(num_draws, 1)  # (draw·shop, node)
    h = h.repeat(1, num_draws, 1)
    plan_rep = plan_x.repeat(num_draws, 1, 1)
    out = []
    for k in range(h_len):
        x_k = mu + sd * torch.randn_like(mu)
        x_k = torch.where(ch, plan_rep[:, k], x_k)
        out.append(x_k)
        if k + 1 < h_len:
            mu, sd, h = model.net(x_k[:, None], cal[t + k + 1 : t + k + 2].expand(len(x_k), -1, -1), h)
            mu, sd = mu[:, 0], sd[:, 0]
    paths = torch.stack(out, 1).view(num_draws, s, h_len, v).numpy().astype(np.float64)
    return model.scaler.inverse(paths)


def forecast(history: Panel, plan: Panel, num_draws: int = 200, seed: int = 0, **fit_kw) -> np.ndarray:
    """Fit on ``history`` and forecast ``plan``'s days: ``(draw, shop, horizon, node)`` in original units."""
    return predict(fit(history, seed=seed, **fit_kw), history, plan, num_draws, seed)
