"""The sections of a run report, each built from a :class:`~causalmmm_ppl.reporting.run.RunContents` with the
figures of :mod:`causalmmm_ppl.plots`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from causalmmm_ppl import plots
from causalmmm_ppl.data.panel import period_numbers
from causalmmm_ppl.evaluation.diagnostics import diagnostics_table
from causalmmm_ppl.reporting.html import Section, image, paragraph, table
from causalmmm_ppl.reporting.run import RunContents

__all__ = ["data_section", "graph_section", "effects_section", "channel_effects_section", "response_section", "forecast_section",
           "diagnostics_section", "settings_section", "forecast_metrics"]


def _figure(section: Section, build: Callable[[], Any], alt: str, caption: str | None = None) -> None:
    """Add a figure; a figure the run's contents do not allow becomes a note saying why."""
    try:
        section.parts.append(image(plots.figure_png(build()), alt, caption))
    except ValueError as exc:
        section.parts.append(paragraph(f"{alt}: not shown ({exc})", note=True))


def _over_time(run: RunContents, fig: Any) -> Any:
    """A figure over the run's dates, its axes labelled with period numbers where the run's data numbered them."""
    return plots.number_periods(fig, run.freq)


def data_section(run: RunContents) -> Section:
    """Shops, dates, nodes, and per-node (CausalMMM) or target (BTVC) summaries of the training data."""
    s = Section("Data")
    obs = run.idata.observed_data["target"]
    dates = pd.DatetimeIndex(obs["date"].values)
    values = np.asarray(obs.values, float)
    target = str(obs.attrs.get("target_name", run.idata.posterior.attrs.get("target_name", "target")))
    step = (dates[1] - dates[0]).days if len(dates) > 1 else 0
    kinds = pd.Series(run.node_kinds)
    grid = "daily" if step == 1 else f"{step}-day"
    span = (f"{dates.min().date()} to {dates.max().date()}" if not run.freq else
            "periods {} to {}".format(*period_numbers(dates[[0, -1]], run.freq)))
    lines = [f"{obs.sizes['shop']} shops × {len(dates)} training steps ({grid} grid), {span}; target {target!r}.",
             "channels: " + (", ".join(kinds[kinds == "channel"].index) or "(none)") + "; mediators: "
             + (", ".join(kinds[kinds == "mediator"].index) or "(none)") + "."]
    if np.isnan(values).any():
        lines.append(f"{np.isnan(values).mean():.1%} of the target's shop-days are unobserved.")
    s.parts += [paragraph(line) for line in lines]
    panel = run.tables.get("train_panel")
    if panel is not None:
        cols = [c for c in run.node_kinds if c in panel.columns]
        v = panel[cols]
        summary = pd.DataFrame({"node": cols, "kind": [run.node_kinds[c] for c in cols],
                                "mean": v.mean().to_numpy(), "std": v.std().to_numpy(),
                                "min": v.min().to_numpy(), "max": v.max().to_numpy(),
                                "zero share": (v == 0).mean().to_numpy()})
        s.parts.append(table(summary, caption="Training data per node (all shops and days)"))
    per_shop = pd.DataFrame({"shop": [str(x) for x in obs["shop"].values],
                             f"{target} mean": np.nanmean(values, axis=1), f"{target} min": np.nanmin(values, axis=1),
                             f"{target} max": np.nanmax(values, axis=1)})
    s.parts.append(table(per_shop, max_rows=12, caption=f"Target per shop (first 12 of {len(per_shop)})"))
    return s


