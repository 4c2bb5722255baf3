"""Counterfactual effects from a real (tiny) CausalMMM fit: common random numbers, kinds, the table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from causalmmm_ppl.data.simulate import simulate
from causalmmm_ppl.errors import InputError
from causalmmm_ppl.inference.causalmmm_fit import fit_causalmmm
from causalmmm_ppl.inference.effects import contribution_series
from causalmmm_ppl.models.settings import CausalMMMSettings

H = 7


@pytest.fixture(scope="module")
def setup():
    sim = simulate("sim1", n_shops=5, n_days=60, seed=2)
    p = sim.panel
    history, plan = p.select_time(0, p.n_time - H), p.select_time(p.n_time - H, p.n_time)
    # no prior on the message weights and one SVI run (a 5-shop panel gets the prior and three runs mixed by default):
    # after 25 steps under the prior the weights are near 0, and across runs c0's effect can change sign between
    # draws, which test_intervals_widen_when_the_draws_disagree needs not
    spec = CausalMMMSettings.of(steps=25, batch_shops=5, window=40, num_draws=6, hidden=8, encoder_hidden=16,
                                edge_weight_prior=0.0, restarts=1)
    return fit_causalmmm(history, spec, seed=0, progress=False), history, plan


def _graph(plan, cut_cause=None, into_channels=True):
    v = plan.n_nodes
    g = np.broadcast_to(1.0 - np.eye(v), (plan.n_shops, v, v)).copy()
    g[:, -1, :] = 0.0  # nothing out of the target
    ch = np.asarray(plan.node_kinds) == "channel"
    if not into_channels:
        g[:, :, ch] = 0.0
    if cut_cause is not None:
        g[:, plan.nodes.index(cut_cause), :] = 0.0
    return g


def test_a_channel_with_no_outgoing_edge_has_no_effect(setup):
    """Factual and counterfactual rollouts share the posterior draws and the noise: a channel that reaches nothing
    has effect 0 in every draw, not Monte-Carlo noise."""
    fit, history, plan = setup
    table = fit.effects(history, plan, num_draws=6, graph=_graph(plan, cut_cause="c1"))
    level = np.abs(plan.values[..., -1]).sum()
    cut = table[table["channel"] == "c1"]
    assert np.abs(cut[["mean", "lower", "upper"]].to_numpy()).max() < 1e-6 * level
    others = table[(table["channel"] != "c1") & (table["shop"] != "ALL")]
    assert np.abs(others["mean"]).max() > 1e-4 * level


def test_total_equals_held_when_no_edge_enters_a_channel(setup):
    fit, history, plan = setup
    table = fit.effects(history, plan, num_draws=6, graph=_graph(plan, into_channels=False))
    total = table[table["kind"] == "total"]["mean"].to_numpy()
    held = table[table["kind"] == "held"]["mean"].to_numpy()
    np.testing.assert_allclose(total, held, atol=1e-6 * np.abs(plan.values[..., -1]).sum())
    dense = fit.effects(history, plan, num_draws=6, graph=_graph(plan))
    assert not np.allclose(dense[dense["kind"] == "total"]["mean"], dense[dense["kind"] == "held"]["mean"])


def test_direct_holds_the_mediators(setup):
    """With the mediator's edge into the target cut, holding the mediator changes nothing: direct == held."""
    fit, history, plan = setup
    g = _graph(plan)
    g[:, plan.nodes.index("pv"), -1] = 0.0
    table = fit.effects(history, plan, num_draws=6, graph=g)
    np.testing.assert_allclose(table[table["kind"] == "direct"]["mean"], table[table["kind"] == "held"]["mean"],
                               atol=1e-6 * np.abs(plan.values[..., -1]).sum())


