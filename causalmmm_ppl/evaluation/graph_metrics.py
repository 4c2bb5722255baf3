"""Graph-recovery metrics: AUROC, AUPRC, SHD; per shop, pooled, restricted to receiving nodes, and across shops.

Everything works on arrays ``(shop, cause, effect)`` of edge probabilities (or any scores: only their order matters
for AUROC/AUPRC) and 0/1 truth; the diagonal (``cause == effect``) is always left out. AUROC is the Mann–Whitney rank
statistic with average ranks for ties; AUPRC is average precision with tied scores forming one threshold (the
definitions of scikit-learn's ``roc_auc_score`` and ``average_precision_score``). Both are computed for many groups
(shops, or node pairs) at once without a Python loop over groups.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd


# ------------------------------------------------------------------------------------------------- grouped kernels
def _check(scores: np.ndarray, labels: np.ndarray, groups: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    scores = np.asarray(scores, dtype=float).ravel()
    labels = np.asarray(labels).ravel()
    groups = np.asarray(groups, dtype=np.int64).ravel()
    if not (scores.shape == labels.shape == groups.shape):
        raise ValueError("scores, labels and groups must have the same size")
    if np.isnan(scores).any():
        raise ValueError("scores contain NaN")
    if not np.isin(labels, (0, 1)).all():
        raise ValueError("labels must be 0 or 1")
    return scores, labels.astype(float), groups


def grouped_auroc(scores: np.ndarray, labels: np.ndarray, groups: np.ndarray, n_groups: int) -> np.ndarray:
    """AUROC of each group (Mann–Whitney with average ranks for ties).

    Parameters
    ----------
    scores, labels, groups : (item,) scores, 0/1 labels, group id in ``0..n_groups-1``
    n_groups : number of groups

    Returns
    -------
    (group,) AUROC; NaN where a group has no positive or no negative item
    """
    scores, labels, groups = _check(scores, labels, groups)
    order = np.lexsort((scores, groups))
    sc, gr, lab = scores[order], groups[order], labels[order]
    n = len(sc)
    new_block = np.ones(n, dtype=bool)
    new_block[1:] = (gr[1:] != gr[:-1]) | (sc[1:] != sc[:-1])
    block = np.cumsum(new_block) - 1
    counts = np.bincount(gr, minlength=n_groups)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    pos_in_group = np.arange(n) - starts[gr] + 1.0
    avg_rank = (np.bincount(block, weights=pos_in_group) / np.bincount(block))[block]
    n_pos = np.bincount(gr, weights=lab, minlength=n_groups)
    n_neg = counts - n_pos
    r_pos = np.bincount(gr, weights=avg_rank * lab, minlength=n_groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        auc = (r_pos - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg)
    return np.where((n_pos > 0) & (n_neg > 0), auc, np.nan)


def grouped_average_precision(
    scores: np.ndarray, labels: np.ndarray, groups: np.ndarray, n_groups: int
) -> np.ndarray:
    """Average precision (area under the precision–recall step curve) of each group.

    ``AP = sum_k (R_k - R_{k-1}) P_k`` over distinct score thresholds in decreasing order; tied scores form one
    threshold.

    Returns
    -------
    (group,) AP; NaN where a group has no positive or no negative item
    """
    scores, labels, groups = _check(scores, labels, groups)
    order = np.lexsort((-scores, groups))
    sc, gr, lab = scores[order], groups[order], labels[order]
    n = len(sc)
    counts = np.bincount(gr, minlength=n_groups)
    n_pos = np.bincount(gr, weights=lab, minlength=n_groups)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    cum_tp = np.cumsum(lab)
    tp = cum_tp - np.concatenate([[0.0], cum_tp])[starts[gr]]
    seen = np.arange(n) - starts[gr] + 1.0
    end = np.ones(n, dtype=bool)
    end[:-1] = (gr[1:] != gr[:-1]) | (sc[1:] != sc[:-1])
    tp_e, seen_e, gr_e = tp[end], seen[end], gr[end]
    with np.errstate(invalid="ignore", divide="ignore"):
        recall = tp_e / n_pos[gr_e]
        precision = tp_e / seen_e
    first = np.ones(len(gr_e), dtype=bool)
    first[1:] = gr_e[1:] != gr_e[:-1]
    prev_recall = np.where(first, 0.0, np.concatenate([[0.0], recall[:-1]]))
    contrib = np.nan_to_num((recall - prev_recall) * precision)
    ap = np.bincount(gr_e, weights=contrib, minlength=n_groups)
    return np.where((n_pos > 0) & (n_pos < counts), ap, np.nan)


def auroc(scores: np.ndarray, labels: np.ndarray) -> float:
    """AUROC of one set of items (NaN if only one class is present)."""
    s = np.asarray(scores).ravel()
    return float(grouped_auroc(s, labels, np.zeros(s.size, dtype=int), 1)[0])


def average_precision(scores: np.ndarray, labels: np.ndarray) -> float:
    """Average precision of one set of items (NaN if only one class is present)."""
    s = np.asarray(scores).ravel()
    return float(grouped_average_precision(s, labels, np.zeros(s.size, dtype=int), 1)[0])


# ------------------------------------------------------------------------------------------------- graph metrics
def _as_graphs(prob: np.ndarray, truth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    prob = np.asarray(prob, dtype=float)
    truth = np.asarray(truth)
    if prob.ndim == 2:
        prob, truth = prob[None], truth[None]
    if prob.ndim != 3 or prob.shape != truth.shape or prob.shape[1] != prob.shape[2]:
        raise ValueError(f"expected (shop, cause, effect) arrays of one shape, got {prob.shape} and {truth.shape}")
    return prob, truth


def offdiag_mask(n_nodes: int) -> np.ndarray:
    """(cause, effect) bool, False on the diagonal."""
    return ~np.eye(n_nodes, dtype=bool)


def _per_shop(fn, prob: np.ndarray, truth: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Apply a grouped kernel per shop to the pairs where ``mask: (shop, cause, effect)`` is True."""
    s = prob.shape[0]
    shop_id = np.broadcast_to(np.arange(s)[:, None, None], prob.shape)
    return fn(prob[mask], truth[mask], shop_id[mask], s)


