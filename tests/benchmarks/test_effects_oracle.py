"""The true-structure reference of the effects tables (``benchmarks.effects_oracle``) mirrors the simulator: told
the true graph and forms, its least-squares sizes give back the simulator's true effects; told nothing of the
graph, it does worse."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.effects_oracle import class_auroc, edge_recall, oracle_effects, told_graph
from causalmmm_ppl.data.effects_truth import true_effects
from causalmmm_ppl.data.simulate import simulate
from causalmmm_ppl.evaluation.effect_metrics import effect_report

HORIZON = 14


@pytest.fixture(scope="module")
def panel():
    sim = simulate("sim2", seed=3, n_shops=6, n_days=200)
    return sim, true_effects(sim, HORIZON)


@pytest.mark.parametrize("kind", ["total", "held", "direct"])
def test_told_the_true_structure_it_recovers_the_true_effects(panel, kind):
    sim, truth = panel
    table = oracle_effects(sim, HORIZON, sim.adjacency, "true")
    report = effect_report(table, truth, kind)
    assert report["spearman"] > 0.9
    assert report["error_share"] < 0.35
    est = table[table.kind == kind].set_index(["shop", "channel"])["mean"]
    true = truth[truth.kind == kind].set_index(["shop", "channel"])["effect"]
    assert est.sum() / true.sum() == pytest.approx(1.0, abs=0.2)
    # a channel with no path to the target gets no effect at all from the true graph
    assert (est[true.loc[est.index] == 0] == 0).all()


def test_without_the_graph_its_ranking_is_worse(panel):
    sim, truth = panel
    told = effect_report(oracle_effects(sim, HORIZON, sim.adjacency, "true"), truth, "total")["spearman"]
    blind = effect_report(oracle_effects(sim, HORIZON, None, "true"), truth, "total")["spearman"]
    assert np.isfinite(blind) and blind < told


def test_a_fitted_graph_with_the_true_channel_to_target_edges_changes_only_those(panel):
    sim, _ = panel
    kinds = np.asarray(sim.panel.node_kinds)
    rng = np.random.default_rng(0)
    prob = rng.uniform(size=sim.adjacency.shape)
    graph = told_graph(sim, "fitted, true c→t", prob)
    into = (kinds == "channel")[:, None] & (kinds == "target")[None, :]
    assert (graph[:, into] == sim.adjacency[:, into]).all()
    assert (graph[:, ~into] == (prob[:, ~into] > 0.5)).all()
    swapped = told_graph(sim, "true, fitted c→t and m→t", prob)
    both = into | ((kinds == "mediator")[:, None] & (kinds == "target")[None, :])
    assert (swapped[:, both] == (prob[:, both] > 0.5)).all() and (swapped[:, ~both] == sim.adjacency[:, ~both]).all()
    with pytest.raises(ValueError, match="unknown told graph"):
        told_graph(sim, "true, true c→t", prob)
    recall = edge_recall(prob, sim.adjacency, sim.panel.node_kinds)
    present, found, false_on = recall["channel → target"]
    assert present == int(sim.adjacency[:, into].sum()) and 0 <= found <= present and false_on >= 0


def test_class_auroc_ranks_each_class_alone(panel):
    sim, _ = panel
    truth = sim.adjacency
    perfect = class_auroc(truth.astype(float), truth, sim.panel.node_kinds)
    assert all(v == 1.0 or np.isnan(v) for v in perfect.values())
    assert perfect["channel → target"] == 1.0
    flipped = class_auroc(1.0 - truth, truth, sim.panel.node_kinds)
    assert flipped["channel → target"] == 0.0


def test_pooled_sizes_shrink_noisy_sizes_to_their_mean_and_keep_precise_ones():
    """Normal-normal shrinkage per (cause, effect) pair: sizes whose spread is all noise go to the precision-weighted
    mean; sizes known far better than they differ stay; a pair held by fewer than three shops is left alone."""
    from benchmarks.effects_oracle import Equation, pooled_sizes

    tr = object()  # the transform is carried through untouched

    def shops(sizes, se, extra=None):
        return [{5: Equation(0.5, {1: (w, tr)} | ({2: (9.0, tr)} if extra == n else {}),
                             {1: se} | ({2: 0.1} if extra == n else {}))} for n, w in enumerate(sizes)]

    noisy = pooled_sizes(shops([1.0, 2.0, 3.0], se=1.0, extra=0))
    assert [eq[5].parents[1][0] for eq in noisy] == pytest.approx([2.0, 2.0, 2.0], abs=0.01)
    assert noisy[0][5].parents[2] == (9.0, tr) and noisy[0][5].rho == 0.5  # one shop's pair: as it was
    precise = pooled_sizes(shops([1.0, 2.0, 3.0], se=0.01))
    assert [eq[5].parents[1][0] for eq in precise] == pytest.approx([1.0, 2.0, 3.0], abs=0.01)


def test_pooled_sizes_keep_the_true_structures_effects(panel):
    sim, truth = panel
    report = effect_report(oracle_effects(sim, HORIZON, sim.adjacency, "true", pool=True), truth, "total")
    assert report["spearman"] > 0.9 and report["error_share"] < 0.35


def test_the_grid_search_scores_every_candidate_as_one_least_squares_fit_each():
    """:func:`_candidate_sse` (one solve for all the grid's candidates) gives each candidate's residual sum of
    squares as a least-squares fit with it alone; a candidate inside the other columns' span, or all zero, adds
    nothing."""
    from benchmarks.effects_oracle import _candidate_sse, _least_squares

    rng = np.random.default_rng(0)
    others, y = rng.normal(size=(40, 3)), rng.normal(size=40)
    candidates = rng.normal(size=(5, 40, 2))
    candidates[1] = others[:, :2] @ rng.normal(size=(2, 2))  # in the others' span
    candidates[2] = 0.0
    got = _candidate_sse(others, candidates, y)
    want = [_least_squares(np.concatenate([others, c], 1), y)[1] for c in candidates]
    np.testing.assert_allclose(got, want, rtol=1e-9)
    assert got[1] == pytest.approx(got[2]) == pytest.approx(_least_squares(others, y)[1])


def test_missed_channel_target_edges_count_the_true_pairs_below_one_half_and_their_effect(panel):
    from benchmarks.effects_oracle import missed_channel_target

    sim, truth = panel
    adj = np.asarray(sim.adjacency, dtype=float)
    assert missed_channel_target(adj, adj, sim, truth)["pairs"] == 0
    none = missed_channel_target(np.zeros_like(adj), adj, sim, truth)
    assert none["pairs"] == none["true_pairs"] == none["screen_on"] > 0
    assert none["effect"] == pytest.approx(none["true_effect"]) and none["true_effect"] > 0
