"""The CausalMMM Pyro model: sites, shapes, graph gating, recurrence consistency, interventions."""

from __future__ import annotations

import dataclasses

import numpy as np
import pyro
import pyro.distributions as dist
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from pyro import poutine

from causalmmm_ppl.models.causalmmm import CausalMMM, ModelBatch
from causalmmm_ppl.models.components import Decoder, gated_scan
from causalmmm_ppl.models.response import ResponseFamily
from causalmmm_ppl.models.settings import CausalMMMInference, CausalMMMOutputs
from causalmmm_ppl.models.spec import (
    FEW_SHOPS,
    FEW_SHOPS_WEIGHT_PRIOR,
    CausalMMMSpec,
    edge_prior_matrix,
    expert_edge_mask,
    pair_priors,
    prior_matrix,
)
from causalmmm_ppl.models.likelihood import Prediction
from causalmmm_ppl.inference.forecast import LATENT_SITES
from causalmmm_ppl.errors import InputError

NODES = ("c0", "c1", "c2", "pv", "gmv")
KINDS = ("channel", "channel", "channel", "mediator", "target")


def make_model(seed: int = 0, **spec_kw) -> CausalMMM:
    torch.manual_seed(seed)
    spec = CausalMMMSpec(**spec_kw)
    rho = edge_prior_matrix(NODES, KINDS, spec.prior_prob, spec.edge_priors)
    return CausalMMM(NODES, KINDS, n_context=2, n_calendar=6, rho=rho, spec=spec)


def make_batch(shops: int = 3, days: int = 40, seed: int = 0) -> ModelBatch:
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(shops, days, len(NODES), generator=g) * 2
    return ModelBatch(
        x=x,
        observed=torch.ones(shops, days, len(NODES), dtype=torch.bool),
        context=torch.randn(shops, 2, generator=g),
        calendar=torch.randn(days, 6, generator=g),
        shop_idx=torch.arange(shops),
        n_shops=shops,
    )


def test_edge_prior_matrix_forbids_self_loops_and_target_causes():
    rho = edge_prior_matrix(NODES, KINDS, 0.1, {"c0->gmv": 1.0, "c1->c2": 0.0, "c2->pv": 0.7})
    assert np.all(np.diag(rho) == 0)
    assert np.all(rho[4, :] == 0)  # the target is the sink: no target -> channel or target -> mediator
    assert rho[3, :3] == pytest.approx(0.1)  # mediator -> channel stays a candidate
    # an edge out of the target overrides the sink rule only where the config turns the rule off
    with pytest.raises(InputError, match="forbid_target_causes"):
        edge_prior_matrix(NODES, KINDS, 0.1, {"gmv->pv": 0.3})
    opened = edge_prior_matrix(NODES, KINDS, 0.1, {"gmv->pv": 0.3}, forbid_target_causes=False)
    assert opened[4, 3] == pytest.approx(0.3)
    assert edge_prior_matrix(NODES, KINDS, 0.1, {"gmv->pv": 0.0})[4, 3] == 0.0  # forbidding it again is harmless
    assert edge_prior_matrix(NODES, KINDS, 0.1, forbid_target_causes=False)[4, 3] == pytest.approx(0.1)
    assert rho[0, 4] == 1.0 and rho[1, 2] == 0.0 and rho[2, 3] == pytest.approx(0.7)


def test_a_mediator_prior_is_an_expert_belief_on_every_mediator_to_target_pair_that_edge_priors_override():
    nodes, kinds = ("c0", "c1", "pv", "visits", "gmv"), ("channel", "channel", "mediator", "mediator", "target")
    assert pair_priors(CausalMMMSpec(edge_priors={"c0->gmv": 1.0}), nodes, kinds) == {"c0->gmv": 1.0}
    spec = CausalMMMSpec(mediator_prior=0.5, edge_priors={"visits->gmv": 0.0, "c0->pv": 0.7})
    priors = pair_priors(spec, nodes, kinds)
    assert priors == {"pv->gmv": 0.5, "visits->gmv": 0.0, "c0->pv": 0.7}
    rho = prior_matrix(spec, nodes, kinds)
    assert rho[2, 4] == 0.5 and rho[3, 4] == 0.0 and rho[0, 2] == pytest.approx(0.7)
    assert rho[0, 4] == pytest.approx(0.1)  # every other pair keeps prior_prob
    mask = expert_edge_mask(nodes, priors)
    assert mask[2, 4] and mask[3, 4] and mask.sum() == 3
    for bad in (-0.1, 1.5, float("nan")):
        with pytest.raises(InputError, match="mediator_prior"):
            CausalMMMSpec(mediator_prior=bad)


@pytest.mark.parametrize(
    "bad", [{"c0->nope": 0.5}, {"c0-gmv": 0.5}, {"c0->c0": 1.0}, {"c0->gmv": 1.5}]
)
def test_edge_prior_overrides_are_checked(bad):
    with pytest.raises(InputError):
        edge_prior_matrix(NODES, KINDS, 0.1, bad)