def per_shop_auroc(prob: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """(shop,) AUROC over ordered pairs ``i != j``; NaN where the shop's truth is all 0 or all 1."""
    prob, truth = _as_graphs(prob, truth)
    mask = np.broadcast_to(offdiag_mask(prob.shape[1]), prob.shape)
    return _per_shop(grouped_auroc, prob, truth, mask)


def per_shop_auprc(prob: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """(shop,) average precision over ordered pairs ``i != j``; NaN where the truth is all 0 or all 1."""
    prob, truth = _as_graphs(prob, truth)
    mask = np.broadcast_to(offdiag_mask(prob.shape[1]), prob.shape)
    return _per_shop(grouped_average_precision, prob, truth, mask)


def receiving_auroc(prob: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """(shop,) AUROC restricted to candidate causes of receiving nodes.

    Only effect columns ``j`` that receive at least one edge in that shop count (pairs ``i != j``), so knowing *which
    nodes receive* earns nothing; what counts is ranking the causes of those nodes.
    """
    prob, truth = _as_graphs(prob, truth)
    off = offdiag_mask(prob.shape[1])
    receiving = (truth * off).sum(1) > 0  # (shop, effect)
    mask = off[None] & receiving[:, None, :]
    return _per_shop(grouped_auroc, prob, truth, mask)


def pooled_auroc(prob: np.ndarray, truth: np.ndarray) -> float:
    """AUROC over all shops' ordered pairs ``i != j`` together."""
    prob, truth = _as_graphs(prob, truth)
    mask = np.broadcast_to(offdiag_mask(prob.shape[1]), prob.shape)
    return auroc(prob[mask], truth[mask])


def pooled_auprc(prob: np.ndarray, truth: np.ndarray) -> float:
    """Average precision over all shops' ordered pairs ``i != j`` together."""
    prob, truth = _as_graphs(prob, truth)
    mask = np.broadcast_to(offdiag_mask(prob.shape[1]), prob.shape)
    return average_precision(prob[mask], truth[mask])


def shd(prob: np.ndarray, truth: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """(shop,) structural Hamming distance of the graph ``prob > threshold`` to the truth.

    Counted over ordered pairs ``i != j`` (lagged graphs: ``i → j`` and ``j → i`` are different edges, so a reversed
    edge counts twice).
    """
    prob, truth = _as_graphs(prob, truth)
    off = offdiag_mask(prob.shape[1])
    return (((prob > threshold).astype(int) != truth.astype(int)) & off).sum((1, 2))


def across_shop_auroc(prob: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """(cause, effect) AUROC of each ordered pair's probabilities across shops.

    Ranks shops for one pair: does the probability of ``i → j`` move with whether the shop has the edge? NaN for the
    diagonal and for pairs whose truth is the same in every shop.
    """
    prob, truth = _as_graphs(prob, truth)
    s, v, _ = prob.shape
    pair = np.broadcast_to(np.arange(v * v).reshape(1, v, v), prob.shape)
    out = grouped_auroc(prob.ravel(), truth.ravel(), pair.ravel(), v * v).reshape(v, v)
    out[~offdiag_mask(v)] = np.nan
    return out


def _mean_std(x: np.ndarray) -> tuple[float, float, int, int]:
    ok = ~np.isnan(x)
    if not ok.any():
        return float("nan"), float("nan"), 0, int(x.size)
    return float(x[ok].mean()), float(x[ok].std()), int(ok.sum()), int((~ok).sum())


def graph_report(prob: np.ndarray, truth: np.ndarray, threshold: float = 0.5) -> dict:
    """Every graph metric of the evaluation protocol.

    Parameters
    ----------
    prob : (shop, cause, effect) edge probabilities (or scores; SHD then needs a meaningful ``threshold``)
    truth : (shop, cause, effect) 0/1
    threshold : SHD threshold

    Returns
    -------
    dict with
        n_shops, n_nodes, edge_density;
        auroc_mean, auroc_std, auroc_shops, auroc_skipped (shops whose truth is all 0 or all 1);
        auprc_mean, auprc_std; auroc_pooled, auprc_pooled;
        auroc_receiving_mean, auroc_receiving_std, auroc_receiving_shops, auroc_receiving_skipped;
        shd_mean, shd_std (at ``threshold``);
        across_shop_auroc_mean, across_shop_pairs (pairs whose truth differs across shops).
    """
    prob, truth = _as_graphs(prob, truth)
    s, v, _ = prob.shape
    off = offdiag_mask(v)
    a_mean, a_std, a_n, a_skip = _mean_std(per_shop_auroc(prob, truth))
    p_mean, p_std, _, _ = _mean_std(per_shop_auprc(prob, truth))
    r_mean, r_std, r_n, r_skip = _mean_std(receiving_auroc(prob, truth))
    d = shd(prob, truth, threshold)
    across = across_shop_auroc(prob, truth)
    ok = ~np.isnan(across)
    return {
        "n_shops": int(s),
        "n_nodes": int(v),
        "edge_density": float(truth[:, off].mean()) if s else float("nan"),
        "auroc_mean": a_mean,
        "auroc_std": a_std,
        "auroc_shops": a_n,
        "auroc_skipped": a_skip,
        "auprc_mean": p_mean,
        "auprc_std": p_std,
        "auroc_pooled": pooled_auroc(prob, truth),
        "auprc_pooled": pooled_auprc(prob, truth),
        "auroc_receiving_mean": r_mean,
        "auroc_receiving_std": r_std,
        "auroc_receiving_shops": r_n,
        "auroc_receiving_skipped": r_skip,
        "shd_mean": float(d.mean()),
        "shd_std": float(d.std()),
        "across_shop_auroc_mean": float(across[ok].mean()) if ok.any() else float("nan"),
        "across_shop_pairs": int(ok.sum()),
    }


def edges_to_array(
    frame: pd.DataFrame, shops: Sequence[str], nodes: Sequence[str], value: str = "probability"
) -> np.ndarray:
    """A long ``shop, cause, effect, <value>`` table (``edges.csv`` or ``truth.csv``) as a (shop, cause, effect) array.

    Pairs missing from the table are 0.

    Raises
    ------
    ValueError
        A shop or node in the table is not in ``shops``/``nodes``, or the value column is missing.
    """
    for col in ("shop", "cause", "effect", value):
        if col not in frame.columns:
            raise ValueError(f"edge table has no column {col!r}")
    shop_pos = pd.Index(list(shops)).get_indexer(frame["shop"].astype(str))
    node_idx = pd.Index(list(nodes))
    cause_pos = node_idx.get_indexer(frame["cause"].astype(str))
    effect_pos = node_idx.get_indexer(frame["effect"].astype(str))
    if (shop_pos < 0).any():
        raise ValueError(f"edge table: unknown shop {frame['shop'].iloc[int(np.argmax(shop_pos < 0))]!r}")
    bad = (cause_pos < 0) | (effect_pos < 0)
    if bad.any():
        row = frame.iloc[int(np.argmax(bad))]
        raise ValueError(f"edge table: unknown node in pair {row['cause']!r} → {row['effect']!r}")
    out = np.zeros((len(shops), len(nodes), len(nodes)))
    out[shop_pos, cause_pos, effect_pos] = frame[value].to_numpy(dtype=float)
    return out
