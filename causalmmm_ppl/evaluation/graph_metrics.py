"""Graph-recovery metrics: AUROC, AUPRC, SHD; per shop, pooled, restricted to receiving nodes, and across shops.

Everything works on arrays ``(shop, cause, effect)`` of edge probabilities (or any scores: only their order matters
for AUROC/AUPRC) and 0/1 truth; the diagonal (``cause == effect``) is always left out. AUROC is the Mann–Whitney rank
statistic with average ranks for ties; AUPRC is average precision with tied scores forming one threshold (the
definitions of scikit-learn's ``roc_auc_score`` and ``average_precision_score``). Both are computed for many groups
(shops, or node pairs) at once without a Python loop over groups.

Metrics that base rates cannot game: every pair metric takes optional ``candidates`` (the model's candidate pairs, e.g.
those its prior does not forbid) and then runs over candidate pairs only; :func:`deviation_auroc` ranks, within each
graph template, the shops that deviate from it; :func:`population_frequency` is the leave-one-shop-out base-rate
oracle to compare scorers against.
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


def pair_mask(shape: tuple[int, int, int], candidates: np.ndarray | None = None) -> np.ndarray:
    """The pairs a metric runs over: off-diagonal candidate pairs.

    Parameters
    ----------
    shape : ``(shop, cause, effect)`` shape of the score arrays
    candidates : None, or bool (0/1) ``(cause, effect)`` (the same for every shop) or ``(shop, cause, effect)``: the
        model's candidate pairs, e.g. the pairs its prior does not forbid. None means every pair is a candidate.

    Returns
    -------
    (shop, cause, effect) bool, False on the diagonal and on non-candidate pairs (read-only view when broadcast)

    Raises
    ------
    ValueError
        ``candidates`` has another shape or values other than 0/1.
    """
    s, v, _ = shape
    off = offdiag_mask(v)
    if candidates is None:
        return np.broadcast_to(off, (s, v, v))
    cand = np.asarray(candidates)
    if cand.shape not in ((v, v), (s, v, v)):
        raise ValueError(f"candidates must be ({v}, {v}) or ({s}, {v}, {v}), got {cand.shape}")
    if cand.dtype != bool:
        if not np.isin(cand, (0, 1)).all():
            raise ValueError("candidates must be bool (or 0/1)")
        cand = cand.astype(bool)
    return np.broadcast_to(cand & off, (s, v, v))


def _per_shop(fn, prob: np.ndarray, truth: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Apply a grouped kernel per shop to the pairs where ``mask: (shop, cause, effect)`` is True."""
    s = prob.shape[0]
    shop_id = np.broadcast_to(np.arange(s)[:, None, None], prob.shape)
    return fn(prob[mask], truth[mask], shop_id[mask], s)


def per_shop_auroc(prob: np.ndarray, truth: np.ndarray, candidates: np.ndarray | None = None) -> np.ndarray:
    """(shop,) AUROC over ordered pairs ``i != j``; NaN where the shop's truth is all 0 or all 1.

    With ``candidates`` (``(cause, effect)`` or ``(shop, cause, effect)`` bool) only the shop's candidate pairs count,
    so scores on pairs the model rules out a priori neither help nor hurt.
    """
    prob, truth = _as_graphs(prob, truth)
    return _per_shop(grouped_auroc, prob, truth, pair_mask(prob.shape, candidates))


def per_shop_auprc(prob: np.ndarray, truth: np.ndarray, candidates: np.ndarray | None = None) -> np.ndarray:
    """(shop,) average precision over ordered pairs ``i != j``; NaN where the truth is all 0 or all 1.

    With ``candidates`` only the shop's candidate pairs count (and NaN where the truth on them is all 0 or all 1).
    """
    prob, truth = _as_graphs(prob, truth)
    return _per_shop(grouped_average_precision, prob, truth, pair_mask(prob.shape, candidates))


def receiving_auroc(prob: np.ndarray, truth: np.ndarray, candidates: np.ndarray | None = None) -> np.ndarray:
    """(shop,) AUROC restricted to candidate causes of receiving nodes.

    Only effect columns ``j`` that receive at least one edge in that shop count (pairs ``i != j``), so knowing *which
    nodes receive* earns nothing; what counts is ranking the causes of those nodes. With ``candidates`` only candidate
    pairs count, and a column is receiving when it receives at least one *candidate* edge (the metric of the truth
    restricted to the candidate pairs).
    """
    prob, truth = _as_graphs(prob, truth)
    pairs = pair_mask(prob.shape, candidates)
    receiving = (truth * pairs).sum(1) > 0  # (shop, effect)
    mask = pairs & receiving[:, None, :]
    return _per_shop(grouped_auroc, prob, truth, mask)