def test_model_trace_sites_and_shapes():
    model, batch = make_model(), make_batch(shops=3, days=30)
    batch.shop_idx = torch.tensor([0, 2])
    batch.n_shops = 5
    for name in ("x", "observed", "context"):
        setattr(batch, name, getattr(batch, name)[:2])
    trace = poutine.trace(model).get_trace(batch)
    e = model.n_edges
    assert trace.nodes["edge_logit"]["value"].shape == (2, e)
    assert trace.nodes["graph"]["value"].shape == (2, 5, 5)
    assert trace.nodes["response"]["value"].shape == (2, 5, model.spec.response.size)
    assert trace.nodes["x"]["is_observed"]
    # subsampling scales the shop-level terms by n_shops / batch
    assert trace.nodes["x"]["scale"] == pytest.approx(5 / 2)
    g = trace.nodes["graph"]["value"]
    assert torch.all(g[:, torch.arange(5), torch.arange(5)] == 0)
    assert torch.all(g[:, 4, :3] == 0)


def test_cutting_an_edge_changes_only_its_effect_node_at_the_next_step():
    model, batch = make_model(), make_batch()
    z = torch.ones(3, 5, 5) * torch.as_tensor(model.rho > 0, dtype=torch.float32)
    u = torch.randn(3, 5, model.spec.response.size) * 0.3
    with torch.no_grad():
        full, _ = model.one_step_means(batch.x, u, z, batch.calendar)
        z_cut = z.clone()
        z_cut[:, 1, 3] = 0.0  # cut c1 -> pv
        cut, _ = model.one_step_means(batch.x, u, z_cut, batch.calendar)
    diff = (full.loc - cut.loc).abs().amax(dim=(0, 1)) + (full.on_logit - cut.on_logit).abs().amax(dim=(0, 1))
    assert diff[3] > 1e-4
    assert torch.all(diff[[0, 1, 2, 4]] == 0)


def test_cutting_an_edge_with_poutine_do_in_a_rollout():
    """do(graph) on the rollout: with the same latent draws and noise, only the effect node's first step moves."""
    model, batch = make_model(), make_batch(shops=2)
    horizon = 3
    cal = torch.randn(horizon, 6)
    pyro.set_rng_seed(1)
    tr = poutine.trace(model.rollout).get_trace(batch, cal, horizon)
    base_graph = tr.nodes["graph"]["value"]
    cut = base_graph.clone()
    cut[:, 0, 4] = 0.0  # c0 -> gmv
    fixed = {name: site["value"] for name, site in tr.nodes.items() if site["type"] == "sample"
             and name in LATENT_SITES}

    def run(graph):
        pyro.set_rng_seed(7)
        return poutine.do(poutine.condition(model.rollout, data=fixed), data={"graph": graph})(batch, cal, horizon)

    a, b = run(base_graph), run(cut)
    first = (a[0] - b[0]).abs().amax(0)  # (node,) at the first forecast day
    assert first[4] > 0 and torch.all(first[:4] == 0)


def test_gated_scan_matches_the_recurrence():
    g = torch.Generator().manual_seed(0)
    a = torch.rand(2, 3, 17, 4, generator=g)
    b = torch.randn(2, 3, 17, 4, generator=g)
    h0 = torch.randn(2, 3, 4, generator=g)
    out = gated_scan(a, b, h0)
    h = h0
    for t in range(17):
        h = a[..., t, :] * h + b[..., t, :]
        torch.testing.assert_close(out[..., t, :], h)


def test_decoder_step_matches_teacher_forced_forward():
    """The day-by-day recurrence used for forecasting equals the parallel teacher-forced pass."""
    torch.manual_seed(0)
    dec = Decoder(n_nodes=5, n_calendar=6, hidden=8, msg_dim=4, node_emb=3, lags=4,
                  log_nodes=torch.tensor([True, True, False, False, False]))
    x = torch.rand(2, 12, 5) * (torch.rand(2, 12, 5) > 0.2)  # some zero-spend days
    u = torch.randn(2, 5, 3) * 0.3
    s = ResponseFamily().signals(x, u, l_max=6)
    z = torch.rand(2, 5, 5)
    cal = torch.randn(2, 12, 6)
    with torch.no_grad():
        pred, _ = dec(x, s, z, cal)
        h = torch.zeros(2, 5, 8)
        padded = torch.nn.functional.pad(x.transpose(1, 2), (3, 0))  # (batch, node, 3 + time)
        for t in range(12):
            lags = padded[..., t : t + 4].flip(-1)  # x_t, x_{t-1}, ...
            pred_t, h = dec.step(lags, s[..., t], z, cal[:, t], h)
            torch.testing.assert_close(pred_t.loc, pred.loc[:, t], atol=1e-5, rtol=1e-5)
            torch.testing.assert_close(pred_t.on_logit, pred.on_logit[:, t], atol=1e-5, rtol=1e-5)


@given(decay=st.floats(0.05, 0.9), scale=st.floats(0.1, 10.0))
def test_the_default_signal_is_bounded_and_monotone_in_spend(decay, scale):
    x = torch.linspace(0, 5, 20).view(1, 20, 1).repeat(1, 1, 2) * scale
    u = torch.tensor([[[float(np.log(decay / (0.98 - decay))), 0.0, 0.0]] * 2])
    s = ResponseFamily().signals(x, u, l_max=5)
    assert torch.all((s >= 0) & (s < 1))
    assert torch.all(s[..., 1:] >= s[..., :-1] - 1e-7)  # increasing spend → increasing response


