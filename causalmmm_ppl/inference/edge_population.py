"""Population pooling of the encoder's edge evidence: an empirical-Bayes layer over the shops' edge posteriors.

The amortized guide scores each shop's candidate edges from that shop's own series. On short series much of that
evidence is weak: a true edge often stays near the prior, like the edges that are not there. Shops of one business
tend to share a few ways of working, so the population says which edges go together. This layer fits, to the
guide's edge logits of the training shops ℓ_ne (shop n, candidate edge e), the two-level model

    k_n ~ Categorical(π)                              which graph template shop n follows (K templates)
    z_ne | k_n ~ Bernoulli(ρ_{k_n e})                 the shop's edges
    ℓ_ne | z_ne = 0 ~ StudentT(ν, m0_j, s0_j)         what the encoder reports for an absent edge into node j
    ℓ_ne | z_ne = 1 ~ StudentT(ν, m1, s1)             ... and for an edge that is there

— a two-groups model of the scores (Efron 2008, "Microarrays, empirical Bayes and the two-groups model") whose prior
on which edges are on is a mixture of K graph templates. Where an absent edge leaves the encoder's logit (the null
distribution) depends on the node it would act on (its noise, how many candidates compete for it), so each effect
node j has its own; the logits of present edges spread widely and share one distribution (a group holds only one or
two present edges, too few to fit an "on" distribution of its own without it settling on a cluster of absent
ones). π, ρ and the score distributions
are fitted by EM (maximum likelihood, with a Beta prior of two pseudo-shops centred on the model's prior edge
probability for each ρ; the Student-t locations and scales through their scale-mixture weights, ECM). With
``outputs.edge_template_prior = "class"`` the ρ of one class of edges (channel → target, ...) share a Beta prior
instead, whose two parameters the M-step learns from the population (type-II maximum likelihood of the expected
counts, :func:`learn_beta_prior`): where every shop draws its own graph, a per-edge ρ learned from a few shops
follows their sampling noise, and the class's prior pulls it toward the class's share. K = 1, 2, ... is
chosen by the Cheeseman–Stutz approximation of the marginal likelihood (Cheeseman & Stutz 1996; Chickering &
Heckerman 1997, "Efficient approximations for the marginal likelihood of Bayesian networks with hidden variables"):
the fit's log-likelihood less, for π and every template probability ρ_ke, the gap between the complete-data
likelihood at the fitted value and its Dirichlet / Beta marginal, both at the fit's expected counts
(:func:`occam_factors`). Unlike BIC, which charges every ρ_ke ½ log(shops), a template pays little for an edge
whose probability the Beta prior already expects (an edge off in all of its shops costs about a · log(shops), with
a = 0.2 pseudo-shops of the prior's "on" side), and most for the edges that set it apart. A K whose smallest
template holds fewer than ``SHOPS_PER_TEMPLATE`` shops (expected counts) is not chosen. The tails
(ν = ``outputs.edge_score_df``, default :data:`SCORE_DF`; 0: Normals) matter most where the
encoder's logits of absent edges cluster tightly: under a Normal null a logit a few null widths above it is
certain evidence of an edge, yet the encoder puts a few absent edges there; heavy tails leave such a logit
ambiguous, while a present edge's typical logit stays strong evidence. With K = 1 this is a learned per-edge prior probability; with
K > 1 a shop's other edges say which template it follows, and the template tells about its weak edges. The posterior edge probability of a shop is
P(z_ne = 1 | ℓ_n·), which needs only the shop's own logits: new shops get it from one encoder pass, like the guide.
A fit whose present edges do not stand out from the null's spread (:attr:`EdgePopulation.separable`) is not used.

The likelihood ratio of a score is made monotone (a larger logit is never weaker evidence for the edge): where the
ratio of the two distributions turns, it is held at its turning value.

The reported posterior allows for the encoder's own errors. The two distributions describe the logits the encoder gives
present and absent edges, but the encoder also misses present edges (their logits sit in the null) and turns on
absent ones; nothing in the logits alone tells these apart from correct calls, so EM cannot learn how often it
happens. The posterior and the template memberships therefore read a score through a contaminated measurement model,

    p(ℓ | on) = (1 − μ) f1(ℓ) + μ f0_j(ℓ),    p(ℓ | off) = (1 − ε) f0_j(ℓ) + ε f1(ℓ),

with fixed error rates μ and ε (``outputs.edge_miss_rate``, ``outputs.edge_false_rate``; defaults :data:`MISS_RATE` and
:data:`FALSE_RATE`): one shop's score moves the prior odds of an
edge by at most (1 − μ) / ε and at least μ / (1 − ε). Without it, a single missed or spurious call becomes a
probability of 10⁻⁵ or 1 − 10⁻⁵ (f1, f0_j: the two score distributions above). EM fits them without it. The rates were chosen on development seeds
(``docs/benchmarks.md``, "Edge calibration" and "Edge miss rate and effects (development seeds)"), with ν, by a rule
on the edge probabilities: among the settings that keep an edge of 3% of the shops, at a present edge's typical
score, above 0.9 (``tests/inference/test_edge_population.py``) and have the lowest mean log loss (to 0.001), the one
with the fewest absent edges above 0.9. ε trades that log loss against the rare edge. μ is weighed against the
effects as well: the rule alone admits μ = 0.5, which trusts a shop's template more and ranks the channel effects
of shops that each have a graph of their own (sim2) worse, so μ is 0.3. The price is on the other side:
where the encoder is confidently wrong about an absent edge, the layer still reports it near 1.

Pure numpy; fitted once after SVI (:func:`fit_edge_population`) and saved with the run.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.special import betaln, digamma, expit, gammaln, logsumexp
from scipy.special import logit as logit_fn

from causalmmm_ppl._progress import progress as progress_bar
from causalmmm_ppl.models.settings import EDGE_FALSE_RATE, EDGE_MISS_RATE, EDGE_SCORE_DF

PSEUDO_SHOPS = 2.0  # strength of the fixed Beta prior of each template edge probability, in shops
MIN_CLASS_EDGES = 3  # a class of fewer candidate edges keeps the fixed Beta prior (too few probabilities to learn one)
MIN_SCALE = 1e-2  # floor of the score distributions' standard deviations (logits)
SHOPS_PER_TEMPLATE = 10  # the largest K tried is at most n_shops / SHOPS_PER_TEMPLATE (and at least 1); every
# template of a chosen K > 1 holds at least this many shops
MIN_SEPARATION = 3.0  # present edges must move the encoder's logit this many null sds (median over effect nodes)
MAX_FIT_SHOPS = 2000  # the layer is fitted on a random sample of this many shops when there are more
MISS_RATE = EDGE_MISS_RATE  # μ: share of present edges the encoder scores like absent ones (``outputs.edge_miss_rate``)
FALSE_RATE = EDGE_FALSE_RATE  # ε: share of absent edges it scores like present ones (``outputs.edge_false_rate``)
SCORE_DF = EDGE_SCORE_DF  # ν: degrees of freedom of the score distributions (``outputs.edge_score_df``; 0: Normals)


@dataclass
class EdgePopulation:
    """A fitted population layer.

    Attributes
    ----------
    weights : (template,) π, population share of each template
    rho : (template, edge) probability of each pooled candidate edge under each template
    loc_on, scale_on : the encoder logit's Normal given the edge is there (scalars)
    loc_off, scale_off : (group,) the encoder logit's Normal given the edge is absent, per null group
    group : (edge,) int, the null group of each pooled edge (its effect node, :func:`null_groups`)
    evidence : (K tried,) approximate log marginal likelihood of each number of templates tried (1, 2, ...;
        Cheeseman–Stutz, :func:`occam_factors`; ``-inf`` where a template holds fewer than ``SHOPS_PER_TEMPLATE``
        shops), the chosen one the largest
    miss_rate, false_rate : μ and ε of the contaminated measurement model through which the posterior reads a score
        (0 and 0: the two Normals alone)
    df : degrees of freedom of the two score distributions, Student-t with the locations and scales above; ``inf``:
        Normals
    prior_a, prior_b : (edge,) the Beta prior of each pooled edge's template probabilities that EM used (learned per
        edge class or fixed, :func:`fit_edge_population`); None for a layer saved without them
    """

    weights: np.ndarray
    rho: np.ndarray
    loc_on: float
    scale_on: float
    loc_off: np.ndarray
    scale_off: np.ndarray
    group: np.ndarray
    evidence: np.ndarray
    miss_rate: float = MISS_RATE
    false_rate: float = FALSE_RATE
    df: float = np.inf
    prior_a: np.ndarray | None = None
    prior_b: np.ndarray | None = None

    @property
    def n_templates(self) -> int:
        return int(self.weights.shape[0])

    @property
    def separation(self) -> np.ndarray:
        """(group,) how far present edges move the encoder's logit, in null standard deviations: (m1 − m0_j) / s0_j."""
        return (self.loc_on - self.loc_off) / self.scale_off

    @property
    def separable(self) -> bool:
        """Whether present and absent edges are told apart: the median separation is at least ``MIN_SEPARATION``.

        A two-groups fit always finds two groups. Where the encoder's logits barely move from the prior (little
        evidence in the data, e.g. weekly series), its "present" Normal settles in the null's own upper tail, and the
        posterior would turn that noise into confident edges; such a fit is not used.
        """
        return bool(np.median(self.separation) >= MIN_SEPARATION)

    def log_ratio(self, logits: np.ndarray) -> np.ndarray:
        """Monotone log-likelihood ratio log p(ℓ | on) − log p(ℓ | off) of the contaminated measurement model:
        ``(shop, edge)`` → ``(shop, edge)``, within [log μ / (1 − ε), log (1 − μ) / ε]."""
        clean = _log_ratio(logits, self.loc_on, self.scale_on, self.loc_off, self.scale_off, self.group, self.df)
        return contaminated_log_ratio(clean, self.miss_rate, self.false_rate)

    def membership(self, logits: np.ndarray) -> np.ndarray:
        """P(k_n = k | ℓ_n·): ``(shop, edge)`` encoder logits → ``(shop, template)``."""
        return _membership(self.log_ratio(logits), self.weights, self.rho)[0]

    def posterior(self, logits: np.ndarray) -> np.ndarray:
        """P(z_ne = 1 | ℓ_n·): ``(shop, edge)`` encoder logits → ``(shop, edge)`` edge probabilities."""
        lr = self.log_ratio(logits)
        return _edge_posterior(lr, _membership(lr, self.weights, self.rho)[0], self.rho)[1]

    def to_dict(self) -> dict:
        """JSON-ready fields (``df`` of Normals as 0)."""
        out = {k: np.asarray(getattr(self, k)).tolist() for k in self.__dataclass_fields__
               if getattr(self, k) is not None}
        return out | {"df": 0.0 if np.isinf(self.df) else float(self.df)}

    @classmethod
    def from_dict(cls, d: dict) -> "EdgePopulation":
        """The layer saved by :meth:`to_dict`; one saved without error rates reads scores through the Normals alone,
        one saved without ``df`` has Normal score distributions, one saved with ``bic`` has its evidence −BIC / 2."""
        out = {k: np.asarray(v, dtype=np.int64 if k == "group" else np.float64) for k, v in d.items()}
        if "bic" in out:  # a layer saved with BIC scores: −BIC / 2 approximates the same log evidence
            out["evidence"] = -0.5 * out.pop("bic")
        out.setdefault("miss_rate", np.float64(0.0))
        out.setdefault("false_rate", np.float64(0.0))
        out["df"] = np.float64(np.inf) if float(out.get("df", 0.0)) == 0 else out["df"]
        scalars = ("loc_on", "scale_on", "miss_rate", "false_rate", "df")
        return cls(**out | {k: float(out[k]) for k in scalars})