def test_the_table_sums_shops_into_the_portfolio_and_is_seeded(setup):
    fit, history, plan = setup
    table = fit.effects(history, plan, num_draws=6, seed=3)
    assert list(table.columns) == ["shop", "channel", "kind", "mean", "lower", "upper", "spend", "roas", "mroas"]
    assert len(table) == (plan.n_shops + 1) * 6 * 3
    assert (table["lower"] <= table["mean"]).all() and (table["mean"] <= table["upper"]).all()
    shops = table[table["shop"] != "ALL"].groupby(["channel", "kind"])[["mean", "spend"]].sum()
    port = table[table["shop"] == "ALL"].set_index(["channel", "kind"])[["mean", "spend"]]
    np.testing.assert_allclose(port.loc[shops.index].to_numpy(), shops.to_numpy(), rtol=1e-9)
    np.testing.assert_allclose(table["roas"], table["mean"] / table["spend"])
    total = table["kind"] == "total"
    assert table[~total]["mroas"].isna().all()
    assert table[total & (table["spend"] > 0)]["mroas"].notna().all()
    assert table[total & (table["spend"] == 0)]["mroas"].isna().all()  # no spend, no marginal return
    again = fit.effects(history, plan, num_draws=6, seed=3)
    np.testing.assert_array_equal(again["mean"].to_numpy(), table["mean"].to_numpy())


def test_contribution_series_sum_to_the_total_effects(setup):
    """Each channel's per-day contributions over the window add up to its ``total`` effect (same draws, same noise),
    day by day the difference of two rollouts."""
    fit, history, plan = setup
    series = contribution_series(fit, history, plan, num_draws=6, seed=3)
    assert list(series.columns) == ["shop", "date", "channel", "mean", "lower", "upper"]
    assert len(series) == plan.n_shops * H * len(fit.channel_names)
    assert set(pd.to_datetime(series["date"])) == set(plan.dates)
    assert (series["lower"] <= series["mean"]).all() and (series["mean"] <= series["upper"]).all()
    table = fit.effects(history, plan, kinds=("total",), num_draws=6, seed=3)
    total = table[table["shop"] != "ALL"].set_index(["shop", "channel"])["mean"]
    summed = series.groupby(["shop", "channel"])["mean"].sum()
    np.testing.assert_allclose(summed.loc[total.index].to_numpy(), total.to_numpy(), rtol=1e-6, atol=1e-6)
    assert summed.abs().max() > 0  # the channels move the target in this panel
    with pytest.raises(InputError, match="unknown effect kind"):
        contribution_series(fit, history, plan, kind="indirect", num_draws=2)


def test_unknown_channels_and_kinds_are_refused(setup):
    fit, history, plan = setup
    with pytest.raises(InputError, match="'c9'"):
        fit.effect_samples(history, plan, [("total", "c9", 0.0)], num_draws=2)
    with pytest.raises(InputError, match="kind"):
        fit.effect_samples(history, plan, [("indirect", "c0", 0.0)], num_draws=2)