def test_spec_round_trip_and_validation():
    spec = CausalMMMSpec(prior_prob=0.2, edge_priors={"a->b": 1.0})
    assert CausalMMMSpec.from_dict(spec.to_dict()) == spec
    with pytest.raises(InputError, match="unknown setting 'prior_probability'; did you mean 'prior_prob'"):
        CausalMMMSpec.from_dict({"prior_probability": 0.1})
    with pytest.raises(InputError, match="unknown setting 'zzz'; known: .*prior_prob"):
        CausalMMMSpec.from_dict({"zzz": 0.1})
    with pytest.raises(InputError):
        CausalMMMSpec(prior_prob=1.5)
    with pytest.raises(InputError, match="edge_false_rate must be in"):
        CausalMMMOutputs(edge_false_rate=1.0)
    with pytest.raises(InputError, match="edge_draws must be one of hard, relaxed"):
        CausalMMMOutputs(edge_draws="soft")
    with pytest.raises(InputError, match="edge_template_prior must be one of class, fixed, got 'learned'"):
        CausalMMMOutputs(edge_template_prior="learned")
    with pytest.raises(InputError, match="unknown setting 'steps'"):
        CausalMMMSpec.from_dict({"steps": 10})  # an inference setting, not the model's
    inf = CausalMMMInference(steps=100)
    assert inf.temperature_at(0, spec.temperature) == pytest.approx(inf.temperature_start)
    assert inf.temperature_at(100, spec.temperature) == pytest.approx(spec.temperature)
    assert inf.kl_weight_at(10**6) == pytest.approx(inf.kl_weight)


def test_hard_edges_are_the_zero_temperature_limit_of_the_same_draw():
    """With ``hard_edges`` the graph site holds 0/1: 1 exactly where the relaxed draw of the same logits is above
    1/2, so each edge is on with probability sigmoid(logit), the reported one."""
    model, batch = make_model(), make_batch(shops=400)
    tr = poutine.trace(model).get_trace(batch)
    y = tr.nodes["edge_logit"]["value"]
    relaxed = tr.nodes["graph"]["value"]
    batch.hard_edges = True
    hard = poutine.trace(poutine.condition(model, data={"edge_logit": y})).get_trace(batch).nodes["graph"]["value"]
    assert set(hard.unique().tolist()) <= {0.0, 1.0}
    torch.testing.assert_close(hard, (relaxed > 0.5).float())
    i, j = model.edge_index[:, 0], model.edge_index[:, 1]
    on = hard[:, i, j].mean(0)  # (edge,): share of shops with the edge on
    torch.testing.assert_close(on, torch.sigmoid(model.prior_logit), atol=0.06, rtol=0.0)


@pytest.mark.parametrize("memory", [True, False])
def test_a_memoryless_decoder_forgets_what_lies_beyond_its_lags(memory):
    """``decoder_memory=False``: a prediction reads the last ``lags`` own values and the causes' curves (``l_max``
    days) only, so changing the first day moves no prediction after ``lags + l_max`` days; the recurrent state
    (the default) carries it on."""
    model, batch = make_model(decoder_memory=memory), make_batch()
    with torch.no_grad():  # a keep gate near 1: a state that remembers (the memoryless decoder ignores it)
        model.decoder.gates.bias[: model.decoder.hidden] = 5.0
    z = torch.ones(3, 5, 5) * torch.as_tensor(model.rho > 0, dtype=torch.float32)
    u = torch.randn(3, 5, model.spec.response.size) * 0.3
    x2 = batch.x.clone()
    x2[:, 0] += 1.0
    with torch.no_grad():
        a, _ = model.one_step_means(batch.x, u, z, batch.calendar)
        b, _ = model.one_step_means(x2, u, z, batch.calendar)
    late = model.decoder.lags + model.spec.l_max
    moved = (a.loc[:, late:] - b.loc[:, late:]).abs().max()
    assert (moved == 0) if not memory else (moved > 1e-4)
    assert (a.loc[:, :2] - b.loc[:, :2]).abs().max() > 1e-4  # the early days read it either way


def test_weekly_profile_site_and_its_shift_of_the_location():
    """The shop's weekly profile is a latent site of shape (shop, node, harmonic); it moves only the location, by
    S(t + 1) - S(t), or by S(t + 1) for a channel that was off on day t (its latest value holds no profile)."""
    model, batch = make_model(), make_batch()
    batch.x[0, 10, 1] = 0.0  # channel c1 off on day 10 of shop 0
    tr = poutine.trace(model).get_trace(batch)
    assert tr.nodes["weekly"]["value"].shape == (3, 5, 4)
    assert "weekly" not in poutine.trace(make_model(seasonality=False)).get_trace(batch).nodes
    z = torch.ones(3, 5, 5) * torch.as_tensor(model.rho > 0, dtype=torch.float32)
    u = torch.randn(3, 5, model.spec.response.size) * 0.3
    weekly = torch.randn(3, 5, 4)
    with torch.no_grad():
        plain, _ = model.one_step_means(batch.x, u, z, batch.calendar)
        seasonal, _ = model.one_step_means(batch.x, u, z, batch.calendar, weekly)
        zero, _ = model.one_step_means(batch.x, u, z, batch.calendar, torch.zeros_like(weekly))
    season = torch.einsum("snh,th->stn", weekly, batch.calendar[:, :4])
    shift = seasonal.loc - plain.loc
    torch.testing.assert_close(shift[:, :-1, 3], season[:, 1:, 3] - season[:, :-1, 3])  # a mediator
    torch.testing.assert_close(shift[0, 10, 1], season[0, 11, 1])  # the channel that was off
    torch.testing.assert_close(shift[0, 9, 1], season[0, 10, 1] - season[0, 9, 1])
    torch.testing.assert_close(seasonal.on_logit, plain.on_logit)
    torch.testing.assert_close(zero.loc, plain.loc)