def contaminated_log_ratio(clean: np.ndarray, miss_rate: float, false_rate: float) -> np.ndarray:
    """log p(ℓ | on) − log p(ℓ | off) when a share μ of present edges scores like absent ones and a share ε of absent
    edges like present ones, from the clean log-ratio log N(ℓ; on) − log N(ℓ; off): monotone in it, bounded by
    log μ / (1 − ε) below and log (1 − μ) / ε above. μ = ε = 0 returns ``clean``."""
    if miss_rate == 0.0 and false_rate == 0.0:
        return clean
    # log(((1 − μ) r + μ) / ((1 − ε) + ε r)) with r = exp(clean), evaluated without overflow
    num = np.logaddexp(np.log1p(-miss_rate) + clean, np.log(miss_rate) if miss_rate > 0 else -np.inf)
    den = np.logaddexp(np.log1p(-false_rate), (np.log(false_rate) if false_rate > 0 else -np.inf) + clean)
    return num - den


def null_groups(edge_index: np.ndarray) -> np.ndarray:
    """Null group of each candidate edge: its effect node, numbered 0..G-1 over the effects that have candidates.

    edge_index : (edge, 2) cause, effect → (edge,) int
    """
    return np.unique(np.asarray(edge_index)[:, 1], return_inverse=True)[1].reshape(-1)


