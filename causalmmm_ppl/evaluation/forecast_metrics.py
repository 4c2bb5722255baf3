"""Forecast metrics: MSE, MAE, WAPE, CRPS from draws, central-interval coverage; in original and scaled units.

Conventions: ``observed`` has any shape ``(...)``; point forecasts have the same shape; draws have a leading draw axis
``(draw, ...)``. ``mask`` (same shape as ``observed``, bool) selects the values that count (e.g. observed target
days); NaN observations are always left out. Everything is vectorized (no Python loop over shops or days).

CRPS is computed from draws in its energy form, ``CRPS(F, y) = E|X − y| − ½ E|X − X'|`` with X, X' independent
draws from F (Gneiting & Raftery 2007, eq. 20). The second term is computed exactly from the sorted draws in
O(m log m): ``Σ_{k,l} |x_k − x_l| = 2 Σ_k (2k − m − 1) x_(k)`` (1-based ranks of the sorted draws), so
``E|X − X'| = 2 Σ_k (2k − m − 1) x_(k) / m²`` — the empirical-distribution CRPS, identical to the pairwise sum and
to the integral of the squared difference of the empirical CDF and the step at ``y``.
"""

from __future__ import annotations

import numpy as np


def _mask(observed: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    observed = np.asarray(observed, dtype=float)
    ok = ~np.isnan(observed)
    if mask is not None:
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != observed.shape:
            raise ValueError(f"mask has shape {mask.shape}, observed {observed.shape}")
        ok &= mask
    return ok


def _check_point(pred: np.ndarray, observed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pred, observed = np.asarray(pred, dtype=float), np.asarray(observed, dtype=float)
    if pred.shape != observed.shape:
        raise ValueError(f"prediction has shape {pred.shape}, observed {observed.shape}")
    return pred, observed


def _check_draws(draws: np.ndarray, observed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    draws, observed = np.asarray(draws, dtype=float), np.asarray(observed, dtype=float)
    if draws.shape[1:] != observed.shape:
        raise ValueError(f"draws have shape {draws.shape}, expected (draw,) + {observed.shape}")
    if draws.shape[0] < 1:
        raise ValueError("need at least one draw")
    return draws, observed


def _mean(values: np.ndarray, ok: np.ndarray) -> float:
    return float(values[ok].mean()) if ok.any() else float("nan")


def mse(pred: np.ndarray, observed: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Mean squared error over the values that count."""
    pred, observed = _check_point(pred, observed)
    return _mean((pred - observed) ** 2, _mask(observed, mask))


def mae(pred: np.ndarray, observed: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Mean absolute error over the values that count."""
    pred, observed = _check_point(pred, observed)
    return _mean(np.abs(pred - observed), _mask(observed, mask))


def wape(pred: np.ndarray, observed: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Weighted absolute percentage error Σ|ŷ − y| / Σ|y| over the values that count (pooled over shops and
    periods, so large shops weigh more); NaN where the observed values that count sum to 0."""
    pred, observed = _check_point(pred, observed)
    ok = _mask(observed, mask)
    total = float(np.abs(observed[ok]).sum())
    return float(np.abs(pred - observed)[ok].sum() / total) if total > 0 else float("nan")


def crps_draws(draws: np.ndarray, observed: np.ndarray) -> np.ndarray:
    """Pointwise CRPS of the empirical distribution of ``draws`` (energy form, exact, vectorized).

    Parameters
    ----------
    draws : (draw, ...) samples of the forecast distribution
    observed : (...) outcomes

    Returns
    -------
    (...) CRPS ≥ 0 (in the units of ``observed``; NaN where ``observed`` is NaN)
    """
    draws, observed = _check_draws(draws, observed)
    m = draws.shape[0]
    term1 = np.abs(draws - observed[None]).mean(0)
    xs = np.sort(draws, axis=0)
    k = np.arange(1, m + 1, dtype=float).reshape((m,) + (1,) * observed.ndim)
    spread = 2.0 * ((2.0 * k - m - 1.0) * xs).sum(0) / (m * m)  # E|X − X'|
    return term1 - 0.5 * spread


def crps(draws: np.ndarray, observed: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Mean CRPS over the values that count (see :func:`crps_draws`)."""
    draws, observed = _check_draws(draws, observed)
    return _mean(crps_draws(draws, observed), _mask(observed, mask))


def interval(draws: np.ndarray, level: float = 0.9) -> tuple[np.ndarray, np.ndarray]:
    """Central ``level`` interval of the draws: the (1 − level)/2 and (1 + level)/2 empirical quantiles."""
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level}")
    lo, hi = np.quantile(np.asarray(draws, dtype=float), [(1 - level) / 2, (1 + level) / 2], axis=0)
    return lo, hi


def coverage(draws: np.ndarray, observed: np.ndarray, level: float = 0.9, mask: np.ndarray | None = None) -> float:
    """Share of outcomes inside the central ``level`` interval of the draws (bounds included)."""
    draws, observed = _check_draws(draws, observed)
    lo, hi = interval(draws, level)
    return _mean(((observed >= lo) & (observed <= hi)).astype(float), _mask(observed, mask))


def interval_width(draws: np.ndarray, observed: np.ndarray, level: float = 0.9,
                   mask: np.ndarray | None = None) -> float:
    """Mean width of the central ``level`` interval (a sharpness figure to read beside coverage)."""
    draws, observed = _check_draws(draws, observed)
    lo, hi = interval(draws, level)
    return _mean(hi - lo, _mask(observed, mask))


def forecast_report(
    draws: np.ndarray,
    observed: np.ndarray,
    scale: np.ndarray | None = None,
    mask: np.ndarray | None = None,
    level: float = 0.9,
    point: np.ndarray | None = None,
) -> dict:
    """Every forecast metric of the evaluation protocol for one set of forecasts.

    Parameters
    ----------
    draws : (draw, ...) predictive draws in original units (a point forecast can be given as one draw)
    observed : (...) outcomes in original units
    scale : broadcastable to ``observed``: the per-shop (and node) scale used for the "scaled units" figures, e.g.
        the training mean of the series (``PanelScaler(method="mean").scale``); ``None`` skips them
    mask : (...) bool, values that count
    level : interval mass for coverage
    point : optional point forecast (default: the mean of the draws)

    Returns
    -------
    dict with mse, mae, wape, crps, coverage, width and, with ``scale``, mse_scaled, mae_scaled, crps_scaled; n
    (values counted). ``wape`` reads the median of the draws (the point that minimises absolute error), the others
    ``point``
    """
    draws, observed = _check_draws(draws, observed)
    pred = draws.mean(0) if point is None else np.asarray(point, dtype=float)
    ok = _mask(observed, mask)
    out = {
        "n": int(ok.sum()),
        "mse": mse(pred, observed, ok),
        "mae": mae(pred, observed, ok),
        "wape": wape(np.median(draws, axis=0), observed, ok),
        "crps": crps(draws, observed, ok),
        "coverage": coverage(draws, observed, level, ok),
        "width": interval_width(draws, observed, level, ok),
    }
    if scale is not None:
        sc = np.broadcast_to(np.asarray(scale, dtype=float), observed.shape)
        sc = np.where(sc > 0, sc, 1.0)
        out["mse_scaled"] = mse(pred / sc, observed / sc, ok)
        out["mae_scaled"] = mae(pred / sc, observed / sc, ok)
        out["crps_scaled"] = crps(draws / sc[None], observed / sc, ok)
    return out