def pooled_auroc(prob: np.ndarray, truth: np.ndarray, candidates: np.ndarray | None = None) -> float:
    """AUROC over all shops' ordered pairs ``i != j`` together (with ``candidates``: candidate pairs only)."""
    prob, truth = _as_graphs(prob, truth)
    mask = pair_mask(prob.shape, candidates)
    return auroc(prob[mask], truth[mask])


def pooled_auprc(prob: np.ndarray, truth: np.ndarray, candidates: np.ndarray | None = None) -> float:
    """Average precision over all shops' ordered pairs ``i != j`` together.

    With ``candidates`` only each shop's candidate pairs count.
    """
    prob, truth = _as_graphs(prob, truth)
    mask = pair_mask(prob.shape, candidates)
    return average_precision(prob[mask], truth[mask])


def shd(
    prob: np.ndarray, truth: np.ndarray, threshold: float = 0.5, candidates: np.ndarray | None = None
) -> np.ndarray:
    """(shop,) structural Hamming distance of the graph ``prob > threshold`` to the truth.

    Counted over ordered pairs ``i != j`` (lagged graphs: ``i → j`` and ``j → i`` are different edges, so a reversed
    edge counts twice); with ``candidates`` over the shop's candidate pairs only.
    """
    prob, truth = _as_graphs(prob, truth)
    mask = pair_mask(prob.shape, candidates)
    return (((prob > threshold).astype(int) != truth.astype(int)) & mask).sum((1, 2))


def across_shop_auroc(prob: np.ndarray, truth: np.ndarray, candidates: np.ndarray | None = None) -> np.ndarray:
    """(cause, effect) AUROC of each ordered pair's probabilities across shops.

    Ranks shops for one pair: does the probability of ``i → j`` move with whether the shop has the edge? NaN for the
    diagonal and for pairs whose truth is the same in every shop. With ``candidates`` a pair is ranked over the shops
    where it is a candidate (NaN where it is a candidate nowhere, or its truth is the same in all those shops).
    """
    prob, truth = _as_graphs(prob, truth)
    s, v, _ = prob.shape
    mask = pair_mask(prob.shape, candidates)
    pair = np.broadcast_to(np.arange(v * v).reshape(1, v, v), prob.shape)
    out = grouped_auroc(prob[mask], truth[mask], pair[mask], v * v).reshape(v, v)
    out[~offdiag_mask(v)] = np.nan
    return out


def _template_index(templates: np.ndarray, n_shops: int) -> tuple[np.ndarray, np.ndarray]:
    """Template ids ``(shop,)`` → (sorted distinct ids >= 0, ``(shop,)`` index into them, -1 for no template)."""
    templates = np.asarray(templates)
    if templates.shape != (n_shops,):
        raise ValueError(f"templates must be ({n_shops},), got {templates.shape}")
    if templates.size and (not np.issubdtype(templates.dtype, np.integer) or (templates < -1).any()):
        raise ValueError("templates must be integer template ids >= 0, or -1 for no template")
    templates = templates.astype(np.int64)
    has = templates >= 0
    ids, idx = np.unique(templates[has], return_inverse=True)
    index = np.full(n_shops, -1, dtype=np.int64)
    index[has] = idx.ravel()
    return ids, index


