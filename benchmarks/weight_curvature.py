"""How much do the data pin down the sizes the decoder's message weights give each edge? Development seeds only.

Prints (writes nothing to docs/benchmarks.md). CausalMMM's message weights W_ij, which carry the size of every
effect, are point estimates; the effects' intervals hold no uncertainty about them. This measures what a posterior
over them would add, and whether the whole panel's likelihood agrees with the sizes SVI settled on. For each panel
(sizes and window as in "Causal effects and budget"), one fit with one SVI run (``restarts=1``: the curvature
belongs to one run's weights) on all but the last 14 days, then, with a log gain θ_ij per candidate edge into a
mediator or the target (W_ij · exp(θ_ij), θ = 0 the fit):

1. **Curvature.** The Hessian H of the negative ELBO of the whole training panel (every shop and day, the guide's
   draws at a fixed seed, 4 particles) in θ at 0, and with a N(0, 1) prior on θ the Laplace posterior
   N(0, (H + I)⁻¹) (H's negative eigenvalues raised to 0). Printed: the posterior sd of θ over the edges (median,
   largest) beside the fit's error per channel, |log Σ estimated / Σ true| of the ``held`` effects over shops
   (median, largest): a sd far below the error says the error is not the data's noise about W.
2. **Effects with W drawn.** The effects of 20 draws of θ from that posterior, 5 rollout draws each (100 in all),
   scored as "Causal effects and budget" scores them (``total``: Spearman, portfolio-ROAS error, 90% coverage), beside
   the fit's own 100 draws.
3. **The whole panel's optimum.** The Newton step of the same objective from θ = 0 (with the prior; each component
   clipped to ±1), the objective before and after it, and the effects at the stepped weights: SVI trains on windows
   of days, and the step says where the whole series would put the sizes.

``python -m benchmarks.weight_curvature --jobs 2`` (sim2, development seeds 100 and 101: about 10 minutes on 2
cores); ``--quick`` runs tiny settings (the test suite runs it).
"""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np

from benchmarks._doc import print_only_panels, print_only_parser

SEEDS = (100, 101)
GAIN_DRAWS = 20  # draws of θ from the Laplace posterior (3 with ``--quick``), the effects' draws shared evenly
PARTICLES = 4
PRIOR_SD = 1.0
NEWTON_CLIP = 1.0


@contextmanager
def message_weights(decoder, weights):
    """``decoder.edge_weight`` is ``weights`` (a tensor that may carry a graph) inside the block; the fit's own
    parameter object is put back afterwards."""
    own = decoder.edge_weight
    del decoder.edge_weight
    decoder.edge_weight = weights
    try:
        yield
    finally:
        del decoder.edge_weight
        decoder.edge_weight = own


