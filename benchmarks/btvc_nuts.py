"""Cost of the BTVC baseline: NUTS (4 chains) and SVI on one 676-day shop of sim2; writes its docs section.

Run from the repository root::

    .venv/bin/python -m benchmarks.btvc_nuts            # 4 chains x 1000 warm-up x 1000 draws, SVI 3000 steps
    .venv/bin/python -m benchmarks.btvc_nuts --quick    # tiny run (checks the script; does not write the docs)
    .venv/bin/python -m benchmarks.btvc_nuts --no-write --set target_accept_prob=0.8   # a variant, printed only
    .venv/bin/python -m benchmarks.btvc_nuts --no-write --spec coef_knot_prior=halfnormal coef_knot_scale=0.2

Reported: NUTS wall time (compilation included), ESS per second (bulk; minimum and median over the latent
parameters), largest R-hat, divergent transitions, mean tree size; SVI wall time. Goal: NUTS <= 2 minutes.
"""

from __future__ import annotations

from causalmmm_ppl import _runtime

_runtime.configure()

import argparse  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402

import numpy as np  # noqa: E402

from benchmarks._doc import machine_line, parse_spec, replace_section  # noqa: E402

SECTION = "## BTVC (NumPyro): NUTS and SVI cost"


def sim2_shop(n_days: int | None, seed: int = 0):
    """One shop of sim2 (the project's AirMMM-sized scenario)."""
    from causalmmm_ppl.data.simulate import simulate

    return simulate("sim2", n_shops=1, n_days=n_days, seed=seed).panel


def run(quick: bool, seed: int = 0, warmup: int = 1000, draws: int = 1000, overrides: dict | None = None,
        spec_overrides: dict | None = None) -> dict:
    """Fit NUTS and SVI on one sim2 shop; ``overrides`` are :class:`BTVCInference` fields of the NUTS run,
    ``spec_overrides`` :class:`BTVCSpec` fields of both runs. Returns the figures :func:`section` reports."""
    import jax
    import numpyro

    from causalmmm_ppl.evaluation.diagnostics import diagnostics_table
    from causalmmm_ppl.inference.btvc import chain_groups, chain_method_for, fit_btvc
    from causalmmm_ppl.models.btvc_spec import BTVCSpec

    panel = sim2_shop(120 if quick else None, seed)
    chains, warmup, draws, svi_steps = (2, 50, 50, 200) if quick else (4, warmup, draws, 3000)
    spec = BTVCSpec(**(spec_overrides or {}))
    nuts = fit_btvc(panel, spec, num_chains=chains, num_warmup=warmup, num_samples=draws, seed=seed,
                    progress=False, **(overrides or {}))
    table = diagnostics_table(nuts.to_inference_data(include_paths=False, posterior_predictive=False))
    overall = table.set_index("group").loc["all"]
    svi = fit_btvc(panel, spec, method="svi", svi_steps=svi_steps, seed=seed, progress=False)
    method, rounds = chain_method_for(chains), chain_groups(chains)
    if method == "parallel" and len(rounds) > 1:
        method += f", {len(rounds)} rounds of {max(rounds)}"
    return {
        "seed": seed, "days": panel.n_time, "channels": len(nuts.design.media), "chains": chains, "warmup": warmup,
        "draws": draws, "knots": nuts.spec.knots,
        "chain_method": method,
        "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "overrides": dict(overrides or {}), "spec_overrides": dict(spec_overrides or {}),
        "reparam": nuts.inference.nuts_reparam, "target_accept": nuts.inference.target_accept_prob,
        "depth": nuts.inference.max_tree_depth,
        "params": int(overall["parameters"]), "nuts_s": nuts.wall_time_s,
        "ess_min_s": overall["ess_bulk_min"] / nuts.wall_time_s,
        "ess_median_s": overall["ess_bulk_median"] / nuts.wall_time_s,
        "rhat_max": overall["rhat_max"], "divergences": int(overall["divergences"]),
        "tree_size": float(np.mean(nuts.sample_stats["tree_size"])),
        "nuts_init": (f"{nuts.inference.nuts_init_steps}-step mean-field SVI fit" if nuts.inference.nuts_init == "svi"
                      else "prior-mean start"), "svi_steps": svi_steps, "svi_s": svi.wall_time_s,
        "versions": f"numpyro {numpyro.__version__}, jax {jax.__version__}",
        "devices": jax.local_device_count(),
    }


