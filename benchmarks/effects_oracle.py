"""Effects with the true structure: what the data allow an estimator that is told the graph and the simulator's forms.

Writes the section "Effects with the true structure (reference)" of docs/benchmarks.md. "Causal effects and
budget" scores the models' effects against the simulators' truth with goals (Spearman ≥ 0.8, portfolio ROAS within
20% on sim2); this section places those goals and says what holds CausalMMM back. On the same panels, window and
truth it scores a reference estimator that is told a graph and the simulator's equations (sim1 and sim2 are
written with the model's own forms, :mod:`causalmmm_ppl.data.sim_market`). Only the sizes are estimated, shop by
shop, by least squares on the history (all but the last 14 days):

- mediators and the target: ``y_j(t) = ρ_j y_j(t − 1) + c_j + weekday_j(t) + Σ_i w_ij s_i(t − 1)`` over the
  parents i of j it is told;
- channels with parents: ``log x_j(t)`` on ``log x_j(t − 1)``, a constant, the weekday and ``s_i(t − 1)``,
  ``s_i(t − 2)`` of the parents, on days the channel is on both days (the drive acts on log-spend, beside an
  AR(1) state); ``w_ij`` is the coefficient of ``s_i(t − 1)``.

``s_i = Hill(adstock(x_i))`` is the cause's signal in shop-normalised units: the simulator's own carryover and
saturation (``true``), or each pair's chosen from a grid by the same least squares (``grid``: geometric decays
0–0.95 and delayed peaks at 2 and 4 days, Hill shapes 1 and 2, half-saturation 0.5–2 × the adstocked mean). The
graph it is told (:data:`VARIANTS`): the truth; every candidate cause (no graph: with the forms from the grid, an
estimator that knows only the equations' shape, the reference a model's graph must beat); or the graph of a default
CausalMMM fit on the same history (its edges above 0.5), also with its channel → target pairs replaced by the
truth's, which shows what those edges cost. The fit's own effects are scored beside them (as "Causal effects and
budget" scores it), and under each table its edges' recall per class, each class's AUROC over shops before SVI
(the guide's screen, :func:`benchmarks.graph_recovery.screen_only_scores`), after SVI before pooling (the encoder's
own) and after (the fit), and the true channel → target edges the fit misses (:func:`missed_channel_target`).

The effects are the estimated equations run over the window with channel k's spend at 0 (``total``: the other
channels' log-spend responds, the mediators and the target respond; ``held``: the other channels at their actual
spend; ``direct``: the mediators too), summed over the window. No noise is drawn: the counterfactual differs from
the factual only by the intervention, as the truth's does. The demand that moves budgets and the target together
is not given to it.

Nothing here is a model of the package and nothing was chosen here: the section is a reference for reading the
effects tables. sim3 is not scored: its equations are not the model's, and this reference is written in sim1's and
sim2's.

``python -m benchmarks.effects_oracle`` (one CausalMMM fit per panel, one to three minutes on one core);
``--quick`` runs tiny sizes (the test suite runs it so the script cannot rot).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from benchmarks._doc import by_scenario, mean_sd, panel_benchmark, section_head, table_head
from benchmarks.effects import effects_panel, horizon, num_draws, quick_settings, window_days
from causalmmm_ppl.evaluation.graph_metrics import auroc
from causalmmm_ppl.transforms.np_ops import adstock, delayed_weights, geometric_weights, hill

TITLE = "## Effects with the true structure (reference)"
SCENARIOS = ("sim1", "sim2")
SEEDS = (0, 1, 2)
KINDS = ("total", "held", "direct")
#: told → (graph, forms): the graph ``true``, ``all`` (every candidate cause), ``fitted`` (CausalMMM's edges above
#: 0.5) or ``fitted, true c→t`` (those, with every channel → target pair as in the truth); the forms ``true`` or
#: ``grid``
VARIANTS = {
    "true graph, true carryover and saturation": ("true", "true"),
    "true graph, carryover and saturation from a grid": ("true", "grid"),
    "every candidate cause, true carryover and saturation": ("all", "true"),
    "every candidate cause, carryover and saturation from a grid": ("all", "grid"),
    "CausalMMM's graph (edges above 0.5), carryover and saturation from a grid": ("fitted", "grid"),
    "CausalMMM's graph with the true channel → target edges, from a grid": ("fitted, true c→t", "grid"),
}
FITTED = "CausalMMM (default), its own effects"
EDGE_CLASSES = {"channel → channel": ("channel", "channel"), "channel → mediator": ("channel", "mediator"),
                "channel → target": ("channel", "target"), "mediator → target": ("mediator", "target")}
DECAYS = (0.0, 0.3, 0.5, 0.7, 0.85, 0.95)  # geometric carryover
PEAKS = ((2.0, 0.5), (2.0, 0.8), (4.0, 0.5), (4.0, 0.8))  # delayed carryover: (peak lag, decay)
ALPHAS = (1.0, 2.0)
GAMMAS = (0.5, 1.0, 2.0)  # half-saturation, × the cause's adstocked mean over the history
WEEKDAYS = 7


@dataclass(frozen=True)
class Transform:
    """One cause's carryover weights ``(lag,)`` and Hill shape and half-saturation."""

    weights: np.ndarray
    alpha: float
    gamma: float

    def series(self, x: np.ndarray) -> np.ndarray:
        """Signal of ``x: (time,)`` on every day, ``(time,)``."""
        return hill(adstock(x, self.weights), self.alpha, self.gamma)

    def at(self, x: np.ndarray, t: int) -> np.ndarray:
        """Signal of ``x: (batch, time)`` on day ``t`` alone (zeros before the first day), ``(batch,)``."""
        lags = min(len(self.weights), t + 1)
        # a row-wise sum: equal rows give equal signals (a matrix product may treat rows differently)
        return hill((x[:, t - np.arange(lags)] * self.weights[:lags]).sum(-1), self.alpha, self.gamma)


