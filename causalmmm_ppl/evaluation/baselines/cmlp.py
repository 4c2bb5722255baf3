"""Neural Granger causality with component-wise MLPs (cMLP) and a group-lasso penalty (Tank, Covert, Foti, Shojaie
& Fox, "Neural Granger Causality", IEEE TPAMI 2021), in torch.

For every shop s and effect node j, a separate MLP predicts ``x_j(t)`` from lags ``1..K`` of every node:
``x̂_j(t) = w2ᵀ ReLU(Σ_{i,k} W1[:, i, k] x_i(t − k) + b1) + b2``. The group-lasso penalty
``λ Σ_i ‖W1[:, i, :]‖_F`` on the first layer's columns of each input series drives whole inputs to zero; the
Granger score of ``i → j`` is that group norm. Training is proximal gradient descent (ISTA, the paper's optimiser
without the line search): a gradient step on the smooth part (mean squared error + ridge on the output layer),
then the group soft-threshold ``W ← W · max(0, 1 − lr·λ / ‖W‖)``.

All shops' and effects' networks are trained together as one batched tensor program (they share no parameters,
so this is the same as training them one by one); series are z-scored per shop and node.
"""

from __future__ import annotations

import numpy as np
import torch

from causalmmm_ppl.data.panel import Panel
from causalmmm_ppl.evaluation.granger import lag_stack, standardize, valid_rows


def prox_group(w: torch.Tensor, threshold: float) -> torch.Tensor:
    """Group soft-threshold over the (hidden, lag) axes of ``w: (shop, effect, hidden, cause, lag)``."""
    norm = torch.sqrt((w**2).sum(dim=(2, 4), keepdim=True))
    return w * torch.clamp(1.0 - threshold / norm.clamp_min(1e-12), min=0.0)


def scores(
    panel: Panel,
    lags: int = 3,
    hidden: int = 16,
    lam: float = 0.02,
    lam_ridge: float = 1e-3,
    lr: float = 0.05,
    iterations: int = 2000,
    seed: int = 0,
    progress: bool = False,
) -> np.ndarray:
    """cMLP group-norm scores of every ordered pair, per shop: ``(shop, cause, effect)`` ≥ 0, zero diagonal.

    Parameters
    ----------
    lags : K, lags of every node in each network
    hidden : hidden units of each network
    lam : group-lasso weight λ (on the mean squared error of z-scored series)
    lam_ridge : ridge weight on the output layer
    lr : step size of the proximal gradient iterations
    iterations : proximal gradient iterations (full batch)
    """
    from causalmmm_ppl._progress import progress as progress_bar

    gen = torch.Generator().manual_seed(seed)
    weight = torch.as_tensor(valid_rows(panel.observed, lags), dtype=torch.float32)  # (shop, time)
    z = standardize(panel.values, panel.observed.all(-1))
    x = torch.as_tensor(lag_stack(z, lags), dtype=torch.float32)  # (shop, time, cause, lag)
    y = torch.as_tensor(z, dtype=torch.float32)  # (shop, time, effect)
    s, _, v = y.shape
    w1 = (torch.randn(s, v, hidden, v, lags, generator=gen) * (1.0 / np.sqrt(v * lags))).requires_grad_()
    b1 = torch.zeros(s, v, hidden, requires_grad=True)
    w2 = (torch.randn(s, v, hidden, generator=gen) * (1.0 / np.sqrt(hidden))).requires_grad_()
    b2 = torch.zeros(s, v, requires_grad=True)
    n = weight.sum(1).clamp_min(1.0)  # (shop,)
    params = (w1, b1, w2, b2)
    for _ in progress_bar(range(iterations), desc="cmlp", disable=not progress):
        h = torch.relu(torch.einsum("stik,sjhik->stjh", x, w1) + b1[:, None])
        pred = torch.einsum("stjh,sjh->stj", h, w2) + b2[:, None]
        mse = (((pred - y) ** 2) * weight[..., None]).sum(1) / n[:, None]  # (shop, effect)
        loss = 0.5 * mse.sum() + lam_ridge * (w2**2).sum()
        grads = torch.autograd.grad(loss, params)
        with torch.no_grad():
            for p, g in zip(params, grads):
                p -= lr * g
            w1.copy_(prox_group(w1, lr * lam))
    with torch.no_grad():
        norm = torch.sqrt((w1**2).sum(dim=(2, 4)))  # (shop, effect, cause)
    out = norm.transpose(1, 2).numpy().astype(np.float64)
    idx = np.arange(v)
    out[:, idx, idx] = 0.0
    return out
