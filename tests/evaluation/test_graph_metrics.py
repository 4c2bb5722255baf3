"""Graph metrics against scikit-learn and hand-computed cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sklearn.metrics import average_precision_score, roc_auc_score

from causalmmm_ppl.evaluation import graph_metrics as gm


@st.composite
def scored_labels(draw, max_size: int = 40):
    """Scores with many ties (small integers or floats) and 0/1 labels containing both classes."""
    n = draw(st.integers(2, max_size))
    labels = draw(st.lists(st.integers(0, 1), min_size=n, max_size=n).filter(lambda y: 0 < sum(y) < len(y)))
    if draw(st.booleans()):
        scores = draw(st.lists(st.integers(0, 4), min_size=n, max_size=n))
    else:
        scores = draw(st.lists(st.floats(0, 1, allow_nan=False), min_size=n, max_size=n))
    return np.asarray(scores, dtype=float), np.asarray(labels)


@given(scored_labels())
def test_auroc_matches_sklearn(data):
    s, y = data
    assert gm.auroc(s, y) == pytest.approx(roc_auc_score(y, s), abs=1e-12)


@given(scored_labels())
def test_average_precision_matches_sklearn(data):
    s, y = data
    assert gm.average_precision(s, y) == pytest.approx(average_precision_score(y, s), abs=1e-12)


@given(st.lists(scored_labels(max_size=15), min_size=1, max_size=6))
def test_grouped_kernels_match_per_group_sklearn(groups):
    scores = np.concatenate([s for s, _ in groups])
    labels = np.concatenate([y for _, y in groups])
    ids = np.concatenate([np.full(len(s), k) for k, (s, _) in enumerate(groups)])
    perm = np.random.default_rng(len(scores)).permutation(len(scores))  # group members need not be contiguous
    auc = gm.grouped_auroc(scores[perm], labels[perm], ids[perm], len(groups))
    ap = gm.grouped_average_precision(scores[perm], labels[perm], ids[perm], len(groups))
    for k, (s, y) in enumerate(groups):
        assert auc[k] == pytest.approx(roc_auc_score(y, s), abs=1e-12)
        assert ap[k] == pytest.approx(average_precision_score(y, s), abs=1e-12)


def test_hand_computed_cases():
    s, y = np.array([0.1, 0.4, 0.35, 0.8]), np.array([0, 0, 1, 1])
    assert gm.auroc(s, y) == pytest.approx(0.75)  # 3 of 4 positive–negative pairs ordered right
    assert gm.average_precision(s, y) == pytest.approx(0.5 * 1.0 + 0.5 * 2 / 3)
    # Ties count one half; one threshold for tied scores.
    assert gm.auroc([1, 1, 1, 1], [0, 1, 0, 1]) == 0.5
    assert gm.average_precision([1, 1, 1, 1], [0, 1, 0, 0]) == 0.25
    assert gm.auroc([0.2, 0.5, 0.5], [0, 0, 1]) == pytest.approx(0.75)
    assert np.isnan(gm.auroc([0.1, 0.2], [1, 1]))
    assert np.isnan(gm.average_precision([0.1, 0.2], [0, 0]))


def test_nan_scores_rejected():
    with pytest.raises(ValueError, match="NaN"):
        gm.auroc([0.1, np.nan], [0, 1])


def _example():
    """Two shops, three nodes; shop 1's truth is empty (skipped by per-shop AUROC)."""
    truth = np.zeros((2, 3, 3), dtype=int)
    truth[0, 0, 2] = truth[0, 1, 2] = 1
    prob = np.zeros((2, 3, 3))
    prob[0] = [[0.9, 0.2, 0.8], [0.6, 0.9, 0.4], [0.1, 0.3, 0.9]]  # diagonal 0.9 must be ignored
    prob[1] = [[0.0, 0.7, 0.2], [0.1, 0.0, 0.6], [0.3, 0.4, 0.0]]
    return prob, truth


def test_per_shop_ignores_diagonal_and_skips_one_class_shops():
    prob, truth = _example()
    auc = gm.per_shop_auroc(prob, truth)
    # shop 0 off-diagonal: positives 0.8, 0.4; negatives 0.2, 0.6, 0.1, 0.3 → 7 of 8 pairs right
    assert auc[0] == pytest.approx(7 / 8) and np.isnan(auc[1])
    changed = prob.copy()
    changed[:, np.arange(3), np.arange(3)] = -5.0
    np.testing.assert_allclose(gm.per_shop_auroc(changed, truth), auc)
    rep = gm.graph_report(prob, truth)
    assert rep["auroc_shops"] == 1 and rep["auroc_skipped"] == 1
    assert rep["auroc_mean"] == pytest.approx(7 / 8)