def section(r: dict, command: str) -> str:
    goal = "meets" if r["nuts_s"] <= 120 else "misses"
    return "\n".join([
        SECTION,
        "",
        f"Command: `{command}`  ",
        machine_line() + f" JAX host devices: {r['devices']}; CPU cores this process could use: {r['cores']}.  ",
        f"Data: one shop of sim2 (`simulate('sim2', n_shops=1, seed={r['seed']})`), {r['days']} days, "
        f"{r['channels']} media channels (the mediator is not used by BTVC); "
        f"{'`BTVCSpec` with ' + str(r['spec_overrides']) if r['spec_overrides'] else 'default `BTVCSpec`'} "
        f"(knots: {r['knots']}), "
        f"{r['params']} latent parameters; "
        f"{'`BTVCInference` with ' + str(r['overrides']) if r['overrides'] else 'default `BTVCInference`'} (NUTS coordinates `nuts_reparam="
        f"\"{r['reparam']}\"`, target acceptance {r['target_accept']}, tree depth {r['depth']} "
        "(warm-up, draws)).",
        "",
        "| method | setting | wall time (s) | ESS bulk/s min | ESS bulk/s median | max R-hat | divergences | "
        "mean tree size |",
        "|---|---|---|---|---|---|---|---|",
        f"| NUTS | {r['chains']} chains ({r['chain_method']}) × {r['warmup']} warm-up × {r['draws']} draws | "
        f"{r['nuts_s']:.1f} | {r['ess_min_s']:.2f} | {r['ess_median_s']:.2f} | {r['rhat_max']:.3f} | "
        f"{r['divergences']} | {r['tree_size']:.0f} |",
        f"| SVI (mean-field normal) | {r['svi_steps']} steps, 1000 draws | {r['svi_s']:.1f} | – | – | – | – | – |",
        "",
        f"- Goal NUTS ≤ 2 minutes: this run {goal} it. Wall times include JIT compilation; the NUTS time also "
        f"includes the {r['nuts_init']} that starts the chains (`BTVCInference.nuts_init`). Chains run one per JAX "
        "host device at a time (`chain_groups`; `causalmmm_ppl._runtime` sets one device per core); when the "
        "process may use fewer cores than there are devices, the rounds share them and the wall time is close to "
        "running the chains in sequence.",
        "- Numbers measured while other jobs shared the 2 cores are provisional; rerun on a quiet machine.",
        "",
    ])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny run; prints the section, writes nothing")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--warmup", type=int, default=1000, help="NUTS warm-up steps per chain")
    parser.add_argument("--draws", type=int, default=1000, help="NUTS draws per chain")
    parser.add_argument("--no-write", action="store_true", help="print the section instead of writing it")
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                        help="BTVCInference overrides of the NUTS run (a variant: use with --no-write)")
    parser.add_argument("--spec", nargs="*", default=[], metavar="KEY=VALUE",
                        help="BTVCSpec overrides (model and priors) of both runs (a variant: use with --no-write)")
    args = parser.parse_args(argv)
    overrides = parse_spec(args.set)
    result = run(args.quick, args.seed, args.warmup, args.draws, overrides, parse_spec(args.spec))
    command = ".venv/bin/python -m benchmarks.btvc_nuts" + (" --quick" if args.quick else "")
    if args.seed:
        command += f" --seed {args.seed}"
    if (args.warmup, args.draws) != (1000, 1000):
        command += f" --warmup {args.warmup} --draws {args.draws}"
    if args.set:
        command += " --set " + " ".join(args.set)
    if args.spec:
        command += " --spec " + " ".join(args.spec)
    text = section(result, command)
    print(text)
    if not (args.quick or args.no_write):
        replace_section(text, SECTION)
    return 0


if __name__ == "__main__":
    sys.exit(main())
