"""Where CausalMMM's effects miss the truth: the figures behind "Edge draws (development seeds)"'s reading.

Prints (writes nothing to docs/benchmarks.md), one thread per panel. For each panel (development seed 100 by
default; sizes and window as in "Causal effects and budget"), one default fit on all but the last 14 days, then:

1. **Exact zeros.** The shop × channel pairs whose true ``held`` effect is exactly 0 (no path to the target): their
   number, their mean edge probability into the target, and the share of their 90% intervals that exclude 0 under
   relaxed and under hard edge draws (``outputs.edge_draws``).
2. **Size.** Σ estimated / Σ true ``held`` effect over shop × channel, and the same ratio day by day over the window
   (each day's effect summed over shops and channels), with each day's share of the true effect; the same ratio
   for the effect of halving each channel's spend on the window instead of switching it off (where the ratio falls
   over the window for switching off but not for halving, the fit misses the response to low spend levels: the
   saturation curve near 0, reached as the carryover empties), and for the ``direct`` effect (the mediators held
   at their factual paths: what flows along channel → target alone); and the ``held`` ratio once more with the
   simulator's graph imposed on every draw (``graph=``), beside the mean posterior probability of the true edges
   into the target: where the imposed graph brings the ratio near 1, the sizes the fit gives an edge are right and
   the shortfall is the posterior's doubt about edges that exist (a rollout draws an edge at probability q on in a
   share q of the draws).
3. **Persistence.** How much of a deviation of the target carries over to the following days: the history's last
   target value raised by 20% in every shop, the window forecast again with the same draws and the actual spend,
   and the change of the target's mean on each day of the window divided by the raise (mean over shops), against
   the simulator's ρ^k (its target is an AR(1) with coefficient ρ per shop, and the target causes no other node).
   Effects accumulate through this persistence: what spend adds to the target today carries over as a deviation
   does.
4. **Carryover.** For each channel, the mean lag Σ_l l·w_l of the carryover weights, averaged over shops: the
   simulator's against the fit's (its posterior draws' weights, the fit's response family), beside the channel's
   Σ estimated / Σ true ``held`` effect over shops.
5. **Impulse response.** How one day's spend reaches the target: each channel switched off on the window's first
   day only (the other channels held at their plan, the mediators responding), and the change of the target on
   each day of the window, summed over shops and channels, as a share of the simulator's largest day; the fit's
   with its own edge draws and with the simulator's graph imposed, each with its Σ fit / Σ simulator over the
   window, and each channel's Σ fit / Σ simulator with that graph. A sustained intervention (the window's effects) sums these responses over the days it lasts, so
   a response that is too small, too short or turns negative (the fit predicting a rebound the simulator does not
   have) makes an effect fall behind over the window.
6. **Attribution.** Where the ranking of the ``held`` effects over shop × channel is lost: its Spearman correlation
   over all pairs, over the shops' sums (across shops) and within each shop over its channels; and each channel's
   Σ estimated / Σ true ``held`` effect beside how many true channel → channel edges lead into it and out of it per
   shop (a channel whose spend follows other channels' spend can take credit for theirs).

``python -m benchmarks.effects_diagnosis`` (sim1 and sim2, about four minutes, two panels at a time); ``--set
key=value`` changes a setting of the fit (e.g. ``steps=4500``); ``--scenario-set key=value`` a generating setting
of the simulator (e.g. ``w_response=[0.3,0.3]``: every shop's edges of one size; the same parameters, graph and
noise otherwise); ``--no-demand`` is ``--scenario-set demand_sd=[0,0]``, the panels without their latent demand;
``--quick`` runs tiny sizes (the test suite runs it so the script cannot rot).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import cached_property, partial

import numpy as np

from benchmarks._doc import parse_spec, print_only_panels, print_only_parser

SCENARIOS = ("sim1", "sim2")
SEEDS = (100,)


@dataclass
class Case:
    """One diagnosed panel: the simulation, its true effects, the split, the fit and the draws per rollout."""

    sim: object
    truth: object
    history: object
    plan: object
    fit: object
    draws: int
    seed: int

    @property
    def panel(self):
        return self.sim.panel

    @property
    def kinds(self) -> np.ndarray:
        return np.asarray(self.panel.node_kinds)

    @property
    def channels(self) -> np.ndarray:
        return np.flatnonzero(self.kinds == "channel")

    @property
    def target(self) -> int:
        return self.panel.nodes.index(self.panel.target)

    @cached_property
    def prob(self) -> np.ndarray:
        """(shop, cause, effect) the fit's edge probabilities."""
        return self.fit.edge_probability_array(self.history)

    @property
    def window(self) -> slice:
        """The plan's days among the panel's."""
        return slice(self.panel.n_time - self.plan.n_time, self.panel.n_time)

    @cached_property
    def units(self) -> np.ndarray:
        """(shop, time, node) the panel in shop-normalised units: what an intervention on the simulator sets."""
        return self.panel.values / self.sim.params["scale"][:, None, :]

    @cached_property
    def factual(self) -> np.ndarray:
        """(shop, day) the simulator's target on the window, replayed without intervention (original units)."""
        from causalmmm_ppl.data.simulate import Intervention

        u = self.units
        return self.sim.rerun(Intervention(np.zeros(u.shape, dtype=bool), u.copy()))[:, self.window, self.target]


