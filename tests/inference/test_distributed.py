"""Data-parallel SVI (:mod:`causalmmm_ppl.inference.distributed`): two real processes under ``torchrun`` (gloo)
average their gradients to the one-process gradient of the same minibatch, and stay in step while training; the
training device (the GPU test skips where torch sees no GPU)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from causalmmm_ppl.data.simulate import simulate
from causalmmm_ppl.errors import InputError
from causalmmm_ppl.inference import distributed
from causalmmm_ppl.inference.causalmmm_fit import fit_causalmmm
from causalmmm_ppl.inference.distributed import GradientAverager, Shard
from causalmmm_ppl.inference.svi import MinibatchSampler, svi_step
from causalmmm_ppl.models.settings import CausalMMMSettings
from tests.inference.ddp_fixtures import FixedLatentELBO, RecordingOptim, fixed_latents, setup, spec

WORKER = Path(__file__).with_name("_ddp_worker.py")


@pytest.fixture(scope="module")
def two_processes(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ddp")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(WORKER.parents[2])}
    done = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
                           str(WORKER), str(out)], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return out


def one_process_gradient(shops: np.ndarray) -> dict[str, np.ndarray]:
    model, guide, data = setup()
    latents = fixed_latents(model, guide, data)
    optim = RecordingOptim()
    batch = data.full_batch(shop_idx=torch.as_tensor(shops))
    loss, error = svi_step(model, guide, optim, FixedLatentELBO(latents, shops), batch, GradientAverager(Shard()))
    assert not error
    return {"loss": np.asarray(loss), **dict(zip(optim.names, optim.grads))}


def test_processes_share_out_the_features_and_each_receives_all(two_processes):
    _, _, data = setup()
    for rank in (0, 1):
        with np.load(two_processes / f"features_{rank}.npz") as got:
            np.testing.assert_array_equal(got["node"], data.features.node.numpy())
            np.testing.assert_array_equal(got["edge"], data.features.edge.numpy())


def test_averaged_gradients_equal_the_one_process_gradient_of_the_same_minibatch(two_processes):
    whole = one_process_gradient(np.arange(4))
    half = one_process_gradient(np.array([0, 2]))  # what process 0 would step on alone
    assert len(whole) > 10
    for rank in (0, 1):
        with np.load(two_processes / f"grads_{rank}.npz") as got:
            assert set(got.files) == set(whole)
            for name, g in whole.items():
                np.testing.assert_allclose(got[name], g, rtol=2e-4, atol=1e-5 * max(1.0, np.abs(g).max()),
                                           err_msg=name)
    # the check has power: one process's own half differs from the average
    assert any(not np.allclose(half[k], whole[k], rtol=1e-2) for k in whole if k != "loss")


def test_processes_stay_in_step_while_training(two_processes):
    model, guide, _ = setup()
    initial = {k: v.numpy() for k, v in {**model.state_dict(), **guide.state_dict()}.items()}
    with np.load(two_processes / "params_0.npz") as a, np.load(two_processes / "params_1.npz") as b:
        assert set(a.files) == set(b.files) == set(initial) | {"loss"}
        assert np.isfinite(a["loss"]).all() and len(a["loss"]) == spec().inference.steps
        np.testing.assert_array_equal(a["loss"], b["loss"])  # the averaged loss
        for name in a.files:
            np.testing.assert_array_equal(a[name], b[name], err_msg=name)
        assert any(not np.array_equal(a[k], v) for k, v in initial.items()), "training changed no weight"


def test_a_stopped_data_parallel_fit_resumes_where_it_stopped(two_processes):
    """Every process's random state is in the checkpoint: the resumed fit ends with the uninterrupted one's weights."""
    for rank in (0, 1):
        with np.load(two_processes / f"params_{rank}.npz") as a, np.load(two_processes / f"resumed_{rank}.npz") as b:
            assert set(a.files) == set(b.files)
            for name in a.files:
                np.testing.assert_array_equal(a[name], b[name], err_msg=name)


def test_shards_split_the_shops_and_each_minibatch_stands_for_the_panel():
    _, _, data = setup()
    s = spec()
    pools = [MinibatchSampler(data, s, seed=0, shard=Shard(r, 3)) for r in range(3)]  # 4 shops: 2 / 1 / 1
    assert sorted(np.concatenate([p.pool for p in pools]).tolist()) == list(range(4))
    batches = [p.sample(0.5) for p in pools]
    assert [len(b.shop_idx) for b in batches] == [2, 1, 1]  # ceil(4 / 3) = 2, at most the shard
    assert [b.n_shops for b in batches] == [6, 3, 3]  # world × shard: each process's estimate is of the panel
    for p, b in zip(pools, batches):
        assert set(b.shop_idx.tolist()) <= set(p.pool.tolist())
    # one process draws exactly as without a shard
    a, b = MinibatchSampler(data, s, seed=4).sample(0.5), MinibatchSampler(data, s, seed=4, shard=Shard()).sample(0.5)
    assert torch.equal(a.shop_idx, b.shop_idx) and torch.equal(a.x, b.x) and a.n_shops == b.n_shops == 4


def test_more_processes_than_shops_is_refused_before_training():
    panel = simulate("sim1", n_shops=2, n_days=30, seed=0).panel
    with pytest.raises(InputError, match="3 processes for 2 shop"):
        fit_causalmmm(panel, spec(), progress=False, shard=Shard(0, 3))


def test_the_training_device_is_checked_before_any_work():
    assert distributed.training_device("cpu", Shard()) == torch.device("cpu")
    with pytest.raises(ValueError, match="--device 'tpu'"):
        distributed.training_device("tpu", Shard())
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="--device cuda: no CUDA device"):
            distributed.training_device("cuda", Shard())


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_a_fit_trains_on_the_gpu_and_answers_on_the_cpu():
    panel = simulate("sim1", n_shops=6, n_days=60, seed=2).panel
    fit = fit_causalmmm(panel, CausalMMMSettings.of(steps=30, batch_shops=4, window=40, num_draws=8), progress=False,
                        device="cuda")
    assert np.isfinite(fit.log.loss).all() and len(fit.log.loss) == 30
    assert {p.device.type for p in fit.model.parameters()} == {"cpu"}
    probs = fit.edge_probability_array()
    assert np.isfinite(probs).all() and probs.shape == (6, 8, 8)
    cpu = fit_causalmmm(panel, CausalMMMSettings.of(steps=30, batch_shops=4, window=40, num_draws=8), progress=False)
    assert np.abs(probs - cpu.edge_probability_array()).max() < 0.5  # the same model, other random streams