@pytest.mark.parametrize("bad", [{"seasonality_scale": 0.0}, {"seasonality": "yes"}, {"switching_scale": -1.0},
                                 {"switching": 1}])
def test_seasonality_settings_are_validated(bad):
    with pytest.raises(InputError):
        CausalMMMSpec(**bad)
    assert CausalMMMSpec.from_dict(CausalMMMSpec(seasonality=False).to_dict()).seasonality is False


def test_edge_logit_draws_are_finite_when_the_uniform_draw_is_zero(monkeypatch):
    """float32 uniform_ returns exactly 0 now and then (2^-24); the edge logits must stay finite, with a finite
    log-density, for the prior and the guide alike."""
    from causalmmm_ppl.models.causalmmm import EdgeLogistic

    monkeypatch.setattr(torch.Tensor, "uniform_", lambda self, *a, **k: self.zero_())
    d = EdgeLogistic(torch.zeros(3), torch.full((3,), 2.0)).expand((4, 3))
    y = d.rsample()
    assert type(d) is EdgeLogistic
    assert torch.isfinite(y).all() and torch.isfinite(d.log_prob(y)).all()
    model, batch = make_model(), make_batch()
    tr = poutine.trace(model).get_trace(batch)
    assert torch.isfinite(tr.nodes["edge_logit"]["value"]).all()


def make_template_model(k: int = 2, **spec_kw) -> CausalMMM:
    torch.manual_seed(0)
    spec = CausalMMMSpec(graph_templates=k, **spec_kw)
    rho = edge_prior_matrix(NODES, KINDS, spec.prior_prob, spec.edge_priors)
    return CausalMMM(NODES, KINDS, n_context=2, n_calendar=6, rho=rho, spec=spec,
                     fixed=expert_edge_mask(NODES, spec.edge_priors))


def test_graph_templates_make_the_edge_prior_a_mixture_over_templates():
    """With K templates the prior of a shop's edge logits is Σ_k π_k Π_e Logistic(y_e; logit ρ_ke / τ, 1 / τ); the
    templates start at the prior's ρ, differ only on ordinary candidates, and expert edges keep their ρ."""
    model = make_template_model(2, edge_priors={"c0->gmv": 0.9})
    e, tau = model.n_edges, 0.5
    expert = int(((model.edge_index[:, 0] == 0) & (model.edge_index[:, 1] == 4)).nonzero())
    logits = model.template_logits()
    assert logits.shape == (2, e)
    torch.testing.assert_close(logits[:, expert], torch.logit(torch.tensor([0.9, 0.9])))
    assert not torch.allclose(logits[0], logits[1])  # unequal starts: the templates can specialise
    with torch.no_grad():
        model.template_offset.zero_()
    torch.testing.assert_close(model.template_logits(), model.prior_logit.expand(2, e), atol=1e-5, rtol=1e-5)
    with torch.no_grad():
        model.template_offset.normal_()
        model.template_weight_logit.copy_(torch.tensor([0.3, -0.2]))
    y = torch.randn(3, e) * 3
    s = 1.0 / tau
    r = (y.unsqueeze(1) - model.template_logits() / tau) / s  # (shop, template, edge)
    logistic = -r - np.log(s) - 2.0 * torch.nn.functional.softplus(-r)  # the Logistic density, written out
    expected = torch.logsumexp(torch.log_softmax(model.template_weight_logit, 0) + logistic.sum(-1), dim=-1)
    torch.testing.assert_close(model.edge_prior(tau).log_prob(y), expected)
    tr = poutine.trace(model).get_trace(make_batch())
    assert tr.nodes["edge_logit"]["value"].shape == (3, e)
    tr.compute_log_prob()
    assert tr.nodes["edge_logit"]["log_prob"].shape == (3,)
    # the templates and their shares are learned through the ELBO's graph term
    tr.nodes["edge_logit"]["log_prob"].sum().backward()
    assert model.template_offset.grad.abs().sum() > 0 and model.template_weight_logit.grad.abs().sum() > 0
    assert model.template_offset.grad[:, expert].abs().sum() == 0


@pytest.mark.parametrize("bad", [{"graph_templates": -1}, {"graph_templates": 1.5}, {"graph_templates": True},
                                 {"graph_templates": "3"}, {"graph_templates": float("nan")},
                                 {"template_spread": 0.0}, {"df": 2.0}, {"learn_df": "yes"}])
def test_template_and_tail_settings_are_validated(bad):
    with pytest.raises(InputError):
        CausalMMMSpec(**bad)