@dataclass
class Equation:
    """A node's estimated equation: its own lag's coefficient, each parent's size and transform, and each size's
    standard error (NaN where the design leaves it undefined)."""

    rho: float
    parents: dict[int, tuple[float, Transform]]
    se: dict[int, float] = field(default_factory=dict)


def _least_squares(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    beta = np.linalg.lstsq(X, y, rcond=None)[0]
    r = y - X @ beta
    return beta, float(r @ r)


def _candidate_sse(others: np.ndarray, candidates: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Least squares' residual sum of squares of ``y: (row,)`` on ``others: (row, column)`` and each candidate's
    columns ``candidates: (candidate, row, k)``, ``(candidate,)``: one solve for every candidate (Frisch–Waugh: the
    candidate's columns and ``y`` net of ``others``, then a k × k system each). Directions of a candidate that
    ``others`` already span (residual below 1e-10 of the column) add nothing."""
    n_cand, rows, k = candidates.shape
    stacked = np.concatenate([y[:, None], candidates.transpose(1, 0, 2).reshape(rows, n_cand * k)], 1)
    resid = stacked - others @ np.linalg.lstsq(others, stacked, rcond=None)[0]
    ry, rc = resid[:, 0], resid[:, 1:].reshape(rows, n_cand, k).transpose(1, 0, 2)  # (row,), (candidate, row, k)
    gram, cross = np.einsum("crk,crl->ckl", rc, rc), np.einsum("crk,r->ck", rc, ry)
    raw = np.einsum("crk,crk->ck", candidates, candidates)  # each column's own square norm
    keep = np.einsum("ckk->ck", gram) > 1e-20 * np.maximum(raw, 1e-300)
    gram = np.where(keep[:, :, None] & keep[:, None, :], gram, 0.0)
    cross = np.where(keep, cross, 0.0)
    gain = np.einsum("ck,ck->c", cross, np.einsum("ckl,cl->ck", np.linalg.pinv(gram, hermitian=True), cross))
    return float(ry @ ry) - gain


def _standard_errors(X: np.ndarray, sse: float) -> np.ndarray:
    """Ordinary least squares' standard errors of every coefficient of design ``X: (row, column)`` (NaN without a
    residual degree of freedom)."""
    dof = X.shape[0] - X.shape[1]
    if dof <= 0:
        return np.full(X.shape[1], np.nan)
    return np.sqrt(np.maximum(np.diag(np.linalg.pinv(X.T @ X)), 0.0) * sse / dof)


def _grid(x: np.ndarray, days: int, l_max: int) -> list[Transform]:
    """Every transform of the grid for cause series ``x: (time,)``, half-saturations relative to its adstocked mean
    over the first ``days`` days."""
    out = []
    shapes = [geometric_weights(np.array(d), l_max) for d in DECAYS]
    shapes += [delayed_weights(np.array(d), np.array(peak), l_max, normalize=False) for peak, d in PEAKS]
    for w in shapes:
        ref = max(float(adstock(x[:days], w).mean()), 1e-9)
        out += [Transform(w, a, g * ref) for a in ALPHAS for g in GAMMAS]
    return out


def fit_equation(u: np.ndarray, j: int, parents: list[int], transforms: dict[int, Transform | list[Transform]],
                 weekday: np.ndarray, days: int, channel: bool) -> Equation:
    """Least squares of node ``j``'s equation on the first ``days`` days of one shop's ``u: (time, node)``.

    ``transforms[i]`` is a cause's transform, or a list to choose from (one pass over the parents, each choosing the
    transform that fits best with the others at their current choice, starting from the list's middle)."""
    t = np.arange(2, days)
    if channel:
        keep = (u[t, j] > 0) & (u[t - 1, j] > 0)
        t = t[keep]
        y, own = np.log(u[t, j]), np.log(u[t - 1, j])
    else:
        y, own = u[t, j], u[t - 1, j]
    base = [own, np.ones(len(t))] + [(weekday[t] == d).astype(float) for d in range(1, WEEKDAYS)]
    chosen = {i: (tr[len(tr) // 2] if isinstance(tr, list) else tr) for i, tr in transforms.items() if i in parents}
    signal = {i: chosen[i].series(u[:, i]) for i in parents}

    def design(skip: int | None = None) -> np.ndarray:
        cols = list(base)
        for i in (q for q in parents if q != skip):
            cols.append(signal[i][t - 1])
            if channel:
                cols.append(signal[i][t - 2])
        return np.stack(cols, 1)

    for i in parents:
        if isinstance(transforms[i], list):
            series = np.stack([tr.series(u[:, i]) for tr in transforms[i]])  # (transform, time)
            lagged = np.stack([series[:, t - 1]] + ([series[:, t - 2]] if channel else []), -1)  # (transform, row, lag)
            best = int(np.argmin(_candidate_sse(design(skip=i), lagged, y)))  # the first of equal ones
            chosen[i], signal[i] = transforms[i][best], series[best]
    X = design()
    if len(t) <= X.shape[1]:
        return Equation(0.0, {})
    beta, sse = _least_squares(X, y)
    se = _standard_errors(X, sse)
    at = {i: len(base) + (2 if channel else 1) * n for n, i in enumerate(parents)}
    return Equation(float(beta[0]), {i: (float(beta[k]), chosen[i]) for i, k in at.items()},
                    {i: float(se[k]) for i, k in at.items()})


def pooled_sizes(equations: list[dict[int, Equation]], min_shops: int = 3) -> list[dict[int, Equation]]:
    """Every shop's sizes shrunk towards the sizes of the same pair in the other shops: for each (cause, effect)
    pair that ``min_shops`` or more shops' equations hold, a normal-normal model ``w_n ~ N(μ, τ² + se_n²)`` with μ
    and τ² by the method of moments, and each shop's ``w_n`` replaced by its posterior mean
    ``(τ² w_n + se_n² μ) / (τ² + se_n²)``. Sizes without a finite standard error are left as they are.

    equations : per shop, ``{node: Equation}`` (:func:`fit_equation`)
    """
    pairs: dict[tuple[int, int], list[tuple[int, float, float]]] = {}
    for n, eqs in enumerate(equations):
        for j, eq in eqs.items():
            for i, (w, _) in eq.parents.items():
                if np.isfinite(eq.se.get(i, np.nan)) and eq.se[i] > 0:
                    pairs.setdefault((i, j), []).append((n, w, eq.se[i]))
    out = [{j: Equation(eq.rho, dict(eq.parents), dict(eq.se)) for j, eq in eqs.items()} for eqs in equations]
    for (i, j), rows in pairs.items():
        if len(rows) < min_shops:
            continue
        w, v = np.array([r[1] for r in rows]), np.array([r[2] for r in rows]) ** 2
        tau2 = max(float(np.var(w) - np.mean(v)), 1e-3 * float(np.mean(v)))
        mu = float(np.sum(w / (v + tau2)) / np.sum(1.0 / (v + tau2)))
        for (n, _, _), shrunk in zip(rows, (tau2 * w + v * mu) / (tau2 + v)):
            out[n][j].parents[i] = (float(shrunk), out[n][j].parents[i][1])
    return out


def oracle_effects(sim, horizon: int, graph: np.ndarray | None, forms: str, pool: bool = False) -> pd.DataFrame:
    """Every shop's and channel's effects over the panel's last ``horizon`` days from equations estimated on the
    days before.

    Parameters
    ----------
    sim : a sim1 or sim2 panel (:func:`~causalmmm_ppl.data.simulate.simulate`)
    horizon : the window's length (its last days)
    graph : (shop, cause, effect) 0/1, the parents each equation is told; None: every candidate cause
    forms : ``"true"``: the simulator's carryover and saturation of every cause; ``"grid"``: chosen from a grid
    pool : shrink each shop's sizes towards the other shops' (:func:`pooled_sizes`)

    Returns
    -------
    ``shop, channel, kind, mean, lower, upper`` (a point estimate: lower = upper = mean)
    """
    panel, p = sim.panel, sim.params
    kinds = np.asarray(panel.node_kinds)
    channels = np.flatnonzero(kinds == "channel")
    tgt = panel.nodes.index(panel.target)
    u_all = panel.values / p["scale"][:, None, :]
    n_shops, n_time, n_nodes = u_all.shape
    days = n_time - horizon
    weekday = np.asarray(pd.DatetimeIndex(panel.dates).day_of_week)
    l_max = p["carryover_weights"].shape[-1]
    equations = []
    for n in range(n_shops):
        u = u_all[n]
        true_tr = {i: Transform(p["carryover_weights"][n, i], float(p["alpha"][n, i]), float(p["gamma"][n, i]))
                   for i in range(n_nodes)}
        grid = {i: _grid(u[:, i], days, l_max) for i in range(n_nodes) if i != tgt} if forms == "grid" else {}
        eqs = {}
        for j in range(n_nodes):
            if kinds[j] == "channel":
                candidates = [i for i in channels if i != j]
            else:
                candidates = [i for i in range(n_nodes) if i not in (j, tgt)]
            parents = candidates if graph is None else [i for i in candidates if graph[n, i, j]]
            if not parents:
                continue
            tr = grid or true_tr
            eqs[j] = fit_equation(u, j, parents, tr, weekday, days, kinds[j] == "channel")
        equations.append(eqs)
    if pool:
        equations = pooled_sizes(equations)
    rows = []
    for n, eqs in enumerate(equations):
        effect = -_window_change(u_all[n], eqs, kinds, channels, days, tgt) * p["scale"][n, tgt]  # (channel, kind)
        rows += [(panel.shops[n], panel.nodes[k], kind, e, e, e)
                 for k, by_kind in zip(channels, effect) for kind, e in zip(KINDS, by_kind)]
    return pd.DataFrame(rows, columns=["shop", "channel", "kind", "mean", "lower", "upper"])


def _window_change(u: np.ndarray, eqs: dict[int, Equation], kinds: np.ndarray, channels: np.ndarray, days: int,
                   tgt: int) -> np.ndarray:
    """The target's change summed over days ``days..`` of one shop's ``u: (time, node)`` when a channel's spend is 0
    there, through the estimated equations (counterfactual minus factual), for every channel and kind of effect at
    once: ``(channel, kind)`` (kinds as :data:`KINDS`). The days are a recursion; the interventions are a batch."""
    # row 0 is the factual path, so that every signal of a row is computed by the same arithmetic as row 0's:
    # where an intervention does not reach a node, its change is exactly 0
    off = np.concatenate([[-1], np.repeat(channels, len(KINDS))])  # (batch,): the channel switched off
    kind = np.concatenate([["factual"], np.tile(np.asarray(KINDS), len(channels))])
    rows = np.arange(1, off.size)
    cf = np.repeat(u[None], off.size, axis=0)  # (batch, time, node)
    delta, total = np.zeros((off.size, u.shape[1])), np.zeros(off.size)
    for t in range(days, u.shape[0]):
        new_delta = np.zeros_like(delta)
        for j, eq in eqs.items():
            moved = np.zeros(off.size)
            for i, (w, tr) in eq.parents.items():
                signal = tr.at(cf[:, :, i], t - 1)
                moved += w * (signal - signal[0])
            if kinds[j] == "channel":
                responds = (kind == "total") & (off != j)
                cf[responds, t, j] = u[t, j] * np.exp(moved[responds])
            else:
                responds = (kind == "total") | (kind == "held") | (j == tgt)
                new_delta[responds, j] = eq.rho * delta[responds, j] + moved[responds]
                cf[responds, t, j] = np.maximum(u[t, j] + new_delta[responds, j], 0.0)
        cf[rows, t, off[1:]] = 0.0
        delta = new_delta
        total += delta[:, tgt]
    return total[1:].reshape(len(channels), len(KINDS))


def class_block(n_shops: int, kinds: np.ndarray, cause: str, effect: str) -> tuple[tuple, np.ndarray]:
    """The index of one edge class's pairs in a (shop, cause, effect) array, and which of the block's (cause, effect)
    cells are pairs (a node is not its own parent)."""
    causes, effects = np.flatnonzero(kinds == cause), np.flatnonzero(kinds == effect)
    return np.ix_(np.arange(n_shops), causes, effects), causes[:, None] != effects[None, :]


#: short labels of the edge classes a told graph swaps (:func:`told_graph`): label → (cause kind, effect kind)
SHORT_CLASSES = {"c→c": ("channel", "channel"), "c→m": ("channel", "mediator"), "c→t": ("channel", "target"),
                 "m→t": ("mediator", "target")}


def told_graph(sim, name: str, fitted: np.ndarray) -> np.ndarray | None:
    """The graph a variant is told (:data:`VARIANTS`): (shop, cause, effect) 0/1, or None for every candidate.

    ``name``: ``"true"`` (the simulator's), ``"all"`` (None), ``"fitted"`` (the fit's probabilities above 0.5), or one
    of the last two with some classes (:data:`SHORT_CLASSES`, joined by ``" and "``) taken from the other:
    ``"fitted, true c→t"`` (the fit's graph with the truth's channel → target pairs), ``"true, fitted c→t"``."""
    if name == "all":
        return None
    base, _, swapped = name.partition(", ")
    fit_graph, true_graph = (fitted > 0.5).astype(int), np.asarray(sim.adjacency).astype(int)  # copies
    graph, other = {"fitted": (fit_graph, true_graph), "true": (true_graph, fit_graph)}.get(base, (None, None))
    source, _, labels = swapped.partition(" ")
    if graph is None or (swapped and source != {"fitted": "true", "true": "fitted"}[base]):
        raise ValueError(f"unknown told graph {name!r}")
    kinds = np.asarray(sim.panel.node_kinds)
    for label in labels.split(" and ") if labels else ():
        into, _ = class_block(graph.shape[0], kinds, *SHORT_CLASSES[label])
        graph[into] = other[into]
    return graph


def edge_recall(prob: np.ndarray, truth: np.ndarray, kinds: tuple[str, ...]) -> dict[str, tuple[int, int, int]]:
    """Per edge class (:data:`EDGE_CLASSES`): true edges, of them above 0.5, and absent pairs above 0.5."""
    out = {}
    for label, (cause, effect) in EDGE_CLASSES.items():
        block, pairs = class_block(prob.shape[0], np.asarray(kinds), cause, effect)
        present, on = truth[block].astype(bool) & pairs, (prob[block] > 0.5) & pairs
        out[label] = (int(present.sum()), int((present & on).sum()), int((~present & on & pairs).sum()))
    return out


def class_auroc(scores: np.ndarray, truth: np.ndarray, kinds: tuple[str, ...]) -> dict[str, float]:
    """Per edge class (:data:`EDGE_CLASSES`): AUROC of ``scores: (shop, cause, effect)`` over the class's pairs of
    every shop (NaN where the class's truth is constant)."""
    out = {}
    for label, (cause, effect) in EDGE_CLASSES.items():
        block, pairs = class_block(scores.shape[0], np.asarray(kinds), cause, effect)
        s, t = scores[block][:, pairs], truth[block][:, pairs].astype(int)
        out[label] = float("nan") if t.min() == t.max() else auroc(s.ravel(), t.ravel())
    return out


@dataclass(frozen=True)
class FittedPanel:
    """One panel of "Causal effects and budget" with a default CausalMMM fit on its history: the simulation, its
    true effects over the window, the fit's edge probabilities, the guide's screen before SVI and the fit's encoder
    before pooling (each (shop, cause, effect)), the fit's own effects table, the posterior draws behind it
    (``draws``), and its ``total`` effects with graphs imposed on every draw (``imposed``: :func:`told_graph`'s name
    → table)."""

    sim: object
    truth: pd.DataFrame
    prob: np.ndarray
    screen: np.ndarray
    encoder: np.ndarray
    own: pd.DataFrame
    draws: int
    imposed: dict[str, pd.DataFrame] = field(default_factory=dict)

    @property
    def shape(self) -> str:
        """``shops×nodes×days``."""
        panel = self.sim.panel
        return f"{panel.n_shops}×{panel.n_nodes}×{panel.n_time}"


def fitted_panel(scenario: str, seed: int, quick: bool, impose: tuple[str, ...] = ()) -> FittedPanel:
    """Simulate one panel as "Causal effects and budget" does, fit CausalMMM on its history as it does (one thread),
    and read the fit's edges, its effects and the guide's screen (:func:`benchmarks.graph_recovery.screen_only_scores`);
    for each of ``impose`` (names of :func:`told_graph` that give a graph) also the fit's ``total`` effects with that
    graph imposed on every draw (``poutine.do``: the fit's own sizes on a graph it was told)."""
    from causalmmm_ppl import _runtime

    _runtime.configure(1)
    from benchmarks.graph_recovery import screen_only_scores
    from causalmmm_ppl.inference.causalmmm_fit import fit_causalmmm
    from causalmmm_ppl.models.settings import CausalMMMSettings

    sim, truth, history, plan = effects_panel(scenario, seed, quick)
    settings = CausalMMMSettings.of(**quick_settings(quick))
    fit = fit_causalmmm(history, settings, seed=seed, progress=False)
    draws = num_draws(quick)
    own, prob = fit.effects(history, plan, num_draws=draws, seed=seed), fit.edge_probability_array()
    imposed = {name: fit.effects(history, plan, kinds=("total",), num_draws=draws, seed=seed,
                                 graph=told_graph(sim, name, prob).astype(float)) for name in impose}
    return FittedPanel(sim, truth, prob, screen_only_scores(history, settings, seed),
                       fit.edge_probability_array(pooled=False), own, draws, imposed)


def score_panel(scenario: str, seed: int, quick: bool) -> dict:
    """Score one panel's fit (:func:`fitted_panel`): its effects and each variant's (a worker process)."""
    from causalmmm_ppl.evaluation.effect_metrics import effect_report

    fitted = fitted_panel(scenario, seed, quick)
    sim, truth, prob = fitted.sim, fitted.truth, fitted.prob
    kinds = sim.panel.node_kinds
    out: dict = {"scenario": scenario, "seed": seed, "shape": fitted.shape, "horizon": horizon(quick),
                 "recall": edge_recall(prob, sim.adjacency, kinds),
                 "missed": missed_channel_target(prob, fitted.screen, sim, truth),
                 "auroc": {"screen": class_auroc(fitted.screen, sim.adjacency, kinds),
                           "encoder": class_auroc(fitted.encoder, sim.adjacency, kinds),
                           "fit": class_auroc(prob, sim.adjacency, kinds)},
                 FITTED: {kind: effect_report(fitted.own, truth, kind) for kind in KINDS}}
    for label, (graph, forms) in VARIANTS.items():
        table = oracle_effects(sim, horizon(quick), told_graph(sim, graph, prob), forms)
        out[label] = {kind: effect_report(table, truth, kind) for kind in KINDS}
    return out


def _mean(rows: list[dict], scores: str, label: str) -> str:
    """Mean over seeds of a class's AUROC (``–`` where no seed defines it)."""
    values = [r["auroc"][scores][label] for r in rows if np.isfinite(r["auroc"][scores][label])]
    return f"{np.mean(values):.3f}" if values else "–"


def missed_channel_target(prob: np.ndarray, screen: np.ndarray, sim, truth: pd.DataFrame) -> dict[str, float]:
    """The true channel → target pairs a fit holds below 0.5 (``prob``: (shop, cause, effect)): how many
    (``pairs``, of ``true_pairs``), how many of them the screen before SVI puts above 0.5 (``screen_on``), and the
    true ``total`` effect they carry (``effect``, of ``true_effect``: every pair with the edge)."""
    panel = sim.panel
    ch, target = panel.channel_index, panel.n_nodes - 1
    true = np.asarray(sim.adjacency)[:, ch, target] > 0
    missed = true & (prob[:, ch, target] <= 0.5)
    effect = (truth[truth["kind"] == "total"].pivot(index="shop", columns="channel", values="effect")
              .loc[list(panel.shops), [panel.nodes[k] for k in ch]].to_numpy())  # (shop, channel)
    return {"pairs": int(missed.sum()), "true_pairs": int(true.sum()),
            "screen_on": int((missed & (screen[:, ch, target] > 0.5)).sum()),
            "effect": float(effect[missed].sum()), "true_effect": float(effect[true].sum())}


def _share(summed: dict[str, float], key: str) -> str:
    return f"{summed[key] / summed['true_' + key]:.0%}" if summed["true_" + key] else "–"


def render(results: list[dict], command: str, seeds: tuple[int, ...]) -> str:
    metrics = {"spearman": "Spearman", "roas_rel_error": "ROAS error", "error_share": "error share"}
    days = window_days(results)
    lines = [
        *section_head(TITLE, command),
        "",
        f"Seeds {', '.join(map(str, seeds))}: the panels, window and truth of \"Causal effects and budget\" (all but "
        f"the last {days} days to fit on; effects over those days given the channels' actual spend). A reference "
        "estimator is told a graph and the simulator's equations and estimates only their sizes, shop by shop, by "
        "least squares on the history (the script's docstring gives the equations); the effects follow from the "
        "estimated equations. It is told the true graph, every candidate cause (no graph), or the graph of a "
        "default CausalMMM fit on the same history (its edges above 0.5), whose own effects are the first row. "
        "Metrics as in that section, for `total`, `held` and `direct` effects (no interval: a point estimate). "
        "Mean ± sd over seeds.",
        "",
    ]
    for scenario, rows in by_scenario(results).items():
        lines += table_head(f"### {scenario}: {rows[0]['shape']} (shops × nodes × days)",
                            ["told", "kind", *metrics.values()])
        for label in (FITTED, *VARIANTS):
            for kind in KINDS:
                cells = [mean_sd([r[label][kind][m] for r in rows]) for m in metrics]
                lines.append(f"| {label} | {kind} | " + " | ".join(cells) + " |")
        recall = "; ".join(
            f"{c} {sum(r['recall'][c][1] for r in rows)} of {sum(r['recall'][c][0] for r in rows)} "
            f"({sum(r['recall'][c][2] for r in rows)} absent pairs above 0.5)" for c in EDGE_CLASSES)
        ranking = "; ".join(f"{c} {_mean(rows, 'screen', c)} → {_mean(rows, 'encoder', c)} → {_mean(rows, 'fit', c)}"
                            for c in EDGE_CLASSES)
        missed = {k: sum(r["missed"][k] for r in rows) for k in rows[0]["missed"]}
        lines += ["", f"CausalMMM's edges above 0.5, true edges found, summed over seeds: {recall}.", "",
                  "AUROC of each class's pairs over all shops, the guide's screen before SVI (no step, no pooling) → "
                  f"the fit's encoder (before pooling) → the fit, mean over seeds: {ranking}.", "",
                  "True channel → target edges the fit holds below 0.5, summed over seeds: "
                  f"{missed['pairs']} of {missed['true_pairs']}, with {_share(missed, 'effect')} of the true `total` "
                  "effect of the channels that have the edge; the screen puts "
                  f"{missed['screen_on']} of them above 0.5.", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    return panel_benchmark(argv, module="benchmarks.effects_oracle", title=TITLE,
                           description=__doc__.splitlines()[0], scenarios=SCENARIOS, seeds=SEEDS,
                           quick_seeds=(0,), score_panel=score_panel, render=render)


if __name__ == "__main__":
    raise SystemExit(main())
