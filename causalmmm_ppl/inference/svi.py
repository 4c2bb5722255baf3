"""Stochastic variational inference for CausalMMM: minibatches of shops and windows, τ annealing, checkpoints.

One SVI step draws a minibatch of shops (a subsampled ``pyro.plate``) and one window of days per shop (all windows
of a step have the same length and are gathered in one indexing operation), and weights the window's likelihood so
that it stands for the shop's whole series. Checkpoints hold the modules, the optimiser and every random state, so a
resumed fit continues exactly where the killed one stopped.
"""

from __future__ import annotations

import dataclasses
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyro
import torch
from pyro import poutine
from pyro.infer import Trace_ELBO
from pyro.infer.util import zero_grads
from pyro.optim import ClippedAdam, PyroOptim

from causalmmm_ppl._progress import progress as progress_bar
from causalmmm_ppl._tensor_store import load_tree, save_tree
from causalmmm_ppl.errors import InputError
from causalmmm_ppl.inference.distributed import GradientAverager, Shard, barrier, gather, gather_shops
from causalmmm_ppl.inference.features import ShopFeatures
from causalmmm_ppl.models.causalmmm import CausalMMM, ModelBatch
from causalmmm_ppl.models.settings import CausalMMMSettings
from causalmmm_ppl.models.spec import CausalMMMSpec

CHECKPOINT_NAME = "checkpoint.safetensors"
LEGACY_CHECKPOINT_NAME = "checkpoint.pt"  # pickled by earlier versions: never read


@dataclass
class TrainingData:
    """The whole training panel as tensors.

    Attributes
    ----------
    x : (shop, time, node) scaled values; observed : (shop, time, node) bool; valid : (shop, time) bool
    context : (shop, k) standardised; calendar : (time, n_calendar), or (shop, time, n_calendar + control) with
    time-varying controls (:func:`~causalmmm_ppl.inference.causalmmm_data.model_calendar`); features : encoder inputs
    of every shop
    """

    x: torch.Tensor
    observed: torch.Tensor
    valid: torch.Tensor
    context: torch.Tensor
    calendar: torch.Tensor
    features: ShopFeatures

    @property
    def n_shops(self) -> int:
        return self.x.shape[0]

    def to(self, device: torch.device | str) -> "TrainingData":
        """The same panel with every tensor on ``device``."""
        return TrainingData(self.x.to(device), self.observed.to(device), self.valid.to(device),
                            self.context.to(device), self.calendar.to(device), self.features.to(device))

    @property
    def n_time(self) -> int:
        return self.x.shape[1]

    def full_batch(self, shop_idx: torch.Tensor | None = None, temperature: float = 0.5,
                   hard_edges: bool = False) -> ModelBatch:
        """All days of the given shops (default: all shops) as one batch (``hard_edges``: see :class:`ModelBatch`)."""
        idx = torch.arange(self.n_shops) if shop_idx is None else shop_idx
        return ModelBatch(
            x=self.x[idx],
            observed=self.observed[idx],
            context=self.context[idx],
            calendar=self.calendar[idx] if self.calendar.ndim == 3 else self.calendar,
            shop_idx=idx,
            n_shops=self.n_shops,
            score_from=1,
            time_scale=1.0,
            temperature=temperature,
            features=self.features.index(idx),
            hard_edges=hard_edges,
        )


@dataclass
class TrainingLog:
    """ELBO per step (negative loss per observed value is in ``loss``), wall time and steps done; with several
    processes, ``reduce_seconds`` is this process's time in the gradient all-reduce."""

    loss: list[float] = field(default_factory=list)
    seconds: float = 0.0
    steps_done: int = 0
    reduce_seconds: float = 0.0


