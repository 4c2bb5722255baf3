"""Trace smoke test of CausalMMM (Pyro's ``test_trace_smoke`` style): under every model option the guide and the model
have the same latent sites with the same shapes, the guide's draws replay into the model, and the ELBO is finite."""

from __future__ import annotations

import math
import warnings

import pyro
import pytest
import torch
from pyro import poutine
from pyro.infer import Trace_ELBO

from causalmmm_ppl.data.simulate import simulate
from causalmmm_ppl.inference.causalmmm_setup import training_setup
from causalmmm_ppl.models.settings import CausalMMMSettings

OPTIONS = [
    {},
    {"graph_templates": 2},
    {"switching": True},
    {"seasonality": False, "likelihood": "normal", "learn_df": False},
    {"adstock": "delayed", "saturation": "michaelis_menten"},
    {"adstock": "buildup"},
    {"adstock": "geometric"},
    {"adstock": "none", "saturation": "none"},
    {"link": "log1p", "spend_model": "same"},
    {"edge_priors": {"c0->gmv": 1.0, "c1->gmv": 0.0}},
]


@pytest.fixture(scope="module")
def panel():
    return simulate("sim1", n_shops=3, n_days=30, seed=1).panel


def _latent(trace: poutine.Trace) -> dict[str, torch.Size]:
    return {name: site["value"].shape for name, site in trace.nodes.items()
            if site["type"] == "sample" and not site["is_observed"]}


@pytest.mark.parametrize("options", OPTIONS, ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()) or "default")
def test_guide_and_model_traces_agree(panel, options):
    settings = CausalMMMSettings.of(hidden=6, msg_dim=3, encoder_hidden=12, l_max=5, **options)
    setup = training_setup(panel, settings, seed=0)
    batch = setup.data.full_batch(temperature=0.7)
    pyro.set_rng_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Pyro warns of sites the guide and the model do not share
        guide_tr = poutine.trace(setup.guide).get_trace(batch)
        model_tr = poutine.trace(poutine.replay(setup.model, trace=guide_tr)).get_trace(batch)
        loss = Trace_ELBO().loss(setup.model, setup.guide, batch)
    assert _latent(guide_tr) == _latent(model_tr)
    assert {"edge_logit", "response"} <= set(_latent(model_tr))
    observed = [name for name, site in model_tr.nodes.items() if site["type"] == "sample" and site["is_observed"]]
    assert observed, "the model scores the data"
    model_tr.compute_log_prob()
    for name in _latent(model_tr):
        assert torch.isfinite(model_tr.nodes[name]["log_prob"]).all(), name
    assert math.isfinite(loss)
