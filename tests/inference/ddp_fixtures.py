"""What the data-parallel tests share with their ``torchrun`` worker (``_ddp_worker.py``): a tiny panel, its model
and guide, and an SVI objective with the latents held fixed, so that a gradient does not depend on which process drew
which shop's noise."""

from __future__ import annotations

import numpy as np
import pyro
import torch
from pyro import poutine

from causalmmm_ppl.data.simulate import simulate
from causalmmm_ppl.inference.causalmmm_setup import training_setup
from causalmmm_ppl.models.settings import CausalMMMSettings

N_SHOPS = 4


def spec() -> CausalMMMSettings:
    return CausalMMMSettings.of(steps=6, batch_shops=4, window=24, num_draws=8, checkpoint_every=3)


def setup(shard=None):
    """Model, guide and prepared data of a 4-shop sim1 panel, weights seeded alike on every process (``shard``: the
    processes share out the features)."""
    panel = simulate("sim1", n_shops=N_SHOPS, n_days=40, seed=1).panel
    s = training_setup(panel, spec(), seed=0, shard=shard)
    return s.model, s.guide, s.data


def fixed_latents(model, guide, data) -> dict[str, torch.Tensor]:
    """One draw of every latent site for all shops ``(shop, ...)``, from the guide on the whole panel."""
    pyro.clear_param_store()
    pyro.set_rng_seed(0)
    trace = poutine.trace(guide).get_trace(data.full_batch())
    return {name: site["value"].detach() for name, site in trace.nodes.items()
            if site["type"] == "sample" and not site["is_observed"]}


class FixedLatentELBO:
    """−(log p(x, z) − log q(z)) at fixed latents z, for the minibatch's shops: the ELBO's score without the
    draw, deterministic, with the shop plate's scaling as in SVI."""

    def __init__(self, latents: dict[str, torch.Tensor], shops: np.ndarray) -> None:
        self.values = {k: v[torch.as_tensor(shops)] for k, v in latents.items()}

    def loss_and_grads(self, model, guide, batch) -> float:
        q = poutine.trace(poutine.condition(guide, self.values)).get_trace(batch)
        p = poutine.trace(poutine.condition(model, self.values)).get_trace(batch)
        loss = -(p.log_prob_sum() - q.log_prob_sum())
        loss.backward()
        return float(loss.detach())


class RecordingOptim:
    """Stands in for the optimiser: keeps each parameter's (averaged) gradient instead of stepping."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self.grads: list[np.ndarray] = []

    def __call__(self, params) -> None:
        store = pyro.get_param_store()
        self.names = [store.param_name(p) for p in params]
        self.grads = [p.grad.detach().numpy().copy() for p in params]