def test_learned_degrees_of_freedom_are_per_node_and_reach_the_likelihood():
    model, batch = make_model(learn_df=True, df=5.0), make_batch()
    df = model.degrees_of_freedom()
    assert df.shape == (5,)
    torch.testing.assert_close(df, torch.full((5,), 5.0))
    assert make_model(df=7.0, learn_df=False).degrees_of_freedom() == 7.0
    assert make_model(likelihood="normal", learn_df=True).degrees_of_freedom() is None
    tr = poutine.trace(model).get_trace(batch)
    tr.compute_log_prob()
    tr.nodes["x"]["log_prob_sum"].backward()
    assert model.log_df_excess.grad.abs().min() > 0  # every node's tail is learned
    pred = Prediction(torch.zeros(2, 5), torch.zeros(2, 5))
    like = model.observation(pred).select(torch.tensor([False, False, False, True, True]))
    assert like.df.shape == (2,)


def test_a_last_day_prediction_equals_the_full_pass_on_that_day():
    """What a rollout starts from (``last_only``: the readout of the last day only) is the full pass's last day."""
    model, batch = make_model(), make_batch()
    z = torch.rand(3, 5, 5) * torch.as_tensor(model.rho > 0, dtype=torch.float32)
    u = torch.randn(3, 5, model.spec.response.size) * 0.3
    weekly = model.weekly_prior(torch.Size([3])).sample()
    with torch.no_grad():
        full, h_full = model.one_step_means(batch.x, u, z, batch.calendar, weekly, batch.calendar[0])
        last, h_last = model.one_step_means(batch.x, u, z, batch.calendar, weekly, batch.calendar[0], last_only=True)
    assert last.loc.shape == (3, 1, 5)
    torch.testing.assert_close(last.loc, full.loc[:, -1:])
    torch.testing.assert_close(last.on_logit, full.on_logit[:, -1:])
    torch.testing.assert_close(h_last, h_full)


def test_switching_site_shifts_only_the_on_logits_of_channels_by_their_state_today():
    """Each shop's on/off persistence is a latent (shop, channel, 2): the channel's on-logit moves by the first shift
    on the day after an active day and by the second after an off day; locations and other nodes do not move."""
    model, batch = make_model(switching=True), make_batch()
    batch.x[0, 10, 1] = 0.0  # channel c1 off on day 10 of shop 0
    tr = poutine.trace(model).get_trace(batch)
    assert tr.nodes["switching"]["value"].shape == (3, 3, 2)
    assert "switching" not in poutine.trace(make_model()).get_trace(batch).nodes  # off by default
    assert "switching" not in poutine.trace(make_model(switching=True, spend_model="same")).get_trace(batch).nodes
    z = torch.ones(3, 5, 5) * torch.as_tensor(model.rho > 0, dtype=torch.float32)
    u = torch.randn(3, 5, model.spec.response.size) * 0.3
    switching = torch.randn(3, 3, 2)
    with torch.no_grad():
        plain, _ = model.one_step_means(batch.x, u, z, batch.calendar)
        switched, _ = model.one_step_means(batch.x, u, z, batch.calendar, switching=switching)
    shift = switched.on_logit - plain.on_logit
    torch.testing.assert_close(switched.loc, plain.loc)
    assert torch.all(shift[..., 3:] == 0)
    torch.testing.assert_close(shift[0, 10, 1], switching[0, 1, 1])  # after the off day
    torch.testing.assert_close(shift[0, 9, 1], switching[0, 1, 0])
    torch.testing.assert_close(shift[2, :, 0], switching[2, 0, 0].expand(40))


def test_a_rollout_predicts_each_day_as_the_teacher_forced_pass_over_its_own_path():
    """The rollout's recurrence (state, weekly profile, on/off persistence) gives, for each future day, the
    prediction the teacher-forced pass makes on the history extended by the path sampled so far."""
    model, batch = make_model(switching=True), make_batch(shops=2, days=30)
    batch.x[:, -2:, 0] = 0.0  # c0 off on the last two days: its first future day reads the "after off" shift
    horizon = 3
    cal = torch.randn(horizon, 6)
    pyro.set_rng_seed(3)
    with torch.no_grad():
        tr = poutine.trace(model.rollout).get_trace(batch, cal, horizon)
        path = torch.stack([tr.nodes[f"channels_{k}"]["value"] for k in range(horizon)], dim=1)  # (shop, day, ch)
        full = torch.cat([batch.x, torch.zeros(2, horizon, 5)], dim=1)
        for k in range(horizon):
            for site in ("channels", "mediators", "target"):
                value = tr.nodes[f"{site}_{k}"]["value"]
                cols = {"channels": slice(0, 3), "mediators": slice(3, 4), "target": slice(4, 5)}[site]
                full[:, batch.x.shape[1] + k, cols] = value
        latents = [tr.nodes[name]["value"] for name in ("graph", "response", "weekly", "switching")]
        calendar = torch.cat([batch.calendar, cal])
        for k in range(horizon):
            t = batch.x.shape[1] + k  # the history and the first k future days
            pred, _ = model.one_step_means(full[:, :t], latents[1], latents[0], calendar[:t], latents[2], cal[k],
                                           last_only=True, switching=latents[3])
            on = tr.nodes[f"channels_{k}"]["fn"].base_dist.pred.on_logit
            torch.testing.assert_close(on, pred.on_logit[:, -1, :3], atol=1e-5, rtol=1e-5)
    assert path.shape == (2, horizon, 3)


