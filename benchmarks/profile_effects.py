"""Where the time of CausalMMM's effects table goes: a cProfile of ``fit.effects`` at the planning-cost size.

Prints (writes nothing to docs/benchmarks.md): the wall time, the share spent in the pass over the history
(:func:`~causalmmm_ppl.inference.forecast.history_start`) and in the scenarios' rollouts, and the functions with
the most cumulative time. The fit is short (``--steps``, default 5): what is timed does not depend on how well it
converged. ``python -m benchmarks.profile_effects [--shops 50] [--draws 200] [--threads 2]``.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import time

from benchmarks._engines import split_last

HORIZON = 14


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--shops", type=int, default=50, help="sim2 shops (676 days each)")
    p.add_argument("--draws", type=int, default=200, help="posterior draws of the effects table")
    p.add_argument("--steps", type=int, default=5, help="SVI steps of the fit")
    p.add_argument("--threads", type=int, default=2, help="torch threads")
    p.add_argument("--top", type=int, default=25, help="functions listed")
    args = p.parse_args(argv)
    from causalmmm_ppl import _runtime

    _runtime.configure(args.threads)
    from causalmmm_ppl.data.simulate import simulate
    from causalmmm_ppl.inference.causalmmm_fit import fit_causalmmm
    from causalmmm_ppl.models.settings import CausalMMMSettings

    panel = simulate("sim2", n_shops=args.shops, seed=0).panel
    history, plan = split_last(panel, HORIZON)
    fit = fit_causalmmm(history, CausalMMMSettings.of(steps=args.steps), seed=0, progress=False)
    profile = cProfile.Profile()
    t0 = time.perf_counter()
    profile.enable()
    fit.effects(history, plan, num_draws=args.draws, seed=0)
    profile.disable()
    wall = time.perf_counter() - t0
    stats = pstats.Stats(profile)
    cumulative = {f"{func[0].rsplit('/', 1)[-1]}:{func[2]}": row[3] for func, row in stats.stats.items()}
    history_s, rollouts_s = cumulative.get("forecast.py:history_start", 0.0), cumulative.get("effects.py:_rollout", 0.0)
    print(f"effects of {args.shops} shops × {args.draws} draws: {wall:.1f} s on {args.threads} threads; "
          f"pass over the history {history_s:.1f} s ({history_s / wall:.0%}), scenarios' rollouts {rollouts_s:.1f} s "
          f"({rollouts_s / wall:.0%})")
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(args.top)
    print(out.getvalue())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
