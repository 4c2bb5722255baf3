"""The ablation switches ``CausalMMMSpec(saturation=..., carryover=...)``: each changes the causes' signal as
intended, in the teacher-forced pass and in the day-by-day rollout alike."""

from __future__ import annotations

import pyro
import pytest
import torch
from pyro import poutine

from causalmmm_ppl.errors import InputError
from causalmmm_ppl.models.causalmmm import CausalMMM, ModelBatch
from causalmmm_ppl.models.components import constrain_response, saturated_carryover
from causalmmm_ppl.models.spec import CausalMMMSpec, edge_prior_matrix
from causalmmm_ppl.transforms import torch_ops

NODES = ("c0", "c1", "pv", "gmv")
KINDS = ("channel", "channel", "mediator", "target")


def _signal(**kw) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    x = torch.zeros(1, 12, 2)
    x[0, 3, 0] = 2.0  # one pulse of spend on day 3 in node 0
    x[0, :, 1] = torch.linspace(0.0, 4.0, 12)
    u = torch.tensor([[[0.5, 0.0, 0.0], [0.5, 0.0, 0.0]]])
    return x, u, saturated_carryover(x, u, l_max=5, **kw)


def test_default_is_hill_of_adstock():
    x, u, s = _signal()
    decay, alpha, gamma = constrain_response(u)
    expected = torch_ops.hill(torch_ops.geometric_adstock(x.transpose(1, 2), decay, 5, normalize=True), alpha, gamma)
    torch.testing.assert_close(s, expected)
    assert torch.all(s < 1)
    assert s[0, 0, 4] > 0  # the pulse carries over to the next day


def test_without_carryover_only_the_day_itself_counts():
    x, u, s = _signal(carryover=False)
    assert s[0, 0, 3] > 0 and torch.all(s[0, 0, 4:] == 0) and torch.all(s[0, 0, :3] == 0)
    _, alpha, gamma = constrain_response(u)
    torch.testing.assert_close(s, torch_ops.hill(x.transpose(1, 2), alpha, gamma))


def test_without_saturation_the_signal_is_linear_in_spend():
    x, u, s = _signal(saturation=False)
    torch.testing.assert_close(saturated_carryover(2 * x, u, l_max=5, saturation=False), 2 * s)
    assert s.max() > 1  # not bounded by the Hill curve
    decay, _, _ = constrain_response(u)
    torch.testing.assert_close(s, torch_ops.geometric_adstock(x.transpose(1, 2), decay, 5, normalize=True))


def test_without_both_the_signal_is_the_value():
    x, u, s = _signal(saturation=False, carryover=False)
    torch.testing.assert_close(s, x.transpose(1, 2))


@pytest.mark.parametrize("saturation,carryover", [(True, True), (False, True), (True, False), (False, False)])
def test_rollout_uses_the_same_signal_as_the_teacher_forced_pass(saturation, carryover):
    """The forecast recurrence recomputes carryover and saturation day by day: its means must equal the teacher-forced
    means on the sampled path, whatever the switches."""
    torch.manual_seed(0)
    spec = CausalMMMSpec(saturation=saturation, carryover=carryover, l_max=4, hidden=6, msg_dim=3)
    rho = edge_prior_matrix(NODES, KINDS, spec.prior_prob)
    model = CausalMMM(NODES, KINDS, n_context=1, n_calendar=6, rho=rho, spec=spec)
    g = torch.Generator().manual_seed(1)
    shops, days, horizon = 2, 20, 4
    batch = ModelBatch(x=torch.rand(shops, days, 4, generator=g) * 2, observed=torch.ones(shops, days, 4, dtype=bool),
                       context=torch.randn(shops, 1, generator=g), calendar=torch.randn(days, 6, generator=g),
                       shop_idx=torch.arange(shops), n_shops=shops)
    cal = torch.randn(horizon, 6, generator=g)
    pyro.set_rng_seed(3)
    with torch.no_grad():
        tr = poutine.trace(model.rollout).get_trace(batch, cal, horizon)
        path = tr.nodes["_RETURN"]["value"]  # (horizon, shop, node)
        z, u = tr.nodes["graph"]["value"], tr.nodes["response"]["value"]
        weekly = tr.nodes["weekly"]["value"]
        x_full = torch.cat([batch.x, path.transpose(0, 1)], dim=1)
        cal_full = torch.cat([batch.calendar, cal], dim=0)
        pred, _ = model.one_step_means(x_full, u, z, cal_full, weekly)
    ch = model.channel_mask
    for k in range(horizon):
        for field in ("loc", "on_logit"):
            got = torch.zeros(shops, 4)
            got[:, ch] = getattr(tr.nodes[f"channels_{k}"]["fn"].base_dist.pred, field)
            got[:, model.mediator_mask] = getattr(tr.nodes[f"mediators_{k}"]["fn"].base_dist.pred, field)
            got[:, -1:] = getattr(tr.nodes[f"target_{k}"]["fn"].base_dist.pred, field)
            torch.testing.assert_close(got, getattr(pred, field)[:, days - 1 + k], atol=1e-4, rtol=1e-4)


def test_switches_are_validated_and_round_trip():
    spec = CausalMMMSpec(saturation=False, carryover=False)
    assert CausalMMMSpec.from_dict(spec.to_dict()) == spec
    with pytest.raises(InputError):
        CausalMMMSpec(saturation="no")
