"""SVI restarts: the fit keeps the run with the highest full-panel ELBO, run k trains from seed + k, checkpoints of
later runs live in their own folders, and one-process fits only; a collapsed run (its encoder's edges at the prior)
gets a further run, as many as ``collapse_restarts`` allows."""

from __future__ import annotations

import numpy as np
import pytest

from causalmmm_ppl.data.simulate import simulate
from causalmmm_ppl.errors import InputError
from causalmmm_ppl.inference.causalmmm_fit import CausalMMMFit, fit_causalmmm
from causalmmm_ppl.inference.causalmmm_pooling import bernoulli_kl, edge_information
from causalmmm_ppl.inference.distributed import Shard
from causalmmm_ppl.inference.svi import evaluation_loss
from causalmmm_ppl.models.settings import CausalMMMSettings
from hypothesis import given
from hypothesis import strategies as st

#: one run, and the best run kept where there are more: what these tests check (12 shops would mix two by default)
TINY = dict(steps=25, batch_shops=8, window=32, num_draws=8, collapse_restarts=0, restarts=1, keep_runs="best")


@pytest.fixture(scope="module")
def panel():
    return simulate("sim1", n_shops=12, n_days=45, seed=4).panel


def test_the_run_with_the_higher_elbo_is_kept(panel, tmp_path):
    runs = [fit_causalmmm(panel, CausalMMMSettings.of(**TINY), seed=s, progress=False) for s in (7, 8)]
    losses = [evaluation_loss(f.model, f.guide, f.training_data(), f.spec, seed=7) for f in runs]
    assert losses[0] != losses[1]
    best = runs[int(np.argmin(losses))]
    spec = CausalMMMSettings.of(**{**TINY, "restarts": 2}, checkpoint_every=10)
    both = fit_causalmmm(panel, spec, seed=7, progress=False, checkpoint_dir=tmp_path)
    np.testing.assert_array_equal(both.edge_probability_array(), best.edge_probability_array())
    assert both.log.loss == best.log.loss
    assert both.seed == 7  # outputs stay seeded by the fit's seed
    assert (tmp_path / "checkpoint.safetensors").exists() and (tmp_path / "restart1" / "checkpoint.safetensors").exists()


def test_evaluation_loss_is_seeded_and_leaves_pyro_rng_alone(panel):
    import pyro
    import torch

    fit = fit_causalmmm(panel, CausalMMMSettings.of(**TINY), seed=1, progress=False)
    pyro.set_rng_seed(99)
    before = torch.rand(3)
    pyro.set_rng_seed(99)
    a = evaluation_loss(fit.model, fit.guide, fit.training_data(), fit.spec, seed=5)
    after = torch.rand(3)
    b = evaluation_loss(fit.model, fit.guide, fit.training_data(), fit.spec, seed=5)
    assert a == b and np.isfinite(a)
    assert torch.equal(before, after)


def test_restarts_need_one_process(panel):
    with pytest.raises(InputError, match="restarts = 2"):
        fit_causalmmm(panel, CausalMMMSettings.of(**{**TINY, "restarts": 2}), seed=0, progress=False, shard=Shard(0, 2))
    with pytest.raises(InputError, match="restarts"):
        CausalMMMSettings.of(restarts=0)
    with pytest.raises(InputError, match="collapse_restarts"):
        CausalMMMSettings.of(collapse_restarts=-1)


def test_a_collapsed_run_gets_one_more_run_and_the_better_one_is_kept(panel, tmp_path):
    """Below ``collapse_information`` (here: every run) the fit trains seed + 1 too and keeps the lower loss, as
    ``restarts = 2`` does; at 0 no run counts as collapsed; the runs are recorded and read back with the run."""
    both = fit_causalmmm(panel, CausalMMMSettings.of(**{**TINY, "restarts": 2}), seed=7, progress=False)
    spec = CausalMMMSettings.of(**{**TINY, "collapse_restarts": 1}, collapse_information=10.0)
    again = fit_causalmmm(panel, spec, seed=7, progress=False)
    np.testing.assert_array_equal(again.edge_probability_array(), both.edge_probability_array())
    assert [run["seed"] for run in again.svi_runs] == [7, 8]
    assert sum(run["kept"] for run in again.svi_runs) == 1
    kept = next(run for run in again.svi_runs if run["kept"])
    assert kept["loss"] == min(run["loss"] for run in again.svi_runs)
    assert again.run_seeds == (kept["seed"],)  # the best run alone is kept
    info = edge_information(again.model, again.guide, again.training_data(), again.spec)
    assert kept["edge_information"] == pytest.approx(info) and info > 0
    assert "2 SVI runs" in again.svi_runs_note() and "(kept)" in again.svi_runs_note()
    again.save(tmp_path / "run")
    assert CausalMMMFit.load(tmp_path / "run").svi_runs == again.svi_runs
    once = fit_causalmmm(panel, spec.replace(collapse_information=0.0), seed=7, progress=False)
    assert len(once.svi_runs) == 1 and once.svi_runs[0]["loss"] is None and once.svi_runs_note() == ""
    assert once.run_seeds == (7,)


@given(st.floats(-12, 12), st.floats(-8, 8))
def test_bernoulli_kl_is_the_kl_of_the_two_bernoullis(logit, prior):
    import torch

    got = bernoulli_kl(torch.tensor(logit, dtype=torch.float64), torch.tensor(prior, dtype=torch.float64))
    want = torch.distributions.kl_divergence(torch.distributions.Bernoulli(logits=torch.tensor(logit)),
                                             torch.distributions.Bernoulli(logits=torch.tensor(prior)))
    assert float(got) == pytest.approx(float(want), rel=1e-4, abs=1e-6)
    assert float(got) >= -1e-12
    assert float(bernoulli_kl(torch.tensor(prior), torch.tensor(prior))) == pytest.approx(0.0, abs=1e-6)