def mean_lag(weights: np.ndarray) -> np.ndarray:
    """Σ_l l·w_l / Σ_l w_l of carryover weights ``(..., lag)`` → ``(...)``."""
    return (weights * np.arange(weights.shape[-1])).sum(-1) / weights.sum(-1)


def diagnose(scenario: str, seed: int, quick: bool, overrides: dict | None = None,
             scenario_settings: dict | None = None) -> str:
    """One panel's diagnosis as printed lines, the fit's settings changed by ``overrides`` and the simulator's by
    ``scenario_settings`` (runs in a worker process)."""
    from causalmmm_ppl import _runtime

    _runtime.configure(1)
    from benchmarks.effects import effects_panel, num_draws, quick_settings
    from causalmmm_ppl.inference.causalmmm_fit import fit_causalmmm
    from causalmmm_ppl.models.settings import CausalMMMSettings

    sim, truth, history, plan = effects_panel(scenario, seed, quick, scenario_settings)
    settings = CausalMMMSettings.of(**{**quick_settings(quick), **(overrides or {})})
    fit = fit_causalmmm(history, settings, seed=seed, progress=False)
    case = Case(sim, truth, history, plan, fit, num_draws(quick), seed)
    panel = sim.panel
    changed = f", settings changed: {overrides}" if overrides else ""
    changed += f", simulator settings changed: {scenario_settings}" if scenario_settings else ""
    lines = [f"{scenario} seed {seed} ({panel.n_shops}×{panel.n_nodes}×{panel.n_time}{changed}):"]
    sizes, held_est, held_true = size(case)
    held_ratio = held_est.sum(1) / held_true.sum(1)
    lines += (exact_zeros(case) + sizes + persistence(case) + carryover(case, held_ratio) + impulse(case)
              + attribution(case, held_est, held_true, held_ratio))
    return "\n".join(lines)


def exact_zeros(case: Case) -> list[str]:
    """1. The pairs whose true ``held`` effect is exactly 0: how many, their edge probability into the target, and
    the share of their intervals that exclude 0 under relaxed and under hard edge draws."""
    panel, fit = case.panel, case.fit
    held = case.truth[case.truth.kind == "held"].set_index(["shop", "channel"])["effect"]
    zero = held[held == 0.0].index
    prob = case.prob
    shop_pos = {s: i for i, s in enumerate(panel.shops)}
    p_zero = [prob[shop_pos[s], panel.nodes.index(c), case.target] for s, c in zero]
    excluded = {}
    for mode in ("relaxed", "hard"):
        table = fit.read_with(edge_draws=mode).effects(case.history, case.plan, num_draws=case.draws, seed=case.seed,
                                                       kinds=("held",))
        rows = table.set_index(["shop", "channel"]).loc[zero]
        excluded[mode] = float(np.mean((rows["lower"] > 0) | (rows["upper"] < 0))) if len(zero) else float("nan")
    return [f"  exact zeros: {len(zero)} of {len(held)} held effects; mean edge probability into the target "
            f"{np.mean(p_zero) if p_zero else float('nan'):.3f}; 90% intervals excluding 0: "
            f"relaxed {excluded['relaxed']:.2f}, hard {excluded['hard']:.2f}"]


