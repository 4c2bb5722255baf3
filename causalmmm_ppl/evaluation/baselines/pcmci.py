"""PCMCI (Runge et al. 2019) with partial-correlation tests, from tigramite, as a graph-recovery baseline.

tigramite fits one multivariate series at a time, so this loops over shops (with a progress bar). Each shop's
series are z-scored; PCMCI runs with lags ``1..tau_max`` (no contemporaneous links: causes act with lag ≥ 1, as in
the Granger sense of the truth). The score of ``i → j`` is the largest absolute MCI partial correlation of
``x_i(t − τ) → x_j(t)`` over ``τ = 1..tau_max`` (tigramite computes it for every candidate link, so it ranks all
pairs, not only the selected ones).
"""

from __future__ import annotations

import numpy as np

from causalmmm_ppl.data.panel import Panel
from causalmmm_ppl.evaluation.baselines._common import per_shop_scores


def pcmci_shop(z: np.ndarray, tau_max: int = 1, pc_alpha: float = 0.05) -> np.ndarray:
    """PCMCI scores of one ``(time, node)`` series: ``(cause, effect)``, zero diagonal."""
    from tigramite import data_processing as pp
    from tigramite.independence_tests.parcorr import ParCorr
    from tigramite.pcmci import PCMCI

    frame = pp.DataFrame(np.ascontiguousarray(z, dtype=float))
    method = PCMCI(dataframe=frame, cond_ind_test=ParCorr(significance="analytic"), verbosity=0)
    res = method.run_pcmci(tau_min=1, tau_max=tau_max, pc_alpha=pc_alpha)
    val = np.abs(np.nan_to_num(res["val_matrix"][:, :, 1:]))  # (cause, effect, lag 1..tau_max)
    out = val.max(-1)
    np.fill_diagonal(out, 0.0)
    return out


def scores(panel: Panel, tau_max: int = 1, pc_alpha: float = 0.05, progress: bool = False) -> np.ndarray:
    """PCMCI scores of every ordered pair, per shop: ``(shop, cause, effect)`` in [0, 1], zero diagonal."""
    return per_shop_scores(panel, lambda z: pcmci_shop(z, tau_max, pc_alpha), "pcmci shops", progress)