def graph_section(run: RunContents, shops: list[str]) -> Section:
    """CausalMMM: the learned graphs (cross-shop summary, heatmaps, one drawn graph, the strongest edges)."""
    s = Section("Causal graph")
    edges = run.tables.get("edges")
    source = edges if edges is not None else run.idata
    s.parts.append(paragraph("Posterior probability q(z = 1) of each edge cause → effect (Granger sense: the cause's "
                             "past changes the effect's next value), per shop; with edge pooling (the default, on 10 "
                             "or more shops) after the population layer, which weighs each shop's own evidence with "
                             "the graph templates its shops share."))
    _figure(s, lambda: plots.edge_frequency(source), "edge frequency across shops",
            "Colour: share of shops in which the edge has probability above 0.5; numbers: mean probability.")
    _figure(s, lambda: plots.edge_heatmaps(source, shops), "edge probability heatmaps",
            f"Per-shop heatmaps, shops {', '.join(shops)}.")
    kinds = None
    try:
        nodes = plots.graphs.edge_cube(plots.edge_table(source))[2]
        kinds = [run.node_kinds[n] for n in nodes] if all(n in run.node_kinds for n in nodes) else None
    except ValueError:
        pass
    _figure(s, lambda: plots.graph_drawing(source, shops[0], node_kinds=kinds), "drawn graph",
            f"Shop {shops[0]}: channels left, mediators middle, target right.")
    try:
        tab = plots.edge_table(source)
        top = (tab.groupby(["cause", "effect"], sort=False)["probability"]
               .agg(mean="mean", min="min", max="max", shops_above_half=lambda p: int((p > 0.5).sum()))
               .reset_index().sort_values("mean", ascending=False).head(12))
        s.parts.append(table(top, caption="Strongest edges on average across shops"))
    except ValueError as exc:
        s.parts.append(paragraph(f"edge table: not shown ({exc})", note=True))
    return s


def effects_section(run: RunContents, shops: list[str]) -> Section:
    """BTVC: media contribution shares and the time-varying coefficients β(t)."""
    s = Section("Media effects")
    shares = run.tables.get("contribution_shares")
    if shares is not None:
        _figure(s, lambda: plots.contribution_shares(shares), "contribution shares")
    _figure(s, lambda: _over_time(run, plots.beta_paths(run.idata, shops[:2])), "time-varying coefficients",
            "β(t): the weight of each channel's saturated carryover in the target, on the per-shop scale.")
    return s


def channel_effects_section(run: RunContents) -> Section:
    """The channel effects and response curves of ``causalmmm effects`` (those the report was given): the portfolio's
    effect of each channel by kind with its table (ROAS, mROAS), and the target against each channel's spend."""
    s = Section("Channel effects")
    effects = run.tables.get("channel_effects")
    if effects is not None:
        s.parts.append(paragraph(
            "Each channel's effect on the target summed over the plan's days: the target with the channel's planned "
            "spend minus the target with it at 0, under the posterior (total: other channels respond through the "
            "graph; held: they keep their plan; direct: mediators also held). ROAS = effect / spend; mROAS = effect "
            "of +10% spend per unit of that spend. On the project's simulations these estimates rank channels better "
            "than they size them: they fall short of the true effects, and their 90% intervals hold fewer than 90% "
            "of the true effects (docs/benchmarks.md, \"Causal effects and budget\")."))
        _figure(s, lambda: plots.channel_effects(effects), "channel effects")
        portfolio = effects[effects["shop"].astype(str) == "ALL"].drop(columns="shop")
        s.parts.append(table(portfolio if len(portfolio) else effects, caption="all shops" if len(portfolio) else None))
    curves = run.tables.get("response_curves")
    if curves is not None:
        _figure(s, lambda: plots.response_curve(curves), "response curves over the plan",
                "The target over the plan's days when one channel's planned spend is multiplied (the others respond "
                "through the graph); 1 is the plan.")
    return s


def response_section(run: RunContents, shops: list[str]) -> Section:
    """Hill response curves and carryover weights of the first shop, with credible bands."""
    s = Section("Response curves")
    _figure(s, lambda: plots.response_curves(run.idata, shops[0]), "response curves")
    _figure(s, lambda: plots.adstock_decay(run.idata, shops[0]), "carryover")
    return s


