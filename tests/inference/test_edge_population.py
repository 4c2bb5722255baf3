"""The population layer over the encoder's edge logits: on scores simulated from its own two-groups model it finds
the templates and beats the raw scores shop by shop; with no shared structure it pools nothing; its likelihood ratio
is monotone; it saves and reloads exactly."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import logit as logit_fn
from sklearn.metrics import roc_auc_score

from causalmmm_ppl.evaluation.graph_metrics import grouped_auroc
from causalmmm_ppl.inference.edge_population import (
    SHOPS_PER_TEMPLATE,
    EdgePopulation,
    contaminated_log_ratio,
    fit_edge_population,
    learn_beta_prior,
    null_groups,
)


def scores(rng, graphs: np.ndarray, group: np.ndarray, null_loc: np.ndarray, on_loc: float = -1.2,
           on_scale: float = 1.5, null_scale: float = 0.3) -> np.ndarray:
    """Encoder-like logits of (shop, edge) 0/1 graphs: absent edges sit at their effect's null, present ones spread."""
    off = rng.normal(null_loc[group], null_scale, graphs.shape)
    on = rng.normal(on_loc, on_scale, graphs.shape)
    return np.where(graphs == 1, on, off)


def per_shop_auroc(score: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([roc_auc_score(t, s) for s, t in zip(score, truth) if 0 < t.sum() < t.size]))


@pytest.fixture
def edges():
    group = np.repeat(np.arange(5), 8)  # 40 candidates into 5 effect nodes
    null_loc = np.array([-2.2, -2.0, -2.5, -2.3, -1.9])
    return group, null_loc


def test_finds_shared_templates_and_beats_the_raw_scores(edges):
    group, null_loc = edges
    rng = np.random.default_rng(0)
    templates = (rng.random((3, group.size)) < 0.25).astype(int)
    member = rng.integers(0, 3, 240)
    truth = templates[member]
    logits = scores(rng, truth, group, null_loc)
    pop = fit_edge_population(logits, group, prior_prob=0.1, max_templates=5, seed=0)
    assert pop.n_templates == 3, pop.evidence
    pooled = pop.posterior(logits)
    raw, ours = per_shop_auroc(logits, truth), per_shop_auroc(pooled, truth)
    assert ours > raw + 0.05, (raw, ours)
    assert ours > 0.97, ours
    # each fitted template is one of the true ones, and shops are assigned to theirs (the measurement model allows
    # for encoder errors that these scores do not have, so a shop of 240 may land in another template)
    resp = pop.membership(logits)
    np.testing.assert_allclose(resp.sum(1), 1.0)
    for k in range(3):
        shops = member[resp.argmax(1) == k]
        assert np.bincount(shops).max() >= 0.98 * shops.size
    # the null of each effect node is found where it was put
    np.testing.assert_allclose(pop.loc_off, null_loc, atol=0.1)


def test_independent_graphs_get_one_template(edges):
    """Shops that share no structure: the evidence keeps one template (a learned per-edge probability)."""
    group, null_loc = edges
    rng = np.random.default_rng(1)
    edge_prob = rng.uniform(0.05, 0.5, group.size)
    truth = (rng.random((200, group.size)) < edge_prob).astype(int)
    pop = fit_edge_population(scores(rng, truth, group, null_loc), group, 0.1, max_templates=4, seed=0)
    assert pop.n_templates == 1, pop.evidence
    assert np.corrcoef(pop.rho[0], edge_prob)[0, 1] > 0.9


def test_templates_that_differ_in_two_edges_are_told_apart(edges):
    """Three templates share a graph but for two edges each (of 40 candidates): the marginal likelihood charges a
    template for the edges that set it apart, not ½ log(shops) for every edge as BIC does."""
    group, null_loc = edges
    found, by_bic = [], []
    for seed in range(6):
        rng = np.random.default_rng(seed)
        templates = np.repeat((rng.random((1, group.size)) < 0.2).astype(int), 3, 0)
        flip = rng.choice(group.size, 6, replace=False).reshape(3, 2)
        for k in range(3):
            templates[k, flip[k]] ^= 1
        logits = scores(rng, templates[rng.integers(0, 3, 240)], group, null_loc)
        found.append(fit_edge_population(logits, group, 0.1, max_templates=5, seed=0).n_templates)
        by_bic.append(fit_edge_population(logits, group, 0.1, max_templates=5, seed=0, criterion="bic").n_templates)
    assert found.count(3) >= 4, found
    assert by_bic.count(3) <= 1, by_bic


