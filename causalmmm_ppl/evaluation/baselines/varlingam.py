"""VARLiNGAM (Hyvärinen et al. 2010), from the lingam package, as a graph-recovery baseline.

lingam fits one multivariate series at a time, so this loops over shops (with a progress bar). The model is
``x(t) = B_0 x(t) + Σ_τ B_τ x(t − τ) + e(t)`` with non-Gaussian ``e``; lingam's ``B_τ[i, j]`` is the effect of
``x_j`` on ``x_i``. The score of ``i → j`` is ``max_{τ ≥ 1} |B_τ[j, i]|``: lagged effects only, matching the
Granger (lag ≥ 1) truth. Series are z-scored per shop, so coefficients are comparable across pairs.
"""

from __future__ import annotations

import warnings

import numpy as np

from causalmmm_ppl.data.panel import Panel
from causalmmm_ppl.evaluation.baselines._common import per_shop_scores


def varlingam_shop(z: np.ndarray, lags: int = 1, seed: int = 0) -> np.ndarray:
    """VARLiNGAM scores of one ``(time, node)`` series: ``(cause, effect)``, zero diagonal."""
    import lingam

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = lingam.VARLiNGAM(lags=lags, criterion=None, prune=False, random_state=seed)
        model.fit(np.ascontiguousarray(z, dtype=float))
    b = np.abs(np.asarray(model.adjacency_matrices_)[1:])  # (lag, effect, cause)
    out = b.max(0).T
    np.fill_diagonal(out, 0.0)
    return out


def scores(panel: Panel, lags: int = 1, seed: int = 0, progress: bool = False) -> np.ndarray:
    """VARLiNGAM scores of every ordered pair, per shop: ``(shop, cause, effect)`` ≥ 0, zero diagonal."""
    return per_shop_scores(panel, lambda z: varlingam_shop(z, lags, seed), "varlingam shops", progress)
