"""The per-node observation model: hurdle log-scale spend for channels, location-scale for the other nodes."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import pyro.distributions as dist

from causalmmm_ppl.errors import InputError
from causalmmm_ppl.models.likelihood import NodeLikelihood, Prediction
from causalmmm_ppl.models.spec import CausalMMMSpec

HURDLE = torch.tensor([True, True, False])


def make(loc, on_logit, scale=(0.3, 0.5, 0.2), df=5.0) -> NodeLikelihood:
    pred = Prediction(torch.as_tensor(loc, dtype=torch.float64), torch.as_tensor(on_logit, dtype=torch.float64))
    return NodeLikelihood(pred, torch.tensor(scale, dtype=torch.float64), HURDLE, df)


def test_log_prob_is_the_hurdle_for_channels_and_student_t_elsewhere():
    d = make([0.2, -0.1, 1.0], [1.5, -0.5, 3.0])
    value = torch.tensor([1.7, 0.0, 0.8], dtype=torch.float64)
    lp = d.log_prob(value)
    t = dist.StudentT(torch.tensor(5.0, dtype=torch.float64), torch.tensor(0.2, dtype=torch.float64),
                      torch.tensor(0.3, dtype=torch.float64))
    on = math.log(1 / (1 + math.exp(-1.5)))
    assert lp[0].item() == pytest.approx(on + t.log_prob(torch.tensor(math.log(1.7), dtype=torch.float64)).item()
                                         - math.log(1.7))
    assert lp[1].item() == pytest.approx(math.log(1 - 1 / (1 + math.exp(0.5))))  # off: log(1 - sigmoid(l))
    t3 = dist.StudentT(torch.tensor(5.0, dtype=torch.float64), torch.tensor(1.0, dtype=torch.float64),
                       torch.tensor(0.2, dtype=torch.float64))
    assert lp[2].item() == pytest.approx(t3.log_prob(torch.tensor(0.8, dtype=torch.float64)).item())
    # the on-logit does not touch non-hurdle nodes
    assert make([0.2, -0.1, 1.0], [1.5, -0.5, -9.0]).log_prob(value)[2] == lp[2]


@settings(max_examples=25, deadline=None)
@given(loc=st.floats(-2.0, 2.0), on_logit=st.floats(-4.0, 4.0), scale=st.floats(0.1, 1.0),
       normal=st.booleans())
def test_hurdle_density_is_normalised(loc, on_logit, scale, normal):
    """P(x = 0) + ∫_{x > 0} p(x) dx = 1 (integrated on log-spend, where it is smooth)."""
    d = NodeLikelihood(Prediction(torch.tensor([loc], dtype=torch.float64), torch.tensor([on_logit], dtype=torch.float64)),
                       torch.tensor([scale], dtype=torch.float64), torch.tensor([True]), None if normal else 5.0)
    y = torch.linspace(loc - 60 * scale, loc + 60 * scale, 40001, dtype=torch.float64)
    x = torch.exp(y).unsqueeze(-1)
    dens = torch.exp(d.log_prob(x)).squeeze(-1) * x.squeeze(-1)  # change of variables x = e^y
    positive = torch.trapezoid(dens, y).item()
    zero = torch.exp(d.log_prob(torch.zeros(1, dtype=torch.float64))).item()
    assert positive + zero == pytest.approx(1.0, abs=2e-3)


def test_samples_follow_the_hurdle():
    torch.manual_seed(0)
    d = NodeLikelihood(Prediction(torch.tensor([0.3, 0.5]), torch.tensor([0.8, 0.0])), torch.tensor([0.4, 0.2]),
                       torch.tensor([True, False]), None)
    x = d.sample((20000,))
    assert x.shape == (20000, 2)
    off = (x[:, 0] == 0).float().mean().item()
    assert off == pytest.approx(1 - 1 / (1 + math.exp(-0.8)), abs=0.015)
    logs = x[:, 0][x[:, 0] > 0].log()
    assert logs.mean().item() == pytest.approx(0.3, abs=0.02)
    assert logs.std().item() == pytest.approx(0.4, abs=0.02)
    assert x[:, 1].mean().item() == pytest.approx(0.5, abs=0.01)  # not a hurdle node: plain Normal, zeros unlikely
    assert (x[:, 1] < 0).any()


def test_select_and_expand_keep_nodes_aligned():
    d = make([[0.2, -0.1, 1.0]], [[1.5, -0.5, 3.0]])
    sub = d.select(torch.tensor([False, True, True]))
    value = torch.tensor([[0.0, 0.9]], dtype=torch.float64)
    torch.testing.assert_close(sub.log_prob(value), d.log_prob(torch.tensor([[1.0, 0.0, 0.9]], dtype=torch.float64))[:, 1:])
    big = d.expand((4, 3))
    assert big.batch_shape == (4, 3)
    assert big.log_prob(torch.ones(4, 3, dtype=torch.float64)).shape == (4, 3)


def test_zero_spend_days_give_finite_gradients():
    loc = torch.zeros(2, 5, 3, requires_grad=True)
    on_logit = torch.zeros(2, 5, 3, requires_grad=True)
    d = NodeLikelihood(Prediction(loc, on_logit), torch.full((3,), 0.3), HURDLE, 5.0)
    x = torch.rand(2, 5, 3) * (torch.rand(2, 5, 3) > 0.4)
    d.log_prob(x).sum().backward()
    assert torch.isfinite(loc.grad).all() and torch.isfinite(on_logit.grad).all()
    assert np.count_nonzero(on_logit.grad[..., 2].numpy()) == 0  # the on-logit of a non-hurdle node gets nothing


def test_spend_model_is_validated_and_round_trips():
    with pytest.raises(InputError, match="spend_model"):
        CausalMMMSpec(spend_model="lognormal")
    spec = CausalMMMSpec(spend_model="same")
    assert CausalMMMSpec.from_dict(spec.to_dict()).spend_model == "same"


def test_holds_level_marks_active_days_of_log_nodes_and_every_day_of_the_others():
    from causalmmm_ppl.models.likelihood import holds_level

    x = torch.tensor([[0.0, 2.0], [1.5, 0.0]])  # (time, node): node 0 a log node, node 1 not
    got = holds_level(x, torch.tensor([True, False]))
    assert got.tolist() == [[False, True], [True, True]]