def size(case: Case) -> tuple[list[str], np.ndarray, np.ndarray]:
    """2. Σ estimated / Σ true effect, overall and day by day (the fit's own edge draws), for switching each channel
    off, halving it, the ``direct`` effect, and with the simulator's graph imposed; the calibration of the channel →
    target edges beside it. Also returns the estimated and the true ``held`` effect of switching each channel off,
    summed over the window, ``(channel, shop)`` each."""
    from causalmmm_ppl.data.effects_truth import channel_off
    from causalmmm_ppl.data.simulate import Intervention

    sim, panel, fit, tgt, channels = case.sim, case.panel, case.fit, case.target, case.channels
    prob = case.prob
    win, u, factual = case.window, case.units, case.factual
    present = sim.adjacency[:, :, tgt] > 0  # (shop, cause): the true edges into the target
    lines = [f"  true edges into the target: mean edge probability {prob[:, :, tgt][present].mean():.3f} "
             f"({int(present.sum())} edges)"]
    into = prob[:, :, tgt][:, channels]  # (shop, channel): the channels' candidate edges into the target
    exists = present[:, channels]
    cells = []
    for lo, hi in ((0.0, 0.1), (0.1, 0.5), (0.5, 0.9), (0.9, 1.01)):
        sel = (into >= lo) & (into < hi)
        if sel.any():
            cells.append(f"[{lo:.1f}, {min(hi, 1.0):.1f}): {int(sel.sum())} edges, mean probability "
                         f"{into[sel].mean():.2f}, present {exists[sel].mean():.2f}")
    lines.append("  channel → target edges by probability: " + "; ".join(cells))
    truth_graph = sim.adjacency.astype(float)
    for kind, multiplier, graph, what in (
            ("held", 0.0, None, "held effect"), ("held", 0.5, None, "held effect of halving the spend"),
            ("direct", 0.0, None, "direct effect"), ("held", 0.0, truth_graph, "held effect, the simulator's graph")):
        true_days = np.stack([factual - sim.rerun(Intervention(*channel_off(u, case.kinds, win, k, kind, multiplier))
                                                  )[:, win, tgt] for k in channels])  # (channel, shop, day)
        scenarios = [(kind, panel.nodes[k], multiplier) for k in channels]
        f, cf = fit.effect_samples(case.history, case.plan, scenarios, num_draws=case.draws, seed=case.seed,
                                   by_step=True, graph=graph)
        est_days = np.stack([(f - cf[s]).mean(0) for s in scenarios])  # (channel, shop, day)
        if what == "held effect":
            held_est, held_true = est_days.sum(2), true_days.sum(2)
        day_true = true_days.sum((0, 1))
        by_day = [f"{e / t:.2f}" if t != 0 else "–" for e, t in zip(est_days.sum((0, 1)), day_true)]
        share = day_true / true_days.sum()
        lines.append(f"  estimated / true {what}: {est_days.sum() / true_days.sum():.2f} overall; by day of the "
                     f"window (day 1 first; – where no effect has arrived yet): {' '.join(by_day)}")
        lines.append(f"  each day's share of the true effect: {' '.join(f'{r:.3f}' for r in share)}")
    return lines, held_est, held_true