def test_edge_gains_scale_each_shops_messages():
    """With ``edge_gain`` every shop and candidate edge has a log gain (a latent site in the shop plate); at gain 1
    the model predicts as without gains, and a gain scales exactly its own edge's message."""
    with pytest.raises(InputError, match="edge_gain"):
        CausalMMMSpec(edge_gain=-0.1)
    model, batch = make_model(edge_gain=0.5), make_batch()
    plain = make_model(edge_gain=0.0)
    plain.load_state_dict(model.state_dict())  # the same networks: a gain adds no parameter to the model
    trace = poutine.trace(model).get_trace(batch)
    assert trace.nodes["edge_gain"]["value"].shape == (3, model.n_edges)
    assert trace.nodes["edge_gain"]["fn"].event_shape == (model.n_edges,)
    assert "edge_gain" not in poutine.trace(plain).get_trace(batch).nodes
    fixed = {name: trace.nodes[name]["value"] for name in ("edge_logit", "response", "weekly")}
    with torch.no_grad():
        base = poutine.condition(plain, data=fixed)(batch)
        ones = poutine.condition(model, data={**fixed, "edge_gain": torch.zeros(3, model.n_edges)})(batch)
        torch.testing.assert_close(ones.loc, base.loc, rtol=0, atol=0)
        # a gain on c1 -> pv moves pv alone, and as the edge's own z scaled by the gain does
        k = int(((model.edge_index[:, 0] == 1) & (model.edge_index[:, 1] == 3)).nonzero())
        gain = torch.zeros(3, model.n_edges)
        gain[:, k] = np.log(3.0)
        moved = poutine.condition(model, data={**fixed, "edge_gain": gain})(batch)
        z = trace.nodes["graph"]["value"].clone()
        z[:, 1, 3] *= 3.0
        u, weekly = fixed["response"], fixed["weekly"]
        expected, _ = model.one_step_means(batch.x, u, z, batch.calendar, weekly)
    torch.testing.assert_close(moved.loc, expected.loc)
    diff = (moved.loc - base.loc).abs().amax(dim=(0, 1))
    assert diff[3] > 1e-4 and torch.all(diff[[0, 1, 2, 4]] == 0)


def test_a_learned_gain_scale_is_the_gain_priors_scale():
    """``learn_gain_scale``: the log gains' prior scale is a model parameter starting at ``edge_gain``, and the prior
    of the ``edge_gain`` site follows it; a fixed scale adds no parameter, and a learned one needs a starting scale."""
    with pytest.raises(InputError, match="learn_gain_scale"):
        CausalMMMSpec(learn_gain_scale=True)
    model, batch = make_model(edge_gain=0.4, learn_gain_scale=True), make_batch()
    assert "log_gain_scale" in dict(model.named_parameters())
    assert "log_gain_scale" not in dict(make_model(edge_gain=0.4).named_parameters())
    prior = poutine.trace(model).get_trace(batch).nodes["edge_gain"]["fn"]
    torch.testing.assert_close(prior.base_dist.scale, torch.full((3, model.n_edges), 0.4))
    with torch.no_grad():
        model.log_gain_scale.fill_(float(np.log(0.05)))
    prior = poutine.trace(model).get_trace(batch).nodes["edge_gain"]["fn"]
    torch.testing.assert_close(prior.base_dist.scale, torch.full((3, model.n_edges), 0.05))


def test_additive_response_adds_each_shops_effect_sizes_to_its_mediators_and_target():
    """With ``additive`` every shop and candidate edge into a mediator or the target has a log effect size (a latent
    site around the population's); the prediction is the decoder's baseline (its own past net of the contributions,
    no messages into those nodes) plus Σ_i z_ij β_ij s_i(t)."""
    with pytest.raises(InputError, match="additive_scale"):
        CausalMMMSpec(additive="level", additive_scale=0.0)
    with pytest.raises(InputError, match="additive must be one of"):
        CausalMMMSpec(additive="both")
    model, batch = make_model(additive="level"), make_batch()
    trace = poutine.trace(model).get_trace(batch)
    into = model.edge_index[:, 1]
    assert torch.equal(model.additive_edges, into >= 3)  # edges into pv and gmv
    assert trace.nodes["edge_beta"]["value"].shape == (3, int((into >= 3).sum()))
    assert "edge_beta" not in poutine.trace(make_model()).get_trace(batch).nodes
    z = trace.nodes["graph"]["value"]
    u = trace.nodes["response"]["value"]
    additive = model.additive_matrix(z, trace.nodes["edge_beta"]["value"])
    assert torch.all(additive[:, :, :3] == 0) and torch.all(additive[:, :, 3:] >= 0)
    with torch.no_grad():
        pred, _ = model.one_step_means(batch.x, u, z, batch.calendar, additive=additive)
        s = model.signals(batch.x, u)
        carried = torch.einsum("bit,bij->btj", s, additive)
        held = torch.cat([carried[:, :1], carried[:, :-1]], dim=1)
        cut = z.clone()
        cut[..., 3:] = 0.0
        base, _ = model.decoder(batch.x - held, s, cut, batch.calendar.expand(3, -1, -1))
    torch.testing.assert_close(pred.loc, base.loc + carried)
    torch.testing.assert_close(pred.loc[..., :3], base.loc[..., :3])  # channels: no contribution


