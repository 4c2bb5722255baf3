"""``causalmmm fit DATA <column flags> --model causalmmm|btvc ... --out RUN``: dispatch to the chosen model's fit.

``--model btvc`` runs :mod:`causalmmm_ppl.commands._fit_btvc`; ``--model causalmmm`` runs
:mod:`causalmmm_ppl.commands._fit_causalmmm`. Each is imported only when chosen (so a BTVC fit does not import torch,
and a CausalMMM fit does not import jax).
"""

from __future__ import annotations

import argparse
import importlib

_MODULES = {"btvc": "causalmmm_ppl.commands._fit_btvc", "causalmmm": "causalmmm_ppl.commands._fit_causalmmm"}


def run(args: argparse.Namespace) -> int:
    """Fit the model named by ``args.model`` (default ``causalmmm``)."""
    model = getattr(args, "model", None) or "causalmmm"
    if model not in _MODULES:
        raise ValueError(f"--model {model!r}: expected one of {', '.join(sorted(_MODULES))}")
    module = importlib.import_module(_MODULES[model])
    return int(module.run(args) or 0)