def attribution(case: Case, held_est: np.ndarray, held_true: np.ndarray, ratio: np.ndarray) -> list[str]:
    """6. Where the ranking of the ``held`` effects over shop × channel is lost: across shops (each shop's effects
    summed over its channels) or within them (between one shop's channels), and whether a channel's Σ estimated /
    Σ true effect follows its place among the channels: how many true channel → channel edges lead into it (driven
    by other channels' spend) and out of it, per shop. ``held_est``, ``held_true``: (channel, shop); ``ratio``: each
    channel's Σ estimated / Σ true effect, (channel,)."""
    from scipy.stats import rankdata, spearmanr

    adjacency, channels = case.sim.adjacency, case.channels
    # within each shop (column): Spearman's correlation as the Pearson correlation of the ranks over channels
    r_true, r_est = (rankdata(x, axis=0) for x in (held_true, held_est))
    r_true, r_est = r_true - r_true.mean(0), r_est - r_est.mean(0)
    varies = np.ptp(held_true, axis=0) > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        within = (r_true * r_est).sum(0) / np.sqrt((r_true**2).sum(0) * (r_est**2).sum(0))
    lines = ["  attribution of the held effects: Spearman over shop × channel "
             f"{spearmanr(held_true.ravel(), held_est.ravel()).statistic:.3f}; of the shops' sums over channels "
             f"{spearmanr(held_true.sum(0), held_est.sum(0)).statistic:.3f}; within a shop, over its channels "
             f"{np.nanmean(within[varies]):.3f} (mean over {int(varies.sum())} shops)"]
    cc = adjacency[:, channels][:, :, channels] > 0  # (shop, cause channel, effect channel)
    into, out = cc.sum(1).mean(0), cc.sum(2).mean(0)  # (channel,) true channel → channel edges per shop
    lines.append("  each channel's estimated / true held effect against its true channel → channel edges per shop: "
                 f"Spearman over channels {spearmanr(ratio, into).statistic:.2f} with the edges into it, "
                 f"{spearmanr(ratio, out).statistic:.2f} with those out of it")
    for pos in np.argsort(ratio):
        lines.append(f"    {case.panel.nodes[channels[pos]]}: {ratio[pos]:.2f}; into {into[pos]:.2f}, "
                     f"out {out[pos]:.2f}")
    return lines


def persistence(case: Case) -> list[str]:
    """3. A raised last target value carried over the window: the fit's mean change by day against the simulator's
    ρ^k."""
    history, plan, fit, tgt = case.history, case.plan, case.fit, case.target
    raised = history.values.copy()
    bump = 0.2 * raised[:, -1, tgt]
    raised[:, -1, tgt] += bump
    base = fit.forecast_samples(history, plan, num_draws=case.draws, seed=case.seed)[..., tgt].mean(0)  # (shop, day)
    moved = fit.forecast_samples(dataclasses.replace(history, values=raised), plan, num_draws=case.draws,
                                 seed=case.seed)[..., tgt].mean(0)
    carried = ((moved - base) / bump[:, None]).mean(0)
    simulator = ""
    if "rho" in case.sim.params:
        rho = case.sim.params["rho"][:, tgt]
        true = (rho[:, None] ** np.arange(1, plan.n_time + 1)).mean(0)
        simulator = f"; simulator ρ^k: {' '.join(f'{r:.2f}' for r in true)} (sum {true.sum():.2f})"
    return [f"  a deviation of the target carried to day k of the window, fit: "
            f"{' '.join(f'{r:.2f}' for r in carried)} (sum {carried.sum():.2f}){simulator}"]


