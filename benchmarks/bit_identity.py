"""Bit-identity of a CausalMMM fit and its outputs between two source trees: the check behind the status paragraph
of docs/benchmarks.md ("leaves the same fit bit-identical").

Records, in the source tree it is run from: a 30-step fit of a 24-shop sim1 panel (seed 5; history = its first 66
days, window = the last 14; SVI seed 3) with its training losses, edge probabilities, effects table (mean, lower,
upper, mroas; 10 draws, seed 2) and window forecast (10 draws). ``--shops N`` simulates N shops instead (below
10 the default fits with the prior on the message weights). ``--set key=value`` changes a setting (e.g.
``edge_draws=relaxed``). Run it in each tree, then compare::

    cd OLD && PYTHONPATH=. .venv/bin/python -m benchmarks.bit_identity --out /tmp/old.npz
    cd NEW && PYTHONPATH=. .venv/bin/python -m benchmarks.bit_identity --out /tmp/new.npz
    .venv/bin/python -m benchmarks.bit_identity --compare /tmp/old.npz /tmp/new.npz

``--tree DIR`` records the source tree DIR instead (its ``causalmmm_ppl`` imported in a child process, this
script's recipe), so a tree older than this script can be recorded too::

    .venv/bin/python -m benchmarks.bit_identity --tree /tmp/old-checkout --out /tmp/old.npz

``--compare`` prints one line per output and exits 1 unless all are identical. Writes nothing to the docs.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

OUTPUTS = ("loss", "edges", "effects", "forecast")


def record(overrides: dict | None = None, n_shops: int = 24, steps: int = 30) -> dict[str, np.ndarray]:
    """The fit's outputs in this source tree, one array each (``OUTPUTS``)."""
    from causalmmm_ppl import _runtime

    _runtime.configure(1)
    from causalmmm_ppl.data.simulate import simulate
    from causalmmm_ppl.inference.causalmmm_fit import fit_causalmmm
    from causalmmm_ppl.models.settings import CausalMMMSettings

    sim = simulate("sim1", n_shops=n_shops, n_days=80, seed=5)
    history, window = sim.panel.select_time(0, 66), sim.panel.select_time(66, 80)
    fit = fit_causalmmm(history, CausalMMMSettings.of(steps=steps, num_draws=20, **(overrides or {})), seed=3,
                        progress=False)
    effects = fit.effects(history, window, num_draws=10, seed=2)[["mean", "lower", "upper", "mroas"]]
    forecast = fit.forecast(history, window, num_draws=10).select_dtypes("number")
    return {"loss": np.asarray(fit.log.loss), "edges": fit.edge_probability_array(),
            "effects": effects.to_numpy(), "forecast": forecast.to_numpy()}


#: what the child process of :func:`record_tree` runs: this file loaded by its path (so that the ``benchmarks``
#: package of the recorded tree, which may lack this script, is not needed), its record saved
_CHILD = """
import importlib.util, sys
import numpy as np
spec = importlib.util.spec_from_file_location("bit_identity_recipe", sys.argv[1])
recipe = importlib.util.module_from_spec(spec)
spec.loader.exec_module(recipe)
import json
np.savez(sys.argv[2], **recipe.record(json.loads(sys.argv[3]), **json.loads(sys.argv[4])))
"""


def record_tree(tree: str | os.PathLike, out: str | os.PathLike, overrides: dict | None = None, **sizes) -> None:
    """Record the outputs of the source tree ``tree`` (its ``causalmmm_ppl``, this script's recipe) in ``out``
    (.npz), in a child process; ``sizes``: :func:`record`'s ``n_shops`` and ``steps``."""
    root = Path(tree).resolve()
    if not (root / "causalmmm_ppl" / "__init__.py").exists():
        raise SystemExit(f"--tree {tree}: no causalmmm_ppl package there")
    env = {**os.environ, "PYTHONPATH": str(root)}
    # run from the tree: ``python -c`` puts the working directory first on sys.path
    check = subprocess.run([sys.executable, "-c", "import causalmmm_ppl; print(causalmmm_ppl.__file__)"], env=env,
                           cwd=root, capture_output=True, text=True, check=True)
    if not Path(check.stdout.strip()).resolve().is_relative_to(root):
        raise SystemExit(f"--tree {tree}: causalmmm_ppl imports from {check.stdout.strip()} instead")
    subprocess.run([sys.executable, "-c", _CHILD, str(Path(__file__).resolve()), str(Path(out).resolve()),
                    json.dumps(overrides or {}), json.dumps(sizes)], env=env, cwd=root, check=True)


def compare(a: dict, b: dict) -> dict[str, bool]:
    """Output name → whether the two records hold it bit for bit (NaN equal to NaN)."""
    return {k: bool(np.array_equal(a[k], b[k], equal_nan=True)) for k in OUTPUTS}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", help="record this tree's outputs here (.npz)")
    p.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="settings changed for the fit")
    p.add_argument("--compare", nargs=2, metavar=("A", "B"), help="compare two records")
    p.add_argument("--tree", help="record this source tree instead of the one the script runs from")
    p.add_argument("--shops", type=int, default=24, help="shops of the fitted sim1 panel (default 24; below 10 the "
                   "default gives the message weights a prior)")
    args = p.parse_args(argv)
    if args.compare:
        same = compare(*(dict(np.load(f)) for f in args.compare))
        for k, ok in same.items():
            print(f"{k}: {'identical' if ok else 'DIFFERENT'}")
        return 0 if all(same.values()) else 1
    if not args.out:
        p.error("give --out FILE (record) or --compare A B")
    from benchmarks._doc import parse_spec

    if args.tree:
        record_tree(args.tree, args.out, parse_spec(args.set), n_shops=args.shops)
    else:
        np.savez(args.out, **record(parse_spec(args.set), n_shops=args.shops))
    print(f"recorded {', '.join(OUTPUTS)} of {args.tree or 'this tree'} in {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