def fit_edge_population(
    logits: np.ndarray, group: np.ndarray, prior_prob: float, max_templates: int, seed: int = 0,
    restarts: int = 4, iters: int = 300, tol: float = 1e-6, progress: bool = False, max_shops: int = MAX_FIT_SHOPS,
    miss_rate: float = MISS_RATE, false_rate: float = FALSE_RATE, df: float = SCORE_DF, criterion: str = "evidence",
    edge_class: np.ndarray | None = None,
) -> EdgePopulation:
    """Fit the population layer to the training shops' encoder logits, choosing the number of templates by the
    approximate marginal likelihood (module docstring).

    Parameters
    ----------
    logits : (shop, edge) the guide's edge logits of the pooled candidates
    group : (edge,) null group of each edge (:func:`null_groups`)
    prior_prob : the model's prior edge probability (centre of each template probability's Beta prior)
    max_templates : the largest K tried (also at most ``n_shops / SHOPS_PER_TEMPLATE``, at least 1)
    seed : seeds the EM starts; restarts : EM starts per K (the best likelihood is kept); iters, tol : EM stopping
    progress : a progress bar over the EM runs
    max_shops : with more shops, the layer is fitted on a random sample of this many (it has K × edges + a few
        parameters, which a few thousand shops determine; every EM run costs time linear in shops); its posterior
        then applies to every shop as to a new one
    miss_rate, false_rate : the error rates μ and ε its posterior reads scores through (EM fits the clean Normals)
    df : degrees of freedom of the score distributions (Student-t, fitted by ECM); 0 or ``inf``: Normals
    criterion : ``"evidence"`` (the module docstring's approximate marginal likelihood) or ``"bic"`` (−BIC / 2,
        charging every template probability ½ log(shops), with no smallest template size; an ablation)
    edge_class : (edge,) int, the class of each edge (:func:`~causalmmm_ppl.inference.causalmmm_pooling.edge_classes`):
        the template probabilities of a class of at least ``MIN_CLASS_EDGES`` edges share a Beta prior whose two
        parameters EM learns (type-II maximum likelihood, :func:`learn_beta_prior`); None: every edge has the fixed
        prior of ``PSEUDO_SHOPS`` shops centred on ``prior_prob``

    Returns
    -------
    :class:`EdgePopulation` with the largest evidence
    """
    if criterion not in ("evidence", "bic"):
        raise ValueError(f"criterion must be 'evidence' or 'bic', got {criterion!r}")
    logits = np.asarray(logits, dtype=np.float64)
    group = np.asarray(group, dtype=np.int64)
    df = np.inf if df == 0 else float(df)
    n_shops = logits.shape[0]
    top = max(1, min(int(max_templates), n_shops // SHOPS_PER_TEMPLATE))
    rng = np.random.default_rng(seed)
    if n_shops > max_shops:
        logits = logits[np.sort(rng.choice(n_shops, size=max_shops, replace=False))]
        n_shops = max_shops
    best: EdgePopulation | None = None
    evidence = []
    bar = progress_bar(total=1 + (top - 1) * restarts, disable=not progress, desc="edge pooling", unit="EM", leave=False)
    for k in range(1, top + 1):
        pop, loglik = best_em(logits, group, k, prior_prob, rng, restarts, iters, tol, df, on_start=bar.update,
                              edge_class=edge_class)
        # the score distributions' parameters are shared by every K and cancel
        if criterion == "bic":
            evidence.append(loglik - 0.5 * (k * logits.shape[1] + k - 1) * np.log(n_shops))
        else:
            occam_rho, occam_pi, smallest = occam_factors(pop, logits, prior_prob)
            small = k > 1 and smallest < SHOPS_PER_TEMPLATE
            evidence.append(-np.inf if small else loglik - occam_rho - occam_pi)
        if best is None or evidence[-1] > max(evidence[:-1]):
            best = pop
    bar.close()
    best.evidence = np.asarray(evidence)
    best.miss_rate, best.false_rate = float(miss_rate), float(false_rate)
    return best


def best_em(logits: np.ndarray, group: np.ndarray, k: int, prior_prob: float, rng: np.random.Generator,
            restarts: int = 4, iters: int = 300, tol: float = 1e-6, df: float = SCORE_DF,
            on_start=lambda: None, edge_class: np.ndarray | None = None) -> tuple[EdgePopulation, float]:
    """The layer with exactly ``k`` templates: the EM run of highest log-likelihood among ``restarts`` random starts
    (one for K = 1), with that log-likelihood. Its posterior reads scores without error rates until they are set.

    logits : (shop, edge); group : (edge,); on_start : called after each EM run (a progress bar's update);
    edge_class : (edge,) classes whose Beta priors EM learns (:func:`fit_edge_population`; None: the fixed prior)
    """
    df = np.inf if df == 0 else float(df)
    fits = []
    for _ in range(restarts if k > 1 else 1):
        fits.append(_em(logits, group, k, prior_prob, rng, iters, tol, df, edge_class))
        on_start()
    return max(fits, key=lambda f: f[1])


def occam_factors(pop: EdgePopulation, logits: np.ndarray, prior_prob: float) -> tuple[float, float, float]:
    """Cheeseman–Stutz Occam factors of a fitted layer: how much the complete-data log-likelihood at the fitted
    template probabilities and weights exceeds its marginal under their priors, at the fit's expected counts.

    With r_nk = P(k_n = k | ℓ_n·) and q_nke = P(z_ne = 1 | ℓ_n·, k), the expected counts are n_k = Σ_n r_nk shops in
    template k and on_ke = Σ_n r_nk q_nke (off_ke = n_k − on_ke) of them with edge e. For each ρ_ke the factor is

        on log ρ_ke + off log(1 − ρ_ke) − log B(a + on, b + off) + log B(a, b)    (a, b: edge e's Beta prior in EM)

    and for π the same with a uniform Dirichlet prior. log evidence ≈ log-likelihood − the two factors.

    Parameters
    ----------
    pop : the fitted layer (its score distributions read without error rates, as EM fits them)
    logits : (shop, edge) the encoder logits it was fitted to
    prior_prob : the model's prior edge probability (centre of the fixed Beta prior, for a layer without
        ``prior_a``/``prior_b``)

    Returns
    -------
    (factor of the template probabilities, factor of the weights, smallest expected template size in shops)
    """
    lr = _log_ratio(logits, pop.loc_on, pop.scale_on, pop.loc_off, pop.scale_off, pop.group, pop.df)
    r, _ = _membership(lr, pop.weights, pop.rho)
    q_k, _ = _edge_posterior(lr, r, pop.rho)
    n_k = r.sum(0)  # (template,)
    on = np.einsum("sk,ske->ke", r, q_k)
    off = n_k[:, None] - on
    a, b = _fixed_prior(prior_prob, pop.rho.shape[1]) if pop.prior_a is None else (pop.prior_a, pop.prior_b)
    occam_rho = (on * np.log(pop.rho) + off * np.log1p(-pop.rho)).sum() - (betaln(a + on, b + off) - betaln(a, b)).sum()
    k, n = n_k.size, n_k.sum()
    plug_pi = float((n_k * np.log(np.maximum(n_k / n, 1e-300))).sum())
    marg_pi = gammaln(k) - gammaln(n + k) + gammaln(n_k + 1.0).sum()
    return float(occam_rho), float(plug_pi - marg_pi), float(n_k.min())


# ------------------------------------------------------------------------------------------------- internals
def _log_density(l, m, s, df):
    """log density of Normal (``df = inf``) or Student-t(df) with location ``m`` and scale ``s`` at ``l``."""
    z = (l - m) / s
    if np.isinf(df):
        return -0.5 * z**2 - np.log(s) - 0.5 * np.log(2 * np.pi)
    return (gammaln((df + 1) / 2) - gammaln(df / 2) - 0.5 * np.log(df * np.pi) - np.log(s)
            - (df + 1) / 2 * np.log1p(z**2 / df))


def _log_ratio(l, m1, s1, loc_off, scale_off, group, df=np.inf):
    """Monotone log p(ℓ | on) − log p(ℓ | off) per (shop, edge), each edge with its group's null.

    The log-ratio of two Normals is quadratic in ℓ with its turning point at ℓ*: where the "on" Normal is the wider,
    it falls below ℓ* and is held there at its value at ℓ*; where the null is the wider, it falls above ℓ* and is
    held there. With equal widths it is linear, and constant if the "on" Normal does not lie above the null.
    Student-t distributions (finite ``df``) are made monotone the same way on a grid: held at the ratio's lowest
    value below the point where it is lowest, and at its running maximum above it.
    """
    if not np.isinf(df):
        return _log_ratio_t(l, m1, s1, loc_off, scale_off, group, df)
    m0, s0 = loc_off[group], scale_off[group]
    curve = 1.0 / s0**2 - 1.0 / s1**2  # half the second derivative of the log-ratio
    slope = m1 / s1**2 - m0 / s0**2  # its first derivative at ℓ = 0
    flat = np.abs(curve) < 1e-9
    with np.errstate(divide="ignore", invalid="ignore"):
        star = np.where(flat, 0.0, -slope / np.where(flat, 1.0, curve))
    x = np.where(curve > 0, np.maximum(l, star), np.minimum(l, star))
    x = np.where(flat, np.where(slope + 0 * l > 0, l, m0), x)
    return (-0.5 * ((x - m1) / s1) ** 2 - np.log(s1)) - (-0.5 * ((x - m0) / s0) ** 2 - np.log(s0))


def _log_ratio_t(l, m1, s1, loc_off, scale_off, group, df, points=2001):
    """:func:`_log_ratio` for Student-t score distributions, per null group on a grid spanning the logits."""
    lo = min(float(np.min(l)), m1 - 10 * s1, float(np.min(loc_off - 10 * scale_off)))
    hi = max(float(np.max(l)), m1 + 10 * s1, float(np.max(loc_off + 10 * scale_off)))
    grid = np.linspace(lo, hi, points)
    out = np.empty(np.broadcast_shapes(np.shape(l), np.shape(group)))
    l = np.broadcast_to(l, out.shape)
    for g in np.unique(group):
        raw = _log_density(grid, m1, s1, df) - _log_density(grid, loc_off[g], scale_off[g], df)
        low = int(np.argmin(raw))
        mono = np.concatenate([np.full(low, raw[low]), np.maximum.accumulate(raw[low:])])
        cols = group == g
        out[..., cols] = np.interp(l[..., cols], grid, mono)
    return out


def _membership(lr, weights, rho):
    """Template responsibilities ``(shop, template)`` and the shops' log-evidence ``(shop,)`` (up to the off term)."""
    per_edge = np.logaddexp(np.log(rho)[None] + lr[:, None], np.log1p(-rho)[None])  # (shop, template, edge)
    joint = np.log(weights)[None] + per_edge.sum(-1)
    norm = logsumexp(joint, axis=1)
    return np.exp(joint - norm[:, None]), norm


def _edge_posterior(lr, r, rho):
    """P(z = 1) given each template ``(shop, template, edge)`` and over the templates ``(shop, edge)``, from the
    log-ratios ``lr: (shop, edge)``, memberships ``r: (shop, template)`` and template probabilities ``rho``."""
    q_k = expit(lr[:, None] + logit_fn(rho)[None])
    return q_k, np.einsum("sk,ske->se", r, q_k)


def _em(l, group, k, prior_prob, rng, iters, tol, df=np.inf, edge_class=None):
    """One EM run for K = k from a random start; returns the fit and its log-likelihood. With ``edge_class`` the
    M-step also learns each large enough class's Beta prior (ECM: the template probabilities, then the prior)."""
    n_shops, n_edges = l.shape
    n_off = int(group.max()) + 1 if group.size else 0
    one = np.zeros_like(group)
    a, b = _fixed_prior(prior_prob, n_edges)
    learned = [] if edge_class is None else [
        cols for c in np.unique(edge_class) if (cols := edge_class == c).sum() >= MIN_CLASS_EDGES]
    # start: templates halfway between random shops' own (prior-odds) posteriors and the population's mean
    q0 = expit(l)
    start = q0[rng.choice(n_shops, size=k, replace=k > n_shops)]
    rho = np.clip(0.5 * start + 0.5 * q0.mean(0), 0.02, 0.98)
    weights = np.full(k, 1.0 / k)
    spread = max(float(l.std()) / 2, MIN_SCALE)
    m1, s1 = float(np.quantile(l, 0.9)), spread
    m0, s0 = np.full(n_off, np.quantile(l, 0.3)), np.full(n_off, spread)
    prev = -np.inf
    for _ in range(iters):
        lr = _log_ratio(l, m1, s1, m0, s0, group, df)
        r, norm = _membership(lr, weights, rho)
        base = _log_density(l, m0[group], s0[group], df)
        loglik = float(norm.sum() + base.sum())
        q_k, post = _edge_posterior(lr, r, rho)
        n_k = r.sum(0)
        on = np.einsum("sk,ske->ke", r, q_k)
        for cols in learned:
            a[cols], b[cols] = learn_beta_prior(on[:, cols], n_k[:, None] - on[:, cols], a[cols][0], b[cols][0],
                                                a_min=PSEUDO_SHOPS * prior_prob, max_shops=n_shops / k)
        rho = np.clip((on + a) / (n_k[:, None] + a + b), 1e-4, 1 - 1e-4)
        weights = np.maximum(n_k / n_shops, 1e-12)
        u_on, u_off = _t_weights(l, m1, s1, df), _t_weights(l, m0[group], s0[group], df)
        (m1,), (s1,) = _weighted_normal(l, post, one, 1, u_on)
        m0, s0 = _weighted_normal(l, 1.0 - post, group, n_off, u_off)
        if loglik - prev < tol * abs(loglik):
            break
        prev = loglik
    pop = EdgePopulation(weights, rho, float(m1), float(s1), m0, s0, group, np.zeros(0), df=float(df), prior_a=a,
                         prior_b=b)
    return pop, loglik


def _fixed_prior(prior_prob: float, n_edges: int) -> tuple[np.ndarray, np.ndarray]:
    """(edge,) parameters a, b of the fixed Beta prior: ``PSEUDO_SHOPS`` shops centred on ``prior_prob``."""
    return np.full(n_edges, PSEUDO_SHOPS * prior_prob), np.full(n_edges, PSEUDO_SHOPS * (1 - prior_prob))


def learn_beta_prior(on: np.ndarray, off: np.ndarray, a: float, b: float, a_min: float,
                     max_shops: float) -> tuple[float, float]:
    """Type-II maximum likelihood of a Beta(a, b) prior shared by template probabilities with (expected) counts
    ``on`` and ``off`` (any shape): the a, b that maximise Σ log B(a + on, b + off) − log B(a, b), the Beta-binomial
    marginal likelihood of the counts, searched from ``a``, ``b``.

    The prior is worth at most ``max_shops`` shops (a + b ≤ ``max_shops``, the shops a template holds on average)
    and expects at least ``a_min`` of them to have each edge (a ≥ ``a_min``, the fixed prior's a): a class that no
    shop shows is not learned to be impossible, and a shop's own strong score can still put its edge on.

    Where a class's edges are on in about the same share of every template's shops (shops that each draw their own
    graph), a + b grows to its bound and every probability moves halfway to the class's share; where templates set
    edges apart (near 0 in some, near 1 in others), a + b stays small and the probabilities follow their own counts.
    """
    on, off = np.ravel(on), np.ravel(off)
    a_max = max(max_shops - 1e-3, a_min * (1 + 1e-9))

    def unpack(x):  # x = (log a, logit of b's share of the room left, max_shops − a)
        a_ = np.exp(x[0])
        share = expit(x[1])
        return a_, (max_shops - a_) * share, share

    def loss(x):
        a_, b_, share = unpack(x)
        d_ab = digamma(a_ + b_) - digamma(a_ + b_ + on + off)
        value = (betaln(a_ + on, b_ + off) - betaln(a_, b_)).sum()
        d_a = (digamma(a_ + on) - digamma(a_) + d_ab).sum()
        d_b = (digamma(b_ + off) - digamma(b_) + d_ab).sum()
        grad = np.array([(d_a - d_b * share) * a_, d_b * (max_shops - a_) * share * (1 - share)])
        return -value, -grad

    a0 = float(np.clip(a, a_min, a_max))
    x0 = np.array([np.log(a0), logit_fn(np.clip(b / (max_shops - a0), 1e-6, 1 - 1e-6))])
    res = minimize(loss, x0, jac=True, method="L-BFGS-B",
                   bounds=[(np.log(a_min), np.log(a_max)), (-20.0, 20.0)])
    a_, b_, _ = unpack(res.x)
    return float(a_), float(b_)


def _t_weights(l, m, s, df):
    """E-step weights of a Student-t's scale mixture, (df + 1) / (df + z²) (1 for a Normal)."""
    return 1.0 if np.isinf(df) else (df + 1.0) / (df + ((l - m) / s) ** 2)


def _weighted_normal(l, w, group, n_groups, u=1.0):
    """Per-group weighted location and scale of the logits ``l`` with weights ``w`` (both (shop, edge)); ``u``: the
    Student-t scale-mixture weights (:func:`_t_weights`; 1: a Normal's mean and standard deviation)."""
    sw = np.bincount(group, weights=w.sum(0), minlength=n_groups) + 1e-9
    wu = w * u
    mean = np.bincount(group, weights=(wu * l).sum(0), minlength=n_groups) / (
        np.bincount(group, weights=wu.sum(0), minlength=n_groups) + 1e-9)
    var = np.bincount(group, weights=(wu * (l - mean[group]) ** 2).sum(0), minlength=n_groups) / sw
    return mean, np.sqrt(var) + MIN_SCALE
