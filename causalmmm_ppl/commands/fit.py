"""``causalmmm fit DATA <column flags> --model causalmmm|btvc ... --out RUN``: dispatch to the chosen model's fit.

``--model btvc`` runs :mod:`causalmmm_ppl.commands._fit_btvc`; ``--model causalmmm`` runs
:mod:`causalmmm_ppl.commands._fit_causalmmm`. Each is imported only when chosen (so a BTVC fit does not import torch,
and a CausalMMM fit does not import jax).
"""

from __future__ import annotations

import argparse
import importlib
from typing import Any, NamedTuple

_MODULES = {"btvc": "causalmmm_ppl.commands._fit_btvc", "causalmmm": "causalmmm_ppl.commands._fit_causalmmm"}


class FitData(NamedTuple):
    """What a fit reads and checks before any work (:func:`read_fit_data`)."""

    panel: Any  # the whole panel (:class:`~causalmmm_ppl.data.panel.Panel`)
    columns: Any  # the column names it came from
    split: Any  # :class:`~causalmmm_ppl.data.windows.Holdout`
    train: Any  # the panel the model is fitted on (all of it without --holdout)
    out: Any  # the checked output folder, or None
    holdout: int  # --holdout H (0: none)


def read_fit_data(args: argparse.Namespace, min_train: int, *, check_out: bool = True,
                  loaded: tuple | None = None) -> FitData:
    """The checks every model's fit makes before its own: the output folder (``check_out``), the panel (``loaded``:
    its ``(panel, columns)`` when already read) and the holdout split (everything a holdout forecast needs, with at
    least ``min_train`` periods left to fit)."""
    from causalmmm_ppl._io import check_replaceable
    from causalmmm_ppl.data.load import panel_from_args
    from causalmmm_ppl.data.windows import holdout_split

    holdout = int(getattr(args, "holdout", 0) or 0)
    out = check_replaceable(args.out, force=bool(getattr(args, "force", False))) if check_out else None
    panel, columns = loaded or panel_from_args(args)
    split = holdout_split(panel, holdout, min_train)
    return FitData(panel, columns, split, split.train if holdout else panel, out, holdout)


def run(args: argparse.Namespace) -> int:
    """Fit the model named by ``args.model`` (default ``causalmmm``)."""
    model = getattr(args, "model", None) or "causalmmm"
    if model not in _MODULES:
        raise ValueError(f"--model {model!r}: expected one of {', '.join(sorted(_MODULES))}")
    if getattr(args, "device", "cpu") != "cpu" and model != "causalmmm":
        raise ValueError(f"--device {args.device}: only --model causalmmm trains on a GPU here")
    nproc = getattr(args, "nproc", 1)
    if nproc is not None and nproc != 1:
        if nproc < 1:
            raise ValueError(f"--nproc {nproc}: must be >= 1")
        if model != "causalmmm":
            raise ValueError(f"--nproc {nproc}: several processes train --model causalmmm only (BTVC runs its NUTS "
                             f"chains or its SVI in one process)")
    check_shard_reading(args, model)
    module = importlib.import_module(_MODULES[model])
    return int(module.run(args) or 0)


def check_shard_reading(args: argparse.Namespace, model: str | None) -> None:
    """``--shops-per-chunk`` (a panel read shard by shard) is for ``--model causalmmm`` only: ValueError naming it."""
    if getattr(args, "shops_per_chunk", None) is not None and model not in (None, "causalmmm"):
        raise ValueError(f"--shops-per-chunk {args.shops_per_chunk}: only --model causalmmm reads its panel shard by "
                         f"shard")
