"""Shared by the benchmarks that decide a CausalMMM model setting by its effects (development seeds): fit one panel
once per variant of the settings and score its effects against the simulator's truth and its edges."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from benchmarks._doc import by_scenario, mean_sd, panel_benchmark, section_head, table_head
from benchmarks.effects import draw_count, effects_panel, horizon, num_draws, quick_settings, window_days
from causalmmm_ppl.models.spec import CausalMMMSpec

SCENARIOS = ("sim1", "sim2", "sim3")
SEEDS = (100, 101)
#: column key → header: ``total`` effects' Spearman, portfolio-ROAS error, 90% coverage and error share, ``held``
#: effects' coverage, and the per-shop AUROC of the edge probabilities over the candidate pairs
METRICS = {"spearman": "Spearman", "roas_rel_error": "ROAS error", "coverage": "coverage 90%",
           "error_share": "error share", "held_coverage": "held coverage 90%", "auroc": "per-shop AUROC"}


def family_label(adstock: str) -> str:
    """A carryover family's row label: its name, with "(default)" on the model's default family."""
    return f"{adstock} (default)" if adstock == CausalMMMSpec().adstock else adstock


#: a variant's settings overrides: by name, or a function of the simulated panel that gives them (e.g. edge priors
#: that name the panel's nodes)
Overrides = Mapping[str, Any] | Callable[[Any], Mapping[str, Any]]

#: The default settings' fit of the last panel this process fitted, with its effects table, by (scenario, seed,
#: quick): every script built on this module fits that row, and scripts run one after another in one process (the
#: test suite's quick modes, ``--jobs 0``) share it instead of fitting it again. Fits are seeded (the same settings
#: and seed give the same outputs, ``benchmarks.bit_identity``), so the figures are those of a fit of its own.
_DEFAULT_FIT: dict[tuple, tuple] = {}


def fit_with_effects(scenario: str, seed: int, quick: bool, history, plan, settings) -> tuple[Any, Any]:
    """A fit of ``history`` with ``settings`` (seed ``seed``) and its effects table over ``plan`` (the panel of
    :func:`~benchmarks.effects.effects_panel` for ``scenario``, ``seed`` and ``quick``); the default settings' fit
    is shared within the process (:data:`_DEFAULT_FIT`)."""
    from causalmmm_ppl.inference.causalmmm_fit import fit_causalmmm
    from causalmmm_ppl.models.settings import CausalMMMSettings

    key = (scenario, seed, quick)
    default = settings == CausalMMMSettings.of(**quick_settings(quick))
    if default and key in _DEFAULT_FIT:
        fit, table = _DEFAULT_FIT[key]
        return fit, table.copy()
    fit = fit_causalmmm(history, settings, seed=seed, progress=False)
    table = fit.effects(history, plan, num_draws=num_draws(quick), seed=seed)
    if default:
        _DEFAULT_FIT.clear()  # one panel's at a time
        _DEFAULT_FIT[key] = (fit, table.copy())
    return fit, table


def effect_scores(table, truth) -> dict[str, float]:
    """An effects table's figures against the truth: the ``total`` effects' (:func:`~causalmmm_ppl.evaluation.
    effect_metrics.effect_report`), the coverage of the ``held`` effects (``held_coverage``) and the size of the
    ``total`` effects against the truth's, Σ estimate / Σ truth over shop × channel (``size``)."""
    from causalmmm_ppl.evaluation.effect_metrics import effect_report, effect_size_ratio

    return {**effect_report(table, truth, "total"), "held_coverage": effect_report(table, truth, "held")["coverage"],
            "size": effect_size_ratio(table, truth, "total")}


