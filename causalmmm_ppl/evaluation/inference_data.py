"""All ArviZ ``InferenceData`` building for the project's models, and its netCDF reading and writing.

Shared conventions (both models; :mod:`causalmmm_ppl.evaluation.compare` relies on them):

* ``log_likelihood`` holds one variable, :data:`TARGET_VAR` (``"target"``), dims ``(chain, draw, obs)``: the
  pointwise log density of the target **in its original units** (scaling Jacobians included) on every observation
  the model scores, with coords ``obs_shop`` and ``obs_date`` on ``obs``. Cells the model has no likelihood term for
  (unobserved target, or steps a model cannot predict such as CausalMMM's first day) are not observations, so
  ``az.loo(idata)`` works as it is. :func:`pointwise_log_likelihood` reads it (and the ``(chain, draw, shop, date)``
  layout of runs written before, NaN where not modelled).
* ``observed_data`` holds ``target`` with dims ``(shop, date)``, original units, NaN where unobserved.
* coords ``shop`` (str) and ``date`` (datetime64).
* SVI draws are independent draws from the variational posterior: they are stored as :data:`SVI_CHAINS` chains of
  consecutive draws (when their number divides), so that ArviZ's defaults (``az.summary``'s R-hat and ESS, which
  need two chains or more) run without warnings. For such draws R-hat is about 1 and the ESS about the number of
  draws whatever the fit: they say nothing of SVI's convergence, which the ELBO trace (``sample_stats.elbo``) shows.
  A CausalMMM fit that mixes several SVI runs (``keep_runs = "all"``) stores each run's draws as one chain instead:
  there R-hat compares the runs, and a high one says they ended apart.
* attrs on the InferenceData groups: ``model`` (``"btvc"`` / ``"causalmmm"``), ``target_name``, ``inference``
  (``"nuts"``/``"svi"``), and on ``posterior`` ``latent_vars`` (JSON list of the latent variables, the ones
  diagnostics and the LOO relative efficiency use).

:func:`btvc_to_inference_data` and :func:`causalmmm_to_inference_data` build each model's view with
:func:`build_inference_data`.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

with warnings.catch_warnings():
    warnings.simplefilter("ignore", FutureWarning)
    import arviz as az

from causalmmm_ppl._io import atomic_file

__all__ = [
    "TARGET_VAR",
    "OBS_DIMS",
    "panel_coords",
    "build_inference_data",
    "btvc_to_inference_data",
    "causalmmm_to_inference_data",
    "write_inference_data",
    "read_inference_data",
    "latent_vars",
    "pointwise_log_likelihood",
    "az",
]

TARGET_VAR = "target"
"""Name of the target variable in ``log_likelihood``, ``observed_data`` and ``posterior_predictive``."""
OBS_DIMS = ("shop", "date")
"""Dims of one observation of the target."""
SVI_CHAINS = 4
"""Chains that SVI's independent draws are stored as (see the module docstring)."""


def panel_coords(shops: Sequence[str], dates: pd.DatetimeIndex | Sequence[Any]) -> dict[str, np.ndarray]:
    """The ``shop`` (str) and ``date`` (datetime64[ns]) coords of a panel's observation grid."""
    return {
        "shop": np.asarray([str(s) for s in shops], dtype=str),
        "date": pd.DatetimeIndex(dates).as_unit("ns").values,
    }