def carryover(case: Case, held_ratio: np.ndarray) -> list[str]:
    """4. Each channel's mean carryover lag Σ_l l·w_l averaged over shops, simulator against fit, beside its
    ``held_ratio`` (:func:`size`)."""
    import torch

    from causalmmm_ppl.transforms import torch_ops

    fit, sim = case.fit, case.sim
    family, l_max = fit.spec.response, fit.spec.l_max
    post = fit.posterior_samples(num_draws=min(case.draws, 50), seed=case.seed)
    w = family.weights(torch_ops, {k: torch.as_tensor(post[k]).float() for k in family.names}, l_max)
    lines = ["  carryover mean lag (days), simulator / fit; estimated / true held effect:"]
    if w is None:
        return lines + [f"    the fit's family ({family.adstock}) has no carryover"]
    if "carryover_weights" not in sim.params:
        return lines + [f"    the {sim.params['scenario']} simulator keeps no carryover weights"]
    fit_lag = mean_lag(w.numpy()).mean(0)  # (shop, node)
    true_lag = mean_lag(sim.params["carryover_weights"])
    carry = sim.params.get("carryover")
    for pos, k in enumerate(case.channels):
        form = f" ({carry[k]})" if carry is not None else ""
        lines.append(f"    {case.panel.nodes[k]}{form}: {true_lag[:, k].mean():.2f} / {fit_lag[:, k].mean():.2f}; "
                     f"{held_ratio[pos]:.2f}")
    return lines


def impulse(case: Case) -> list[str]:
    """5. Each channel off on the window's first day only: the target's change by day, fit against simulator."""
    from causalmmm_ppl.data.simulate import Intervention

    sim, panel, fit, tgt, channels = case.sim, case.panel, case.fit, case.target, case.channels
    win, u, factual = case.window, case.units, case.factual
    first = win.start
    held = np.zeros(u.shape, dtype=bool)  # every channel at its plan on the window, one of them off on its first day
    held[:, win, case.kinds == "channel"] = True

    def fitted(plan, graph):  # (shop, day): the fit's mean target on the window's days under a plan
        f, _ = fit.effect_samples(case.history, plan, [], num_draws=case.draws, seed=case.seed, by_step=True,
                                  graph=graph)
        return f.mean(0)

    graphs = {"its own edge draws": None, "the simulator's graph": sim.adjacency.astype(float)}
    base = {name: fitted(case.plan, g) for name, g in graphs.items()}
    true, est = [], {name: [] for name in graphs}
    for k in channels:
        off = u.copy()
        off[:, first, k] = 0.0
        true.append((factual - sim.rerun(Intervention(held, off))[:, win, tgt]).sum(0))  # (day,)
        values = case.plan.values.copy()
        values[:, 0, k] = 0.0
        plan = dataclasses.replace(case.plan, values=values)
        for name, g in graphs.items():
            est[name].append((base[name] - fitted(plan, g)).sum(0))
    true_day = np.sum(true, 0)
    peak = true_day.max()
    lines = ["  one day off (the window's first), the target's change by day as a share of the simulator's largest "
             "day:", f"    simulator: {' '.join(f'{r:.2f}' for r in true_day / peak)}"]
    for name, rows in est.items():
        lines.append(f"    fit, {name}: {' '.join(f'{r:.2f}' for r in np.sum(rows, 0) / peak)} "
                     f"(Σ fit / Σ simulator {np.sum(rows) / true_day.sum():.2f})")
    ratio = np.sum(est["the simulator's graph"], 1) / np.sum(true, 1)
    lines.append("    Σ fit / Σ simulator by channel (the simulator's graph): "
                 + ", ".join(f"{panel.nodes[k]} {r:.2f}" for k, r in zip(channels, ratio)))
    return lines


def main(argv: list[str] | None = None) -> int:
    p = print_only_parser(__doc__.splitlines()[0], "scenarios", SCENARIOS, SEEDS)
    p.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="settings changed for the fits")
    p.add_argument("--scenario-set", nargs="*", default=[], metavar="KEY=VALUE",
                   help="generating settings of the simulator changed (e.g. w_response=[0.3,0.3])")
    p.add_argument("--no-demand", action="store_true",
                   help="simulate the panels without their latent demand (a confounder of budgets and the target): "
                        "--scenario-set demand_sd=[0,0]")
    args = p.parse_args(argv)
    scenario_settings = parse_spec(args.scenario_set) | ({"demand_sd": [0.0, 0.0]} if args.no_demand else {})
    run = partial(diagnose, overrides=parse_spec(args.set), scenario_settings=scenario_settings or None)
    for text in print_only_panels(args, "scenarios", run)[0]:
        print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