def test_shd_and_pooled():
    prob, truth = _example()
    # shop 0: predicted (> 0.5) 0→2, 1→0 vs truth 0→2, 1→2 → 2 errors; shop 1: 0→1, 1→2 → 2 errors
    np.testing.assert_array_equal(gm.shd(prob, truth), [2, 2])
    off = ~np.eye(3, dtype=bool)
    p, t = prob[:, off].ravel(), truth[:, off].ravel()
    assert gm.pooled_auroc(prob, truth) == pytest.approx(roc_auc_score(t, p))
    assert gm.pooled_auprc(prob, truth) == pytest.approx(average_precision_score(t, p))


def test_receiving_auroc_removes_the_scale_trick():
    """Knowing which node receives edges, but not which causes drive it: high AUROC overall, chance restricted."""
    v = 5
    truth = np.zeros((1, v, v), dtype=int)
    truth[0, [0, 1], 4] = 1  # node 4 receives from 0 and 1 (of candidates 0..3)
    prob = np.full((1, v, v), 0.1)
    prob[0, :, 4] = [0.9, 0.8, 0.9, 0.8, 0.0]  # high for every cause of the receiving node
    assert gm.per_shop_auroc(prob, truth)[0] == pytest.approx(34 / 36)  # near perfect over all pairs
    assert gm.receiving_auroc(prob, truth)[0] == pytest.approx(0.5)


def test_across_shop_auroc():
    s, v = 6, 3
    truth = np.zeros((s, v, v), dtype=int)
    truth[:3, 0, 1] = 1  # pair 0→1 differs across shops; all other pairs never change
    prob = np.random.default_rng(0).random((s, v, v))
    prob[:, 0, 1] = [0.9, 0.8, 0.3, 0.2, 0.1, 0.4]  # shops 0, 1 ranked above every negative; shop 2 below one
    a = gm.across_shop_auroc(prob, truth)
    assert a[0, 1] == pytest.approx(8 / 9)
    assert np.isnan(a).sum() == v * v - 1
    rep = gm.graph_report(prob, truth)
    assert rep["across_shop_pairs"] == 1 and rep["across_shop_auroc_mean"] == pytest.approx(8 / 9)


def test_graph_report_on_random_graphs_matches_sklearn():
    rng = np.random.default_rng(1)
    truth = (rng.random((7, 5, 5)) < 0.3).astype(int)
    prob = np.clip(truth * 0.3 + rng.random(truth.shape) * 0.8, 0, 1).round(1)  # ties
    rep = gm.graph_report(prob, truth)
    off = ~np.eye(5, dtype=bool)
    per = [roc_auc_score(t[off], p[off]) for p, t in zip(prob, truth) if 0 < t[off].sum() < off.sum()]
    assert rep["auroc_mean"] == pytest.approx(np.mean(per))
    assert rep["auroc_std"] == pytest.approx(np.std(per))
    ap = [average_precision_score(t[off], p[off]) for p, t in zip(prob, truth) if 0 < t[off].sum() < off.sum()]
    assert rep["auprc_mean"] == pytest.approx(np.mean(ap))
    recv = []
    for p, t in zip(prob, truth):
        cols = (t * off).sum(0) > 0
        m = off & cols[None, :]
        if 0 < t[m].sum() < m.sum():
            recv.append(roc_auc_score(t[m], p[m]))
    assert rep["auroc_receiving_mean"] == pytest.approx(np.mean(recv))
    assert rep["shd_mean"] == pytest.approx(np.mean([((p > 0.5) != t)[off].sum() for p, t in zip(prob, truth)]))


def test_edges_to_array_round_trip():
    from causalmmm_ppl.data.simulate import truth_frame

    adj = (np.random.default_rng(2).random((3, 4, 4)) < 0.5).astype(np.int8)
    adj[:, np.arange(4), np.arange(4)] = 0
    shops, nodes = ("a", "b", "c"), ("x", "y", "z", "w")
    frame = truth_frame(adj, shops, nodes)
    np.testing.assert_array_equal(gm.edges_to_array(frame, shops, nodes, value="edge"), adj)
    with pytest.raises(ValueError, match="unknown shop"):
        gm.edges_to_array(frame, ("a", "b"), nodes, value="edge")
    with pytest.raises(ValueError, match="probability"):
        gm.edges_to_array(frame, shops, nodes)
    assert isinstance(frame, pd.DataFrame)
