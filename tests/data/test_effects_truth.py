"""The simulators' true effects: same noise, only the intervention changed."""

from __future__ import annotations

import numpy as np
import pytest

from causalmmm_ppl.data.effects_truth import EFFECT_KINDS, simulate_plan, split_plan, true_effects
from causalmmm_ppl.data.simulate import simulate


@pytest.fixture(scope="module", params=["sim1", "sim3"])
def sim(request):
    return simulate(request.param, n_shops=6, n_days=60, seed=4)


def _effects(table, kind):
    return table[table["kind"] == kind].set_index(["shop", "channel"])["effect"]


def test_a_channel_that_causes_nothing_has_no_effect(sim):
    graph = sim.adjacency.copy()
    graph[:, 0, :] = 0  # c0 causes nothing in any shop
    cut = simulate(sim.params["scenario"], n_shops=6, n_days=60, seed=4, graph=graph)
    table = true_effects(cut, 14)
    np.testing.assert_allclose(table[table["channel"] == "c0"]["effect"], 0.0, atol=1e-6)
    assert (table[table["channel"] != "c0"]["effect"].abs() > 1.0).any()


def test_direct_effect_needs_the_channel_target_edge(sim):
    table = true_effects(sim, 14)
    direct = _effects(table, "direct")
    tgt = sim.panel.nodes.index(sim.panel.target)
    for s, shop in enumerate(sim.panel.shops):
        for c in range(int((np.asarray(sim.panel.node_kinds) == "channel").sum())):
            if sim.adjacency[s, c, tgt] == 0:
                assert abs(direct[(shop, f"c{c}")]) < 1e-6


def test_total_equals_held_without_channel_to_channel_edges(sim):
    kinds = np.asarray(sim.panel.node_kinds)
    graph = sim.adjacency.copy()
    ch = np.flatnonzero(kinds == "channel")
    graph[:, ch[:, None], ch[None, :]] = 0
    cut = simulate(sim.params["scenario"], n_shops=6, n_days=60, seed=4, graph=graph)
    table = true_effects(cut, 14)
    total = _effects(table, "total")
    # equal up to round-off of the two simulations' sums (a zero effect can come out as ±1e-11)
    np.testing.assert_allclose(total, _effects(table, "held"), rtol=1e-7, atol=1e-9 * np.abs(total).max())
    full = true_effects(sim, 14)
    if sim.adjacency[:, ch[:, None], ch[None, :]].any():
        assert not np.allclose(_effects(full, "total"), _effects(full, "held"))


def test_every_shop_channel_and_kind_once_with_its_spend(sim):
    table = true_effects(sim, 10)
    d = int((np.asarray(sim.panel.node_kinds) == "channel").sum())
    assert len(table) == 6 * d * len(EFFECT_KINDS)
    assert not table.duplicated(["shop", "channel", "kind"]).any()
    spend = table[table["kind"] == "total"].set_index(["shop", "channel"])["spend"]
    np.testing.assert_allclose(spend[("s001", "c2")], sim.panel.values[1, -10:, 2].sum())


def test_a_plan_is_scored_by_the_simulator(sim):
    ch = [i for i, k in enumerate(sim.panel.node_kinds) if k == "channel"]
    factual = sim.panel.values[:, -14:, ch]
    np.testing.assert_allclose(simulate_plan(sim, factual, 14), sim.panel.values[:, -14:])
    more = simulate_plan(sim, factual * 1.5, 14)
    np.testing.assert_allclose(more[..., ch], factual * 1.5)
    assert not np.allclose(more[..., -1], sim.panel.values[:, -14:, -1])
    with pytest.raises(ValueError, match="non-negative"):
        simulate_plan(sim, -factual, 14)
    with pytest.raises(ValueError, match="shape"):
        simulate_plan(sim, factual[:, :3], 14)


def test_history_and_plan_split_at_the_window(sim):
    history, plan = split_plan(sim, 14)
    dates = sorted(plan["date"].unique())
    assert sorted(history["date"].unique()) == dates[:-14]
    window = plan["date"].isin(dates[-14:])
    assert plan.loc[window, ["pv", "gmv"]].isna().all().all() and plan.loc[~window, "gmv"].notna().all()
    assert plan.loc[window, "c0"].notna().all()
    with pytest.raises(ValueError, match="--horizon"):
        true_effects(sim, 60)


@pytest.mark.parametrize("kind", EFFECT_KINDS)
def test_an_intervention_scales_only_its_channel_on_the_window(kind):
    """``channel_off`` sets channel k's window spend to 0, or to a multiple of it; every other value stays, and the
    kind decides what is held."""
    from causalmmm_ppl.data.effects_truth import channel_off

    u = np.random.default_rng(0).random((2, 10, 4))
    kinds = np.array(["channel", "channel", "mediator", "target"])
    win = slice(6, 10)
    for multiplier in (0.0, 0.5):
        mask, value = channel_off(u, kinds, win, 1, kind, multiplier)
        np.testing.assert_array_equal(value[:, win, 1], multiplier * u[:, win, 1])
        other = np.ones(u.shape, dtype=bool)
        other[:, win, 1] = False
        np.testing.assert_array_equal(value[other], u[other])
        assert mask[:, win, 1].all() and not mask[:, :6].any() and not mask[..., 3].any()
        assert mask[:, win, 0].all() == (kind != "total") and mask[:, win, 2].all() == (kind == "direct")
