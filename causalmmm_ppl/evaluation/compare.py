"""Bayesian model comparison of fitted runs, two ways.

- **Held-out periods (leave-future-out), any models** (:func:`compare_forecasts`): every run forecasts the periods
  after its training end from the same history and the same channels (and controls), and is scored by the log
  predictive density of the observed target there, each period h steps ahead (``MMMFit.predictive_log_density``).
  Every model answers the same predictive question, so runs of different models compare fairly.
- **ELPD-LOO on the training periods, runs of one model** (:func:`compare_runs`, PSIS-LOO through ArviZ ``compare``):
  each run's ``idata.nc`` stores the pointwise log-likelihood of the target in original units
  (``log_likelihood.target``, see :mod:`causalmmm_ppl.evaluation.inference_data`). For CausalMMM that is a one-step-
  ahead density given the observed past of every node, for BTVC a density given the channels alone: the two answer
  different questions, so ELPD-LOO ranks runs of the same model (priors, settings), not models.

Both use the ``(shop, date)`` observations that every run scores and say how many, which shops and which dates.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from causalmmm_ppl.data.panel import Panel
from causalmmm_ppl.evaluation.inference_data import (
    TARGET_VAR, az, latent_vars, pointwise_log_likelihood, read_inference_data,
)

__all__ = ["ComparisonResult", "compare_runs", "compare_inference_data", "compare_forecasts", "load_run_idata",
           "TABLE_COLUMNS", "FORECAST_COLUMNS"]

TABLE_COLUMNS = ("run", "model", "rank", "elpd_loo", "se", "p_loo", "elpd_diff", "dse", "weight", "warning",
                 "pareto_k_bad", "n_obs", "target", "shops", "date_min", "date_max")
"""Columns of the comparison table (``elpd_loo`` on the log scale: higher is better)."""

FORECAST_COLUMNS = ("run", "model", "rank", "elpd_lfo", "se", "elpd_diff", "dse", "n_obs", "periods", "target",
                    "shops", "date_min", "date_max")
"""Columns of the held-out comparison table (``elpd_lfo``: summed log predictive density, higher is better)."""

_MAX_POSTERIOR_SIZE = 10_000


@dataclass
class ComparisonResult:
    """The ELPD-LOO table and what it was computed on.

    Attributes
    ----------
    table
        Columns :data:`TABLE_COLUMNS`, best run first.
    summary
        One line: ``compared on N observations of <target> (...)``.
    warnings
        Lines about Pareto-k diagnostics and observations left out.
    """

    table: pd.DataFrame
    summary: str
    warnings: list[str] = field(default_factory=list)


def load_run_idata(run: str | os.PathLike[str]) -> az.InferenceData:
    """The ``idata.nc`` of a run directory (or the file itself)."""
    p = Path(run)
    path = p / "idata.nc" if p.is_dir() else p
    if not path.is_file():
        raise FileNotFoundError(f"{run}: no idata.nc (not a run directory written by causalmmm fit?)")
    return read_inference_data(path)


def _target_name(name: str, idata: az.InferenceData) -> str:
    if "log_likelihood" not in idata.groups() or TARGET_VAR not in idata.log_likelihood:
        raise ValueError(f"run {name}: idata.nc has no log_likelihood.{TARGET_VAR}; it cannot be compared")
    attrs = idata.log_likelihood.attrs
    target = attrs.get("target_name")
    if not target:
        raise ValueError(f"run {name}: idata.nc does not say which target its log-likelihood is of "
                         f"(attr target_name)")
    return str(target)


def _pointwise(idata: az.InferenceData) -> tuple[np.ndarray, pd.MultiIndex]:
    """``(chain, draw, obs)`` log-likelihood and the ``(shop, date)`` index of ``obs``."""
    return pointwise_log_likelihood(idata)


def _observed(idata: az.InferenceData) -> pd.Series | None:
    """The observed target over its ``(shop, date)`` grid."""
    if "observed_data" not in idata.groups() or TARGET_VAR not in idata.observed_data:
        return None
    obs = idata.observed_data[TARGET_VAR].transpose("shop", "date")
    index = pd.MultiIndex.from_product([[str(s) for s in obs["shop"].values], pd.DatetimeIndex(obs["date"].values)],
                                       names=["shop", "date"])
    return pd.Series(np.asarray(obs.values, float).ravel(), index=index)


def _reduced(idata: az.InferenceData, ll: np.ndarray) -> az.InferenceData:
    """Log-likelihood on the common observations plus the small latent posterior (for LOO's relative ESS)."""
    post = {}
    for name in latent_vars(idata):
        v = np.asarray(idata.posterior[name].values)
        if v.size // max(v.shape[0] * v.shape[1], 1) <= _MAX_POSTERIOR_SIZE:
            post[name] = v
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return az.from_dict(posterior=post or None, log_likelihood={TARGET_VAR: ll},
                            dims={TARGET_VAR: ["obs"]})


def run_names(runs: Sequence[str | os.PathLike[str]]) -> list[str]:
    """A row name per run: its directory name, or the paths as given when two names would clash."""
    names = [Path(r).name if Path(r).name != "idata.nc" else Path(r).parent.name for r in runs]
    if len(set(names)) < len(names):
        names = [str(r) for r in runs]
    return names


def compare_runs(runs: Sequence[str | os.PathLike[str]], *, names: Sequence[str] | None = None) -> ComparisonResult:
    """Compare run directories by ELPD-LOO.

    Parameters
    ----------
    runs
        Run directories (or their ``idata.nc``), at least two.
    names
        Row names (default: the directory names).

    Raises
    ------
    ValueError
        Fewer than two runs; a run without a target log-likelihood; runs of different targets; no common
        observations; observed values that differ between runs.
    """
    if len(runs) < 2:
        raise ValueError("compare needs at least two runs")
    names = list(names) if names is not None else run_names(runs)
    return compare_inference_data({n: load_run_idata(r) for n, r in zip(names, runs)})


def compare_inference_data(idatas: Mapping[str, az.InferenceData]) -> ComparisonResult:
    """Compare InferenceData objects by ELPD-LOO on their common ``(shop, date)`` observations.

    See :func:`compare_runs`.
    """
    if len(idatas) < 2:
        raise ValueError("compare needs at least two runs")
    targets = {n: _target_name(n, d) for n, d in idatas.items()}
    first = next(iter(targets))
    for n, t in targets.items():
        if t != targets[first]:
            raise ValueError(f"runs {first} and {n} model different targets ({targets[first]!r} and {t!r}); "
                             f"compare runs of the same target on the same data")
    target = targets[first]
    pointwise = {n: _pointwise(d) for n, d in idatas.items()}
    valid = {n: idx[np.isfinite(ll).all(axis=(0, 1))] for n, (ll, idx) in pointwise.items()}
    common = None
    for idx in valid.values():
        common = idx if common is None else common.intersection(idx)
    if common is None or len(common) == 0:
        raise ValueError("the runs share no (shop, date) observations of "
                         f"{target!r}; compare runs fitted on the same data")
    common = common.sort_values()
    notes = []
    for n, idx in valid.items():
        extra = len(idx) - len(common)
        if extra:
            notes.append(f"note: run {n}: {extra} observations not shared by every run were left out")
    _check_same_observed(idatas, pointwise, common, target)
    reduced, models = {}, {}
    for n, (ll, idx) in pointwise.items():
        pos = idx.get_indexer(common)
        reduced[n] = _reduced(idatas[n], ll[:, :, pos])
        models[n] = str(idatas[n].log_likelihood.attrs.get("model", ""))
    loos, bad_k, lines = {}, {}, list(notes)
    for n, d in reduced.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            loos[n] = az.loo(d, pointwise=True, var_name=TARGET_VAR)
        k = np.asarray(loos[n].pareto_k)
        good = float(getattr(loos[n], "good_k", 0.7) or 0.7)
        bad_k[n] = int((k > good).sum())
        if bad_k[n]:
            lines.append(f"warning: run {n}: {bad_k[n]} of {k.size} observations have Pareto k > {good:.2f}; "
                         f"PSIS-LOO is unreliable there")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = az.compare(loos, ic="loo")
    shops = sorted(set(common.get_level_values("shop")))
    dates = common.get_level_values("date")
    table = table.rename_axis("run").reset_index()
    table["model"] = table["run"].map(models)
    table["pareto_k_bad"] = table["run"].map(bad_k)
    table["n_obs"] = len(common)
    table["target"] = target
    table["shops"] = " ".join(shops)
    table["date_min"] = dates.min().strftime("%Y-%m-%d")
    table["date_max"] = dates.max().strftime("%Y-%m-%d")
    table["warning"] = table["warning"].astype(bool)
    table = table[[c for c in TABLE_COLUMNS if c in table.columns]]
    shop_text = ", ".join(shops[:5]) + (f", ... ({len(shops)} shops)" if len(shops) > 5 else "")
    summary = (f"compared on {len(common)} observations of {target!r} (the same target on the same days in every "
               f"run): shops {shop_text}; dates {dates.min().date()}..{dates.max().date()}")
    return ComparisonResult(table=table, summary=summary, warnings=lines)


def _check_same_observed(idatas: Mapping[str, az.InferenceData],
                         pointwise: Mapping[str, tuple[np.ndarray, pd.MultiIndex]], common: pd.MultiIndex,
                         target: str) -> None:
    ref_name, ref = None, None
    for n, (_, idx) in pointwise.items():
        obs = _observed(idatas[n])
        if obs is None:
            continue
        vals = obs.reindex(common).to_numpy()
        if ref is None:
            ref_name, ref = n, vals
            continue
        differ = ~np.isclose(vals, ref, rtol=1e-6, atol=1e-9, equal_nan=True)
        if differ.any():
            shop, date = common[int(np.flatnonzero(differ)[0])]
            raise ValueError(f"runs {ref_name} and {n} observed different values of {target!r} (first: shop "
                             f"{shop!r}, {date.date()}; {int(differ.sum())} observations differ); compare runs "
                             f"fitted on the same data")


def compare_forecasts(runs: Mapping[str, tuple[Any, Panel, str]], *, num_draws: int = 200, seed: int = 0,
                      progress: bool = False) -> ComparisonResult:
    """Compare fitted models by the log predictive density of held-out periods (leave-future-out).

    Every run must have been fitted up to the same period (e.g. each with ``causalmmm fit --holdout H`` on the same
    data). Its data panel is split there: the periods up to the training end are the history, the periods after
    it the held-out window. Each run forecasts the window from the history and the window's channels (and
    controls) and scores the observed target: ``lpd[s, t] = log mean_draws p(y[s, t] | draw)`` in original units
    (``MMMFit.predictive_log_density``), period t scored t steps ahead. The table sums them over the observations
    every run scores (``elpd_lfo``), with the standard error of the sum (``se``) and, against the best run, the
    difference and its standard error from the pointwise differences (``elpd_diff``, ``dse``).

    Parameters
    ----------
    runs
        ``name → (fit, data panel, model name)``; the panels hold the same shops and target, read with each run's
        columns.
    num_draws, seed
        Posterior draws (and rollouts) per run, and their seed.

    Raises
    ------
    ValueError
        Fewer than two runs; runs of different targets or training ends; no held-out period with an observed target
        that every run scores.
    """
    from scipy.special import logsumexp

    if len(runs) < 2:
        raise ValueError("compare needs at least two runs")
    targets = {n: panel.target for n, (_, panel, _) in runs.items()}
    ends = {n: pd.Timestamp(fit.training_end) for n, (fit, _, _) in runs.items()}
    first = next(iter(runs))
    for n in runs:
        if targets[n] != targets[first]:
            raise ValueError(f"runs {first} and {n} model different targets ({targets[first]!r} and {targets[n]!r}); "
                             f"compare runs of the same target")
        if ends[n] != ends[first]:
            raise ValueError(f"runs {first} and {n} were fitted up to different periods ({ends[first].date()} and "
                             f"{ends[n].date()}); compare runs fitted on the same periods")
    end, target = ends[first], targets[first]
    pointwise, models, periods = {}, {}, 0
    for n, (fit, panel, model) in runs.items():
        split = int(np.searchsorted(panel.dates, end, side="right"))
        if split >= panel.n_time:
            raise ValueError(f"the data have no periods after the runs' training end {end.date()}: give the held-out "
                             f"periods too (e.g. the data the runs were fitted on with --holdout)")
        history, window = panel.select_time(0, split), panel.select_time(split, panel.n_time)
        lp = fit.predictive_log_density(history, window, num_draws=num_draws, seed=seed, progress=progress)
        with np.errstate(invalid="ignore"):
            lpd = logsumexp(lp, axis=0) - np.log(lp.shape[0])  # (shop, period), NaN where unobserved
        index = pd.MultiIndex.from_product([list(window.shops), window.dates], names=["shop", "date"])
        pointwise[n] = pd.Series(lpd.ravel(), index=index)
        models[n], periods = model, window.n_time
    common = None
    for series in pointwise.values():
        idx = series.index[np.isfinite(series.to_numpy())]
        common = idx if common is None else common.intersection(idx)
    if common is None or len(common) == 0:
        raise ValueError(f"no held-out observation of {target!r} after {end.date()} is scored by every run")
    common = common.sort_values()
    values = {n: series.loc[common].to_numpy() for n, series in pointwise.items()}
    n_obs = len(common)
    elpd = {n: float(v.sum()) for n, v in values.items()}
    order = sorted(elpd, key=elpd.get, reverse=True)
    best = order[0]
    shops = sorted(set(common.get_level_values("shop")))
    dates = common.get_level_values("date")
    rows = []
    for rank, n in enumerate(order):
        diff = values[best] - values[n]
        rows.append({"run": n, "model": models[n], "rank": rank, "elpd_lfo": elpd[n],
                     "se": float(np.sqrt(n_obs) * values[n].std()), "elpd_diff": float(diff.sum()),
                     "dse": float(np.sqrt(n_obs) * diff.std()), "n_obs": n_obs, "periods": periods,
                     "target": target, "shops": " ".join(shops), "date_min": dates.min().strftime("%Y-%m-%d"),
                     "date_max": dates.max().strftime("%Y-%m-%d")})
    table = pd.DataFrame(rows, columns=list(FORECAST_COLUMNS))
    shop_text = ", ".join(shops[:5]) + (f", ... ({len(shops)} shops)" if len(shops) > 5 else "")
    summary = (f"compared on {n_obs} held-out observations of {target!r}: the {periods} periods after the runs' "
               f"training end {end.date()}, each forecast from the history and that window's channels (the h-th period "
               f"scored h steps ahead; {num_draws} draws per run); shops {shop_text}; dates "
               f"{dates.min().date()}..{dates.max().date()}")
    return ComparisonResult(table=table, summary=summary, warnings=[])
