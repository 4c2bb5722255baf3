"""BTVC's posterior engines: NUTS over chains on the JAX host devices, and SVI with a normal guide, both on the
model's unconstrained parameters; draws come back constrained, as ``(chain, draw, ...)`` arrays.

Both run on NumPyro's model (``btvc_model``), its ``potential_energy`` and ``constrain_fn``, and its ``NUTS``;
what is written here is the guide and the loop that fits it (:func:`_fit_guide`): one flat vector of unconstrained
parameters, the entropy in closed form, and the steps in compiled ``jax.lax.scan`` chunks. NumPyro's own ``SVI``
with ``AutoNormal`` fits the same family of guides (``BTVCInference(svi_engine="numpyro")``, :func:`_run_numpyro_svi`)
to the same forecasts, but pays for tracing the model and the guide op by op at initialisation, several times the
whole flat fit on CPU (``docs/benchmarks.md``, "BTVC: SVI engines"): the flat guide is the default for that reason.
NUTS runs likewise on the potential compiled as one program over a flat vector; NumPyro's ``NUTS(model)``
(``BTVCInference(nuts_engine="numpyro")``, :func:`_run_numpyro_nuts`) samples the same posterior from the same start,
a little slower (``docs/benchmarks.md``, "BTVC: NUTS engines"), and without the optional sheared coordinates
(``nuts_reparam``), which is why the flat engine is the default.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from causalmmm_ppl.models.btvc import LATENT_SITES, BTVCData, btvc_model
from causalmmm_ppl.models.btvc_spec import BTVCInference, BTVCSpec

__all__ = ["chain_groups", "chain_method_for", "run_nuts", "run_svi", "merge_shops", "map_draws", "draw_mapper"]

_DRAW_BATCH = 250


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
        """``n`` starting points: the prior means (unconstrained), jittered by ``Uniform(-radius, radius)``.

        The prior means are those of NumPyro's ``init_to_mean``, mapped to the unconstrained space by each site's
        ``biject_to(support)``, as ``initialize_model`` maps them, without the potential and gradient that it also
        compiles to check them.
        """
        from numpyro import handlers
        from numpyro.distributions.transforms import biject_to
        from numpyro.infer import init_to_mean

        def prior_means(k: jax.Array) -> dict[str, jax.Array]:
            model = handlers.substitute(handlers.seed(self.model, k), substitute_fn=init_to_mean())
            sites = handlers.trace(model).get_trace(self.data, self.y)
            return {name: biject_to(site["fn"].support).inv(site["value"]) for name, site in sites.items()
                    if site["type"] == "sample" and not site["is_observed"] and not site["fn"].support.is_discrete}

        z0 = jax.jit(prior_means)(key)
        if radius == 0.0:
            return {name: jnp.broadcast_to(v, (n,) + jnp.shape(v)) for name, v in z0.items()}
        # the jitter op by op: each site's uniform draw is its own small program, cached by shape, where one
        # program holding a draw per site compiles for seconds (every draw is a threefry hash)
        keys = jax.random.split(key, len(z0))
        return {name: v + jax.random.uniform(kk, (n,) + jnp.shape(v), minval=-radius, maxval=radius)
                for (name, v), kk in zip(sorted(z0.items()), keys)}


def _target(data: BTVCData, y: jax.Array, spec: BTVCSpec, l_max: int) -> _Target:
    return _Target(partial(btvc_model, spec=spec, l_max=l_max), data, y)


def _constrain_draws(target: _Target, z: dict[str, jax.Array]) -> dict[str, np.ndarray]:
    """Constrain ``(chain, draw, ...)`` unconstrained draws into ``(chain, draw, ...)`` latent sites."""
    z = {k: np.asarray(v) for k, v in z.items()}
    lead = next(iter(z.values())).shape[:2]
    flat = {k: v.reshape((-1,) + v.shape[2:]) for k, v in z.items()}
    out = map_draws(target.constrain, flat)
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


def run_nuts(data: BTVCData, y: jax.Array, spec: BTVCSpec, l_max: int, inf: BTVCInference, key: jax.Array,
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
    if inf.nuts_engine == "numpyro":
        return _run_numpyro_nuts(target, z_start, inverse_mass, inf, k_run, progress)
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
    z_all = map_draws(lambda d: coords.to_model(unravel(d["w"])), {"w": w_all.reshape(-1, w_all.shape[-1])})
    z_all = {k: np.asarray(v).reshape(w_all.shape[:2] + v.shape[1:]) for k, v in z_all.items()}
    extra = {k: np.concatenate([np.asarray(e[k]) for e in extras]) for k in extras[0]}
    return _constrain_draws(target, z_all), _nuts_stats(extra)


def _nuts_stats(extra: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The sample stats of NUTS's extra fields, ``(chain, draw)`` each, under ArviZ's names."""
    return {
        "diverging": np.asarray(extra["diverging"], bool),
        "energy": np.asarray(extra["energy"], float),
        "tree_size": np.asarray(extra["num_steps"], float),
        "acceptance_rate": np.asarray(extra["accept_prob"], float),
        "lp": -np.asarray(extra["potential_energy"], float),
    }