class MinibatchSampler:
    """Draws (shops, window) minibatches with its own seeded generator.

    Windows have ``window`` scored days preceded by ``burn`` warm-up days (carryover and recurrent state); a shop
    whose series is shorter than a window is used whole. With a :class:`~causalmmm_ppl.inference.distributed.Shard`
    of ``W`` processes, the minibatches hold ``ceil(batch_shops / W)`` shops of this process's shard, in a shop plate
    of ``W × |shard|`` shops (so that each stands for the whole panel); ``data`` holds the whole panel, or only the
    shard where ``shard.local``.
    """

    def __init__(self, data: TrainingData, settings: CausalMMMSettings, seed: int, shard: Shard | None = None) -> None:
        self.data = data
        batch_shops, window, l_max = settings.inference.batch_shops, settings.inference.window, settings.model.l_max
        shard = shard or Shard()
        self.rng = np.random.default_rng(shard.seed(seed))
        self.pool = shard.pool(data.n_shops)  # the rows this process draws from (every process has some)
        self.batch = min(-(-batch_shops // shard.world), self.pool.size)
        self.multistep, self.multistep_weight = settings.inference.multistep, settings.inference.multistep_weight
        self.plate_size = shard.world * self.pool.size
        t = data.n_time
        self.burn = min(l_max, max(0, t - window - 1))
        self.length = min(t, window + self.burn)
        valid = data.valid.cpu().numpy()
        has = valid.any(1)
        first = np.where(has, np.argmax(valid, axis=1), 0)
        last = np.where(has, t - 1 - np.argmax(valid[:, ::-1], axis=1), 0)
        self.first = first
        self.n_starts = np.maximum(1, last - first + 2 - self.length)  # windows inside each shop's range
        n_valid = valid.sum(1)  # (row,)
        if shard.local:  # the whole panel's shops (O(shop) numbers), as a whole-panel fit counts them
            n_valid = gather_shops(torch.as_tensor(n_valid), shard).numpy()
        self.n_scored = float(n_valid.sum())  # the whole panel's valid days: what a step's loss is divided by
        scored = max(1, self.length - max(self.burn, 1))
        self.time_scale = float(np.mean((n_valid.clip(min=2) - 1) / scored))

    def sample(self, temperature: float, kl_weight: float = 1.0) -> ModelBatch:
        n, b = self.pool.size, self.batch
        shops = self.pool[np.sort(self.rng.choice(n, size=b, replace=False)) if b < n else np.arange(n)]
        starts = self.first[shops] + np.floor(self.rng.random(b) * self.n_starts[shops]).astype(int)
        starts = np.minimum(starts, self.data.n_time - self.length)
        t_idx = starts[:, None] + np.arange(self.length)[None, :]  # (shop, window)
        sh = torch.as_tensor(shops, device=self.data.x.device)
        ti = torch.as_tensor(t_idx, device=self.data.x.device)
        cal = self.data.calendar
        cal = cal[sh[:, None], ti] if cal.ndim == 3 else cal[ti]  # (shop, window, n_calendar)
        return ModelBatch(
            x=self.data.x[sh[:, None], ti],
            observed=self.data.observed[sh[:, None], ti],
            context=self.data.context[sh],
            calendar=cal,
            shop_idx=sh,
            n_shops=self.plate_size,
            score_from=max(self.burn, 1),
            time_scale=self.time_scale,
            temperature=temperature,
            kl_weight=kl_weight,
            features=self.data.features.index(sh),
            multistep=self.multistep,
            multistep_weight=self.multistep_weight,
        )


def _save_checkpoint(path: Path, state: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    try:
        save_tree(state, tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _load_checkpoint(ckpt: Path, fingerprint: str) -> dict | None:
    """The checkpoint ``ckpt`` (None if there is none); InputError if it is damaged, from an earlier version, or of
    other data or settings."""
    restart = "drop --resume to start afresh"
    if not ckpt.exists():
        legacy = ckpt.with_name(LEGACY_CHECKPOINT_NAME)
        if legacy.exists():
            raise InputError(f"{legacy}: a checkpoint of an earlier version (pickled, not read); {restart}")
        return None
    state = load_tree(ckpt, hint=restart)
    if not isinstance(state, dict) or state.get("fingerprint", "") != fingerprint:
        raise InputError(f"{ckpt}: the checkpoint belongs to other data or settings; {restart}")
    return state


def svi_step(model: CausalMMM, guide: torch.nn.Module, optim: PyroOptim, elbo: Trace_ELBO, batch: ModelBatch,
             average: GradientAverager) -> tuple[float, str]:
    """One SVI step (as :meth:`pyro.infer.SVI.step`, with the gradients averaged over the processes before the
    optimiser's step).

    Returns
    -------
    loss : the negative ELBO estimate (mean over the processes; NaN where a process's step failed)
    error : what failed on this process ("" when nothing did)
    """
    error = ""
    with poutine.trace(param_only=True) as capture:
        try:
            loss = float(elbo.loss_and_grads(model, guide, batch))
        except ValueError as exc:  # a distribution got non-finite parameters
            loss = float("nan")
            first = " ".join(str(exc).split(" of distribution")[0].split())[:120]
            error = f"invalid distribution parameters: {first}"
    sites = capture.trace.nodes
    params = [sites[name]["value"].unconstrained() for name in sorted(sites)]
    loss = average(params, loss)
    if math.isfinite(loss):
        optim(params)
    zero_grads(set(params))
    return loss, error


def _diverged(step: int, lr: float, what: str) -> InputError:
    return InputError(f"SVI diverged at step {step + 1} ({what}); the data's scale or the settings (e.g. lr "
                      f"{lr:g}) make the fit unstable; check the panel with `causalmmm validate`")


def train(
    model: CausalMMM,
    guide: torch.nn.Module,
    data: TrainingData,
    settings: CausalMMMSettings,
    *,
    seed: int = 0,
    progress: bool = True,
    checkpoint_dir: str | os.PathLike | None = None,
    resume: bool = False,
    stop_after: int | None = None,
    fingerprint: str = "",
    shard: Shard | None = None,
) -> TrainingLog:
    """Fit model and guide by SVI.

    Parameters
    ----------
    model, guide : the Pyro model and its amortized guide (modules, trained in place)
    data : the training panel as tensors
    settings : the inference settings (steps, lr, batch_shops, window, annealing, checkpoint_every) and the model's
        (its final temperature and ``l_max``)
    seed : seeds pyro/torch and the minibatch sampler
    progress : show a progress bar with the running loss
    checkpoint_dir : where ``checkpoint.safetensors`` is written every ``settings.inference.checkpoint_every`` steps
    resume : continue from the checkpoint in ``checkpoint_dir`` if there is one
    stop_after : stop after this many steps in this call (to simulate an interruption in tests)
    fingerprint : identifies settings and data; a checkpoint with another fingerprint is not resumed (InputError)
    shard : this process's place in a data-parallel fit (:mod:`causalmmm_ppl.inference.distributed`); the
        processes must have joined their group. Default: one process

    Returns
    -------
    TrainingLog with the loss per step (negative ELBO divided by the number of scored values)
    """
    shard = shard or Shard()
    pyro.clear_param_store()
    pyro.set_rng_seed(shard.seed(seed))
    inf, temperature = settings.inference, settings.model.temperature
    sampler = MinibatchSampler(data, settings, seed, shard)
    optim = ClippedAdam({"lr": inf.lr, "lrd": 0.1 ** (1.0 / max(1, inf.steps)), "clip_norm": 10.0,
                         "betas": (0.9, 0.99)})
    elbo, average = Trace_ELBO(), GradientAverager(shard)
    log = TrainingLog()
    ckpt = Path(checkpoint_dir) / CHECKPOINT_NAME if checkpoint_dir is not None else None
    state = _load_checkpoint(ckpt, fingerprint + _world_tag(shard)) if resume and ckpt is not None else None
    if state is not None:
        try:
            model.load_state_dict(state["model"])
            guide.load_state_dict(state["guide"])
            # consumed lazily, when the first step creates each parameter's optimiser
            optim.set_state(state["optim"])
            rngs = state["random"][shard.rank]
            sampler.rng.bit_generator.state = rngs["sampler"]
            torch.set_rng_state(rngs["torch"])
            if "cuda" in rngs:
                torch.cuda.set_rng_state(rngs["cuda"], data.x.device)
            log = TrainingLog(**state["log"])
            average.seconds = log.reduce_seconds
        except (KeyError, TypeError, ValueError, RuntimeError, IndexError) as exc:
            raise InputError(f"{ckpt}: a damaged checkpoint ({type(exc).__name__}: {exc}); drop --resume to start "
                             f"afresh") from None
    n_scored = sampler.n_scored
    start = log.steps_done
    t0 = time.perf_counter() - log.seconds
    bar = progress_bar(total=inf.steps, initial=start, disable=not progress, desc="SVI", unit="step", leave=False)
    try:
        for step in range(start, inf.steps):
            if stop_after is not None and step - start >= stop_after:
                break
            batch = sampler.sample(inf.temperature_at(step, temperature), inf.kl_weight_at(step))
            loss, error = svi_step(model, guide, optim, elbo, batch, average)
            loss /= n_scored
            if not math.isfinite(loss):
                raise _diverged(step, inf.lr, error or (f"loss {loss}" if not shard.parallel else
                                                      "non-finite loss on another process"))
            log.loss.append(float(loss))
            log.steps_done = step + 1
            if step % 10 == 0:
                bar.set_postfix(loss=f"{np.mean(log.loss[-50:]):.3f}")
            bar.update(1)
            if ckpt is not None and (log.steps_done % inf.checkpoint_every == 0):
                log.seconds = time.perf_counter() - t0
                log.reduce_seconds = average.seconds
                random = gather(shard, _random_states(sampler, data.x.device))
                if shard.is_main:
                    _save_checkpoint(
                        ckpt,
                        {
                            "model": model.state_dict(),
                            "guide": guide.state_dict(),
                            "optim": optim.get_state(),
                            "random": random,
                            "log": dataclasses.asdict(log),
                            "fingerprint": fingerprint + _world_tag(shard),
                        },
                    )
                barrier(shard)
    finally:
        bar.close()
    log.seconds = time.perf_counter() - t0
    log.reduce_seconds = average.seconds
    return log


def evaluation_loss(model: CausalMMM, guide: torch.nn.Module, data: TrainingData, spec: CausalMMMSpec, seed: int,
                    particles: int = 3, chunk: int = 64) -> float:
    """Negative ELBO of the whole training panel (every shop, every day, at the final temperature) per scored value,
    averaged over ``particles`` estimates: the number :func:`train`'s restarts are compared by (lower is better).

    The estimates are seeded by ``seed`` (Pyro's random state is restored afterwards); shops are scored ``chunk`` at
    a time.
    """
    state = pyro.util.get_rng_state()
    pyro.set_rng_seed(seed)
    elbo, total = Trace_ELBO(), 0.0
    try:
        with torch.no_grad():
            for _ in range(particles):
                for idx in torch.arange(data.x.shape[0]).split(chunk):
                    total += float(elbo.loss(model, guide, data.full_batch(idx, temperature=spec.temperature)))
    finally:
        pyro.util.set_rng_state(state)
    return total / particles / float(data.valid.sum())


def _random_states(sampler: MinibatchSampler, device: torch.device) -> dict:
    """This process's random states: the minibatch sampler's, torch's, and the GPU's when it trains on one."""
    states = {"sampler": sampler.rng.bit_generator.state, "torch": torch.get_rng_state()}
    if device.type == "cuda":
        states["cuda"] = torch.cuda.get_rng_state(device)
    return states


def _world_tag(shard: Shard) -> str:
    """What a checkpoint of a data-parallel fit adds to its fingerprint: the number of processes."""
    return f"/{shard.world}" if shard.parallel else ""
