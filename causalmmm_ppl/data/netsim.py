"""NetSim sim3 (Smith et al. 2011; the eSRU redistribution in ``datasets/netsim``) as a Panel with its truth.

Each ``sim3_subject_{k}.npz`` holds ``X_np`` (15 nodes × 200 steps, rows = nodes) and ``Gref`` (15 × 15,
``Gref[i, j] = 1`` means ``j → i``, unit diagonal); all 50 subjects share one graph with 18 off-diagonal edges.

Mapping onto the marketing panel (subjects play shops):

- values: BOLD signals are z-scored per subject and node, then shifted so each series' minimum is 0 (the panel's
  channels must be ≥ 0 and CausalMMM's carryover/saturation read non-negative causes);
- nodes ``n0..n14``; a Panel needs a last *target* node, so ``n14`` is the target and ``n0..n13`` are *mediators*
  (no channels: nothing is planned). CausalMMM's default prior forbids target → channel edges only, so with no
  channels no edge is forbidden; fit with ``CausalMMMSpec(forbid_target_causes=False)`` anyway, so that the target's
  out-edges stay candidates whatever the roles;
- dates: a daily grid from 2022-01-01 (200 steps; the real TR is 3 s — only the order matters here);
- truth: ``adjacency[s, cause, effect] = Gref[effect, cause]`` off the diagonal.

Data code: numpy and pandas only.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from causalmmm_ppl.data.panel import Panel

DEFAULT_DIR = Path(__file__).resolve().parents[2] / "datasets" / "netsim"
N_SUBJECTS = 50


@dataclass(frozen=True)
class NetsimData:
    """``panel`` (subject, time, node) and ``adjacency`` (subject, cause, effect) 0/1 truth."""

    panel: Panel
    adjacency: np.ndarray


def netsim_dir() -> Path:
    """``$CAUSALMMM_DATASETS/netsim`` when set, else the repository's ``datasets/netsim``."""
    root = os.environ.get("CAUSALMMM_DATASETS")
    return Path(root) / "netsim" if root else DEFAULT_DIR


def load_netsim(directory: str | os.PathLike | None = None, subjects: int | list[int] | None = None,
                n_time: int | None = None) -> NetsimData:
    """Load NetSim sim3 subjects as a panel.

    Parameters
    ----------
    directory : folder of ``sim3_subject_{k}.npz`` (default :func:`netsim_dir`)
    subjects : how many (the first k) or which subjects (default all 50)
    n_time : keep only the first ``n_time`` steps (default all 200)

    Raises
    ------
    FileNotFoundError
        A subject file is missing.
    """
    d = Path(directory) if directory is not None else netsim_dir()
    if subjects is None:
        subjects = list(range(N_SUBJECTS))
    elif isinstance(subjects, int):
        subjects = list(range(subjects))
    xs, gs = [], []
    for k in subjects:
        path = d / f"sim3_subject_{k}.npz"
        if not path.exists():
            raise FileNotFoundError(f"{path}: NetSim subject file not found")
        with np.load(path) as f:
            xs.append(np.asarray(f["X_np"], dtype=float).T)  # (time, node)
            gs.append(np.asarray(f["Gref"]))
    x = np.stack(xs)  # (subject, time, node)
    if n_time is not None:
        x = x[:, :n_time]
    z = (x - x.mean(1, keepdims=True)) / np.where(x.std(1, keepdims=True) > 0, x.std(1, keepdims=True), 1.0)
    z = z - z.min(1, keepdims=True)
    v = x.shape[2]
    adj = np.stack([g.T for g in gs]).astype(np.int8)
    adj[:, np.arange(v), np.arange(v)] = 0
    nodes = tuple(f"n{k}" for k in range(v))
    panel = Panel(
        values=z,
        observed=np.ones(z.shape, dtype=bool),
        context=np.zeros((len(subjects), 0)),
        shops=tuple(f"subject{k}" for k in subjects),
        dates=pd.date_range("2022-01-01", periods=z.shape[1], freq="D"),
        nodes=nodes,
        node_kinds=("mediator",) * (v - 1) + ("target",),
        freq="D",
    )
    return NetsimData(panel, adj)