def _run_numpyro_nuts(target: _Target, z_start: dict[str, jax.Array], inverse_mass: jax.Array | None,
                      inf: BTVCInference, key: jax.Array, progress: bool
                      ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """:func:`run_nuts` through NumPyro's machinery: ``NUTS(model)`` on the model's sites, started where the flat
    engine starts (``z_start``: each chain's unconstrained sites) with the same inverse mass matrix (the model's
    sites flattened in the same order), in the same rounds of chains; NumPyro traces the model, builds the
    potential and constrains the draws itself."""
    from numpyro.infer import MCMC, NUTS

    kernel = NUTS(target.model, target_accept_prob=inf.target_accept_prob, max_tree_depth=inf.max_tree_depth,
                  dense_mass=inf.dense_mass, inverse_mass_matrix=inverse_mass)
    fields = ("diverging", "energy", "num_steps", "accept_prob", "potential_energy")
    draws: list[dict[str, np.ndarray]] = []
    extras: list[dict[str, jax.Array]] = []
    start_chain = 0
    for size in chain_groups(inf.num_chains):
        init = {k: v[start_chain] if size == 1 else v[start_chain:start_chain + size] for k, v in z_start.items()}
        mcmc = MCMC(kernel, num_warmup=inf.num_warmup, num_samples=inf.num_samples, num_chains=size,
                    chain_method="parallel" if 1 < size <= jax.local_device_count() else "sequential",
                    progress_bar=progress)
        mcmc.run(jax.random.fold_in(key, start_chain) if start_chain else key, target.data, target.y,
                 init_params=init, extra_fields=fields)
        got = mcmc.get_samples(group_by_chain=True)  # constrained; the model's deterministic sites too
        draws.append({k: np.asarray(got[k]) for k in z_start})
        extras.append(mcmc.get_extra_fields(group_by_chain=True))
        start_chain += size
    samples = {k: np.concatenate([d[k] for d in draws]) for k in z_start}
    extra = {k: np.concatenate([np.asarray(e[k]) for e in extras]) for k in extras[0]}
    return samples, _nuts_stats(extra)


def _fit_guide(target: _Target, *, steps: int, lr: float, rank: int, key: jax.Array,
               progress: bool, desc: str = "btvc svi") -> tuple[dict[str, jax.Array], Any, Any, np.ndarray]:
    """Fit ``q(z) = Normal(loc, diag(scale^2) + W W^T)`` in the unconstrained space (``W``: ``(dim, rank)``,
    absent for ``rank=0``) by maximising the ELBO with one reparameterised draw per step and Adam.

    Returns the guide parameters (``loc``, ``log_scale``, ``w``), a function ``(params, key) -> flat draw``, the
    function that turns a flat vector into the dict of unconstrained sites, and the losses ``(step,)``: one-draw
    estimates of the negative ELBO, the potential at the draw less the guide's entropy in closed form (the same
    quantity NumPyro's ``Trace_ELBO`` estimates).
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
        h = jnp.sum(p["log_scale"]) + 0.5 * dim * (1.0 + np.log(2.0 * np.pi))
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


def run_svi(data: BTVCData, y: jax.Array, spec: BTVCSpec, l_max: int, inf: BTVCInference, key: jax.Array,
             progress: bool) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Variational inference in the unconstrained space (the AutoNormal / AutoLowRankMultivariateNormal family).

    ``q(z) = Normal(loc, diag(scale^2) + W W^T)`` (``W`` only for the low-rank guide), ELBO with one
    reparameterised draw per step, Adam; the potential includes the log-Jacobians of the constraining transforms.
    ``inf.svi_engine="numpyro"`` fits the same family with NumPyro's own ``SVI`` and autoguide
    (:func:`_run_numpyro_svi`).
    """
    if inf.svi_engine == "numpyro":
        return _run_numpyro_svi(data, y, spec, l_max, inf, key, progress)
    target = _target(data, y, spec, l_max)
    k_fit, k_draw = jax.random.split(key)
    rank = inf.svi_rank if inf.svi_guide == "lowrank" else 0
    p, sample_q, unravel, losses = _fit_guide(target, steps=inf.svi_steps, lr=inf.svi_lr, rank=rank, key=k_fit,
                                              progress=progress)
    draws = jax.jit(jax.vmap(lambda k: unravel(sample_q(p, k))))(jax.random.split(k_draw, inf.svi_draws))
    samples = _constrain_draws(target, {k: v[None] for k, v in draws.items()})
    return samples, {"svi_loss": losses}


def _run_numpyro_svi(data: BTVCData, y: jax.Array, spec: BTVCSpec, l_max: int, inf: BTVCInference, key: jax.Array,
                     progress: bool) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """:func:`run_svi` through NumPyro's machinery: ``numpyro.infer.SVI`` with ``Trace_ELBO`` and ``AutoNormal``
    (``svi_guide="normal"``) or ``AutoLowRankMultivariateNormal`` (``"lowrank"``), started like the flat guide (at
    the prior means, scale 0.1), Adam at ``svi_lr``; draws from ``guide.sample_posterior``."""
    from numpyro.infer import SVI, Trace_ELBO
    from numpyro.infer.autoguide import AutoLowRankMultivariateNormal, AutoNormal
    from numpyro.infer.initialization import init_to_mean
    from numpyro.optim import Adam

    model = _target(data, y, spec, l_max).model
    if inf.svi_guide == "lowrank":
        guide = AutoLowRankMultivariateNormal(model, init_loc_fn=init_to_mean, init_scale=0.1, rank=inf.svi_rank)
    else:
        guide = AutoNormal(model, init_loc_fn=init_to_mean, init_scale=0.1)
    k_fit, k_draw = jax.random.split(key)
    result = SVI(model, guide, Adam(inf.svi_lr), Trace_ELBO()).run(k_fit, inf.svi_steps, data, y,
                                                                   progress_bar=progress)
    draws = guide.sample_posterior(k_draw, result.params, sample_shape=(inf.svi_draws,))
    # the guide's sites (its draws also hold the model's deterministic sites, e.g. ``coef_log_knots`` of the
    # non-centred knots)
    latent = {name for name, site in guide.prototype_trace.items()
              if site["type"] == "sample" and not site["is_observed"]}
    samples = {k: np.asarray(v)[None] for k, v in draws.items() if k in latent}
    return samples, {"svi_loss": np.asarray(result.losses)}


def merge_shops(parts: list[tuple[dict[str, np.ndarray], dict[str, np.ndarray]]]
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


def map_draws(fn: Any, params: dict[str, jax.Array], batch: int = _DRAW_BATCH, args: tuple = ()) -> Any:
    """``fn`` over the leading (draw) axis of ``params`` in fixed-size chunks: one compiled program.

    ``fn(draw, *args)`` is vmapped over the draws and compiled here, or, made by :func:`draw_mapper`, is already:
    a caller that keeps that compiled mapper reuses its program for new ``args`` of the same shapes. ``args`` go to
    every call unmapped. Chunks bound the memory of per-draw intermediates (e.g. adstock windows); the last chunk is
    padded.
    """
    params = {k: np.asarray(v) for k, v in params.items()}  # host arrays: no eager ops on (sharded) devices
    n = next(iter(params.values())).shape[0]
    size = min(batch, n)
    f = fn if isinstance(fn, _DrawMapper) else draw_mapper(fn, len(args))
    outs = []
    for start in range(0, n, size):
        chunk = {k: v[start:start + size] for k, v in params.items()}
        m = next(iter(chunk.values())).shape[0]
        if m < size:
            chunk = {k: np.concatenate([v, np.repeat(v[-1:], size - m, axis=0)]) for k, v in chunk.items()}
        outs.append(jax.tree_util.tree_map(lambda a, m=m: np.asarray(a[:m]), f(chunk, *args)))
    return jax.tree_util.tree_map(lambda *xs: np.concatenate(xs, axis=0), *outs)


class _DrawMapper:
    """A compiled ``jax.vmap`` over the draw axis of a function's first argument (:func:`draw_mapper`)."""

    def __init__(self, fn: Any, n_args: int) -> None:
        self._mapped = jax.jit(jax.vmap(fn, in_axes=(0,) + (None,) * n_args))

    def __call__(self, *a: Any) -> Any:
        return self._mapped(*a)


def draw_mapper(fn: Any, n_args: int = 0) -> _DrawMapper:
    """``fn(draw, *args)`` compiled over a draw axis of its first argument, its other ``n_args`` arguments unmapped
    (for :func:`map_draws`; keep it to reuse the program)."""
    return _DrawMapper(fn, n_args)