def score_panel(scenario: str, seed: int, quick: bool) -> dict:
    """One fit of ``scenario``'s panel and the three readings of the module docstring (runs in a worker process)."""
    from causalmmm_ppl import _runtime

    _runtime.configure(1)
    import pyro
    import torch
    from pyro.infer import Trace_ELBO

    from benchmarks.effects import effects_panel, num_draws, quick_settings
    from causalmmm_ppl.evaluation.effect_metrics import effect_report, effect_size_ratio
    from causalmmm_ppl.inference.causalmmm_fit import fit_causalmmm
    from causalmmm_ppl.inference.effects import EffectDraws
    from causalmmm_ppl.models.settings import CausalMMMSettings

    sim, truth, history, plan = effects_panel(scenario, seed, quick)
    fit = fit_causalmmm(history, CausalMMMSettings.of(**(quick_settings(quick) or {"restarts": 1})), seed=seed,
                        progress=False)
    draws = num_draws(quick)
    n_gains = 3 if quick else GAIN_DRAWS
    per_gain = max(1, draws // n_gains)
    model, guide, data, spec = fit.model, fit.guide, fit.training_data(), fit.spec
    decoder = model.decoder
    w0 = decoder.edge_weight.detach().clone()
    kinds, rho = np.asarray(fit.schema.node_kinds), model.rho.numpy()
    pairs = [(i, j) for j in np.flatnonzero(kinds != "channel") for i in range(len(kinds)) if i != j and rho[i, j] > 0]
    cause, effect = torch.tensor([i for i, _ in pairs]), torch.tensor([j for _, j in pairs])

    def weights(theta: torch.Tensor) -> torch.Tensor:
        gain = torch.ones(w0.shape[:2]).index_put((cause, effect), torch.exp(theta))
        return w0 * gain[..., None]

    def objective(theta: torch.Tensor) -> torch.Tensor:
        with message_weights(decoder, weights(theta)):
            pyro.set_rng_seed(seed)
            batch = data.full_batch(temperature=spec.temperature)
            return sum(Trace_ELBO().differentiable_loss(model, guide, batch) for _ in range(PARTICLES)) / PARTICLES

    def with_weights(w: torch.Tensor, n: int, draw_seed: int) -> EffectDraws:
        with torch.no_grad():
            decoder.edge_weight.copy_(w)
        try:
            return fit.effect_draws(history, plan, kinds=("total", "held"), num_draws=n, seed=draw_seed)
        finally:
            with torch.no_grad():
                decoder.edge_weight.copy_(w0)

    own = fit.effect_draws(history, plan, kinds=("total", "held"), num_draws=draws, seed=seed)
    table = own.table(0.9)
    held_t = truth[truth.kind == "held"].groupby("channel")["effect"].sum()
    held_e = table[(table.kind == "held") & (table.shop != "ALL")].groupby("channel")["mean"].sum()
    channel_error = np.abs(np.log(np.clip((held_e / held_t).to_numpy(float), 1e-6, None)))

    theta0 = torch.zeros(len(pairs))
    grad = torch.autograd.functional.jacobian(objective, theta0).detach().double()
    hess = torch.autograd.functional.hessian(objective, theta0).detach().double()
    hess = 0.5 * (hess + hess.T)
    value, vector = torch.linalg.eigh(hess)
    precision = (vector * value.clamp(min=0.0)) @ vector.T + torch.eye(len(pairs), dtype=torch.float64) / PRIOR_SD**2
    cov = torch.linalg.inv(precision)
    sd = cov.diag().sqrt().numpy()

    gen = torch.Generator().manual_seed(seed)
    chol = torch.linalg.cholesky(cov)
    parts = [with_weights(weights((chol @ torch.randn(len(pairs), generator=gen, dtype=torch.float64)).float()),
                          per_gain, seed + 1 + k) for k in range(n_gains)]
    drawn = EffectDraws({k: np.concatenate([p.effect[k] for p in parts]) for k in parts[0].effect},
                        np.concatenate([p.marginal for p in parts]), parts[0].spend, parts[0].shops,
                        parts[0].channels)

    step = (-torch.linalg.solve(precision, grad)).clamp(-NEWTON_CLIP, NEWTON_CLIP)
    with torch.no_grad():
        before, after = float(objective(theta0)), float(objective(step.float()))
    stepped = with_weights(weights(step.float()), draws, seed)
    size = {name: effect_size_ratio(d.table(0.9), truth, "held") for name, d in (("fit", own), ("step", stepped))}
    return {"scenario": scenario, "seed": seed, "edges": len(pairs), "sd": sd,
            "sd_median": float(np.median(sd)), "sd_max": float(sd.max()),
            "error_median": float(np.median(channel_error)), "error_max": float(channel_error.max()),
            "rows": {name: effect_report(d.table(0.9), truth, "total")
                     for name, d in (("fit", own), ("W drawn", drawn), ("Newton step", stepped))},
            "step_median": float(step.median()), "step_min": float(step.min()), "step_max": float(step.max()),
            "objective": (before, after), "size": size}


def report(results: list[dict], seeds: tuple[int, ...]) -> list[str]:
    """The printed lines of :func:`score_panel`'s ``results``: the curvature, the readings' effects, the Newton
    step."""
    lines = ["| panel | seed | edges | sd of log gain: median / largest | channel error: median / largest |",
             "|---|---|---|---|---|"]
    lines += [f"| {r['scenario']} | {r['seed']} | {r['edges']} | {r['sd_median']:.3f} / {r['sd_max']:.3f} | "
              f"{r['error_median']:.3f} / {r['error_max']:.3f} |" for r in results]
    lines += ["", "| panel | seed | reading | Spearman | ROAS error | coverage 90% |", "|---|---|---|---|---|---|"]
    lines += [f"| {r['scenario']} | {r['seed']} | {name} | {row['spearman']:.3f} | {row['roas_rel_error']:.3f} | "
              f"{row['coverage']:.3f} |" for r in results for name, row in r["rows"].items()]
    lines.append("")
    for r in results:
        before, after = r["objective"]
        lines.append(f"{r['scenario']} seed {r['seed']}: Newton step of the log gains median {r['step_median']:+.3f} "
                     f"(from {r['step_min']:+.3f} to {r['step_max']:+.3f}); objective {before:.1f} → {after:.1f}; "
                     f"Σ estimated / Σ true held effect {r['size']['fit']:.3f} → {r['size']['step']:.3f}")
    lines.append(f"One SVI run per fit; development seeds {', '.join(map(str, seeds))}.")
    return lines


def main(argv: list[str] | None = None) -> int:
    args = print_only_parser(__doc__.splitlines()[0], "scenarios", ("sim2",), SEEDS).parse_args(argv)
    results, seeds = print_only_panels(args, "scenarios", score_panel)
    print("\n".join(report(results, seeds)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