def deviation_auroc(
    prob: np.ndarray, truth: np.ndarray, templates: np.ndarray, candidates: np.ndarray | None = None
) -> np.ndarray:
    """(template, cause, effect) AUROC of each pair's scores across the shops of one template.

    For a template (a shared graph several shops are drawn from, each deviating on a few pairs) and a pair whose truth
    varies among that template's shops: does the score rank the shops that have the edge above those that do not?
    Knowing the template (or the population's edge frequency) earns nothing here: a score that is constant within a
    template gets 0.5; only telling *this* shop's deviations from its template's shops apart counts.

    Parameters
    ----------
    prob : (shop, cause, effect) scores
    truth : (shop, cause, effect) 0/1
    templates : (shop,) int template id per shop; any non-negative ints, -1 for no template (such shops are left out)
    candidates : None, or (cause, effect) / (shop, cause, effect) bool: only shops where the pair is a candidate rank it

    Returns
    -------
    (template, cause, effect) AUROC; templates in increasing id order, ``np.unique(templates[templates >= 0])``.
    NaN on the diagonal, and where the pair's truth does not vary among the template's (candidate) shops.
    """
    prob, truth = _as_graphs(prob, truth)
    s, v, _ = prob.shape
    ids, index = _template_index(templates, s)
    k = len(ids)
    if k == 0:
        return np.full((0, v, v), np.nan)
    mask = pair_mask(prob.shape, candidates) & (index >= 0)[:, None, None]
    group = index[:, None, None] * (v * v) + np.arange(v * v).reshape(1, v, v)
    return grouped_auroc(prob[mask], truth[mask], group[mask], k * v * v).reshape(k, v, v)


def population_frequency(truth: np.ndarray, candidates: np.ndarray | None = None) -> np.ndarray:
    """Reference scorer: each pair's edge frequency in the *other* shops (leave one shop out).

    ``score[s, i, j] = mean(truth[t, i, j] for t != s)``. It is an oracle that knows every other shop's graph but
    nothing of this shop's data, so it measures how much a metric rewards knowing the population's base rates.
    Leaving the shop out makes it anti-informative across shops by construction: for a pair present in ``k`` of
    ``n`` shops, shops with the edge score ``(k - 1) / (n - 1)`` and shops without it ``k / (n - 1)``, so its
    across-shop (and deviation) AUROC is 0 on every pair that varies; per-shop AUROC it can still score high.

    Parameters
    ----------
    truth : (shop, cause, effect) 0/1 (a 2-D ``(cause, effect)`` array is one shop)
    candidates : None, or (cause, effect) / (shop, cause, effect) bool: non-candidate (and diagonal) pairs score 0,
        as under a prior that forbids them; the frequency itself is over the other shops' full truth

    Returns
    -------
    (shop, cause, effect) float in [0, 1]; all zeros with a single shop (there is no other shop to learn from)
    """
    truth = np.asarray(truth)
    if truth.ndim == 2:
        truth = truth[None]
    if truth.ndim != 3 or truth.shape[1] != truth.shape[2]:
        raise ValueError(f"expected a (shop, cause, effect) array, got {truth.shape}")
    if not np.isin(truth, (0, 1)).all():
        raise ValueError("truth must be 0 or 1")
    truth = truth.astype(float)
    s = truth.shape[0]
    if s <= 1:
        freq = np.zeros_like(truth)
    else:
        freq = (truth.sum(0, keepdims=True) - truth) / (s - 1)
    if candidates is not None:
        freq = np.where(pair_mask(truth.shape, candidates), freq, 0.0)
    return freq


#: Probabilities are clipped to [PROB_FLOOR, 1 - PROB_FLOOR] in the log loss (a probability of exactly 0 or 1 on a
#: wrong call would make it infinite).
PROB_FLOOR = 1e-6


def edge_log_loss(prob: np.ndarray, truth: np.ndarray, candidates: np.ndarray | None = None) -> float:
    """Mean log loss (negative Bernoulli log-likelihood, nats) of edge probabilities against the truth over the
    evaluated pairs: a proper scoring rule, which a confident wrong call costs most (−log 10⁻⁵ ≈ 11.5 nats).

    prob, truth : (shop, cause, effect); candidates : as in :func:`pair_mask`
    """
    p, y = _scored_pairs(prob, truth, candidates)
    p = np.clip(p, PROB_FLOOR, 1.0 - PROB_FLOOR)
    return float(-(y * np.log(p) + (1 - y) * np.log1p(-p)).mean())


def edge_brier(prob: np.ndarray, truth: np.ndarray, candidates: np.ndarray | None = None) -> float:
    """Mean Brier score ``(p − z)²`` of edge probabilities over the evaluated pairs (a proper scoring rule).

    prob, truth : (shop, cause, effect); candidates : as in :func:`pair_mask`
    """
    p, y = _scored_pairs(prob, truth, candidates)
    return float(((p - y) ** 2).mean())