def build_inference_data(
    *,
    posterior: Mapping[str, np.ndarray],
    dims: Mapping[str, Sequence[str]],
    coords: Mapping[str, Any],
    model: str,
    target_name: str,
    inference: str,
    log_likelihood: np.ndarray | None = None,
    observed: np.ndarray | None = None,
    posterior_predictive: np.ndarray | None = None,
    sample_stats: Mapping[str, np.ndarray] | None = None,
    latent: Sequence[str] | None = None,
    attrs: Mapping[str, Any] | None = None,
) -> az.InferenceData:
    """Assemble an ``InferenceData`` with the project's conventions.

    Parameters
    ----------
    posterior
        Name → ``(chain, draw, *dims[name])`` arrays.
    dims
        Name → dim names (without chain and draw) for posterior variables.
    coords
        Coordinate values; must include ``shop`` and ``date`` (see :func:`panel_coords`).
    model, target_name, inference
        Stored as attrs of every group.
    log_likelihood : (chain, draw, shop, date), optional
        Pointwise log-likelihood of the target in original units, NaN where not modelled: stored over the modelled
        cells only (dim ``obs``, see the module docstring).
    observed : (shop, date), optional
        The target in original units (NaN where unobserved).
    posterior_predictive : (chain, draw, shop, date), optional
        Replicated target in original units.
    sample_stats
        Name → ``(chain, draw)`` arrays (``diverging``, ``energy``, ``lp``, ...).
    latent
        The latent variables (stored as the ``latent_vars`` attr of ``posterior``).
    attrs
        Extra attrs for every group (values: str, int, float).
    """
    if inference == "svi":
        posterior = {k: _svi_chains(v) for k, v in posterior.items()}
        log_likelihood = None if log_likelihood is None else _svi_chains(log_likelihood)
        posterior_predictive = None if posterior_predictive is None else _svi_chains(posterior_predictive)
    base = {"model": model, "target_name": target_name, "inference": inference}
    base.update(attrs or {})
    all_dims = {k: list(v) for k, v in dims.items()}
    obs_dims = list(OBS_DIMS)
    kwargs: dict[str, Any] = {"posterior": dict(posterior)}
    cells = None
    if log_likelihood is not None:
        ll = np.asarray(log_likelihood)
        cells = np.nonzero(~np.isnan(ll).all(axis=(0, 1)))  # modelled (shop, date) cells
        kwargs["log_likelihood"] = {TARGET_VAR: ll[:, :, cells[0], cells[1]]}
    if observed is not None:
        kwargs["observed_data"] = {TARGET_VAR: observed}
    if posterior_predictive is not None:
        kwargs["posterior_predictive"] = {TARGET_VAR: posterior_predictive}
    if sample_stats:
        kwargs["sample_stats"] = dict(sample_stats)
    all_dims[TARGET_VAR] = obs_dims
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        idata = az.from_dict(**kwargs, coords=dict(coords), dims=all_dims)
        if cells is not None:  # the log-likelihood's own layout: one entry per observation, named by its cell
            ll_ds = az.from_dict(log_likelihood=kwargs["log_likelihood"], dims={TARGET_VAR: ["obs"]},
                                 coords={"obs": np.arange(cells[0].size)}).log_likelihood
            idata.log_likelihood = ll_ds.assign_coords(obs_shop=("obs", np.asarray(coords["shop"])[cells[0]]),
                                                       obs_date=("obs", np.asarray(coords["date"])[cells[1]]))
    for group in idata.groups():
        idata[group].attrs.update(base)
    if latent is not None:
        idata.posterior.attrs["latent_vars"] = json.dumps(list(latent))
    return idata


