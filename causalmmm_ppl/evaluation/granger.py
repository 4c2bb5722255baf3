"""Linear lagged-regression Granger baseline, batched over shops with numpy linear algebra.

Per shop and effect node ``j``, a ridge regression of ``z_j(t)`` on lags ``1..L`` of every node (``z`` standardised
per shop and node); the score of ``i → j`` is the Euclidean norm of ``i``'s lag coefficients. The same engine
(:func:`lagged_ridge_scores`) scores any per-cause features, e.g. the true transformed causes of a simulation (an
"oracle" check in ``benchmarks/granger_baseline.py``).
"""

from __future__ import annotations

import numpy as np

from causalmmm_ppl.data.panel import Panel


def standardize(values: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Z-score per shop and node over the rows with ``weight > 0``.

    Parameters
    ----------
    values : (shop, time, node)
    weight : (shop, time) 0/1 rows to use

    Returns
    -------
    (shop, time, node); a constant series becomes 0
    """
    w = weight[..., None].astype(float)
    n = np.maximum(w.sum(1, keepdims=True), 1.0)
    x = np.where(w > 0, values, 0.0)
    mean = x.sum(1, keepdims=True) / n
    var = (w * (x - mean) ** 2).sum(1, keepdims=True) / n
    sd = np.sqrt(var)
    return np.where(sd > 0, (x - mean) / np.where(sd > 0, sd, 1.0), 0.0) * (w > 0)


def lag_stack(z: np.ndarray, lags: int) -> np.ndarray:
    """Lags ``1..lags`` of every series.

    Parameters
    ----------
    z : (shop, time, node)

    Returns
    -------
    (shop, time, node, lag) with ``out[s, t, v, l] = z[s, t - 1 - l, v]`` (0 before the first day)
    """
    s, t, v = z.shape
    out = np.zeros((s, t, v, lags))
    for lag in range(1, lags + 1):
        out[:, lag:, :, lag - 1] = z[:, :-lag]
    return out


def valid_rows(observed: np.ndarray, lags: int) -> np.ndarray:
    """(shop, time) 0/1: the row and its ``lags`` previous rows are observed for every node."""
    obs = observed.all(-1)
    ok = obs.copy()
    ok[:, :lags] = False
    for lag in range(1, lags + 1):
        ok[:, lag:] &= obs[:, :-lag]
    return ok.astype(float)


def lagged_ridge_scores(
    y: np.ndarray, causes: np.ndarray, own: np.ndarray, weight: np.ndarray, ridge: float = 1.0
) -> np.ndarray:
    """Ridge-regression Granger scores for features given per cause, batched over shops.

    For each effect node ``j`` (a loop over nodes) and every shop at once, regress ``y[:, :, j]`` on an intercept
    (unpenalised), ``causes[:, :, i, :]`` for every ``i != j`` and ``own[:, :, j, :]``; the score of ``i → j`` is the
    norm of ``i``'s coefficients.

    Parameters
    ----------
    y : (shop, time, node) responses
    causes : (shop, time, node, feature) predictors each node offers as a cause (already lagged)
    own : (shop, time, node, own_feature) predictors of a node from its own past (already lagged)
    weight : (shop, time) 0/1 rows to use
    ridge : L2 penalty on the (standardised) coefficients

    Returns
    -------
    (shop, cause, effect) scores >= 0, zero diagonal
    """
    s, t, v, f = causes.shape
    scores = np.zeros((s, v, v))
    wt = weight[..., None]
    for j in range(v):
        others = np.delete(np.arange(v), j)
        x = np.concatenate(
            [np.ones((s, t, 1)), causes[:, :, others, :].reshape(s, t, (v - 1) * f), own[:, :, j, :]], axis=-1
        )
        xw = x * wt
        gram = np.einsum("stp,stq->spq", xw, x)
        pen = np.full(x.shape[-1], float(ridge))
        pen[0] = 1e-8
        gram += np.diag(pen)[None]
        rhs = np.einsum("stp,st->sp", xw, y[:, :, j])
        beta = np.linalg.solve(gram, rhs[..., None])[..., 0]
        coef = beta[:, 1 : 1 + (v - 1) * f].reshape(s, v - 1, f)
        scores[:, others, j] = np.linalg.norm(coef, axis=-1)
    return scores


def granger_scores(panel: Panel, lags: int = 1, ridge: float = 10.0) -> np.ndarray:
    """Linear Granger scores of every ordered pair, per shop.

    Parameters
    ----------
    panel : the panel; rows with any node unobserved (and the ``lags`` rows after them) are left out
    lags : number of lags ``L`` of every node in each regression
    ridge : L2 penalty (features are standardised per shop and node)

    Returns
    -------
    (shop, cause, effect) scores >= 0 (larger: stronger evidence of ``cause → effect``), zero diagonal
    """
    if lags < 1:
        raise ValueError(f"lags must be at least 1, got {lags}")
    if panel.n_time <= lags + 1:
        raise ValueError(f"panel has {panel.n_time} time steps; need more than lags + 1 = {lags + 1}")
    weight = valid_rows(panel.observed, lags)
    z = standardize(panel.values, panel.observed.all(-1))
    lagged = lag_stack(z, lags)
    return lagged_ridge_scores(z, lagged, lagged, weight, ridge)