def test_an_additive_effect_on_the_target_has_its_closed_form_in_a_rollout():
    """With the graph reduced to c0 -> gmv, switching c0 off in a plan changes the target's path by exactly
    β · (s_c0 under the plan − s_c0 switched off) of the day before, and nothing else: the same draws and noise."""
    model, batch = make_model(additive="level"), make_batch(shops=2)
    horizon = 4
    cal = torch.randn(horizon, 6)
    pyro.set_rng_seed(2)
    tr = poutine.trace(model.rollout).get_trace(batch, cal, horizon)
    fixed = {name: site["value"] for name, site in tr.nodes.items() if site["type"] == "sample"
             and name in LATENT_SITES}
    graph = torch.zeros(2, 5, 5)
    graph[:, 0, 4] = 1.0
    plan = torch.rand(horizon, 2, 3) + 0.5

    def run(c0):
        p = plan.clone()
        p[:, :, 0] = c0
        data = {"graph": graph, **{f"channels_{k}": p[k] for k in range(horizon)}}
        pyro.set_rng_seed(11)
        with torch.no_grad():
            return poutine.do(poutine.condition(model.rollout, data=fixed), data=data)(batch, cal, horizon)

    on, off = run(plan[:, :, 0]), run(torch.zeros(horizon, 2))
    beta = model.additive_matrix(graph, fixed["edge_beta"])[:, 0, 4]  # (shop,)
    u = fixed["response"]
    signal = {}
    for name, path in (("on", on), ("off", off)):
        x = torch.cat([batch.x, path.transpose(0, 1)], dim=1)  # (shop, time, node)
        signal[name] = model.signals(x, u)[:, 0, batch.x.shape[1] - 1 : -1]  # c0's signal on the days before
    expected = beta[:, None] * (signal["on"] - signal["off"])  # (shop, day)
    torch.testing.assert_close((on - off)[..., 4].T, expected, atol=1e-5, rtol=1e-5)
    assert torch.all((on - off)[..., 1:4] == 0)  # c0 itself is the plan
    assert torch.all(expected[:, 0] == 0) and expected[:, 1:].abs().min() > 1e-4  # day 1 reads the history