def channel_target_edges(probability: np.ndarray, panel, adjacency: np.ndarray) -> dict[str, float]:
    """How a fit's channel → target edges (``probability``: (shop, cause, effect)) meet the truth (``adjacency``):
    the share of true ones above 0.5 (``ct_recall``) and the number of absent ones above 0.5 (``ct_false``)."""
    ch, target = panel.channel_index, panel.n_nodes - 1
    on, true = probability[:, ch, target] > 0.5, adjacency[:, ch, target] > 0
    return {"ct_recall": float((on & true).sum() / max(true.sum(), 1)), "ct_false": float((on & ~true).sum())}


def learned_gain_scale(model) -> float:
    """The log edge gains' prior scale a fit learned (``learn_gain_scale``); NaN where the model does not learn it."""
    scale = getattr(model, "log_gain_scale", None)
    return float("nan") if scale is None else float(scale.detach().exp())


def score_variants(scenario: str, seed: int, quick: bool, variants: Mapping[str, Overrides]) -> dict:
    """Simulate one panel, fit it on all but its last ``HORIZON`` days once per variant (``{label: settings
    overrides}``, :data:`Overrides`), and score each fit's effects and edges, every variant's over the default
    model's candidate pairs (runs in a worker process)."""
    from causalmmm_ppl import _runtime

    _runtime.configure(1)
    from benchmarks.graph_recovery import candidate_mask
    from causalmmm_ppl.evaluation.graph_metrics import per_shop_auroc
    from causalmmm_ppl.models.settings import CausalMMMSettings

    sim, truth, history, plan = effects_panel(scenario, seed, quick)
    candidates = candidate_mask(sim.panel, CausalMMMSettings().model)  # one mask for every variant: the default's
    out: dict = {"scenario": scenario, "seed": seed,
                 "shape": f"{sim.panel.n_shops}×{sim.panel.n_nodes}×{sim.panel.n_time}",
                 "horizon": horizon(quick), "draws": num_draws(quick)}
    for label, overrides in variants.items():
        overrides = overrides(sim.panel) if callable(overrides) else overrides
        settings = CausalMMMSettings.of(**{**overrides, **quick_settings(quick)})
        fit, table = fit_with_effects(scenario, seed, quick, history, plan, settings)
        probability = fit.edge_probability_array()
        auroc = per_shop_auroc(probability, sim.adjacency, candidates)
        out[label] = {**effect_scores(table, truth), "auroc": float(np.nanmean(auroc)),
                      "gain_scale": learned_gain_scale(fit.model),
                      **channel_target_edges(probability, sim.panel, sim.adjacency)}
    return out


def score_readings(scenario: str, seed: int, quick: bool, readings: Mapping[str, Mapping[str, Any]]) -> dict:
    """Simulate one panel, fit it once on all but its last ``HORIZON`` days with the default settings, and score
    each reading of that fit (``{label: output settings}``, ``CausalMMMFit.read_with``; the default's own settings:
    the fit as it is): its effects, and its edges by per-shop AUROC and log loss over the candidate pairs and by
    the AUROC of the channel → target pairs over all shops (``ct_auroc``) (runs in a worker process)."""
    from causalmmm_ppl import _runtime

    _runtime.configure(1)
    from benchmarks.effects_oracle import class_auroc
    from benchmarks.graph_recovery import candidate_mask
    from causalmmm_ppl.evaluation.graph_metrics import edge_log_loss, per_shop_auroc
    from causalmmm_ppl.models.settings import CausalMMMSettings

    sim, truth, history, plan = effects_panel(scenario, seed, quick)
    settings = CausalMMMSettings.of(**quick_settings(quick))
    fit, own = fit_with_effects(scenario, seed, quick, history, plan, settings)
    mask = candidate_mask(sim.panel, settings.model)
    out: dict = {"scenario": scenario, "seed": seed,
                 "shape": f"{sim.panel.n_shops}×{sim.panel.n_nodes}×{sim.panel.n_time}",
                 "horizon": horizon(quick), "draws": num_draws(quick)}
    for label, changes in readings.items():
        default = all(getattr(settings.outputs, k) == v for k, v in changes.items())
        read = fit if default else fit.read_with(**changes)
        table = own if default else read.effects(history, plan, num_draws=num_draws(quick), seed=seed)
        prob = read.edge_probability_array()
        out[label] = {**effect_scores(table, truth), "auroc": float(np.nanmean(per_shop_auroc(prob, sim.adjacency,
                                                                                              mask))),
                      "log_loss": edge_log_loss(prob, sim.adjacency, mask),
                      "ct_auroc": class_auroc(prob, sim.adjacency, sim.panel.node_kinds)["channel → target"]}
    return out


