"""Node layout and graph rules shared by the simulators: node names and kinds, which ordered pairs a simulated shop may
connect, and edge probabilities by the kinds of an edge's ends."""

from __future__ import annotations

import numpy as np

START_DATE = "2022-01-01"
TARGET = "gmv"
MEDIATOR_NAMES = ("pv",)


def node_layout(n_channels: int, n_mediators: int = 1) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Node names and kinds: channels ``c0..``, mediators (``pv``, then ``pv1``..), the target ``gmv``."""
    mediators = tuple(MEDIATOR_NAMES[k] if k < len(MEDIATOR_NAMES) else f"pv{k}" for k in range(n_mediators))
    names = tuple(f"c{k}" for k in range(n_channels)) + mediators + (TARGET,)
    kinds = ("channel",) * n_channels + ("mediator",) * n_mediators + ("target",)
    return names, kinds


def allowed_edges(kinds: tuple[str, ...]) -> np.ndarray:
    """(cause, effect) bool: which edges the simulators may draw (a DAG by node order).

    Channel → later channel, channel → mediator, channel → target, mediator → later mediator, mediator → target.
    """
    k = np.asarray(kinds)
    v = len(k)
    later = np.triu(np.ones((v, v), dtype=bool), 1)
    from_ok = (k != "target")[:, None]
    into_ok = np.ones((v, v), dtype=bool)
    into_ok &= ~((k == "mediator")[:, None] & (k == "channel")[None, :])
    return later & from_ok & into_ok


def check_graph(adjacency: np.ndarray, kinds: tuple[str, ...], n_shops: int) -> np.ndarray:
    """Check a (shop, cause, effect) 0/1 graph: shape, values, no forbidden edge, acyclic; return it as int8."""
    a = np.asarray(adjacency)
    v = len(kinds)
    if a.shape != (n_shops, v, v):
        raise ValueError(f"graph has shape {a.shape}, expected (shop, node, node) = {(n_shops, v, v)}")
    if not np.isin(a, (0, 1)).all():
        raise ValueError("graph entries must be 0 or 1")
    a = a.astype(np.int8)
    if np.any(np.diagonal(a, axis1=1, axis2=2)):
        raise ValueError("graph has self-loops (own history enters through the node's own dynamics)")
    k = np.asarray(kinds)
    forbidden = (k == "target")[:, None] | ((k == "mediator")[:, None] & (k == "channel")[None, :])
    if np.any(a[:, forbidden]):
        raise ValueError("graph has a forbidden edge (target → anything or mediator → channel)")
    reach = a.astype(np.int64)
    power = reach.copy()
    for _ in range(v):
        power = np.minimum(power @ reach, 1)
    if np.any(power):
        raise ValueError("graph has a directed cycle")
    return a


def kind_edge_probability(kinds: tuple[str, ...], allowed: np.ndarray, *, cc: float, cm: float, ct: float, mm: float,
                          mt: float) -> np.ndarray:
    """(cause, effect) probability of an edge by the kinds of its ends (channel → channel ``cc``, channel → mediator
    ``cm``, channel → target ``ct``, mediator → mediator ``mm``, mediator → target ``mt``), zero where not
    ``allowed``."""
    k = np.asarray(kinds)
    ch, med, tgt = k == "channel", k == "mediator", k == "target"
    prob = np.zeros((len(k), len(k)))
    prob[np.ix_(ch, ch)] = cc
    prob[np.ix_(ch, med)] = cm
    prob[np.ix_(ch, tgt)] = ct
    prob[np.ix_(med, med)] = mm
    prob[np.ix_(med, tgt)] = mt
    return prob * allowed