def _scored_pairs(prob: np.ndarray, truth: np.ndarray, candidates: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """The probabilities and 0/1 truth of the evaluated pairs, flattened: ``(pair,)`` each."""
    prob, truth = _as_graphs(prob, truth)
    mask = pair_mask(prob.shape, candidates)
    return prob[mask], truth[mask]


def _mean_std(x: np.ndarray) -> tuple[float, float, int, int]:
    ok = ~np.isnan(x)
    if not ok.any():
        return float("nan"), float("nan"), 0, int(x.size)
    return float(x[ok].mean()), float(x[ok].std()), int(ok.sum()), int((~ok).sum())


def graph_report(
    prob: np.ndarray,
    truth: np.ndarray,
    threshold: float = 0.5,
    candidates: np.ndarray | None = None,
    templates: np.ndarray | None = None,
) -> dict:
    """Every graph metric of the evaluation protocol.

    Parameters
    ----------
    prob : (shop, cause, effect) edge probabilities (or scores; SHD then needs a meaningful ``threshold``)
    truth : (shop, cause, effect) 0/1
    threshold : SHD threshold
    candidates : None, or (cause, effect) / (shop, cause, effect) bool: the model's candidate pairs; when given every
        pair metric (and ``edge_density``) runs over the off-diagonal candidate pairs only
    templates : None, or (shop,) int template id per shop (-1: no template), for the deviation AUROC

    Returns
    -------
    dict with
        n_shops, n_nodes, edge_density (over the evaluated pairs);
        candidate_pairs (off-diagonal candidate pairs per shop, ``n_nodes * (n_nodes - 1)`` without ``candidates``;
        the rounded mean over shops when it varies by shop);
        auroc_mean, auroc_std, auroc_shops, auroc_skipped (shops whose truth is all 0 or all 1);
        auprc_mean, auprc_std; auroc_pooled, auprc_pooled;
        auroc_receiving_mean, auroc_receiving_std, auroc_receiving_shops, auroc_receiving_skipped;
        shd_mean, shd_std (at ``threshold``);
        across_shop_auroc_mean, across_shop_pairs (pairs whose truth differs across shops);
        deviation_auroc_mean, deviation_pairs (mean of :func:`deviation_auroc` over its defined (template, pair)
        cells, and their number; NaN and 0 without ``templates`` or when no shop has a template).
    """
    prob, truth = _as_graphs(prob, truth)
    s, v, _ = prob.shape
    mask = pair_mask(prob.shape, candidates)
    a_mean, a_std, a_n, a_skip = _mean_std(per_shop_auroc(prob, truth, candidates))
    p_mean, p_std, _, _ = _mean_std(per_shop_auprc(prob, truth, candidates))
    r_mean, r_std, r_n, r_skip = _mean_std(receiving_auroc(prob, truth, candidates))
    d = shd(prob, truth, threshold, candidates)
    across = across_shop_auroc(prob, truth, candidates)
    ok = ~np.isnan(across)
    if templates is None:
        dev = np.full((0,), np.nan)
    else:
        dev = deviation_auroc(prob, truth, templates, candidates)
    dev_ok = ~np.isnan(dev)
    return {
        "n_shops": int(s),
        "n_nodes": int(v),
        "edge_density": float(truth[mask].mean()) if mask.any() else float("nan"),
        "candidate_pairs": int(np.rint(mask.sum((1, 2)).mean())) if s else 0,
        "auroc_mean": a_mean,
        "auroc_std": a_std,
        "auroc_shops": a_n,
        "auroc_skipped": a_skip,
        "auprc_mean": p_mean,
        "auprc_std": p_std,
        "auroc_pooled": pooled_auroc(prob, truth, candidates),
        "auprc_pooled": pooled_auprc(prob, truth, candidates),
        "auroc_receiving_mean": r_mean,
        "auroc_receiving_std": r_std,
        "auroc_receiving_shops": r_n,
        "auroc_receiving_skipped": r_skip,
        "shd_mean": float(d.mean()),
        "shd_std": float(d.std()),
        "across_shop_auroc_mean": float(across[ok].mean()) if ok.any() else float("nan"),
        "across_shop_pairs": int(ok.sum()),
        "deviation_auroc_mean": float(dev[dev_ok].mean()) if dev_ok.any() else float("nan"),
        "deviation_pairs": int(dev_ok.sum()),
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
