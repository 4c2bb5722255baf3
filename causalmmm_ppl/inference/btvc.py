"""Fitting the BTVC baseline: NUTS (several chains) or SVI, then contributions, forecasts, save and load.

Entry point: :func:`fit_btvc` returns a :class:`BTVCFit` holding the posterior draws (``(chain, draw, ...)``) and
everything needed to recompute the model's paths on the training grid or on a forecast grid (history + plan).

Scaling (per shop, exact inverse): the target is divided by its mean over the training days where it is observed,
each media channel by its mean over the shop's training days (1 if never spent), each control by its largest absolute
value. Contributions, forecasts and the log-likelihood are reported in the target's original units.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from causalmmm_ppl.data.panel import Panel
from causalmmm_ppl.errors import InputError
from causalmmm_ppl.models.btvc import (
    LATENT_SITES,
    BTVCData,
    btvc_model,
    btvc_paths,
    fourier_features,
    kernel_weights,
    knot_positions,
    knot_values,
    media_lag_windows,
    pointwise_log_likelihood,
)
from causalmmm_ppl.models.btvc_spec import BTVCInference, BTVCSpec

__all__ = ["BTVCDesign", "BTVCScales", "BTVCFit", "fit_btvc", "prepare_design", "chain_method_for",
           "chain_groups"]

_DRAW_BATCH = 250


# ------------------------------------------------------------------------------------------------- design
@dataclass(frozen=True)
class BTVCScales:
    """Per-shop scales (original units = scaled value × scale).

    Attributes
    ----------
    target : (shop,)
    media : (shop, channel)
    controls : (shop, control)
    """

    target: np.ndarray
    media: np.ndarray
    controls: np.ndarray

    def to_dict(self) -> dict[str, Any]:
        return {"method": "btvc-per-shop-mean", "target": self.target.tolist(), "media": self.media.tolist(),
                "controls": self.controls.tolist()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "BTVCScales":
        s = len(d["target"])
        return cls(np.asarray(d["target"], float), np.asarray(d["media"], float).reshape(s, -1),
                   np.asarray(d["controls"], float).reshape(s, -1))


@dataclass(frozen=True)
class BTVCDesign:
    """The training grid and the model's fixed structure (knots, kernels, seasonality, column roles).

    Attributes
    ----------
    shops : (shop,)
    dates : (time,) training dates
    freq, step_days
        Grid frequency and its step in days.
    target, media, controls
        Column names (media: every channel of the panel, through adstock + Hill; controls: the panel's control
        columns, ``ColumnSpec.controls`` / ``--controls``, linear).
    l_max
        Adstock window (grid steps).
    level_knots, coef_knots
        Knot positions (grid steps) of the level and the coefficients; ``level_bandwidth``, ``coef_bandwidth``
        their kernel bandwidths (grid steps).
    season_terms
        Names of the Fourier terms.
    weekly_order, yearly_order
        Fourier orders actually used (weekly is 0 on grids coarser than a day).
    """

    shops: tuple[str, ...]
    dates: pd.DatetimeIndex
    freq: str
    step_days: float
    target: str
    media: tuple[str, ...]
    controls: tuple[str, ...]
    l_max: int
    level_knots: np.ndarray
    coef_knots: np.ndarray
    level_bandwidth: float
    coef_bandwidth: float
    season_terms: tuple[str, ...]
    weekly_order: int
    yearly_order: int

    @property
    def n_train(self) -> int:
        return len(self.dates)

    def data(self, dates: pd.DatetimeIndex, media: np.ndarray, controls: np.ndarray, mask: np.ndarray) -> BTVCData:
        """Model inputs on a grid that starts at the first training date (training grid, or history + plan)."""
        t = np.arange(len(dates), dtype=float)
        train = (t < self.n_train) / self.n_train
        seasonal, _ = fourier_features(dates, weekly_order=self.weekly_order, yearly_order=self.yearly_order)
        return BTVCData(
            level_weights=jnp.asarray(kernel_weights(t, self.level_knots, self.level_bandwidth, self.n_train)),
            coef_weights=jnp.asarray(kernel_weights(t, self.coef_knots, self.coef_bandwidth, self.n_train)),
            seasonal=jnp.asarray(seasonal),
            media=jnp.asarray(media),
            controls=jnp.asarray(controls),
            mask=jnp.asarray(mask, dtype=bool),
            train_weights=jnp.asarray(train),
            media_lags=media_lag_windows(media, self.l_max),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "shops": list(self.shops),
            "dates": [d.strftime("%Y-%m-%d") for d in self.dates],
            "freq": self.freq,
            "step_days": self.step_days,
            "target": self.target,
            "media": list(self.media),
            "controls": list(self.controls),
            "l_max": self.l_max,
            "level_knots": self.level_knots.tolist(),
            "coef_knots": self.coef_knots.tolist(),
            "level_bandwidth": self.level_bandwidth,
            "coef_bandwidth": self.coef_bandwidth,
            "season_terms": list(self.season_terms),
            "weekly_order": self.weekly_order,
            "yearly_order": self.yearly_order,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "BTVCDesign":
        return cls(
            shops=tuple(d["shops"]), dates=pd.DatetimeIndex(pd.to_datetime(d["dates"])), freq=d["freq"],
            step_days=float(d["step_days"]), target=d["target"], media=tuple(d["media"]),
            controls=tuple(d["controls"]), l_max=int(d["l_max"]), level_knots=np.asarray(d["level_knots"], float),
            coef_knots=np.asarray(d["coef_knots"], float), level_bandwidth=float(d["level_bandwidth"]),
            coef_bandwidth=float(d["coef_bandwidth"]), season_terms=tuple(d["season_terms"]),
            weekly_order=int(d["weekly_order"]), yearly_order=int(d["yearly_order"]))


def _step_days(dates: pd.DatetimeIndex) -> float:
    if len(dates) < 2:
        return 1.0
    return float((dates[1] - dates[0]) / pd.Timedelta(days=1))


def _roles(panel: Panel) -> tuple[list[int], list[int]]:
    """Node indices of the media channels (every channel of the panel) and indices of the controls in
    ``panel.control_names`` (every control column: ``ColumnSpec.controls``, ``--controls``)."""
    media = [int(i) for i in panel.channel_index]
    if not media:
        raise ValueError("btvc: at least one channel (--channels) is needed")
    return media, list(range(len(panel.control_names)))


def prepare_design(panel: Panel, spec: BTVCSpec) -> tuple[BTVCDesign, BTVCScales]:
    """Fix the grid, knots, kernels, seasonality and per-shop scales from a training panel.

    Raises
    ------
    ValueError
        A shop whose target is never observed or has a mean <= 0; a panel without channels.
    """
    media_idx, control_idx = _roles(panel)
    step = _step_days(panel.dates)
    n = panel.n_time
    mask = panel.mask & panel.target_observed
    y = np.where(mask, panel.values[..., -1], 0.0)
    counts = mask.sum(1)
    for s, shop in enumerate(panel.shops):
        if counts[s] == 0:
            raise ValueError(f"btvc: shop {shop!r} has no observed {panel.target!r} in the training days")
    y_scale = y.sum(1) / counts
    for s, shop in enumerate(panel.shops):
        if not y_scale[s] > 0:
            raise ValueError(f"btvc: shop {shop!r}: the mean of {panel.target!r} over the training days is "
                             f"{y_scale[s]:.4g}; BTVC needs a positive mean target")
    rows = panel.mask[..., None]
    media = np.where(rows, panel.values[..., media_idx], 0.0)
    m_scale = media.sum(1) / np.maximum(panel.mask.sum(1), 1)[:, None]
    m_scale = np.where(m_scale > 0, m_scale, 1.0)
    ctrl = np.where(rows, panel.controls[..., control_idx], 0.0)
    c_scale = np.abs(ctrl).max(1) if ctrl.shape[1] else np.ones((panel.n_shops, 0))
    c_scale = np.where(c_scale > 0, c_scale, 1.0)
    weekly = spec.weekly_order if step <= 1.0 else 0
    _, terms = fourier_features(panel.dates[:1], weekly_order=weekly, yearly_order=spec.yearly_order)
    lk = knot_positions(n, spec.level_knot_days / step)
    ck = knot_positions(n, spec.coef_knot_days / step)
    bw = lambda knots, days: spec.kernel_scale * (float(knots[1] - knots[0]) if len(knots) > 1 else days / step)
    design = BTVCDesign(
        shops=tuple(panel.shops), dates=panel.dates, freq=panel.freq, step_days=step, target=panel.target,
        media=tuple(panel.nodes[i] for i in media_idx),
        controls=tuple(panel.control_names[i] for i in control_idx),
        l_max=spec.resolved_l_max(step), level_knots=lk, coef_knots=ck,
        level_bandwidth=bw(lk, spec.level_knot_days), coef_bandwidth=bw(ck, spec.coef_knot_days),
        season_terms=tuple(terms), weekly_order=weekly, yearly_order=spec.yearly_order)
    return design, BTVCScales(y_scale, m_scale, c_scale)


def _scaled_inputs(panel: Panel, design: BTVCDesign, scales: BTVCScales) -> tuple[np.ndarray, np.ndarray]:
    """Scaled media ``(shop, time, channel)`` and controls ``(shop, time, control)`` of a panel (0 off-range).

    Media are the panel's channel columns, controls its control columns (``panel.controls``). A control that is
    not a control column of ``panel`` but a channel of it is read from the channel: the schema of runs saved
    before controls were columns of their own (``columns.json`` listed them with the channels).
    """
    rows = panel.mask[..., None]
    mi = [panel.nodes.index(c) for c in design.media]
    media = np.where(rows, panel.values[..., mi], 0.0) / scales.media[:, None, :]
    ctrl = np.zeros(panel.mask.shape + (len(design.controls),))
    for k, c in enumerate(design.controls):
        ctrl[..., k] = (panel.controls[..., panel.control_names.index(c)] if c in panel.control_names
                        else panel.values[..., panel.nodes.index(c)])
    controls = np.where(rows, ctrl, 0.0) / scales.controls[:, None, :]
    return media, controls


def chain_groups(num_chains: int) -> list[int]:
    """How many chains run side by side in each round: ``(round,)`` sizes summing to ``num_chains``.

    With ``d = jax.local_device_count()`` host devices, chains run ``d`` at a time (one per device), in
    ``ceil(num_chains / d)`` rounds one after another: 4 chains on 2 devices are two rounds of 2. NumPyro itself
    only runs chains in parallel when there are at least as many devices as chains and otherwise draws every chain
    in sequence, which on a 2-core machine leaves one core idle. One device: a single round of all chains, drawn
    in sequence.
    """
    d = jax.local_device_count()
    if num_chains < 1:
        raise ValueError(f"btvc: num_chains must be >= 1, got {num_chains}")
    if d < 2:
        return [num_chains]
    return [min(d, num_chains - start) for start in range(0, num_chains, d)]


def chain_method_for(num_chains: int) -> str:
    """``"parallel"`` when chains run side by side on several JAX devices (at most one chain per device at a time,
    see :func:`chain_groups`), else ``"sequential"``."""
    return "parallel" if num_chains > 1 and jax.local_device_count() >= 2 else "sequential"


# ---------------------------------------------------------------------------------------------- inference
@dataclass(frozen=True)
class _Target:
    """The model's posterior as functions of the unconstrained parameters ``z`` (a dict of arrays).

    Everything is traced and compiled as whole programs: NumPyro's eager model tracing at initialisation costs
    seconds per new shape on CPU, which would dominate small fits.
    """

    model: Any
    data: BTVCData
    y: jax.Array

    def potential(self, z: dict[str, jax.Array]) -> jax.Array:
        from numpyro.infer.util import potential_energy

        return potential_energy(self.model, (self.data, self.y), {}, z)

    def constrain(self, z: dict[str, jax.Array]) -> dict[str, jax.Array]:
        from numpyro.infer.util import constrain_fn

        out = constrain_fn(self.model, (self.data, self.y), {}, z)
        return {k: v for k, v in out.items() if k in LATENT_SITES}

    def initial(self, key: jax.Array, n: int, radius: float = 0.5) -> dict[str, jax.Array]:
        """``n`` starting points: the prior means (unconstrained), jittered by ``Uniform(-radius, radius)``."""
        from numpyro.infer import init_to_mean
        from numpyro.infer.util import initialize_model

        def run(k: jax.Array) -> dict[str, jax.Array]:
            z0 = initialize_model(k, self.model, model_args=(self.data, self.y), init_strategy=init_to_mean())[0].z
            keys = jax.random.split(k, len(z0))
            return {name: v + jax.random.uniform(kk, (n,) + jnp.shape(v), minval=-radius, maxval=radius)
                    for (name, v), kk in zip(sorted(z0.items()), keys)}

        return jax.jit(run)(key)


def _target(data: BTVCData, y: jax.Array, spec: BTVCSpec, l_max: int) -> _Target:
    return _Target(partial(btvc_model, spec=spec, l_max=l_max), data, y)


def _constrain_draws(target: _Target, z: dict[str, jax.Array]) -> dict[str, np.ndarray]:
    """Constrain ``(chain, draw, ...)`` unconstrained draws into ``(chain, draw, ...)`` latent sites."""
    z = {k: np.asarray(v) for k, v in z.items()}
    lead = next(iter(z.values())).shape[:2]
    flat = {k: v.reshape((-1,) + v.shape[2:]) for k, v in z.items()}
    out = _map_draws(target.constrain, flat)
    return {k: np.asarray(v).reshape(lead + v.shape[1:]) for k, v in out.items()}


class _Coordinates:
    """The posterior of a :class:`_Target` in sheared coordinates ``w`` of the unconstrained space.

    ``"level_total"``: ``w["level_init"] = z["level_init"] + sum_k slope[..., k] * z["coef_mean"][..., k]``
    (``z["coef_mean"]`` is the log of ``coef_mean``), every other site unchanged. With ``slope`` a channel's
    ``coef_mean`` at a central point of the posterior this is the tangent of ``level_init + sum_k coef_mean[k]``
    (with ``coef_at_average`` and ``level_anchor="mean"``: the mean level plus the channels' average contributions,
    about the target's mean), which the data pin down while its parts trade off. The map is linear and triangular
    with a unit diagonal: its Jacobian is 1, so ``potential(w) = target.potential(to_model(w))`` is the same
    posterior. ``"none"``: the identity.

    Parameters
    ----------
    target
        The posterior in the model's unconstrained coordinates.
    kind
        ``"level_total"`` or ``"none"``.
    slope : (shop, channel)
        The shear's slopes (``"level_total"`` only).
    """

    def __init__(self, target: _Target, kind: str, slope: jax.Array | None = None) -> None:
        self.target, self.kind, self.slope = target, kind, slope

    def _shift(self, coef_mean: jax.Array) -> jax.Array:
        return (self.slope * coef_mean).sum(-1)

    def to_model(self, w: dict[str, jax.Array]) -> dict[str, jax.Array]:
        """``w -> z`` for one point (sites ``(shop, ...)``) or a batch (``(..., shop, ...)``)."""
        if self.kind != "level_total":
            return w
        return {**w, "level_init": w["level_init"] - self._shift(w["coef_mean"])}

    def from_model(self, z: dict[str, jax.Array]) -> dict[str, jax.Array]:
        """``z -> w`` (the inverse of :meth:`to_model`)."""
        if self.kind != "level_total":
            return z
        return {**z, "level_init": z["level_init"] + self._shift(z["coef_mean"])}

    def potential(self, w: dict[str, jax.Array]) -> jax.Array:
        return self.target.potential(self.to_model(w))


def _run_nuts(data: BTVCData, y: jax.Array, spec: BTVCSpec, l_max: int, inf: BTVCInference, key: jax.Array,
              progress: bool) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """NUTS in the coordinates ``inf.nuts_reparam`` names, on one flat parameter vector ``(param,)``.

    A flat vector (not NumPyro's dict of sites) keeps the sampler's per-leapfrog bookkeeping to one array (less
    time per leapfrog step, the same draws). The shear's slopes are the ``coef_mean`` of
    the SVI start's mean (``nuts_init="svi"``), else of the prior mean.
    """
    from jax.flatten_util import ravel_pytree
    from numpyro.infer import MCMC, NUTS

    target = _target(data, y, spec, l_max)
    k_init, k_run = jax.random.split(key)
    inverse_mass = None
    if inf.nuts_init == "svi":
        # a short mean-field fit: each chain starts at its own draw from q, and the warm-up starts from q's
        # variances as the (diagonal) inverse mass matrix instead of the identity
        k_fit, k_draw = jax.random.split(k_init)
        p, sample_q, unravel, _ = _fit_guide(target, steps=inf.nuts_init_steps, lr=inf.svi_lr, rank=0, key=k_fit,
                                             progress=progress, desc="btvc nuts init (svi)")
        z_start = jax.vmap(lambda k: unravel(sample_q(p, k)))(jax.random.split(k_draw, inf.num_chains))
        centre = unravel(p["loc"])
        # q's variances serve the sheared coordinates as they are: a mean-field q's variance of a site is about its
        # posterior variance given the other sites, and the shear leaves that unchanged
        var = jnp.exp(2.0 * p["log_scale"])
        inverse_mass = jnp.diag(var) if inf.dense_mass is True else var
    else:
        z_start = target.initial(k_init, inf.num_chains)
        centre = {k: v[0] for k, v in target.initial(k_init, 1, radius=0.0).items()}
        unravel = ravel_pytree(centre)[1]
    coords = _Coordinates(target, inf.nuts_reparam, jnp.exp(centre["coef_mean"]))
    z0 = jax.vmap(lambda d: ravel_pytree(d)[0])(coords.from_model(z_start))  # (chain, param)
    # one compiled program: NumPyro's initialisation differentiates the potential outside jit, op by op otherwise
    potential = jax.jit(lambda w: coords.potential(unravel(w)))
    kernel = NUTS(potential_fn=potential, target_accept_prob=inf.target_accept_prob,
                  max_tree_depth=inf.max_tree_depth, dense_mass=inf.dense_mass, inverse_mass_matrix=inverse_mass)
    fields = ("diverging", "energy", "num_steps", "accept_prob", "potential_energy")
    draws: list[np.ndarray] = []
    extras: list[dict[str, jax.Array]] = []
    start_chain = 0
    for size in chain_groups(inf.num_chains):  # rounds of chains, one chain per device in each round
        z_round = z0[start_chain:start_chain + size]
        mcmc = MCMC(kernel, num_warmup=inf.num_warmup, num_samples=inf.num_samples, num_chains=size,
                    chain_method="parallel" if 1 < size <= jax.local_device_count() else "sequential",
                    progress_bar=progress)
        mcmc.run(jax.random.fold_in(k_run, start_chain) if start_chain else k_run,
                 init_params=z_round[0] if size == 1 else z_round, extra_fields=fields)
        draws.append(np.asarray(mcmc.get_samples(group_by_chain=True)))
        extras.append(mcmc.get_extra_fields(group_by_chain=True))
        start_chain += size
    w_all = np.concatenate(draws)  # (chain, draw, param)
    z_all = _map_draws(lambda d: coords.to_model(unravel(d["w"])), {"w": w_all.reshape(-1, w_all.shape[-1])})
    z_all = {k: np.asarray(v).reshape(w_all.shape[:2] + v.shape[1:]) for k, v in z_all.items()}
    extra = {k: np.concatenate([np.asarray(e[k]) for e in extras]) for k in extras[0]}
    samples = _constrain_draws(target, z_all)
    stats = {
        "diverging": np.asarray(extra["diverging"], bool),
        "energy": np.asarray(extra["energy"], float),
        "tree_size": np.asarray(extra["num_steps"], float),
        "acceptance_rate": np.asarray(extra["accept_prob"], float),
        "lp": -np.asarray(extra["potential_energy"], float),
    }
    return samples, stats


def _fit_guide(target: _Target, *, steps: int, lr: float, rank: int, key: jax.Array,
               progress: bool, desc: str = "btvc svi") -> tuple[dict[str, jax.Array], Any, Any, np.ndarray]:
    """Fit ``q(z) = Normal(loc, diag(scale^2) + W W^T)`` in the unconstrained space (``W``: ``(dim, rank)``,
    absent for ``rank=0``) by maximising the ELBO with one reparameterised draw per step and Adam.

    Returns the guide parameters (``loc``, ``log_scale``, ``w``), a function ``(params, key) -> flat draw``, the
    function that turns a flat vector into the dict of unconstrained sites, and the losses ``(step,)``.
    """
    from jax.flatten_util import ravel_pytree
    from numpyro.optim import Adam
    from causalmmm_ppl._progress import progress as progress_bar

    k_init, k_fit = jax.random.split(key)
    z0 = {k: v[0] for k, v in target.initial(k_init, 1, radius=0.0).items()}
    flat0, unravel = ravel_pytree(z0)
    dim = flat0.shape[0]
    params = {"loc": flat0, "log_scale": jnp.full(dim, np.log(0.1)), "w": jnp.zeros((dim, rank))}

    def sample_q(p: dict[str, jax.Array], k: jax.Array) -> jax.Array:
        k1, k2 = jax.random.split(k)
        z = p["loc"] + jnp.exp(p["log_scale"]) * jax.random.normal(k1, (dim,))
        return z + p["w"] @ jax.random.normal(k2, (rank,)) if rank else z

    def entropy(p: dict[str, jax.Array]) -> jax.Array:
        h = jnp.sum(p["log_scale"])
        if rank:
            dinv_w = p["w"] * jnp.exp(-2.0 * p["log_scale"])[:, None]
            h = h + 0.5 * jnp.linalg.slogdet(jnp.eye(rank) + p["w"].T @ dinv_w)[1]
        return h

    def loss(p: dict[str, jax.Array], k: jax.Array) -> jax.Array:
        return target.potential(unravel(sample_q(p, k))) - entropy(p)

    optim = Adam(lr)

    def step(state: Any, k: jax.Array) -> tuple[Any, jax.Array]:
        value, grads = jax.value_and_grad(loss)(optim.get_params(state), k)
        return optim.update(grads, state, value=value), value

    chunk = max(1, min(steps, 250))
    run_chunk = jax.jit(lambda st, ks: jax.lax.scan(step, st, ks))
    state = optim.init(params)
    keys = jax.random.split(k_fit, steps)
    losses = []
    with progress_bar(total=steps, desc=desc, disable=not progress) as bar:
        for start in range(0, steps, chunk):
            state, vals = run_chunk(state, keys[start:start + chunk])  # a shorter last chunk compiles once more
            losses.append(np.asarray(vals))
            bar.update(len(vals))
            if progress:
                bar.set_postfix(loss=f"{float(vals[-1]):.1f}")
    return optim.get_params(state), sample_q, unravel, np.concatenate(losses)


def _run_svi(data: BTVCData, y: jax.Array, spec: BTVCSpec, l_max: int, inf: BTVCInference, key: jax.Array,
             progress: bool) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Variational inference in the unconstrained space (the AutoNormal / AutoLowRankMultivariateNormal family).

    ``q(z) = Normal(loc, diag(scale^2) + W W^T)`` (``W`` only for the low-rank guide), ELBO with one
    reparameterised draw per step, Adam; the potential includes the log-Jacobians of the constraining transforms.
    """
    target = _target(data, y, spec, l_max)
    k_fit, k_draw = jax.random.split(key)
    rank = inf.svi_rank if inf.svi_guide == "lowrank" else 0
    p, sample_q, unravel, losses = _fit_guide(target, steps=inf.svi_steps, lr=inf.svi_lr, rank=rank, key=k_fit,
                                              progress=progress)
    draws = jax.jit(jax.vmap(lambda k: unravel(sample_q(p, k))))(jax.random.split(k_draw, inf.svi_draws))
    samples = _constrain_draws(target, {k: v[None] for k, v in draws.items()})
    return samples, {"svi_loss": losses}


def _merge_shops(parts: list[tuple[dict[str, np.ndarray], dict[str, np.ndarray]]]
                 ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Stack per-shop fits along the shop axis (axis 2 of ``(chain, draw, shop, ...)``)."""
    samples = {k: np.concatenate([p[0][k] for p in parts], axis=2) for k in parts[0][0]}
    stats: dict[str, np.ndarray] = {}
    for k in parts[0][1]:
        arrs = np.stack([p[1][k] for p in parts])
        if k == "diverging":
            stats[k] = arrs.any(0)
        elif k in ("energy", "lp", "svi_loss"):
            stats[k] = arrs.sum(0)
        else:
            stats[k] = arrs.mean(0)
    return samples, stats


def fit_btvc(panel: Panel, spec: BTVCSpec | None = None, inference: BTVCInference | None = None, *,
             seed: int = 0, progress: bool = True, **overrides: Any) -> "BTVCFit":
    """Fit the BTVC model to every shop of a training panel.

    Parameters
    ----------
    panel
        The training panel (all of its days are training days; rows with an unobserved target are left out of the
        likelihood).
    spec
        Model structure and priors (default :class:`BTVCSpec`).
    inference
        Inference settings (default :class:`BTVCInference`: NUTS with 4 chains × 1000 warm-up + 1000 draws on
        panels of at most ``NUTS_MAX_SHOPS`` shops, SVI on larger ones; the fit's ``inference`` says which ran).
    seed
        Seed of the JAX PRNG key (``jax.random.PRNGKey(seed)``).
    progress
        Show progress bars.
    **overrides
        Fields of :class:`BTVCInference` to override (``method="svi"``, ``num_chains=2``, ...).

    Returns
    -------
    BTVCFit
    """
    spec = spec or BTVCSpec()
    inf = dataclasses.replace(inference or BTVCInference(), **overrides).resolved(panel.n_shops)
    design, scales = prepare_design(panel, spec)
    spec = dataclasses.replace(
        spec, knots=spec.resolved_knots(design.n_train, len(design.coef_knots), len(design.media)))
    media, controls = _scaled_inputs(panel, design, scales)
    mask = panel.mask & panel.target_observed
    y = np.where(mask, panel.values[..., -1], 0.0) / scales.target[:, None]
    runner = _run_nuts if inf.method == "nuts" else _run_svi
    key = jax.random.PRNGKey(seed)
    t0 = time.perf_counter()
    if inf.shop_mode == "joint" or panel.n_shops == 1:
        data = design.data(design.dates, media, controls, mask)
        samples, stats = runner(data, jnp.asarray(y), spec, design.l_max, inf, key, progress)
    else:
        from causalmmm_ppl._progress import progress as progress_bar

        parts = []
        for s in progress_bar(range(panel.n_shops), desc="btvc shops", disable=not progress):
            data = design.data(design.dates, media[s:s + 1], controls[s:s + 1], mask[s:s + 1])
            parts.append(runner(data, jnp.asarray(y[s:s + 1]), spec, design.l_max, inf,
                                jax.random.fold_in(key, s), False))
        samples, stats = _merge_shops(parts)
    wall = time.perf_counter() - t0
    return BTVCFit(spec=spec, inference=inf, design=design, scales=scales, media=media, controls=controls,
                   y=y, mask=mask, row_mask=panel.mask.copy(), samples=samples, sample_stats=stats, seed=seed,
                   wall_time_s=wall)


# ------------------------------------------------------------------------------------------------- results
def _flat(samples: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {k: np.asarray(v).reshape((-1,) + np.shape(v)[2:]) for k, v in samples.items()}


def _map_draws(fn: Any, params: dict[str, jax.Array], batch: int = _DRAW_BATCH) -> Any:
    """``jax.vmap(fn)`` over the leading (draw) axis of ``params`` in fixed-size chunks (one compiled program).

    Chunks bound the memory of per-draw intermediates (e.g. adstock windows); the last chunk is padded.
    """
    params = {k: np.asarray(v) for k, v in params.items()}  # host arrays: no eager ops on (sharded) devices
    n = next(iter(params.values())).shape[0]
    size = min(batch, n)
    f = jax.jit(jax.vmap(fn))
    outs = []
    for start in range(0, n, size):
        chunk = {k: v[start:start + size] for k, v in params.items()}
        m = next(iter(chunk.values())).shape[0]
        if m < size:
            chunk = {k: np.concatenate([v, np.repeat(v[-1:], size - m, axis=0)]) for k, v in chunk.items()}
        outs.append(jax.tree_util.tree_map(lambda a, m=m: np.asarray(a[:m]), f(chunk)))
    return jax.tree_util.tree_map(lambda *xs: np.concatenate(xs, axis=0), *outs)


@dataclass
class _PlanGrid:
    """BTVC inputs over the stored history followed by a plan's days (``media``, ``controls``: (shop, day, k)), and
    for every training shop its row in the plan (``order``, -1 when absent; ``have``: present)."""

    dates: pd.DatetimeIndex
    media: np.ndarray
    controls: np.ndarray
    order: list[int]

    @property
    def have(self) -> np.ndarray:
        return np.asarray(self.order) >= 0


@dataclass
class BTVCFit:
    """A fitted BTVC model: posterior draws plus the design to recompute paths and forecasts.

    Attributes
    ----------
    spec, inference
        The settings used.
    design, scales
        Grid, knots and per-shop scales (see :class:`BTVCDesign`, :class:`BTVCScales`).
    media : (shop, time, channel), controls : (shop, time, control), y : (shop, time)
        Scaled training inputs (``y`` is 0 where unobserved).
    mask : (shop, time) bool
        Steps in the likelihood (target observed). ``row_mask``: steps where the shop has a row.
    samples
        Latent draws, each ``(chain, draw, *site dims)`` (see :data:`causalmmm_ppl.models.btvc.SITE_DIMS`).
    sample_stats
        NUTS: ``diverging``, ``energy``, ``tree_size``, ``acceptance_rate``, ``lp``, each ``(chain, draw)``;
        SVI: ``svi_loss`` ``(step,)``.
    seed, wall_time_s
        The seed, and the inference wall time (compilation included).
    """

    spec: BTVCSpec
    inference: BTVCInference
    design: BTVCDesign
    scales: BTVCScales
    media: np.ndarray
    controls: np.ndarray
    y: np.ndarray
    mask: np.ndarray
    row_mask: np.ndarray
    samples: dict[str, np.ndarray]
    sample_stats: dict[str, np.ndarray]
    seed: int = 0
    wall_time_s: float = math.nan
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    # ------------------------------------------------------------------------------------------ basics
    @property
    def method(self) -> str:
        return self.inference.method

    @property
    def n_chains(self) -> int:
        return next(iter(self.samples.values())).shape[0]

    @property
    def n_draws(self) -> int:
        return next(iter(self.samples.values())).shape[1]

    def _grouped(self, a: np.ndarray) -> np.ndarray:
        return a.reshape((self.n_chains, self.n_draws) + a.shape[1:])

    def training_data(self) -> BTVCData:
        return self.design.data(self.design.dates, self.media, self.controls, self.mask)

    # ------------------------------------------------------------------------------------------ paths
    def paths(self) -> dict[str, np.ndarray]:
        """Derived paths on the training grid, each ``(chain, draw, shop, time[, channel|control])``.

        ``level``, ``seasonality``, ``beta`` and ``saturation`` are on the per-shop scale (``beta[t]`` is a
        channel's contribution at mean spend with ``hill_at_mean``, else at full saturation, in units of the
        shop's mean target); ``contribution``,
        ``control_contribution`` and ``mu`` are in the target's original units. Also ``level_knots`` and
        ``coef_knots``.
        """
        if "paths" not in self._cache:
            data = self.training_data()
            l_max, norm, ham = self.design.l_max, self.spec.adstock_normalize, self.spec.hill_at_mean
            caa = self.spec.coef_at_average

            def one(q: dict[str, jax.Array]) -> dict[str, jax.Array]:
                q = knot_values(q, self.spec.level_anchor)
                out = btvc_paths(q, data, l_max=l_max, normalize=norm, hill_at_mean=ham, coef_at_average=caa)
                out["level_knots"], out["coef_knots"] = q["level_knots"], q["coef_knots"]
                return out

            raw = _map_draws(one, _flat(self.samples))
            out = {k: self._grouped(np.asarray(v)) for k, v in raw.items()}
            ys = self.scales.target[:, None]
            out["contribution"] = out["contribution"] * ys[..., None]
            out["control_contribution"] = out["control_contribution"] * ys[..., None]
            out["mu"] = out["mu"] * ys
            self._cache["paths"] = out
        return self._cache["paths"]

    def log_likelihood(self) -> np.ndarray:
        """Pointwise log-likelihood of the target in original units: ``(chain, draw, shop, time)``.

        NaN where the target was not observed (not in the likelihood).
        """
        if "loglik" not in self._cache:
            data = self.training_data()
            y = jnp.asarray(self.y)
            l_max, norm, df = self.design.l_max, self.spec.adstock_normalize, self.spec.likelihood_df
            ham, caa = self.spec.hill_at_mean, self.spec.coef_at_average

            def one(q: dict[str, jax.Array]) -> jax.Array:
                mu = btvc_paths(knot_values(q, self.spec.level_anchor), data, l_max=l_max, normalize=norm,
                                hill_at_mean=ham, coef_at_average=caa)["mu"]
                return pointwise_log_likelihood(q, mu, y, df)

            ll = np.asarray(_map_draws(one, _flat(self.samples)))
            ll = ll - np.log(self.scales.target)[:, None]
            self._cache["loglik"] = np.where(self.mask, self._grouped(ll), np.nan)
        return self._cache["loglik"]

    def _predict(self, data: BTVCData, key: jax.Array) -> np.ndarray:
        """Draws of the target (scaled) on ``data``'s grid: ``(chain, draw, shop, time)`` (obs=None)."""
        fn = self.__dict__.get("_predict_fn")
        if fn is None:  # compiled once per fit (and again per new grid shape), reused by every scenario
            from numpyro.infer import Predictive

            model = partial(btvc_model, spec=self.spec, l_max=self.design.l_max)
            pred = Predictive(model, posterior_samples=_flat(self.samples), return_sites=["y"], batch_ndims=1)
            fn = self.__dict__["_predict_fn"] = jax.jit(lambda k, d: pred(k, d, None)["y"])
        return self._grouped(np.asarray(fn(key, data)))

    def posterior_predictive(self, seed: int | None = None) -> np.ndarray:
        """Replicated target on the training grid in original units: ``(chain, draw, shop, time)``."""
        key = jax.random.PRNGKey(self.seed + 1 if seed is None else seed)
        return self._predict(self.training_data(), key) * self.scales.target[:, None]

    def observed_target(self) -> np.ndarray:
        """The training target in original units, NaN where unobserved: ``(shop, time)``."""
        return np.where(self.mask, self.y * self.scales.target[:, None], np.nan)

    # ------------------------------------------------------------------------------------------ tables
    def contributions(self, interval: float = 0.9) -> pd.DataFrame:
        """Each channel's contribution to the target, per shop and training day, with a central interval.

        Returns
        -------
        pandas.DataFrame
            Columns ``shop, date, channel, mean, lower, upper`` (original target units); media channels, then
            controls; rows for the days each shop has data.
        """
        from causalmmm_ppl.inference.effects import contribution_table

        p = self.paths()
        contrib = np.concatenate([p["contribution"], p["control_contribution"]], axis=-1)
        names = list(self.design.media) + list(self.design.controls)
        flat = contrib.reshape((-1,) + contrib.shape[2:])  # (draw, shop, time, channel)
        return contribution_table(flat, self.design.shops, self.design.dates, names, interval, self.row_mask)

    def contribution_shares(self, interval: float = 0.9) -> pd.DataFrame:
        """Each channel's total contribution over the training days as a share of the total observed target.

        Returns
        -------
        pandas.DataFrame
            Columns ``shop, channel, mean, lower, upper`` (shares, e.g. 0.29).
        """
        p = self.paths()
        contrib = np.concatenate([p["contribution"], p["control_contribution"]], axis=-1)
        names = list(self.design.media) + list(self.design.controls)
        m = self.mask[None, None, :, :, None]
        totals = np.where(m, contrib, 0.0).sum(3)  # (chain, draw, shop, channel)
        y_total = np.nansum(self.observed_target(), axis=1)  # (shop,)
        share = (totals / y_total[:, None]).reshape((-1,) + totals.shape[2:])
        lo, hi = np.quantile(share, [(1 - interval) / 2, (1 + interval) / 2], axis=0)
        rows = []
        for s, shop in enumerate(self.design.shops):
            for k, name in enumerate(names):
                rows.append({"shop": shop, "channel": name, "mean": share[:, s, k].mean(), "lower": lo[s, k],
                             "upper": hi[s, k]})
        return pd.DataFrame(rows)

    def forecast(self, history: Panel | None, plan: Panel, *, interval: float = 0.9,
                 seed: int | None = None, progress: bool = False) -> pd.DataFrame:
        """Forecast the target on the days of ``plan`` after the training end, given their channel values.

        Parameters
        ----------
        history
            Not used: BTVC's history is its stored training data, which the plan must continue (the argument keeps
            the call of :class:`~causalmmm_ppl.inference.mmm_fit.MMMFit`).
        plan
            A panel with the training shops (any order, extra shops are an error) and the media and control
            columns; its days after the last training day, which must continue the training grid, are forecast
            (it may also hold the training days, e.g. the full panel of a holdout run). Adstock runs over the
            stored history followed by the plan.
        interval
            Central interval mass (0.9: the 5% and 95% quantiles of the posterior predictive).
        seed
            Seed of the predictive draws (default: the fit's seed + 2).
        progress
            Not used: the forecast is one vectorised pass over the draws (the argument keeps the call of
            :class:`~causalmmm_ppl.inference.mmm_fit.MMMFit`).

        Returns
        -------
        pandas.DataFrame
            Columns ``shop, date, node, observed, mean, lower, upper`` in original units; ``observed`` is NaN where
            the plan has no target value.
        """
        d = self.design
        plan, grid = self._plan_grid(plan)
        flat = self.forecast_samples(plan, seed=seed)
        order, have = grid.order, grid.have
        lo, hi = np.quantile(flat, [(1 - interval) / 2, (1 + interval) / 2], axis=0)
        mean = flat.mean(0)
        rows = []
        for s, shop in enumerate(d.shops):
            if not have[s]:
                continue
            ps = order[s]
            obs = np.where(plan.target_observed[ps], plan.values[ps, :, -1], np.nan)
            keep = plan.mask[ps]
            rows.append(pd.DataFrame({"shop": shop, "date": plan.dates[keep], "node": d.target,
                                      "observed": obs[keep], "mean": mean[s, keep], "lower": lo[s, keep],
                                      "upper": hi[s, keep]}))
        return pd.concat(rows, ignore_index=True)

    def forecast_samples(self, plan: Panel, *, seed: int | None = None) -> np.ndarray:
        """Predictive draws of the target in original units over the plan's days after the training end (see
        :meth:`forecast`): ``(draw, shop, day)``, shops in the training order (a shop absent from the plan gets the
        draws of the plan's first shop's inputs; :meth:`forecast` leaves it out)."""
        _, grid = self._plan_grid(plan)
        draws = self._plan_draws(grid, grid.media, jax.random.PRNGKey(self.seed + 2 if seed is None else seed))
        return draws.reshape((-1,) + draws.shape[2:])

    @property
    def training_end(self) -> pd.Timestamp:
        """The last period of the training data."""
        return self.design.dates[-1]

    def predictive_log_density(self, history: Panel | None, plan: Panel, *, num_draws: int | None = None,
                               seed: int | None = None, progress: bool = False) -> np.ndarray:
        """Log density of the plan's observed target values under each posterior draw, in original units:
        ``(draw, plan shop, day)`` over the plan's days after the training end, NaN where the plan has no target.

        Given a draw, BTVC's target on a future day depends on the inputs alone (its level and coefficients are
        functions of the parameters and the calendar), so the draw's density of an h-step-ahead value is the
        likelihood at that day's mean; the mean of its exponential over draws is the posterior predictive density
        (:func:`causalmmm_ppl.evaluation.compare.compare_forecasts` takes it). ``history``, ``num_draws``, ``seed``
        and ``progress`` keep the call of :class:`~causalmmm_ppl.inference.mmm_fit.MMMFit` (every stored draw is
        used; nothing is sampled).
        """
        d, spec = self.design, self.spec
        plan, grid = self._plan_grid(plan)
        rows = [d.shops.index(s) for s in plan.shops]
        data = d.data(grid.dates, grid.media, grid.controls, np.zeros(grid.media.shape[:2], bool))
        scale = self.scales.target[rows][:, None]
        observed = plan.target_observed & plan.mask
        y = np.zeros((len(d.shops), plan.n_time))
        y[rows] = np.where(observed, plan.values[..., -1], 0.0) / scale
        y = jnp.asarray(y)
        l_max, norm, df = d.l_max, spec.adstock_normalize, spec.likelihood_df

        def one(q: dict[str, jax.Array]) -> jax.Array:
            mu = btvc_paths(knot_values(q, spec.level_anchor), data, l_max=l_max, normalize=norm,
                            hill_at_mean=spec.hill_at_mean, coef_at_average=spec.coef_at_average)["mu"]
            return pointwise_log_likelihood(q, mu[:, d.n_train:], y, df)

        ll = np.asarray(_map_draws(one, _flat(self.samples)), dtype=np.float64)[:, rows] - np.log(scale)
        return np.where(observed[None], ll, np.nan)

    def _plan_grid(self, plan: Panel) -> tuple[Panel, "_PlanGrid"]:
        """The plan's days after the training end, checked, and the inputs over the stored history followed by them.

        Raises ValueError when the plan does not continue the training grid, lacks a column, or has an unknown shop.
        """
        d = self.design
        future = np.flatnonzero(plan.dates > d.dates[-1])
        if len(future) == 0:
            raise ValueError(f"btvc forecast: no dates after the training end {d.dates[-1].date()}")
        plan = plan.select_time(int(future[0]), plan.n_time)
        expected = pd.date_range(d.dates[-1], periods=plan.n_time + 1, freq=plan.freq or d.freq)[1:]
        if not plan.dates.equals(expected):
            raise ValueError(f"btvc forecast: the plan must continue the training grid from "
                             f"{expected[0].date()} every {d.step_days:g} days")
        missing = [c for c in d.media if c not in plan.nodes]
        if missing:
            raise ValueError(f"btvc forecast: the plan has no column {missing[0]!r}")
        missing = [c for c in d.controls if c not in plan.control_names and c not in plan.nodes]
        if missing:
            raise ValueError(f"btvc forecast: the plan has no control column {missing[0]!r} (--controls); the "
                             f"model's controls must be known on the plan's days")
        unknown = [s for s in plan.shops if s not in d.shops]
        if unknown:
            raise ValueError(f"btvc forecast: shop {unknown[0]!r} was not in the training data")
        order = [plan.shops.index(s) if s in plan.shops else -1 for s in d.shops]
        plan_media, plan_controls = _scaled_inputs(plan.select_shops([max(o, 0) for o in order]), d, self.scales)
        grid = _PlanGrid(dates=d.dates.append(plan.dates), media=np.concatenate([self.media, plan_media], axis=1),
                         controls=np.concatenate([self.controls, plan_controls], axis=1), order=order)
        return plan, grid

    def _plan_draws(self, grid: "_PlanGrid", media: np.ndarray, key: jax.Array) -> np.ndarray:
        """Predictive draws of the target over the plan's days in original units: ``(chain, draw, shop, day)``."""
        d = self.design
        mask = np.zeros(media.shape[:2], bool)
        draws = self._predict(d.data(grid.dates, media, grid.controls, mask), key)[:, :, :, d.n_train:]
        return draws * self.scales.target[:, None]

    def _plan_contributions(self, grid: "_PlanGrid", media: np.ndarray) -> np.ndarray:
        """Each channel's contribution over the plan's days in original units: ``(draw, shop, day, channel)`` (draws
        flattened over chains). A channel's contribution depends on its own spend alone (the model is additive),
        and the saturation's training average on the training days alone."""
        d, spec = self.design, self.spec
        data = d.data(grid.dates, media, grid.controls, np.zeros(media.shape[:2], bool))

        def one(q: dict[str, jax.Array]) -> jax.Array:
            q = knot_values(q, spec.level_anchor)
            return btvc_paths(q, data, l_max=d.l_max, normalize=spec.adstock_normalize,
                              hill_at_mean=spec.hill_at_mean, coef_at_average=spec.coef_at_average)["contribution"]

        out = np.asarray(_map_draws(one, _flat(self.samples)))[:, :, d.n_train:]
        return out * self.scales.target[:, None, None]

    #: BTVC's level and coefficients are indexed by its training days: plans follow them (see ``MMMFit``)
    fixed_history = True

    @property
    def channel_names(self) -> list[str]:
        """The media channels, in the design's order."""
        return list(self.design.media)

    def effect_samples(
        self,
        history: Panel | None,
        plan: Panel,
        scenarios: list[tuple[str, str, float]],
        *,
        num_draws: int | None = None,
        seed: int | None = None,
        progress: bool = False,
        by_step: bool = False,
    ) -> tuple[np.ndarray, dict[tuple[str, str, float], np.ndarray]]:
        """The target summed over the plan's days after the training end, at the plan and under each scenario, with
        the same predictive noise on every path (the same call as
        :meth:`~causalmmm_ppl.inference.causalmmm_fit.CausalMMMFit.effect_samples`).

        Parameters
        ----------
        history : not used: BTVC's history is its stored training data, which the plan must continue
        plan : the plan's shops (training shops) and channel values
        scenarios : ``(kind, channel, spend multiplier)``; the model is additive, so the kind does not matter, and a
            scenario's path is the factual one minus what the channel's contribution loses: each multiplier's
            contributions are computed once for every channel together
        num_draws : the first ``num_draws`` posterior draws (default: all of the run's)
        seed : seed of the predictive noise (default: the fit's seed + 2)
        progress : a tqdm bar over the scenarios
        by_step : keep the plan's days apart instead of summing them

        Returns
        -------
        factual : (draw, shop) in the plan's shop order, (draw, shop, step) with ``by_step``; counterfactual :
        ``{scenario: (draw, shop)}``, the same
        """
        channels = self.channel_names
        unknown = sorted({c for _, c, _ in scenarios} - set(channels))
        if unknown:
            raise InputError(f"unknown channel(s) {', '.join(map(repr, unknown))}; the run's channels are "
                             f"{', '.join(channels)}")
        plan, grid = self._plan_grid(plan)
        d = self.design
        key = jax.random.PRNGKey(self.seed + 2 if seed is None else seed)
        rows = [d.shops.index(s) for s in plan.shops]  # the plan's shops in the training grid
        n = num_draws

        def window_sum(draws: np.ndarray) -> np.ndarray:  # (draw, shop, day) -> (draw, plan shop) over its rows
            kept = np.where(plan.mask[None], draws[:n, rows], 0.0)
            return kept if by_step else kept.sum(-1)

        from causalmmm_ppl._progress import progress as progress_bar

        factual = self._plan_draws(grid, grid.media, key)
        factual = window_sum(factual.reshape((-1,) + factual.shape[2:]))
        by_multiplier: dict[float, list[tuple[str, str]]] = {}
        for kind, c, m in scenarios:
            by_multiplier.setdefault(float(m), []).append((kind, c))
        base = self._plan_contributions(grid, grid.media) if scenarios else None
        counter = {}
        for mult, which in progress_bar(by_multiplier.items(), desc="spend multipliers", leave=False,
                                        disable=not progress):
            media = grid.media.copy()
            media[:, d.n_train:] *= mult
            lost = base - self._plan_contributions(grid, media)  # (draw, shop, day, channel)
            for kind, c in which:
                counter[(kind, c, mult)] = factual - window_sum(lost[..., channels.index(c)])
        return factual, counter

    def effects(self, history: Panel | None, plan: Panel, *, interval: float = 0.9, num_draws: int | None = None,
                seed: int | None = None, progress: bool = False) -> pd.DataFrame:
        """Every shop's and channel's effect on the target over the plan's days after the training end: the target
        summed over those days minus the same sum with the channel's planned spend at 0 there, under the posterior,
        with the same predictive noise on both paths (``causalmmm effects``' table; arguments as in
        :meth:`effect_samples`). The model is additive, so the ``total``, ``held`` and ``direct`` rows agree.

        Returns
        -------
        DataFrame ``shop, channel, kind, mean, lower, upper, spend, roas, mroas`` in the plan's shop order (see
        :func:`causalmmm_ppl.inference.effects.effects_table`)
        """
        from causalmmm_ppl.inference.effects import EFFECT_KINDS, effect_scenarios, summarise_effects

        channels = self.channel_names
        kinds = EFFECT_KINDS
        # one path per channel and multiplier: the kinds of an additive model share it
        base = effect_scenarios(channels, ("total",))
        factual, counter = self.effect_samples(history, plan, base, num_draws=num_draws, seed=seed, progress=progress)
        counter = {(kind, c, m): counter[("total", c, m)] for _, c, m in base for kind in kinds}
        window, _ = self._plan_grid(plan)
        spend = window.values[..., [window.nodes.index(c) for c in channels]].sum(1)  # (shop, channel)
        return summarise_effects(factual, counter, spend, plan.shops, channels, kinds, interval)

    def response_curves(self, history: Panel | None, plan: Panel, *, interval: float = 0.9,
                        num_draws: int | None = None, seed: int | None = None, progress: bool = False) -> pd.DataFrame:
        """The target summed over the plan's window against 0, 0.25, …, 2 × each channel's planned spend, with
        intervals (see :func:`causalmmm_ppl.inference.effects.response_curves`)."""
        from causalmmm_ppl.inference.effects import response_curves

        return response_curves(self, history, plan, interval=interval, num_draws=num_draws, seed=seed,
                               progress=progress)

    # ------------------------------------------------------------------------------------------ export
    def to_inference_data(self, *, include_paths: bool = True, posterior_predictive: bool = True) -> Any:
        """An ArviZ ``InferenceData`` (see :func:`causalmmm_ppl.evaluation.inference_data.btvc_to_inference_data`)."""
        from causalmmm_ppl.evaluation.inference_data import btvc_to_inference_data

        return btvc_to_inference_data(self, include_paths=include_paths,
                                      posterior_predictive=posterior_predictive)

    def save(self, directory: str | Path) -> None:
        """Write everything needed to reload and forecast into ``directory`` (created if missing).

        Files: ``btvc.json`` (spec, inference settings, design, seed, wall time), ``scaler.json``,
        ``inputs.npz`` (scaled training inputs and masks), ``posterior.npz`` (latent draws, ``(chain, draw, ...)``),
        ``sample_stats.npz``.
        """
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        meta = {"model": "btvc", "spec": self.spec.to_dict(), "inference": self.inference.to_dict(),
                "design": self.design.to_dict(), "seed": self.seed, "wall_time_s": self.wall_time_s}
        (out / "btvc.json").write_text(json.dumps(meta, indent=2))
        (out / "scaler.json").write_text(json.dumps(self.scales.to_dict(), indent=2))
        np.savez_compressed(out / "inputs.npz", media=self.media, controls=self.controls, y=self.y,
                            mask=self.mask, row_mask=self.row_mask)
        np.savez_compressed(out / "posterior.npz", **self.samples)
        np.savez_compressed(out / "sample_stats.npz", **self.sample_stats)

    @classmethod
    def load(cls, directory: str | Path) -> "BTVCFit":
        """Read a fit written by :meth:`save`."""
        d = Path(directory)
        if not (d / "btvc.json").is_file():
            raise ValueError(f"{d}: not a BTVC model directory (no btvc.json)")
        meta = json.loads((d / "btvc.json").read_text())
        scales = BTVCScales.from_dict(json.loads((d / "scaler.json").read_text()))
        with np.load(d / "inputs.npz", allow_pickle=False) as z:
            inputs = {k: z[k] for k in z.files}
        with np.load(d / "posterior.npz", allow_pickle=False) as z:
            samples = {k: z[k] for k in z.files}
        with np.load(d / "sample_stats.npz", allow_pickle=False) as z:
            stats = {k: z[k] for k in z.files}
        # fits saved before these settings used these values
        spec = {"coef_at_average": False, "level_anchor": "first", "coef_knot_prior": "halfnormal", **meta["spec"]}
        spec.pop("controls", None)  # fits saved when controls were a setting: the design names them
        return cls(spec=BTVCSpec.from_dict(spec), inference=BTVCInference.from_dict(meta["inference"]),
                   design=BTVCDesign.from_dict(meta["design"]), scales=scales, media=inputs["media"],
                   controls=inputs["controls"], y=inputs["y"], mask=inputs["mask"].astype(bool),
                   row_mask=inputs["row_mask"].astype(bool), samples=samples, sample_stats=stats,
                   seed=int(meta["seed"]), wall_time_s=float(meta["wall_time_s"]))
