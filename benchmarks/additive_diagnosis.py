"""Why the additive response's effect sizes stay small: the figures behind "Additive response (development
seeds)"'s diagnosis.

Prints (writes nothing to docs/benchmarks.md), one thread:

1. A 60-shop sim1 panel (development seed 100) fitted with ``additive="drive"`` for 800 steps: the population's
   effect sizes exp(m_ij), the guide's per-edge scale of log β (mean over shops, from 0.1 at the start; the prior's
   is ``additive_scale``), and the mean edge probability of true and absent edges into pv and gmv.
2. PyMC-Marketing's ``mmm_example`` (the columns of "Contribution shares on PyMC-Marketing's example", x1 → y and
   x2 → y required), seed 0: the shares of x1 and x2 with the default and with ``additive="level"``; for the
   latter, the causes' mean signals and the learned sizes β of x1 → y and x2 → y (the guide's mean, its scale on the
   log) after 1,500 and 4,500 steps.

``python -m benchmarks.additive_diagnosis`` (about three minutes on one core).
"""

from __future__ import annotations

import numpy as np


def _beta(fit) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Population sizes exp(m) ``(additive edge,)``, and the guide's exp(loc) and scale averaged over the training
    shops ``(additive edge,)``."""
    import torch

    dist = fit.guide.edge_site_distributions(fit.training_data().full_batch())[3]["edge_beta"].base_dist
    with torch.no_grad():
        return (torch.exp(fit.model.additive_loc).numpy(), dist.loc.exp().mean(0).numpy(),
                dist.scale.mean(0).numpy())


def sim1_drive() -> None:
    from causalmmm_ppl.data.simulate import simulate
    from causalmmm_ppl.inference.causalmmm_fit import fit_causalmmm
    from causalmmm_ppl.models.settings import CausalMMMSettings

    sim = simulate("sim1", n_shops=60, n_days=100, seed=100)
    fit = fit_causalmmm(sim.panel, CausalMMMSettings.of(additive="drive", steps=800), seed=100, progress=False)
    population, _, scale = _beta(fit)
    print(f"sim1 (60 shops, seed 100), additive='drive', 800 steps: population β {population.min():.3f}–"
          f"{population.max():.3f}; guide's scale of log β {scale.min():.2f}–{scale.max():.2f} (prior "
          f"{fit.spec.additive_scale})")
    prob, truth = fit.edge_probability_array(), sim.adjacency
    for j in (fit.model.nodes.index("pv"), fit.model.nodes.index("gmv")):
        p, t = prob[:, :, j], truth[:, :, j] > 0
        absent = ~t & (fit.model.rho[:, j].numpy() > 0)[None, :]
        print(f"  edges into {fit.model.nodes[j]}: mean probability {p[t].mean():.3f} on true edges, "
              f"{p[absent].mean():.3f} on absent candidates")


def peer_example() -> None:
    from benchmarks.peer_contributions import DATA, DRAWS, HISTORY_WEEKS, TRUTH
    from causalmmm_ppl.data.load import load_panel
    from causalmmm_ppl.data.panel import ColumnSpec
    from causalmmm_ppl.inference.causalmmm_fit import fit_causalmmm
    from causalmmm_ppl.models.settings import CausalMMMSettings

    panel = load_panel(DATA, ColumnSpec(target="y", channels=("x1", "x2", "event_1", "event_2"), date_col="date_week"))
    history, window = panel.select_time(0, HISTORY_WEEKS), panel.select_time(HISTORY_WEEKS, panel.n_time)
    required = {"x1->y": 1.0, "x2->y": 1.0}
    for form, steps in (("off", 1500), ("level", 1500), ("level", 4500)):
        fit = fit_causalmmm(panel, CausalMMMSettings.of(edge_priors=required, additive=form, steps=steps), seed=0,
                            progress=False)
        parts = []
        if steps == 1500:
            table = fit.effects(history, window, kinds=("total",), num_draws=DRAWS, seed=0)
            rows = table[table["shop"] != "ALL"].set_index("channel")
            y_total = float(window.values[0, :, -1].sum())
            parts.append("shares " + ", ".join(f"{c} {rows.loc[c, 'mean'] / y_total:.1%} (true {t:.0%})"
                                           for c, t in TRUTH.items()))
        if form == "level":
            edges = [tuple(fit.model.nodes[k] for k in e) for e in fit.model.edge_index[fit.model.additive_edges]]
            _, beta, scale = _beta(fit)
            at = {c: edges.index((c, "y")) for c in TRUTH}
            parts.append("β " + ", ".join(f"{c} {beta[k]:.3f} (scale {scale[k]:.2f})" for c, k in at.items()))
            if steps == 1500:
                import torch

                data = fit.training_data()
                u = fit.guide.distributions(data.full_batch())[1]
                with torch.no_grad():
                    s = fit.model.signals(data.x, u)[0]
                parts.append("mean signals " + ", ".join(f"{c} {float(s[fit.model.nodes.index(c)].mean()):.2f}"
                                                         for c in TRUTH))
        print(f"mmm_example, x1/x2 -> y required, additive={form!r}, {steps} steps: " + "; ".join(parts))


def main(argv: list[str] | None = None) -> int:
    from causalmmm_ppl import _runtime

    _runtime.configure(1)
    sim1_drive()
    peer_example()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