def test_a_template_needs_enough_shops(edges):
    """A handful of shops with a graph of their own does not get a template (fewer than ``SHOPS_PER_TEMPLATE``);
    thirty such shops do."""
    group, null_loc = edges
    rng = np.random.default_rng(6)
    common, rare = (rng.random((2, group.size)) < 0.25).astype(int)
    for n_rare, k in ((SHOPS_PER_TEMPLATE // 2, 1), (30, 2)):
        truth = np.concatenate([np.repeat(common[None], 200, 0), np.repeat(rare[None], n_rare, 0)])
        pop = fit_edge_population(scores(rng, truth, group, null_loc), group, 0.1, max_templates=4, seed=0)
        assert pop.n_templates == k, (n_rare, pop.evidence)


def test_a_layer_saved_with_bic_scores_loads(edges):
    """Runs saved before the evidence field hold ``bic``; −BIC / 2 is read as their log evidence."""
    group, null_loc = edges
    rng = np.random.default_rng(7)
    logits = scores(rng, (rng.random((40, group.size)) < 0.3).astype(int), group, null_loc)
    pop = fit_edge_population(logits, group, 0.1, 3)
    old = {k: v for k, v in pop.to_dict().items() if k != "evidence"} | {"bic": [20.0, 30.0]}
    back = EdgePopulation.from_dict(old)
    np.testing.assert_array_equal(back.evidence, [-10.0, -15.0])
    np.testing.assert_array_equal(back.posterior(logits), pop.posterior(logits))


def test_few_shops_allow_few_templates(edges):
    group, null_loc = edges
    rng = np.random.default_rng(2)
    truth = (rng.random((2 * SHOPS_PER_TEMPLATE - 1, group.size)) < 0.3).astype(int)
    pop = fit_edge_population(scores(rng, truth, group, null_loc), group, 0.1, max_templates=5)
    assert pop.evidence.shape == (1,) and pop.n_templates == 1


def test_same_seed_same_fit_and_exact_round_trip(edges):
    group, null_loc = edges
    rng = np.random.default_rng(3)
    truth = (rng.random((60, group.size)) < 0.3).astype(int)
    logits = scores(rng, truth, group, null_loc)
    a = fit_edge_population(logits, group, 0.1, 3, seed=7)
    b = fit_edge_population(logits, group, 0.1, 3, seed=7)
    np.testing.assert_array_equal(a.posterior(logits), b.posterior(logits))
    c = EdgePopulation.from_dict(a.to_dict())
    np.testing.assert_array_equal(c.posterior(logits), a.posterior(logits))
    assert c.group.dtype == np.int64


@settings(max_examples=50, deadline=None)
@given(
    m1=st.floats(-3, 3), s1=st.floats(0.05, 3), m0=st.floats(-4, 0), s0=st.floats(0.05, 3),
    rho=st.floats(0.01, 0.99), rates=st.sampled_from([(0.0, 0.0), (0.1, 0.1), (0.3, 0.02)]),
)
def test_a_larger_logit_is_never_weaker_evidence(m1, s1, m0, s0, rho, rates):
    pop = EdgePopulation(
        weights=np.ones(1), rho=np.full((1, 1), rho), loc_on=m1, scale_on=s1, loc_off=np.array([m0]),
        scale_off=np.array([s0]), group=np.zeros(1, dtype=np.int64), evidence=np.zeros(1), miss_rate=rates[0],
        false_rate=rates[1],
    )
    grid = np.linspace(-10, 10, 401)[:, None]
    post = pop.posterior(grid)[:, 0]
    assert np.all(np.diff(post) >= -1e-12)
    assert np.all((post >= 0) & (post <= 1))


@settings(max_examples=50, deadline=None)
@given(mu=st.floats(0.0, 0.5), eps=st.floats(0.0, 0.5))
def test_contaminated_evidence_is_monotone_and_bounded(mu, eps):
    clean = np.linspace(-80, 80, 641)
    lr = contaminated_log_ratio(clean, mu, eps)
    assert np.all(np.isfinite(lr) | (mu == 0) | (eps == 0))
    assert np.all(np.diff(lr) >= -1e-12)
    if mu > 0 and eps > 0:
        assert lr.min() >= np.log(mu / (1 - eps)) - 1e-9 and lr.max() <= np.log((1 - mu) / eps) + 1e-9
    np.testing.assert_allclose(contaminated_log_ratio(clean, 0.0, 0.0), clean)


def test_encoder_errors_do_not_become_certainties(edges):
    """When the encoder misses some present edges (their logits in the null) and turns on some absent ones, the
    contaminated measurement model keeps those calls from reaching 0 or 1: its log-loss against the truth is lower
    than the two Normals' alone, and no edge goes beyond the odds one score can move."""
    group, null_loc = edges
    rng = np.random.default_rng(5)
    templates = (rng.random((2, group.size)) < 0.3).astype(int)
    truth = templates[rng.integers(0, 2, 200)]
    flipped = rng.random(truth.shape) < 0.08  # the encoder's errors: scored as the other kind
    logits = scores(rng, np.where(flipped, 1 - truth, truth), group, null_loc)
    pop = fit_edge_population(logits, group, 0.1, max_templates=4, seed=0, df=0)  # Normal score distributions
    robust = pop.posterior(logits)
    exact = fit_edge_population(logits, group, 0.1, max_templates=4, seed=0, miss_rate=0.0, false_rate=0.0, df=0)
    assert (exact.miss_rate, exact.false_rate) == (0.0, 0.0)  # the settings reach the layer; EM is the same
    np.testing.assert_array_equal(exact.loc_on, pop.loc_on)
    clean = exact.posterior(logits)

    def log_loss(p):
        p = np.clip(p, 1e-12, 1 - 1e-12)
        return float(-(truth * np.log(p) + (1 - truth) * np.log(1 - p)).mean())

    assert log_loss(robust) < 0.8 * log_loss(clean), (log_loss(robust), log_loss(clean))
    wrong = np.abs(robust - truth)[flipped]
    assert wrong.max() < 0.999 and (np.abs(clean - truth)[flipped] > 0.999).any()


def test_a_layer_saved_without_error_rates_reads_scores_through_the_normals_alone(edges):
    group, null_loc = edges
    rng = np.random.default_rng(6)
    logits = scores(rng, (rng.random((40, group.size)) < 0.3).astype(int), group, null_loc)
    pop = fit_edge_population(logits, group, 0.1, 2, seed=0)
    saved = {k: v for k, v in pop.to_dict().items() if k not in ("miss_rate", "false_rate")}
    old = EdgePopulation.from_dict(saved)
    assert old.miss_rate == old.false_rate == 0.0
    pop.miss_rate = pop.false_rate = 0.0
    np.testing.assert_array_equal(old.posterior(logits), pop.posterior(logits))


def test_null_groups_number_the_effect_nodes():
    edge_index = np.array([[0, 2], [1, 2], [0, 3], [2, 3], [3, 1]])
    np.testing.assert_array_equal(null_groups(edge_index), [1, 1, 2, 2, 0])
    assert logit_fn(0.5) == 0.0


def test_scores_without_present_edges_are_not_separable(edges):
    """Logits that barely move from the prior (no edge stands out): the two-groups fit still finds two groups, but
    its "present" Normal sits in the null's tail, and the layer says it cannot be used."""
    group, null_loc = edges
    rng = np.random.default_rng(4)
    logits = rng.standard_t(5, size=(40, group.size)) * 0.1 + null_loc[group]
    pop = fit_edge_population(logits, group, 0.1, max_templates=4)
    assert not pop.separable, pop.separation
    truth = (rng.random((200, group.size)) < 0.3).astype(int)
    assert fit_edge_population(scores(rng, truth, group, null_loc), group, 0.1, 4).separable


def test_many_shops_are_fitted_on_a_sample(edges):
    """Above ``max_shops`` the layer is fitted on a random sample of shops; its posterior serves all of them."""
    group, null_loc = edges
    rng = np.random.default_rng(5)
    templates = (rng.random((3, group.size)) < 0.25).astype(int)
    truth = templates[rng.integers(0, 3, 400)]
    logits = scores(rng, truth, group, null_loc)
    pop = fit_edge_population(logits, group, 0.1, max_templates=5, max_shops=150)
    assert pop.n_templates == 3, pop.evidence
    assert per_shop_auroc(pop.posterior(logits), truth) > 0.97
    full = fit_edge_population(logits, group, 0.1, max_templates=5)
    assert np.abs(pop.posterior(logits) - full.posterior(logits)).mean() < 0.02  # agrees with the fit on all shops


def _within_template_auroc(score: np.ndarray, truth: np.ndarray, member: np.ndarray) -> float:
    """Mean over (template, edge) cells whose truth varies of the AUROC across that template's shops (the
    deviation AUROC of :mod:`causalmmm_ppl.evaluation.graph_metrics`, on (shop, edge) arrays)."""
    n_edges = truth.shape[1]
    cell = member[:, None] * n_edges + np.arange(n_edges)[None, :]
    auc = grouped_auroc(score.ravel(), truth.ravel(), cell.ravel(), int(member.max() + 1) * n_edges)
    return float(np.nanmean(auc))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_pooling_keeps_each_shops_deviations_from_its_template(edges, seed):
    """Shops follow 3 templates but 8% of each shop's edges differ from its template. Within a template the layer
    must still rank the shops that have an edge above those that lack it (deviation AUROC) as well as the raw
    scores do, and keep the shop-level ranking better than the raw scores."""
    group, null_loc = edges
    rng = np.random.default_rng(seed)
    templates = (rng.random((3, group.size)) < 0.25).astype(int)
    member = rng.integers(0, 3, 240)
    truth = templates[member] ^ (rng.random((240, group.size)) < 0.08)
    logits = scores(rng, truth, group, null_loc)
    pop = fit_edge_population(logits, group, prior_prob=0.1, max_templates=5, seed=0)
    pooled = pop.posterior(logits)
    raw_dev, pooled_dev = _within_template_auroc(logits, truth, member), _within_template_auroc(pooled, truth, member)
    assert raw_dev > 0.65  # the deviations are there to be found
    assert pooled_dev >= raw_dev - 0.01, (raw_dev, pooled_dev)
    assert per_shop_auroc(pooled, truth) > per_shop_auroc(logits, truth)


@pytest.mark.parametrize("learned", [False, True])
def test_a_strong_extra_edge_of_a_few_shops_stays_on(edges, learned):
    """Every shop shares one graph, except 6 of 200 that also have edge 3 with strong evidence: pooling must not
    pull those shops' edge toward the template's 'off', under the fixed prior or one learned per class (the effect
    nodes' groups as classes)."""
    group, null_loc = edges
    rng = np.random.default_rng(6)
    template = (rng.random(group.size) < 0.25).astype(int)
    template[3] = 0
    truth = np.repeat(template[None], 200, axis=0)
    extra = np.arange(6)
    truth[extra, 3] = 1
    logits = scores(rng, truth, group, null_loc)
    logits[extra, 3] = rng.normal(1.5, 0.3, extra.size)  # strong evidence, as a clear edge leaves the encoder
    pop = fit_edge_population(logits, group, prior_prob=0.1, max_templates=5, seed=0,
                              edge_class=group if learned else None)
    pooled = pop.posterior(logits)
    assert (pooled[extra, 3] > 0.9).all(), pooled[extra, 3]
    assert pooled[6:, 3].max() < 0.5  # and the shops without it stay off


def test_student_t_scores_leave_a_tail_logit_of_an_absent_edge_uncertain(edges):
    """Absent edges whose encoder logits spread with heavy tails (Student-t, 3 df): read through Normal score
    distributions, a logit a few null widths above the null is near-certain evidence and absent edges there mostly
    come out as edges; Student-t score distributions (the default) leave them unlikely and lower the log loss, while
    present edges stay on. The layer saves its tails and reloads them."""
    group, null_loc = edges
    rng = np.random.default_rng(3)
    templates = (rng.random((2, group.size)) < 0.3).astype(int)
    truth = templates[rng.integers(0, 2, 300)]
    off = null_loc[group] + 0.3 * rng.standard_t(3, truth.shape)
    logits = np.where(truth == 1, rng.normal(1.5, 1.5, truth.shape), off)
    normal = fit_edge_population(logits, group, 0.1, max_templates=4, seed=0, df=0)
    heavy = fit_edge_population(logits, group, 0.1, max_templates=4, seed=0)
    assert np.isinf(normal.df) and heavy.df == 5.0

    def log_loss(p):
        p = np.clip(p, 1e-12, 1 - 1e-12)
        return float(-(truth * np.log(p) + (1 - truth) * np.log(1 - p)).mean())

    p_normal, p_heavy = normal.posterior(logits), heavy.posterior(logits)
    tail = (truth == 0) & (off > null_loc[group] + 1.5)  # 5 null widths above the null
    assert tail.sum() >= 10
    assert np.median(p_normal[tail]) > 0.5 > 0.2 > np.median(p_heavy[tail])
    assert (p_heavy[truth == 0] > 0.5).sum() < 0.5 * (p_normal[truth == 0] > 0.5).sum()  # false edges halved at least
    assert np.all(p_heavy[truth == 1] > 0.5)  # no present edge lost
    assert log_loss(p_heavy) < log_loss(p_normal)
    present = heavy.log_ratio(np.full((1, group.size), heavy.loc_on))
    assert np.all(present > np.log(50.0))  # moves the prior odds of the edge 50-fold at least
    again = EdgePopulation.from_dict(heavy.to_dict())
    assert again.df == 5.0 and np.isinf(EdgePopulation.from_dict(normal.to_dict()).df)
    np.testing.assert_allclose(again.posterior(logits), p_heavy)


def test_a_learned_beta_prior_recovers_the_generating_one_within_its_bounds():
    """Template probabilities drawn from Beta(2, 6), each seen in 50 shops: type-II maximum likelihood finds about
    that prior. Counts that every probability explains alike (one share) push a + b to its bound of one template's
    shops; a class no shop shows keeps the fixed prior's a, so it is not learned to be impossible."""
    rng = np.random.default_rng(0)
    rho = rng.beta(2.0, 6.0, 400)
    on = rng.binomial(50, rho).astype(float)
    a, b = learn_beta_prior(on, 50 - on, 0.2, 1.8, a_min=0.2, max_shops=50)
    assert abs(a / (a + b) - 0.25) < 0.03 and 4 < a + b < 16, (a, b)
    on = rng.binomial(50, 0.3, 400).astype(float)
    a, b = learn_beta_prior(on, 50 - on, 0.2, 1.8, a_min=0.2, max_shops=50)
    assert a + b == pytest.approx(50, rel=1e-3) and abs(a / (a + b) - 0.3) < 0.02, (a, b)
    a, b = learn_beta_prior(np.zeros(6), np.full(6, 100.0), 0.2, 1.8, a_min=0.2, max_shops=100)
    assert a == pytest.approx(0.2) and a + b <= 100 + 1e-9, (a, b)


def test_a_class_prior_follows_the_class_share_where_each_shop_draws_its_own_graph(edges):
    """20 shops, each with its own graph: every edge of a class is on with the class's probability. The fixed prior
    lets each edge's probability follow its few shops' sampling noise, which reorders the class's pairs across edges;
    the learned class prior pulls them to the class's share and ranks the class's pairs over all shops better."""
    group, null_loc = edges
    gains = []
    for seed in range(4):
        rng = np.random.default_rng(seed)
        truth = (rng.random((20, group.size)) < np.array([0.1, 0.2, 0.3, 0.4, 0.5])[group]).astype(int)
        logits = scores(rng, truth, group, null_loc)
        fixed = fit_edge_population(logits, group, 0.1, max_templates=2, seed=0).posterior(logits)
        pop = fit_edge_population(logits, group, 0.1, max_templates=2, seed=0, edge_class=group)
        assert np.allclose(pop.prior_a[group == 0], pop.prior_a[0]) and pop.prior_a.shape == group.shape
        learned = pop.posterior(logits)
        auc = [[roc_auc_score(truth[:, group == c].ravel(), p[:, group == c].ravel()) for c in range(5)]
               for p in (fixed, learned)]
        gains.append(np.mean(auc[1]) - np.mean(auc[0]))
    assert np.mean(gains) > 0.005 and min(gains) > -0.005, gains


def test_a_layer_saves_its_learned_prior_and_one_saved_without_it_loads(edges):
    group, null_loc = edges
    rng = np.random.default_rng(8)
    logits = scores(rng, (rng.random((40, group.size)) < 0.3).astype(int), group, null_loc)
    pop = fit_edge_population(logits, group, 0.1, 3, edge_class=group)
    back = EdgePopulation.from_dict(pop.to_dict())
    np.testing.assert_array_equal(back.prior_a, pop.prior_a)
    np.testing.assert_array_equal(back.posterior(logits), pop.posterior(logits))
    old = EdgePopulation.from_dict({k: v for k, v in pop.to_dict().items() if k not in ("prior_a", "prior_b")})
    assert old.prior_a is None
    np.testing.assert_array_equal(old.posterior(logits), pop.posterior(logits))