def _svi_chains(a: np.ndarray) -> np.ndarray:
    """``(1, draw, ...)`` independent draws as ``(SVI_CHAINS, draw / SVI_CHAINS, ...)`` when that divides into
    chains of at least 4 draws (ArviZ's minimum), unchanged otherwise."""
    a = np.asarray(a)
    n = a.shape[1]
    if a.shape[0] != 1 or n % SVI_CHAINS or n // SVI_CHAINS < 4:
        return a
    return a.reshape((SVI_CHAINS, n // SVI_CHAINS) + a.shape[2:])


def latent_vars(idata: az.InferenceData) -> list[str]:
    """The latent variables of ``idata.posterior`` (its ``latent_vars`` attr), else all its variables."""
    names = idata.posterior.attrs.get("latent_vars")
    if names:
        return [n for n in json.loads(names) if n in idata.posterior.data_vars]
    return list(idata.posterior.data_vars)


def btvc_to_inference_data(fit: Any, *, include_paths: bool = True, posterior_predictive: bool = True
                           ) -> az.InferenceData:
    """ArviZ view of a :class:`~causalmmm_ppl.inference.btvc.BTVCFit`.

    Groups: ``posterior`` (latent sites; with ``include_paths`` also ``level_knots``, ``coef_knots``, ``beta``
    ``(shop, date, channel)`` on the per-shop scale, ``contribution`` ``(shop, date, channel)`` and ``mu``
    ``(shop, date)`` in original units, ``control_contribution`` when there are controls), ``posterior_predictive``,
    ``observed_data``, ``log_likelihood`` and, for NUTS, ``sample_stats``.
    """
    from causalmmm_ppl.models.btvc import SITE_DIMS

    d = fit.design
    coords: dict[str, Any] = panel_coords(d.shops, d.dates)
    coords.update({
        "channel": np.asarray(d.media, dtype=str),
        "control": np.asarray(d.controls, dtype=str),
        "season_term": np.asarray(d.season_terms, dtype=str),
        "level_knot": np.arange(len(d.level_knots)),
        "level_step": np.arange(max(len(d.level_knots) - 1, 0)),
        "coef_knot": np.arange(len(d.coef_knots)),
    })
    rename = {"time": "date"}
    dims = {k: [rename.get(x, x) for x in v] for k, v in SITE_DIMS.items()}
    posterior = {k: np.asarray(v) for k, v in fit.samples.items()}
    latent = list(posterior)
    if include_paths:
        paths = fit.paths()
        keep = ["level_knots", "coef_knots", "beta", "contribution", "mu"]
        if len(d.controls):
            keep.append("control_contribution")
        posterior.update({k: paths[k] for k in keep})
    stats = None
    if fit.method == "nuts":
        stats = {k: np.asarray(v) for k, v in fit.sample_stats.items() if np.ndim(v) == 2}
    pp = fit.posterior_predictive() if posterior_predictive else None
    attrs = {
        "btvc_spec": json.dumps(fit.spec.to_dict()),
        "btvc_inference": json.dumps(fit.inference.to_dict()),
        "seed": int(fit.seed),
        "wall_time_s": float(fit.wall_time_s),
        "units": "log_likelihood, observed_data, posterior_predictive, contribution, mu: original target units; "
                 "beta: per-shop scaled target units",
    }
    return build_inference_data(
        posterior=posterior, dims=dims, coords=coords, model="btvc", target_name=d.target, inference=fit.method,
        log_likelihood=fit.log_likelihood(), observed=fit.observed_target(), posterior_predictive=pp,
        sample_stats=stats, latent=latent, attrs=attrs)


def write_inference_data(idata: az.InferenceData, path: str | os.PathLike[str]) -> Path:
    """Write ``idata`` to a netCDF file atomically (the file appears only when complete)."""
    final = Path(path)
    with atomic_file(final) as tmp:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            idata.to_netcdf(str(tmp), engine="h5netcdf")
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
    return final


def read_inference_data(path: str | os.PathLike[str]) -> az.InferenceData:
    """Read an ``idata.nc`` fully into memory (the file is closed on return).

    Raises
    ------
    FileNotFoundError
        No such file.
    ValueError
        The file is not a readable InferenceData netCDF file.
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{p}: no such file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            idata = az.from_netcdf(str(p), engine="h5netcdf")
            for group in idata.groups():
                idata[group].load()
    except Exception as exc:  # whatever netCDF/HDF5 readers raise on a damaged or foreign file
        msg = " ".join(str(exc).split())[:200]
        raise ValueError(f"{p}: not a readable InferenceData file ({type(exc).__name__}: {msg})") from None
    return idata


def pointwise_log_likelihood(idata: az.InferenceData) -> tuple[np.ndarray, pd.MultiIndex]:
    """The target's pointwise log-likelihood ``(chain, draw, obs)`` and the ``(shop, date)`` index of ``obs``.

    Reads the ``obs`` layout and the ``(chain, draw, shop, date)`` layout of earlier runs (every cell an entry, NaN
    where not modelled).

    Raises
    ------
    ValueError
        The variable has neither layout.
    """
    ll = idata.log_likelihood[TARGET_VAR]
    if "obs" in ll.dims and {"obs_shop", "obs_date"} <= set(ll.coords):
        ll = ll.transpose("chain", "draw", "obs")
        index = pd.MultiIndex.from_arrays([[str(s) for s in ll["obs_shop"].values],
                                           pd.DatetimeIndex(ll["obs_date"].values)], names=["shop", "date"])
        return np.asarray(ll.values, float), index
    missing = [d for d in OBS_DIMS if d not in ll.dims]
    if missing:
        raise ValueError(f"log_likelihood.{TARGET_VAR} has no {missing[0]!r} dim (dims: {', '.join(ll.dims)})")
    ll = ll.transpose("chain", "draw", "shop", "date")
    arr = np.asarray(ll.values, float)
    index = pd.MultiIndex.from_product([[str(s) for s in ll["shop"].values], pd.DatetimeIndex(ll["date"].values)],
                                       names=["shop", "date"])
    return arr.reshape(arr.shape[0], arr.shape[1], -1), index


def require_finite_posterior(idata: az.InferenceData) -> None:
    """Raise InputError when a fit's InferenceData holds non-finite values where it must not: any in the
    ``posterior``; in ``posterior_predictive``, any on an observed (shop, time) after the first time step (the first
    step has no one-step-ahead prediction); in ``log_likelihood``, any at all (it holds the scored observations
    only)."""
    from causalmmm_ppl.errors import InputError, require_finite

    for name, var in idata.posterior.data_vars.items():
        require_finite(var.values, f"posterior {name!r}")
    observed = next(iter(idata.observed_data.data_vars.values())).values if "observed_data" in idata.groups() else None
    for group in ("posterior_predictive", "log_likelihood"):
        if group not in idata.groups():
            continue
        for name, var in idata[group].data_vars.items():
            a = np.asarray(var.values, dtype=np.float64)  # (chain, draw, shop, time) or (chain, draw, obs)
            if np.isinf(a).any() or ("obs" in var.dims and np.isnan(a).any()):
                require_finite(a, f"{group} {name!r}")
            if observed is None or a.shape[2:] != observed.shape:
                continue
            nan = np.isnan(a).any(axis=(0, 1))
            nan[:, 0] = False
            bad = nan & np.isfinite(observed)
            if bad.any():
                raise InputError(f"{group} {name!r}: {int(bad.sum())} observed values have non-finite predictions; "
                                 f"the fit failed (check the panel's scale with `causalmmm validate`)")


def causalmmm_to_inference_data(fit: Any, samples: Mapping[str, np.ndarray], chains: int = 1) -> az.InferenceData:
    """ArviZ view of a :class:`~causalmmm_ppl.inference.causalmmm_results.CausalMMMFit`.

    Parameters
    ----------
    fit : the fitted model (for names, the training panel and the ELBO trace)
    samples : :meth:`CausalMMMFit.posterior_samples` of the training panel (``draw`` draws)
    chains : 1: the draws are independent draws of one posterior (stored as ArviZ's SVI convention says); K > 1: the
        draws are K equal blocks, one per kept SVI run of a mixture (``keep_runs = "all"``), stored as K chains, so
        that R-hat compares the runs

    Groups: ``posterior`` (``edge`` 0/1 draws and ``edge_probability`` (shop, cause, effect); the response family's
    parameters by name (default ``decay``, ``alpha``, ``gamma``; :mod:`causalmmm_ppl.models.response`) (shop, node):
    carryover and saturation of each node as a cause, levels such as gamma in the cause's original units;
    with graph templates, ``template`` (shop, template): the shop's membership given the draw's edges),
    ``posterior_predictive`` (the target one day ahead, original units, with noise), ``observed_data``,
    ``log_likelihood`` (the target one day ahead given the past, original units; the days after each shop's first
    observed one) and
    ``sample_stats`` (the ELBO per SVI step, dim ``step``).
    """
    panel = fit.train_panel
    coords: dict[str, Any] = panel_coords(panel.shops, panel.dates)
    coords.update({"node": np.asarray(panel.nodes, dtype=str), "cause": np.asarray(panel.nodes, dtype=str),
                   "effect": np.asarray(panel.nodes, dtype=str)})
    response = fit.spec.response.names
    def by_chain(a: np.ndarray) -> np.ndarray:  # (draw, ...) -> (chain, draw / chain, ...)
        return a.reshape((chains, a.shape[0] // chains) + a.shape[1:])

    if len(samples["edge"]) % chains:
        raise ValueError(f"{len(samples['edge'])} draws do not divide into {chains} chains")
    one_chain = {k: by_chain(np.asarray(samples[k], dtype=np.float32)) for k in response}
    one_chain["edge"] = by_chain(np.asarray(samples["edge"], dtype=np.int8))
    q = np.asarray(samples["edge_probability"], dtype=np.float32)
    one_chain["edge_probability"] = np.broadcast_to(q, one_chain["edge"].shape[:2] + q.shape)
    dims = {"edge": ["shop", "cause", "effect"], "edge_probability": ["shop", "cause", "effect"]}
    dims |= {k: ["shop", "node"] for k in response}
    if "template" in samples:  # population graph prior: each shop's template membership per draw
        one_chain["template"] = by_chain(np.asarray(samples["template"], dtype=np.float32))
        dims["template"] = ["shop", "template"]
        coords["template"] = np.arange(one_chain["template"].shape[-1])
    target = panel.n_nodes - 1
    observed = np.where(panel.target_observed, panel.values[..., target], np.nan)
    # the model's settings as "causalmmm_spec" (what the plots read), the other groups beside them
    settings_attrs = {"spec" if group == "model" else group: part for group, part in fit.settings.to_dict().items()}
    idata = build_inference_data(
        posterior=one_chain, dims=dims, coords=coords, model="causalmmm", target_name=panel.target, inference="svi",
        log_likelihood=by_chain(samples["loglik"].astype(np.float32)), observed=observed,
        posterior_predictive=by_chain(np.asarray(samples["predictive"], dtype=np.float32)), latent=["edge", *response],
        attrs={**{f"causalmmm_{group}": json.dumps(part) for group, part in settings_attrs.items()},
               "seed": int(fit.seed), "wall_time_s": float(fit.log.seconds), "svi_runs_mixed": int(chains),
               "response_family": f"{fit.spec.adstock} carryover, {fit.spec.saturation} saturation; "
                                  + "; ".join(f"{p.name}: {p.meaning}" for p in fit.spec.response.params),
               "units": "log_likelihood, observed_data, posterior_predictive: original target units; "
                        "gamma: original units of the cause"},
    )
    elbo = -np.asarray(fit.log.loss, dtype=float)
    stats = xr.Dataset({"elbo": ("step", elbo)}, coords={"step": np.arange(elbo.size)})
    stats.attrs.update({k: v for k, v in idata.posterior.attrs.items() if k != "latent_vars"})
    idata.add_groups({"sample_stats": stats})
    return idata
