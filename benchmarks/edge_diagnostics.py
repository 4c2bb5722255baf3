"""Where CausalMMM's graph recovery is lost: per effect kind, the guide's starting point against the fitted posterior,
and what the fitted decoder's likelihood says about the true edges. Writes the "Edge diagnostics" section of
docs/benchmarks.md.

On one simulated panel (sim2 by default, full size), with ``CausalMMMSpec()`` defaults:

- per-shop AUROC of the amortized guide *before* SVI (its starting point: each shop's Granger screen) and after;
- AUROC per kind of effect node (channels, mediators, target): edges into channels are budget effects (they act on
  log-spend in the simulator), edges into the mediator and the target are response effects;
- mean log-likelihood per value of the channels, the mediator and the target under the posterior edge probabilities,
  and under the same graph with every true channel → channel edge switched on (does the fitted decoder reward them?)
  or with every false one switched on;
- how much evidence a true channel → channel edge carries on each scale a model could score spend on, from the
  simulator's truth alone (no model): the Gaussian log-likelihood gain per day and true parent of adding the true
  parents' transformed spend to a least-squares regression of the channel on its own 7 lags and the weekday, on
  scaled spend (all days) and on log-spend (active days, with the lags' on/off indicators).

Run from the repository root::

    .venv/bin/python -m benchmarks.edge_diagnostics            # sim2, 50 shops x 14 nodes x 676 days
    .venv/bin/python -m benchmarks.edge_diagnostics --quick    # tiny (the test suite)
    .venv/bin/python -m benchmarks.edge_diagnostics --no-write --spec link=log1p    # a variant, printed only
"""

from __future__ import annotations

import sys

import numpy as np

from benchmarks._doc import benchmark_parser, command_for, machine_line, parse_spec, publish

TITLE = "## Edge diagnostics"
FULL = dict(scenario="sim2", n_shops=50, n_days=None, n_channels=None, steps=None)
QUICK = dict(scenario="sim2", n_shops=3, n_days=60, n_channels=4, steps=20)


def per_column_auroc(score: np.ndarray, truth: np.ndarray, cand: np.ndarray, columns: np.ndarray) -> float:
    """Mean over shops of the AUROC over candidate pairs whose effect is in ``columns`` (shops with one class skip).

    score, truth : (shop, cause, effect); cand : (cause, effect) bool; columns : (effect,) bool
    """
    from sklearn.metrics import roc_auc_score

    keep = cand & columns[None, :]
    out = [roc_auc_score(t[keep], s[keep]) for s, t in zip(score, truth) if 0 < t[keep].sum() < keep.sum()]
    return float(np.mean(out)) if out else float("nan")


def run(sizes: dict, seed: int, overrides: dict | None = None) -> dict:
    from causalmmm_ppl import _runtime

    _runtime.configure()
    import torch

    from causalmmm_ppl.data.simulate import simulate
    from causalmmm_ppl.inference.causalmmm_fit import fit_causalmmm
    from causalmmm_ppl.inference.causalmmm_setup import build_model
    from causalmmm_ppl.models.settings import CausalMMMSettings

    kw = {k: sizes[k] for k in ("n_days", "n_channels") if sizes.get(k)}
    sim = simulate(sizes["scenario"], n_shops=sizes["n_shops"], seed=seed, **kw)
    panel, truth = sim.panel, sim.adjacency
    flat = dict(overrides or {})
    if sizes.get("steps"):
        flat.setdefault("steps", sizes["steps"])
    settings = CausalMMMSettings.from_dict(flat)
    fit = fit_causalmmm(panel, settings, seed=seed, progress=False)
    data = fit.training_data()
    batch = data.full_batch(temperature=settings.model.temperature)
    torch.manual_seed(seed)  # the same initial weights as the fit: what SVI started from
    _, guide0 = build_model(panel, settings)
    with torch.no_grad():
        start = fit.model.edges_to_matrix(guide0.edge_probabilities(batch)).numpy()
    post = fit.edge_probability_array()
    cand = fit.model.rho.numpy() > 0
    kinds = np.asarray(panel.node_kinds)
    groups = {"all": np.ones(len(kinds), bool), "channels": kinds == "channel", "mediators": kinds == "mediator",
              "target": kinds == "target"}
    out = {"shape": f"{panel.n_shops}×{panel.n_nodes}×{panel.n_time}", "steps": settings.inference.steps, "auroc": {},
           "evidence": evidence_by_scale(sim)}
    for name, cols in groups.items():
        out["auroc"][name] = (per_column_auroc(start, truth, cand, cols), per_column_auroc(post, truth, cand, cols))
    ch = kinds == "channel"
    cc = cand & ch[:, None] & ch[None, :]
    true = truth.astype(bool)
    graphs = {
        "posterior probabilities": post,
        "+ every true channel → channel edge": np.where(true & cc, 1.0, post),
        "+ every false channel → channel edge": np.where(~true & cc, 1.0, post),
    }
    out["n_true_cc"], out["n_false_cc"] = int((true & cc).sum()), int((~true & cc).sum())
    out["loglik"] = {}
    with torch.no_grad():
        u = fit.guide.distributions(batch)[1]
        weekly = fit.guide.weekly_distribution(batch).mean if settings.model.seasonality else None
        for name, g in graphs.items():
            z = torch.as_tensor(g, dtype=torch.float32)
            pred, _ = fit.model.one_step_means(data.x, u, z, data.calendar, weekly)
            ll = fit.model.observation(pred[:, :-1]).log_prob(data.x[:, 1:]).mean((0, 1)).numpy()
            out["loglik"][name] = {k: float(ll[cols].mean()) for k, cols in groups.items() if k != "all"}
    return out