def forecast_metrics(forecast: pd.DataFrame) -> pd.DataFrame:
    """Per node: days forecast, MAE, MAPE, interval coverage and mean interval width over observed rows of
    ``forecast.csv``."""
    f = forecast.dropna(subset=["observed"])
    err = (f["mean"] - f["observed"]).abs()
    inside = (f["observed"] >= f["lower"]) & (f["observed"] <= f["upper"])
    g = f.assign(abs_err=err, ape=err / f["observed"].abs().where(f["observed"] != 0), inside=inside,
                 width=f["upper"] - f["lower"]).groupby("node", sort=False)
    return pd.DataFrame({"rows": g.size(), "MAE": g["abs_err"].mean(), "MAPE": g["ape"].mean(),
                         "coverage": g["inside"].mean(), "mean width": g["width"].mean()}).reset_index()


def forecast_section(run: RunContents, shops: list[str]) -> Section:
    """Held-out forecasts with intervals (``forecast.csv``) and the in-sample posterior predictive."""
    s = Section("Forecasts")
    forecast = run.tables.get("forecast")
    if forecast is None:
        s.parts.append(paragraph("No held-out forecast in this run (fit with --holdout H to get one).", note=True))
    else:
        s.parts.append(table(forecast_metrics(forecast), caption="Held-out accuracy (interval: 90%)"))
        _figure(s, lambda: _over_time(run, plots.forecast_fan(forecast, shops, history=run.idata)), "forecast fan charts",
                "Black dots: held-out observations; grey: the last training days.")
    _figure(s, lambda: _over_time(run, plots.in_sample_fit(run.idata, shops[:2])), "in-sample fit",
            "Posterior predictive of the target on the training days (one step ahead for CausalMMM).")
    return s


def diagnostics_section(run: RunContents) -> Section:
    """Convergence: the ELBO trace (SVI), R-hat / ESS per parameter group, rank and trace plots (MCMC)."""
    s = Section("Diagnostics")
    idata = run.idata
    if "sample_stats" in idata.groups() and "elbo" in idata.sample_stats:
        _figure(s, lambda: plots.elbo_trace(idata), "ELBO trace")
    diag = run.tables.get("diagnostics")
    if diag is None:
        try:
            diag = diagnostics_table(idata)
        except (ValueError, KeyError) as exc:
            s.parts.append(paragraph(f"diagnostics table: not computed ({exc})", note=True))
    svi = idata.posterior.attrs.get("inference") == "svi"
    if diag is not None:
        mixed = int(idata.posterior.attrs.get("svi_runs_mixed", 1))
        if svi and mixed > 1:
            s.parts.append(paragraph(f"Each chain is one of the {mixed} SVI runs whose posteriors the fit mixes: "
                                     "R-hat compares the runs (well above 1: they ended apart, and the mixture's "
                                     "intervals carry that spread). Within a run the draws are independent draws "
                                     "from its guide; the ELBO trace (the best run's) shows the optimisation."))
        elif svi:
            s.parts.append(paragraph("SVI draws are independent draws from the fitted guide (stored as chains of "
                                     "consecutive draws): R-hat near 1 and ESS near the number of draws hold by "
                                     "construction and say nothing of the optimisation's convergence; the ELBO "
                                     "trace does."))
        s.parts.append(table(diag, caption="R-hat and effective sample size per parameter group"))
        _figure(s, lambda: plots.diagnostics_summary(diag), "R-hat and ESS summary")
    if not svi and int(idata.posterior.sizes.get("chain", 1)) >= 2:
        _figure(s, lambda: plots.rank_plot(idata), "rank plots", "One element of each latent variable.")
        _figure(s, lambda: plots.trace_plot(idata, max_vars=4), "trace plots")
    return s


def settings_section(run: RunContents) -> Section:
    """The model and inference settings of the fit."""
    s = Section("Fit settings")
    rows = [(k, v if isinstance(v, (int, float, str)) or v is None else str(v)) for k, v in run.settings.items()]
    frame = pd.DataFrame(rows, columns=["setting", "value"]).astype({"value": str})
    s.parts.append(table(frame, max_rows=200))
    return s
