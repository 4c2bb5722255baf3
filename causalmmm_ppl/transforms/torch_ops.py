"""Carryover and saturation in torch (the Pyro model's twin of :mod:`np_ops`)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

EPS = 1e-12


def geometric_weights(decay: torch.Tensor, l_max: int, normalize: bool = False) -> torch.Tensor:
    """``decay**l`` for ``l = 0..l_max-1``: ``(...) -> (..., lag)``."""
    lags = torch.arange(l_max, dtype=decay.dtype, device=decay.device)
    w = decay.unsqueeze(-1) ** lags
    return w / w.sum(-1, keepdim=True) if normalize else w


def buildup_weights(decay: torch.Tensor, buildup: torch.Tensor, l_max: int, normalize: bool = True) -> torch.Tensor:
    """``decay**l * (1 - buildup**(l + 1))``: ``(...) -> (..., lag)``."""
    lags = torch.arange(l_max, dtype=decay.dtype, device=decay.device)
    w = decay.unsqueeze(-1) ** lags * (1.0 - buildup.unsqueeze(-1) ** (lags + 1.0))
    return w / w.sum(-1, keepdim=True) if normalize else w


def delayed_weights(decay: torch.Tensor, delay: torch.Tensor, l_max: int, normalize: bool = True) -> torch.Tensor:
    """``decay**((l - delay)**2)``: ``(...) -> (..., lag)``."""
    lags = torch.arange(l_max, dtype=decay.dtype, device=decay.device)
    w = decay.unsqueeze(-1) ** ((lags - delay.unsqueeze(-1)) ** 2)
    return w / w.sum(-1, keepdim=True) if normalize else w


def adstock(x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """``y[..., t] = sum_l weights[..., l] * x[..., t - l]``; ``x: (..., time)``, ``weights: (..., lag)``."""
    l_max = weights.shape[-1]
    padded = F.pad(x, (l_max - 1, 0))
    windows = padded.unfold(-1, l_max, 1).flip(-1)  # (..., time, lag): windows[..., t, l] = x[..., t - l]
    return (windows * weights.unsqueeze(-2)).sum(-1)


def adstock_last(x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """The last day of :func:`adstock` alone: ``y[..., T - 1] = sum_l weights[..., l] * x[..., T - 1 - l]`` as
    ``(..., 1)``; ``x: (..., time)``, ``weights: (..., lag)``. What a rollout needs each day, without the other
    ``time - 1`` days' windows."""
    l_max = weights.shape[-1]
    recent = F.pad(x, (max(l_max - x.shape[-1], 0), 0))[..., -l_max:].flip(-1)  # recent[..., l] = x[..., T - 1 - l]
    return (recent * weights).sum(-1, keepdim=True)


def geometric_adstock(x: torch.Tensor, decay: torch.Tensor, l_max: int = 28, normalize: bool = False,
                      last_only: bool = False) -> torch.Tensor:
    """Geometric carryover of ``x: (..., time)`` with ``decay: (...)``; ``last_only``: the last day alone
    (``(..., 1)``, :func:`adstock_last`)."""
    return (adstock_last if last_only else adstock)(x, geometric_weights(decay, l_max, normalize))


def hill(x: torch.Tensor, alpha: torch.Tensor, gamma: torch.Tensor) -> torch.Tensor:
    """``x**alpha / (x**alpha + gamma**alpha)`` for ``x >= 0``; ``alpha, gamma: (...)`` against ``x: (..., time)``."""
    z = alpha.unsqueeze(-1) * (torch.log(x.clamp_min(EPS)) - torch.log(gamma).unsqueeze(-1))
    return torch.where(x > 0, torch.sigmoid(z), torch.zeros_like(z))