def evidence_by_scale(sim, lags: int = 7) -> dict[str, float]:
    """Mean log-likelihood gain (nats per day and true parent) of a channel's true channel parents, by scale.

    For every shop and channel with channel parents: ordinary least squares of the channel's next value on its own
    ``lags`` lags and weekday dummies, with and without the parents' true transformed spend at lag 1
    (:func:`causalmmm_ppl.data.simulate.transformed_causes`); the gain is ``0.5 log(var0 / var1)`` times the share of
    scored days, divided by the number of parents. ``"scaled spend"`` scores every day on spend divided by its mean;
    ``"log-spend, active days"`` scores the days with spend, on log-spend, with lags of log-spend (0 when off) and of
    the on/off indicator — what the hurdle spend model scores.
    """
    from causalmmm_ppl.data.simulate import transformed_causes

    signal = transformed_causes(sim)  # (shop, time, node)
    values = sim.panel.values / sim.panel.values.mean(1, keepdims=True)
    channels = np.flatnonzero(np.asarray(sim.panel.node_kinds) == "channel")
    days = np.arange(lags, values.shape[1])
    weekday = np.eye(7)[days % 7]
    gains: dict[str, list[float]] = {"scaled spend": [], "log-spend, active days": []}
    for s in range(values.shape[0]):
        for j in channels:
            parents = np.flatnonzero(sim.adjacency[s, channels, j])
            if len(parents) == 0:
                continue
            x = values[s, :, j]
            on = x > 0
            log_x = np.where(on, np.log(np.where(on, x, 1.0)), 0.0)
            lagged = lambda v: np.stack([v[days - k] for k in range(1, lags + 1)], 1)  # noqa: E731
            views = {
                "scaled spend": (x[days], [lagged(x)], np.ones(len(days), bool)),
                "log-spend, active days": (log_x[days], [lagged(log_x), lagged(on.astype(float))], on[days]),
            }
            extra = signal[s][days - 1][:, channels[parents]]
            for name, (y, own, keep) in views.items():
                x0 = np.concatenate(own + [weekday], 1)[keep]
                x1 = np.concatenate([x0, extra[keep]], 1)
                r0 = y[keep] - x0 @ np.linalg.lstsq(x0, y[keep], rcond=None)[0]
                r1 = y[keep] - x1 @ np.linalg.lstsq(x1, y[keep], rcond=None)[0]
                gains[name].append(0.5 * np.log(r0.var() / r1.var()) * keep.mean() / len(parents))
    return {name: float(np.mean(g)) if g else float("nan") for name, g in gains.items()}


def render(r: dict, scenario: str, command: str, overrides: dict | None = None) -> str:
    settings = "`CausalMMMSpec()` defaults" + (f" except {overrides}" if overrides else "")
    lines = [
        TITLE, "",
        f"Command: `{command}`  ",
        machine_line() + "  ",
        f"Data: {scenario} ({r['shape']}, all days), {settings} ({r['steps']} SVI steps). AUROC per "
        "shop over candidate pairs whose effect is of the given kind, mean over shops.",
        "",
        "| effect nodes | guide before SVI (Granger screen) | posterior after SVI |",
        "|---|---|---|",
    ]
    for name, pair in r["auroc"].items():
        a0, a1 = ("–" if np.isnan(a) else f"{a:.3f}" for a in pair)  # – : no shop has both classes
        lines.append(f"| {name} | {a0} | {a1} |")
    lines += [
        "",
        f"Mean log-likelihood per value under the fitted decoder (channel → channel pairs: {r['n_true_cc']} true, "
        f"{r['n_false_cc']} false):",
        "",
        "| graph | channels | mediators | target |",
        "|---|---|---|---|",
    ]
    for name, ll in r["loglik"].items():
        lines.append(f"| {name} | {ll['channels']:.4f} | {ll['mediators']:.4f} | {ll['target']:.4f} |")
    lines += [
        "",
        "Evidence of a true channel → channel edge on each scale, from the simulator's truth (no model; least squares "
        "on the channel's own lags and the weekday, with and without its true parents' transformed spend):",
        "",
        "| scale | log-likelihood gain per day and true parent (nats) |",
        "|---|---|",
    ]
    for name, gain in r["evidence"].items():
        lines.append(f"| {name} | {gain:.4f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = benchmark_parser(__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--spec", nargs="*", default=[], metavar="KEY=VALUE",
                        help="CausalMMMSettings overrides (a variant: use with --no-write so the docs keep the "
                             "default)")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    overrides = parse_spec(args.spec)
    r = run(sizes, args.seed, overrides)
    publish(render(r, sizes["scenario"], command_for("benchmarks.edge_diagnostics", argv), overrides), TITLE, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
