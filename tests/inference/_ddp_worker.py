"""One process of the data-parallel checks in ``test_distributed.py`` (run by ``torchrun`` with the repository on
``PYTHONPATH``, as the test does; not collected).

Writes ``features_<rank>.npz`` (the encoder's features, each process computing its own shops'), ``grads_<rank>.npz``
(the gradients of one fixed-latent SVI step after averaging over the processes) and
``params_<rank>.npz`` (every parameter after a few steps of data-parallel training), ``resumed_<rank>.npz``
(the same training, stopped after its first checkpoint and resumed) to the folder in ``argv[1]``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from causalmmm_ppl import _runtime

_runtime.configure(1)

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.distributed as dist  # noqa: E402

from causalmmm_ppl.inference import distributed  # noqa: E402
from causalmmm_ppl.inference.distributed import GradientAverager, Shard  # noqa: E402
from causalmmm_ppl.inference.svi import svi_step, train  # noqa: E402

from tests.inference.ddp_fixtures import (  # noqa: E402
    FixedLatentELBO, RecordingOptim, fixed_latents, setup, spec,
)


def main(out: Path) -> None:
    shard = Shard.from_env()
    distributed.init(shard)
    model, guide, data = setup(shard)
    np.savez(out / f"features_{shard.rank}.npz", node=data.features.node.numpy(), edge=data.features.edge.numpy())
    latents = fixed_latents(model, guide, data)
    shops = shard.shops(data.n_shops)
    batch = data.full_batch(shop_idx=torch.as_tensor(shops))
    optim = RecordingOptim()
    loss, error = svi_step(model, guide, optim, FixedLatentELBO(latents, shops), batch, GradientAverager(shard))
    assert not error, error
    np.savez(out / f"grads_{shard.rank}.npz", loss=loss, **dict(zip(optim.names, optim.grads)))

    model, guide, data = setup(shard)
    log = train(model, guide, data, spec(), seed=5, progress=False, shard=shard)
    params = {k: v.detach().numpy() for k, v in {**model.state_dict(), **guide.state_dict()}.items()}
    np.savez(out / f"params_{shard.rank}.npz", loss=np.asarray(log.loss), **params)

    # killed after its first checkpoint (step 3) and resumed: the same weights as the run above
    ckpt = out / "checkpoint"
    if shard.is_main:
        ckpt.mkdir()
    dist.barrier()
    model, guide, data = setup()
    train(model, guide, data, spec(), seed=5, progress=False, shard=shard, checkpoint_dir=ckpt, stop_after=4)
    model, guide, data = setup(shard)
    log = train(model, guide, data, spec(), seed=5, progress=False, shard=shard, checkpoint_dir=ckpt, resume=True)
    params = {k: v.detach().numpy() for k, v in {**model.state_dict(), **guide.state_dict()}.items()}
    np.savez(out / f"resumed_{shard.rank}.npz", loss=np.asarray(log.loss), **params)
    dist.barrier()
    dist.destroy_process_group()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