def render_variants(results: list[dict], command: str, seeds: tuple[int, ...], *, title: str, variants: Mapping,
                    what: str, column: str, metrics: Mapping[str, str] = METRICS, fitted: str = "once per variant"
                    ) -> str:
    """The section: ``what`` says how the variants differ (a sentence), ``column`` heads the variant column,
    ``metrics`` (column key → header) the figures shown, ``fitted`` how often a panel is fitted; the window and
    the draws named are the results' own (each panel's ``"horizon"`` and ``"draws"``)."""
    days, draws = window_days(results), draw_count(results)
    auroc = (" and by per-shop AUROC of the edge probabilities over the candidate pairs (the whole panel's graph; the "
             f"fit saw all but the last {days} days)") if "auroc" in metrics else ""
    lines = [
        *section_head(title, command),
        "",
        f"Development seeds {', '.join(map(str, seeds))} only. Each panel is fitted on all but its last {days} "
        f"days {fitted} ({what}) and scored as in \"Causal effects and budget\" (`total` effects over shop × "
        f"channel, {draws} draws; also the coverage of the `held` effects){auroc}. Mean ± sd over seeds.",
        "",
    ]
    for scenario, rows in by_scenario(results).items():
        lines += table_head(f"### {scenario}: {rows[0]['shape']} (shops × nodes × days)",
                            [column, *metrics.values()])
        for label in variants:
            cells = [mean_sd([r[label][k] for r in rows]) for k in metrics]
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def variants_main(argv: list[str] | None, *, module: str, title: str, description: str,
                  variants: Mapping[str, Overrides], column: str, what: str, metrics: Mapping[str, str] = METRICS,
                  scenarios: tuple[str, ...] = SCENARIOS) -> int:
    """The command line of a benchmark that fits every panel once per variant of the settings (``{label: settings
    overrides}``, :data:`Overrides`) on ``scenarios`` and development seeds :data:`SEEDS`, and writes its section
    ``title`` (:func:`render_variants` with ``column``, ``what`` and ``metrics``)."""
    from functools import partial

    render = partial(render_variants, title=title, variants=variants, column=column, what=what, metrics=metrics)
    return panel_benchmark(argv, module=module, title=title, description=description, scenarios=scenarios,
                           seeds=SEEDS, quick_seeds=(SEEDS[0],), score_panel=partial(score_variants,
                                                                                      variants=variants),
                           render=render)


def readings_main(argv: list[str] | None, *, module: str, title: str, description: str,
                  readings: Mapping[str, Mapping[str, Any]], column: str, what: str,
                  metrics: Mapping[str, str]) -> int:
    """The command line of a benchmark that fits every panel once with the default settings and scores readings of
    that fit (``{label: output settings}``, :func:`score_readings`) on :data:`SCENARIOS` and development seeds
    :data:`SEEDS`, and writes its section ``title`` (:func:`render_variants` with ``column``, ``what`` and
    ``metrics``)."""
    from functools import partial

    render = partial(render_variants, title=title, variants=readings, column=column, what=what, metrics=metrics,
                     fitted="once")
    return panel_benchmark(argv, module=module, title=title, description=description, scenarios=SCENARIOS,
                           seeds=SEEDS, quick_seeds=(SEEDS[0],),
                           score_panel=partial(score_readings, readings=readings), render=render)

