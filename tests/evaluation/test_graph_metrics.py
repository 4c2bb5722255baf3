"""Graph metrics against scikit-learn and hand-computed cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
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


# ------------------------------------------------------------------------------------------------- candidates
@st.composite
def graph_batches(draw):
    """Random small (shop, cause, effect) scores with ties, 0/1 truth and template ids (some -1)."""
    s = draw(st.integers(1, 5))
    v = draw(st.integers(2, 4))
    prob = draw(hnp.arrays(float, (s, v, v), elements=st.integers(0, 4).map(lambda x: x / 4)))
    truth = draw(hnp.arrays(np.int8, (s, v, v), elements=st.integers(0, 1)))
    templates = draw(hnp.arrays(np.int64, (s,), elements=st.sampled_from([-1, 0, 5])))
    return prob, truth, templates


def _same(a, b):
    """Equal reports/arrays, NaN equal to NaN."""
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        for k in a:
            _same(a[k], b[k])
    else:
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


@given(graph_batches(), st.booleans())
def test_all_pairs_as_candidates_change_nothing(data, per_shop):
    prob, truth, templates = data
    s, v, _ = prob.shape
    cand = np.ones((s, v, v) if per_shop else (v, v), dtype=bool)  # the diagonal is never counted either way
    off_only = cand & ~np.eye(v, dtype=bool)
    for c in (cand, off_only):
        _same(gm.graph_report(prob, truth, candidates=c, templates=templates),
              gm.graph_report(prob, truth, templates=templates))
        for fn in (gm.per_shop_auroc, gm.per_shop_auprc, gm.receiving_auroc, gm.pooled_auroc, gm.pooled_auprc,
                   gm.shd, gm.across_shop_auroc):
            _same(fn(prob, truth, candidates=c), fn(prob, truth))
        _same(gm.deviation_auroc(prob, truth, templates, c), gm.deviation_auroc(prob, truth, templates))
        _same(gm.population_frequency(truth, c), gm.population_frequency(truth) * ~np.eye(v, dtype=bool))
    assert gm.graph_report(prob, truth)["candidate_pairs"] == v * (v - 1)


def test_candidates_hide_pairs_the_model_rules_out():
    """A scorer that is right only on non-candidate pairs looks good over all pairs, and at chance over candidates."""
    v = 4
    off = ~np.eye(v, dtype=bool)
    cand = off.copy()
    cand[0, :] = False  # node 0 may cause nothing under the model's prior
    truth = np.zeros((1, v, v), dtype=int)
    truth[0, 0, [1, 2]] = 1  # true edges the model rules out
    truth[0, [1, 2], 3] = 1  # true candidate edges
    prob = np.full((1, v, v), 0.2)
    prob[0, 0, [1, 2]] = 0.9
    prob[0, 1, 3] = 0.4
    prob[0, 3, 1] = 0.4  # a negative tied with one positive
    prob[0, 2, 3] = 0.1  # a positive below every negative
    full, restricted = gm.per_shop_auroc(prob, truth)[0], gm.per_shop_auroc(prob, truth, cand)[0]
    assert restricted == pytest.approx(roc_auc_score(truth[0][cand], prob[0][cand]))
    assert full == pytest.approx(roc_auc_score(truth[0][off], prob[0][off]))
    # candidates: positives 0.4, 0.1; negatives 0.4 and six at 0.2 → (6 + 0.5 + 0) / 14
    assert restricted == pytest.approx(6.5 / 14)
    # all pairs: two more positives at 0.9 above all eight negatives (0→3 at 0.2 joins them) → (16 + 7.5 + 0) / 32
    assert full == pytest.approx(23.5 / 32)
    assert gm.per_shop_auprc(prob, truth, cand)[0] == pytest.approx(
        average_precision_score(truth[0][cand], prob[0][cand]))
    assert gm.pooled_auroc(prob, truth, cand) == pytest.approx(restricted)
    # SHD at 0.5: the two ruled-out edges are predicted and true → no error either way; 1→3 and 2→3 are missed
    np.testing.assert_array_equal(gm.shd(prob, truth, candidates=cand), [2])
    rep = gm.graph_report(prob, truth, candidates=cand)
    assert rep["candidate_pairs"] == 9 and rep["edge_density"] == pytest.approx(2 / 9)
    assert rep["auroc_mean"] == pytest.approx(restricted)


def test_per_shop_candidates_match_sklearn():
    rng = np.random.default_rng(3)
    s, v = 6, 5
    off = ~np.eye(v, dtype=bool)
    truth = (rng.random((s, v, v)) < 0.35).astype(int)
    prob = np.clip(truth * 0.3 + rng.random(truth.shape) * 0.8, 0, 1).round(1)
    cand = rng.random((s, v, v)) < 0.7
    auc, ap = gm.per_shop_auroc(prob, truth, cand), gm.per_shop_auprc(prob, truth, cand)
    recv = gm.receiving_auroc(prob, truth, cand)
    for k in range(s):
        m = cand[k] & off
        assert auc[k] == pytest.approx(roc_auc_score(truth[k][m], prob[k][m]))
        assert ap[k] == pytest.approx(average_precision_score(truth[k][m], prob[k][m]))
        cols = (truth[k] * m).sum(0) > 0
        mr = m & cols[None, :]
        assert recv[k] == pytest.approx(roc_auc_score(truth[k][mr], prob[k][mr]))
    across = gm.across_shop_auroc(prob, truth, cand)
    for i, j in zip(*np.nonzero(off)):
        shops = cand[:, i, j]
        t = truth[shops, i, j]
        if 0 < t.sum() < len(t):
            assert across[i, j] == pytest.approx(roc_auc_score(t, prob[shops, i, j]))
        else:
            assert np.isnan(across[i, j])
    rep = gm.graph_report(prob, truth, candidates=cand)
    assert rep["candidate_pairs"] == round((cand & off).sum((1, 2)).mean())
    with pytest.raises(ValueError, match="candidates"):
        gm.per_shop_auroc(prob, truth, cand[:, :3])


# ------------------------------------------------------------------------------------------------- deviation AUROC
def _templated():
    """Templates 7 (shops 0–3) and 3 (shops 4–6), plus two shops without a template, three nodes."""
    truth = np.zeros((9, 3, 3), dtype=int)
    truth[:4, 0, 1] = 1  # template 7: 0→1 ...
    truth[[0, 1], 1, 2] = 1  # ... shops 0 and 1 deviate by adding 1→2
    truth[4:7, 0, 1] = truth[4:7, 2, 0] = 1  # template 3: 0→1 and 2→0 ...
    truth[6, 2, 0] = 0  # ... shop 6 deviates by dropping 2→0
    truth[7, 1, 2] = 1  # shops 7, 8 have no template; shop 7 would break a perfect ranking of 1→2
    templates = np.array([7, 7, 7, 7, 3, 3, 3, -1, -1])
    return truth, templates


def test_deviation_auroc_ranks_shops_within_templates():
    truth, templates = _templated()
    rng = np.random.default_rng(4)
    oracle = truth * 0.5 + rng.random(truth.shape) * 0.4  # ranks every shop right within each pair
    oracle[7, 1, 2] = 0.0  # a positive scored lowest, in a shop without a template
    dev = gm.deviation_auroc(oracle, truth, templates)
    assert dev.shape == (2, 3, 3)  # index 0: template 3, index 1: template 7 (increasing id)
    assert dev[1, 1, 2] == 1.0 and dev[0, 2, 0] == 1.0
    assert np.isnan(dev).sum() == 2 * 9 - 2  # every other pair is constant within its template
    # template-only score: each shop gets its template's edge frequency → no shop told apart
    tmpl_freq = np.zeros(truth.shape)
    for t in (3, 7):
        tmpl_freq[templates == t] = truth[templates == t].mean(0)
    dev_t = gm.deviation_auroc(tmpl_freq, truth, templates)
    assert dev_t[1, 1, 2] == 0.5 and dev_t[0, 2, 0] == 0.5
    # shops with template -1 are left out: same result without them, and any template relabelling
    keep = templates >= 0
    _same(gm.deviation_auroc(oracle[keep], truth[keep], templates[keep]), dev)
    _same(gm.deviation_auroc(oracle, truth, np.where(keep, templates * 10 + 1, -1)), dev)
    # candidates: 1→2 ruled out → NaN
    cand = ~np.eye(3, dtype=bool)
    cand[1, 2] = False
    assert np.isnan(gm.deviation_auroc(oracle, truth, templates, cand)[1, 1, 2])
    rep = gm.graph_report(oracle, truth, templates=templates)
    assert rep["deviation_pairs"] == 2 and rep["deviation_auroc_mean"] == 1.0
    rep = gm.graph_report(oracle, truth)
    assert rep["deviation_pairs"] == 0 and np.isnan(rep["deviation_auroc_mean"])
    rep = gm.graph_report(oracle, truth, templates=np.full(9, -1))
    assert rep["deviation_pairs"] == 0 and np.isnan(rep["deviation_auroc_mean"])
    assert gm.deviation_auroc(oracle, truth, np.full(9, -1)).shape == (0, 3, 3)
    with pytest.raises(ValueError, match="templates"):
        gm.deviation_auroc(oracle, truth, templates[:4])


# ------------------------------------------------------------------------------------------------- population frequency
def test_population_frequency_hand_checked():
    truth = np.zeros((4, 3, 3), dtype=int)
    truth[:3, 0, 1] = 1  # 0→1 in shops 0, 1, 2
    truth[3, 1, 2] = 1  # 1→2 in shop 3 only
    f = gm.population_frequency(truth)
    assert f.shape == (4, 3, 3)
    np.testing.assert_allclose(f[:, 0, 1], [2 / 3, 2 / 3, 2 / 3, 1.0])
    np.testing.assert_allclose(f[:, 1, 2], [1 / 3, 1 / 3, 1 / 3, 0.0])
    assert f[:, [0, 1, 2], [2, 0, 1]].sum() == 0
    # leave one out: a shop's own edge does not raise its own score, only the others'
    more = truth.copy()
    more[0, 2, 0] = 1
    g = gm.population_frequency(more)
    assert g[0, 2, 0] == 0.0 and np.allclose(g[1:, 2, 0], 1 / 3)
    # anti-informative across shops: shops with the edge score lower than shops without
    a = gm.across_shop_auroc(f, truth)
    assert a[0, 1] == 0.0 and a[1, 2] == 0.0
    np.testing.assert_array_equal(gm.population_frequency(truth[:1]), np.zeros((1, 3, 3)))
    cand = np.ones((3, 3), dtype=bool)
    cand[0, 1] = False
    fc = gm.population_frequency(truth, cand)
    assert (fc[:, 0, 1] == 0).all() and np.allclose(fc[:, 1, 2], f[:, 1, 2])


@given(graph_batches())
def test_population_frequency_never_beats_chance_across_shops(data):
    _, truth, templates = data
    f = gm.population_frequency(truth)
    a = gm.across_shop_auroc(f, truth)
    assert (a[~np.isnan(a)] <= 0.5).all()
    d = gm.deviation_auroc(f, truth, templates)
    assert (d[~np.isnan(d)] <= 0.5).all()


def test_log_loss_and_brier_are_proper_and_punish_confident_mistakes():
    rng = np.random.default_rng(0)
    truth = (rng.random((5, 4, 4)) < 0.3).astype(int)
    base = np.clip(truth * 0.8 + 0.1, 0, 1).astype(float)  # 0.9 on edges, 0.1 elsewhere
    cand = ~np.eye(4, dtype=bool)
    ll, br = gm.edge_log_loss(base, truth, cand), gm.edge_brier(base, truth, cand)
    np.testing.assert_allclose(ll, -np.log(0.9))
    np.testing.assert_allclose(br, 0.01)
    # one confident wrong call costs far more log loss than the same call made at 0.6
    wrong, timid = base.copy(), base.copy()
    i, a, b = np.argwhere((truth == 0) & cand[None])[0]
    wrong[i, a, b], timid[i, a, b] = 1.0, 0.6
    assert gm.edge_log_loss(wrong, truth, cand) - ll > 10 * (gm.edge_log_loss(timid, truth, cand) - ll)
    assert gm.edge_brier(wrong, truth, cand) > gm.edge_brier(timid, truth, cand) > br
    # the diagonal and non-candidates are not scored
    off = base.copy()
    off[:, 0, 0] = 1.0 - truth[:, 0, 0]
    assert gm.edge_log_loss(off, truth, cand) == ll