def test_intervals_widen_when_the_draws_disagree(setup):
    """The same fit and noise, two posteriors over the graph: every draw with the channel's edges, or half the draws
    with them cut. Where the draws disagree about the edge, the channel's effect intervals reach 0 and the portfolio's
    widens (per shop, 8 draws' quantiles are too coarse to order the widths)."""
    fit, history, plan = setup
    n = 8
    dense = _graph(plan)
    split = np.broadcast_to(dense, (n,) + dense.shape).copy()
    split[n // 2 :, :, plan.nodes.index("c0"), :] = 0.0  # half the draws: c0 reaches nothing
    agree = fit.effects(history, plan, num_draws=n, seed=1, graph=dense, kinds=("held",))
    disagree = fit.effects(history, plan, num_draws=n, seed=1, graph=split, kinds=("held",))

    def rows(table, channel):
        return table[table["channel"] == channel].set_index("shop")

    a, d = rows(agree, "c0"), rows(disagree, "c0")
    assert (a["lower"] > 0).all()  # every draw sees c0's effect: the intervals exclude 0 ...
    assert (d["lower"].abs() < 1e-6 * a["upper"]).all()  # ... and reach it once half the draws cut the edges
    width_a, width_d = a["upper"] - a["lower"], d["upper"] - d["lower"]
    assert width_d["ALL"] > 1.5 * width_a["ALL"]  # the portfolio's interval: about twice as wide


def test_hard_edge_draws_give_exact_zeros_as_often_as_the_posterior_says(setup):
    """``outputs.edge_draws = "hard"``: a draw's edge is on (1) or off (0), with the reported probability. A channel's
    ``held`` effect is then exactly 0 in the draws where neither c → target nor c → mediator → target is on, and
    their share follows the edge probabilities. Relaxed edges never switch off: their draws' effects are 0 only where
    a tiny message rounds away in float32."""
    fit, history, plan = setup
    n, c = 400, "c0"
    assert fit.settings.outputs.edge_draws == "hard"  # the default
    hard = fit.effect_samples(history, plan, [("held", c, 0.0)], num_draws=n, seed=5)
    relaxed = fit.read_with(edge_draws="relaxed").effect_samples(history, plan, [("held", c, 0.0)], num_draws=n,
                                                                 seed=5)
    assert fit.settings.outputs.edge_draws == "hard"  # read_with leaves the fit itself alone
    with pytest.raises(InputError, match="read_with changes only edge_draws, num_draws; steps"):
        fit.read_with(steps=3)
    zero = lambda draws: (draws[0] - draws[1][("held", c, 0.0)]) == 0.0  # noqa: E731  (draw, shop)
    q = fit.edge_probability_array(history)
    i, m, t = (plan.nodes.index(k) for k in (c, "pv", "gmv"))
    expected = (1 - q[:, i, t]) * (1 - q[:, i, m] * q[:, m, t])  # (shop,): the guide's edges are independent
    assert 0.05 < expected.mean() < 0.95  # the check below can fail
    np.testing.assert_allclose(zero(hard).mean(0), expected, atol=0.1)
    assert zero(relaxed).mean() < expected.mean() / 2


def test_effects_do_not_depend_on_how_the_work_is_chunked(setup):
    """The pass over the history in chunks of one draw and the held and direct rollouts that step only the nodes the
    plan does not set give the paths of one unchunked rollout per scenario that steps every node."""
    import torch

    from causalmmm_ppl.inference import effects as E

    fit, history, plan = setup
    _, data, plan_t, cal = fit._plan_inputs(history, plan)
    batch = data.full_batch(temperature=fit.spec.temperature)
    scenarios = [(kind, c, 0.0) for kind in E.EFFECT_KINDS for c in range(2)]
    chunked = E.effect_paths(fit.model, fit.guide, batch, plan_t, cal, 4, scenarios, seed=3, history_chunk=1)
    rollout = fit.model.rollout

    def every_node(*args, **kwargs):  # the reference: no node left unstepped
        return rollout(*args[:5], stepped=None)

    try:
        fit.model.rollout = every_node
        whole = E.effect_paths(fit.model, fit.guide, batch, plan_t, cal, 4, scenarios, seed=3)
    finally:
        del fit.model.rollout
    torch.testing.assert_close(chunked[0], whole[0])
    for key in scenarios:
        torch.testing.assert_close(chunked[1][key], whole[1][key])


def test_portfolios_of_parts_add_up_to_the_portfolio_of_the_whole():
    """Pure numpy: the portfolio rows of a set of shops equal those of its parts' portfolios added draw by draw
    (what ``effects --shops-per-chunk`` writes), and draws of different channels do not add."""
    from causalmmm_ppl.inference.effects import EFFECT_KINDS, EffectDraws, effect_scenarios

    rng = np.random.default_rng(0)
    channels, shops = ("a", "b"), tuple(f"s{k}" for k in range(5))
    factual = rng.normal(10.0, 1.0, (40, 5))
    counter = {s: factual - rng.gamma(2.0, 1.0, (40, 5)) * (1.0 if s[2] == 0.0 else -0.1)
               for s in effect_scenarios(channels)}
    spend = rng.uniform(1.0, 2.0, (5, 2))
    whole = EffectDraws.from_samples(factual, counter, spend, shops, channels, EFFECT_KINDS)
    table = whole.table(0.9)
    assert list(table["shop"].unique()) == [*shops, "ALL"]
    parts = []
    for idx in (np.arange(3), np.arange(3, 5)):
        part = EffectDraws.from_samples(factual[:, idx], {k: v[:, idx] for k, v in counter.items()}, spend[idx],
                                        [shops[i] for i in idx], channels, EFFECT_KINDS)
        pd.testing.assert_frame_equal(part.table(0.9, portfolio=False).reset_index(drop=True),
                                      table[table["shop"].isin(part.shops)].reset_index(drop=True))
        parts.append(part.portfolio())
    summed = (parts[0] + parts[1]).table(0.9, portfolio=False)
    expected = table[table["shop"] == "ALL"].reset_index(drop=True)
    pd.testing.assert_frame_equal(summed, expected, rtol=1e-12)
    other = EffectDraws.from_samples(factual, counter, spend, shops, ("b", "a"), EFFECT_KINDS).portfolio()
    with pytest.raises(ValueError, match="do not add"):
        parts[0] + other
