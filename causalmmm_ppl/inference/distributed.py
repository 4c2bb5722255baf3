"""Data-parallel SVI over ``torch.distributed``: each process trains on its own shard of shops.

A fit started by ``torchrun`` (or by ``causalmmm fit --nproc N``, which launches it) runs one process per rank.
Every process reads the panel and prepares it as a one-process fit does; process ``r`` of ``W`` then draws its
minibatches from shops ``r, r + W, r + 2W, …`` only. Its shop plate has size ``W × |shard|`` (the panel's size when
``W`` divides it), so each process's minibatch stands for the whole panel, and the mean of the ``W`` ELBO gradients,
one ``all_reduce`` of every gradient flattened into one buffer per step, is the gradient of one minibatch made of
their union. The optimiser then takes the same step on every process, so the parameters stay equal without being
sent again. Process 0 writes checkpoints (with every process's random state) and, after training, computes and
writes the outputs alone.

Gloo is the backend on CPUs, NCCL on GPUs (``torch.distributed.init_process_group`` reads the rendezvous from the
environment that ``torchrun`` sets: ``RANK``, ``WORLD_SIZE``, ``MASTER_ADDR``, ``MASTER_PORT``).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
import numpy as np
import torch
import torch.distributed as dist

SEED_STRIDE = 7919  # process r seeds its minibatches and guide draws with seed + r * SEED_STRIDE


@dataclass(frozen=True)
class Shard:
    """This process's place among the fit's processes.

    Attributes
    ----------
    rank : this process (0 … world − 1); world : the number of processes
    local : whether this process's training data holds its own shops only (a fit read shard by shard,
        :mod:`causalmmm_ppl.inference.causalmmm_shards`), rather than the whole panel
    """

    rank: int = 0
    world: int = 1
    local: bool = False

    @classmethod
    def from_env(cls) -> "Shard":
        """The shard ``torchrun`` describes in ``RANK`` / ``WORLD_SIZE`` (one process when they are unset)."""
        world = int(os.environ.get("WORLD_SIZE", "1") or 1)
        rank = int(os.environ.get("RANK", "0") or 0)
        return cls(rank, world)

    @property
    def is_main(self) -> bool:
        """Whether this process writes checkpoints and outputs."""
        return self.rank == 0

    @property
    def parallel(self) -> bool:
        return self.world > 1

    def shops(self, n_shops: int) -> np.ndarray:
        """Positions of this process's shops among ``n_shops``: ``rank, rank + world, …``."""
        return np.arange(self.rank, n_shops, self.world)

    def pool(self, n_rows: int) -> np.ndarray:
        """The rows of this process's training data that it draws its minibatches from: every row when the data
        holds its own shops only (``local``), else its shops among the whole panel's (:meth:`shops`)."""
        return np.arange(n_rows) if self.local else self.shops(n_rows)

    def seed(self, seed: int) -> int:
        """This process's seed for minibatches and guide draws (``seed`` itself on process 0)."""
        return seed + self.rank * SEED_STRIDE


def init(shard: Shard, device: str = "cpu") -> None:
    """Join the process group of a ``torchrun`` launch; nothing for one process. On GPUs, tensors on the GPU go
    through NCCL and those on the CPU (the features while they are prepared, the random states) through gloo."""
    if shard.parallel and not dist.is_initialized():
        dist.init_process_group("cpu:gloo,cuda:nccl" if device.startswith("cuda") else "gloo")


def training_device(device: str, shard: Shard) -> torch.device:
    """Where this process trains: ``cpu``, or with ``cuda`` the GPU of its local rank (``LOCAL_RANK``, set by
    ``torchrun``). ValueError naming ``--device`` when no GPU is available."""
    if device == "cpu":
        return torch.device("cpu")
    if device != "cuda":
        raise ValueError(f"--device {device!r}: expected cpu or cuda")
    if not torch.cuda.is_available():
        raise ValueError("--device cuda: no CUDA device is available to torch on this machine")
    local = int(os.environ.get("LOCAL_RANK", "0") or 0) if shard.parallel else 0
    gpu = torch.device("cuda", local % torch.cuda.device_count())
    torch.cuda.set_device(gpu)
    return gpu


def finish(shard: Shard) -> None:
    """Leave the process group (after training, before process 0 computes the outputs alone)."""
    if shard.parallel and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


class GradientAverager:
    """Averages the gradients and the loss of one SVI step over the processes, in one ``all_reduce``.

    ``seconds`` accumulates the time spent in the reduction (the communication share of a step).
    """

    def __init__(self, shard: Shard) -> None:
        self.shard = shard
        self.seconds = 0.0

    def __call__(self, params: list[torch.Tensor], loss: float) -> float:
        """Replace each parameter's gradient by its mean over the processes; return the mean loss.

        Parameters
        ----------
        params : the step's unconstrained parameters, in the same order on every process (sorted by name)
        loss : this process's loss estimate (NaN where its step failed: every process then sees NaN)
        """
        if not self.shard.parallel:
            return loss
        grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
        flat = torch.cat([g.reshape(-1) for g in grads] + [torch.tensor([loss], dtype=params[0].dtype,
                                                                        device=params[0].device)])
        t0 = time.perf_counter()
        dist.all_reduce(flat, op=dist.ReduceOp.SUM)
        self.seconds += time.perf_counter() - t0
        flat /= self.shard.world
        offset = 0
        for p, g in zip(params, grads):
            n = g.numel()
            p.grad = flat[offset:offset + n].view_as(p).clone()
            offset += n
        return float(flat[-1])


def gather_shops(local: torch.Tensor, shard: Shard, n_shops: int | None = None) -> torch.Tensor:
    """The whole panel's rows from every process's own: ``local: (shard shop, ...)`` holds this process's shops
    (:meth:`Shard.shops`, in order) → ``(shop, ...)`` on every process (``local`` itself for one process);
    ``n_shops``: the panel's shops (None: the sum of the processes' rows)."""
    if not shard.parallel:
        return local
    if n_shops is None:
        n_shops = int(all_sum(shard, [local.shape[0]])[0])
    most = -(-n_shops // shard.world)
    padded = torch.zeros((most, *local.shape[1:]), dtype=local.dtype)
    padded[: local.shape[0]] = local
    parts = [torch.empty_like(padded) for _ in range(shard.world)]
    dist.all_gather(parts, padded)
    out = torch.empty((n_shops, *local.shape[1:]), dtype=local.dtype)
    for rank, part in enumerate(parts):
        rows = Shard(rank, shard.world).shops(n_shops)
        out[rows] = part[: rows.size]
    return out


def all_sum(shard: Shard, values: np.ndarray) -> np.ndarray:
    """The sum over the processes of every process's ``values`` (float64, any shape; ``values`` for one
    process)."""
    values = np.asarray(values, dtype=np.float64)
    if not shard.parallel:
        return values
    total = torch.as_tensor(values.copy())
    dist.all_reduce(total, op=dist.ReduceOp.SUM)
    return total.numpy()


def barrier(shard: Shard) -> None:
    """Wait for every process (e.g. until process 0 has written a checkpoint that the others may read)."""
    if shard.parallel:
        dist.barrier()


def gather(shard: Shard, obj: object) -> list[object]:
    """Every process's ``obj``, in rank order (``[obj]`` for one process)."""
    if not shard.parallel:
        return [obj]
    out: list[object] = [None] * shard.world
    dist.all_gather_object(out, obj)
    return out