@pytest.mark.parametrize("form", ["level", "drive"])
def test_an_additive_rollout_predicts_each_day_as_the_teacher_forced_pass_over_its_own_path(form):
    """The rollout's contributions (and, for ``"level"``, its baseline: its own past net of them) give, for each
    future day, the locations of the mediator and the target that the teacher-forced pass gives on the history
    extended by the path."""
    model, batch = make_model(additive=form), make_batch(shops=2, days=30)
    horizon = 4
    cal = torch.randn(horizon, 6)
    pyro.set_rng_seed(5)
    with torch.no_grad():
        tr = poutine.trace(model.rollout).get_trace(batch, cal, horizon)
        full = torch.cat([batch.x, tr.nodes["_RETURN"]["value"].transpose(0, 1)], dim=1)
        z, u = tr.nodes["graph"]["value"], tr.nodes["response"]["value"]
        additive = model.additive_matrix(z, tr.nodes["edge_beta"]["value"])
        calendar = torch.cat([batch.calendar, cal])
        for k in range(horizon):
            t = batch.x.shape[1] + k
            pred, _ = model.one_step_means(full[:, :t], u, z, calendar[:t], tr.nodes["weekly"]["value"], cal[k],
                                           last_only=True, additive=additive)
            for site, cols in (("mediators", slice(3, 4)), ("target", slice(4, 5))):
                loc = tr.nodes[f"{site}_{k}"]["fn"].base_dist.pred.loc
                torch.testing.assert_close(loc, pred.loc[:, -1, cols], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("start", [0, 9])
def test_a_free_running_path_is_the_teacher_forced_pass_over_its_own_means(start):
    """Each day of a path (mediator and target fed their own predicted locations, channels observed) is the
    teacher-forced prediction on the series whose mediator and target hold the path's earlier days; the channels'
    entries and everything before the path's start are untouched."""
    model, batch = make_model(), make_batch(shops=2, days=30)
    horizon = 6
    z = torch.rand(2, 5, 5) * torch.as_tensor(model.rho > 0, dtype=torch.float32)
    u = torch.randn(2, 5, model.spec.response.size) * 0.3
    weekly = model.weekly_prior(torch.Size([2])).sample()
    x = batch.x[:, : start + horizon + 1]  # room for one path from day `start`
    cal = batch.calendar[: x.shape[1]]
    with torch.no_grad():
        pred, states = model.one_step_means(x, u, z, cal, weekly, all_states=True)
        path, starts = model.path_means(x, u, z, cal, weekly, pred, states, start, horizon)
        assert starts.tolist() == [start] and path.shape == (2, 1, horizon - 1, 5)
        fed = x.clone()
        fed[:, start + 1, 3:] = pred.loc[:, start, 3:]
        for j in range(1, horizon):
            forced, _ = model.one_step_means(fed, u, z, cal, weekly)
            torch.testing.assert_close(path[:, 0, j - 1, 3:], forced.loc[:, start + j, 3:], atol=1e-5, rtol=1e-5)
            if start + j + 1 < x.shape[1]:
                fed[:, start + j + 1, 3:] = path[:, 0, j - 1, 3:]
        torch.testing.assert_close(path[:, 0, :, :3], forced.loc[:, start + 1 : start + horizon, :3])
    # the paths that fit a longer series start every `horizon` days and end on its last day at the latest
    with torch.no_grad():
        pred, states = model.one_step_means(batch.x, u, z, batch.calendar, weekly, all_states=True)
        path, starts = model.path_means(batch.x, u, z, batch.calendar, weekly, pred, states, 2, horizon)
    assert starts.tolist() == [2, 8, 14, 20] and path.shape == (2, 4, horizon - 1, 5)


def test_multistep_paths_add_a_scored_site_for_the_mediators_and_the_target():
    """With ``multistep`` the model scores an ``x_path`` site (mediator and target only, where observed) beside the
    one-step likelihood, weighted by ``multistep_weight``; without it there is none."""
    model, batch = make_model(), make_batch(shops=2, days=30)
    batch.score_from = 3
    assert "x_path" not in poutine.trace(model).get_trace(batch).nodes
    batch.multistep = 7
    batch.observed[0, 20, 4] = False
    pyro.set_rng_seed(0)
    tr = poutine.trace(model).get_trace(batch)
    site = tr.nodes["x_path"]
    assert site["value"].shape == (2, 3, 6, 2)  # shop, path (days 2, 9, 16), day 2..7 of a path, (pv, gmv)
    mask = site["fn"].base_dist._mask
    assert mask.sum() == 2 * 3 * 6 * 2 - 1
    assert not mask[0, 2, 2, 1]  # day 20: day t0 + 4 of the path from t0 = 16, gmv
    batch.multistep_weight = 0.5
    pyro.set_rng_seed(0)
    half = poutine.trace(model).get_trace(batch)
    half.compute_log_prob()
    tr.compute_log_prob()
    torch.testing.assert_close(half.nodes["x_path"]["log_prob_sum"], 0.5 * tr.nodes["x_path"]["log_prob_sum"])


@pytest.mark.parametrize("bad", [{"multistep": -1}, {"multistep_weight": -0.5}])
def test_multistep_settings_are_validated(bad):
    with pytest.raises(InputError, match=next(iter(bad))):
        CausalMMMInference(**bad)


def test_multistep_paths_refuse_the_additive_response():
    from causalmmm_ppl.models.settings import CausalMMMSettings

    with pytest.raises(InputError, match="additive"):
        CausalMMMSettings.of(multistep=14, additive="level")
    assert CausalMMMSettings.of(multistep=1, additive="level").inference.multistep == 1


def test_the_message_weight_prior_left_to_the_panel_is_set_by_its_number_of_shops():
    """``edge_weight_prior`` None (the default) becomes σ = 0.3 below ``FEW_SHOPS`` shops and no prior from there
    on; a value set by the user stays whatever the panel's size."""
    spec = CausalMMMSpec()
    assert spec.edge_weight_prior is None
    assert spec.for_shops(1).edge_weight_prior == FEW_SHOPS_WEIGHT_PRIOR == 0.3
    assert spec.for_shops(FEW_SHOPS - 1).edge_weight_prior == FEW_SHOPS_WEIGHT_PRIOR
    assert spec.for_shops(FEW_SHOPS).edge_weight_prior == 0.0
    for chosen in (0.0, 1.0):
        assert CausalMMMSpec(edge_weight_prior=chosen).for_shops(1).edge_weight_prior == chosen
        assert CausalMMMSpec(edge_weight_prior=chosen).for_shops(500).edge_weight_prior == chosen
    assert CausalMMMSpec.from_dict({"edge_weight_prior": None}).edge_weight_prior is None
    # a model built from the spec left open has no prior site
    assert "edge_weight_prior" not in poutine.trace(make_model()).get_trace(make_batch()).nodes


def test_a_message_weight_prior_is_counted_once_per_panel():
    """``edge_weight_prior`` σ: one factor site outside the shop plate, log p(W) of Normal(0, σ²) up to a constant, the
    same whichever shops a minibatch holds (a global's prior is not rescaled by the plate); none without it."""
    with pytest.raises(InputError, match="edge_weight_prior"):
        CausalMMMSpec(edge_weight_prior=-1.0)
    model, batch = make_model(edge_weight_prior=0.5), make_batch()
    site = poutine.trace(model).get_trace(batch).nodes["edge_weight_prior"]
    w = model.decoder.edge_weight.detach()
    expected = dist.Normal(0.0, 0.5).log_prob(w).sum() - dist.Normal(0.0, 0.5).log_prob(torch.zeros_like(w)).sum()
    torch.testing.assert_close(site["fn"].log_prob(site["value"]).detach(), expected)
    assert site["cond_indep_stack"] == ()
    one_shop = dataclasses.replace(batch, x=batch.x[:1], observed=batch.observed[:1], context=batch.context[:1],
                                   shop_idx=batch.shop_idx[:1])
    again = poutine.trace(model).get_trace(one_shop).nodes["edge_weight_prior"]
    torch.testing.assert_close(again["fn"].log_prob(again["value"]), site["fn"].log_prob(site["value"]))
    assert "edge_weight_prior" not in poutine.trace(make_model()).get_trace(batch).nodes
