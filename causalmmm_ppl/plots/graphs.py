"""Learned causal graphs: per-shop edge-probability heatmaps, drawn graphs, and how often each edge appears across
shops.

Inputs are the long edge table of a run (``edges.csv``: ``shop, cause, effect, probability``) or a CausalMMM
InferenceData (its ``posterior.edge_probability``, dims ``(chain, draw, shop, cause, effect)``); a truth table
(``truth.csv``: ``shop, cause, effect, edge``) may be overlaid.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch

from causalmmm_ppl.plots._common import new_axes, select_shops

__all__ = ["edge_table", "edge_cube", "edge_heatmaps", "graph_drawing", "edge_frequency"]


def edge_table(source: pd.DataFrame | Any) -> pd.DataFrame:
    """The long ``shop, cause, effect, probability`` table of an edge table or a CausalMMM InferenceData.

    Raises
    ------
    ValueError
        ``source`` is neither (e.g. a BTVC InferenceData, which has no graph).
    """
    if isinstance(source, pd.DataFrame):
        missing = [c for c in ("shop", "cause", "effect", "probability") if c not in source.columns]
        if missing:
            raise ValueError(f"edge table has no column {missing[0]!r} (expected shop, cause, effect, probability)")
        out = source[["shop", "cause", "effect", "probability"]].copy()
        out[["shop", "cause", "effect"]] = out[["shop", "cause", "effect"]].astype(str)
        return out
    post = getattr(source, "posterior", None)
    if post is None or "edge_probability" not in post:
        raise ValueError("no learned graph: expected an edge table or an InferenceData with "
                         "posterior.edge_probability (a CausalMMM run)")
    da = post["edge_probability"].mean(("chain", "draw"))
    frame = da.to_dataframe(name="probability").reset_index()
    frame = frame[frame["cause"] != frame["effect"]]
    frame[["shop", "cause", "effect"]] = frame[["shop", "cause", "effect"]].astype(str)
    return frame[["shop", "cause", "effect", "probability"]].reset_index(drop=True)


def edge_cube(edges: pd.DataFrame, value: str = "probability", nodes: Sequence[str] | None = None
              ) -> tuple[np.ndarray, list[str], list[str]]:
    """A long edge table as a dense array.

    Parameters
    ----------
    edges : long table with ``shop, cause, effect`` and ``value``
    nodes : node order (default: order of first appearance, causes then effects)

    Returns
    -------
    cube : (shop, cause, effect), NaN on pairs the table does not list (the diagonal)
    shops : (shop,) in order of first appearance
    nodes : (node,)
    """
    shops = list(pd.unique(edges["shop"].astype(str)))
    if nodes is None:
        nodes = list(pd.unique(pd.concat([edges["cause"], edges["effect"]]).astype(str)))
    nodes = [str(n) for n in nodes]
    s = pd.Index(shops).get_indexer(edges["shop"].astype(str))
    c = pd.Index(nodes).get_indexer(edges["cause"].astype(str))
    e = pd.Index(nodes).get_indexer(edges["effect"].astype(str))
    cube = np.full((len(shops), len(nodes), len(nodes)), np.nan)
    cube[s, c, e] = edges[value].to_numpy(dtype=float)
    return cube, shops, nodes


def _truth_cube(truth: pd.DataFrame | None, shops: list[str], nodes: list[str]) -> np.ndarray | None:
    if truth is None:
        return None
    t = truth[truth["shop"].astype(str).isin(shops)]
    cube, t_shops, _ = edge_cube(t, value="edge", nodes=nodes)
    order = pd.Index(t_shops).get_indexer(shops)
    if (order < 0).any():
        raise ValueError(f"truth table has no rows for shop {shops[int(np.argmax(order < 0))]!r}")
    return np.nan_to_num(cube[order])


def _heatmap(ax: plt.Axes, mat: np.ndarray, nodes: list[str], title: str, truth: np.ndarray | None,
             annotate: bool) -> Any:
    im = ax.imshow(np.ma.masked_invalid(mat), vmin=0.0, vmax=1.0, cmap="Blues")
    ax.set_xticks(range(len(nodes)), nodes, rotation=90, fontsize=8)
    ax.set_yticks(range(len(nodes)), nodes, fontsize=8)
    ax.set_xlabel("effect")
    ax.set_ylabel("cause")
    ax.set_title(title, fontsize=10)
    if annotate and len(nodes) <= 14:
        rows, cols = np.nonzero(np.nan_to_num(mat) >= 0.05)
        for r, c in zip(rows, cols):
            ax.text(c, r, f"{mat[r, c]:.2f}".lstrip("0"), ha="center", va="center", fontsize=6,
                    color="white" if mat[r, c] > 0.6 else "black")
    if truth is not None:
        rows, cols = np.nonzero(truth > 0)
        ax.scatter(cols, rows, s=90, facecolors="none", edgecolors="crimson", linewidths=1.2, marker="s")
    return im


def edge_heatmaps(source: pd.DataFrame | Any, shops: str | Sequence[str] | None = None, *, max_shops: int = 4,
                  truth: pd.DataFrame | None = None, annotate: bool = True, ncols: int = 2) -> Figure:
    """Edge-probability heatmap (cause × effect) of each shop.

    Parameters
    ----------
    source : edge table or CausalMMM InferenceData (see :func:`edge_table`)
    shops : shops to draw (default: the first ``max_shops``)
    truth : ``shop, cause, effect, edge`` table; true edges are outlined in red
    annotate : write probabilities ≥ 0.05 in the cells
    """
    cube, all_shops, nodes = edge_cube(edge_table(source))
    chosen = select_shops(all_shops, shops, max_shops)
    idx = pd.Index(all_shops).get_indexer(chosen)
    tcube = _truth_cube(truth, chosen, nodes)
    fig, axes = new_axes(len(chosen), ncols, panel_size=(0.45 * len(nodes) + 1.6, 0.45 * len(nodes) + 1.2))
    im = None
    for k, (ax, shop) in enumerate(zip(axes, chosen)):
        title = f"shop {shop}" + ("" if tcube is None else " (red squares: true edges)")
        im = _heatmap(ax, cube[idx[k]], nodes, title, None if tcube is None else tcube[k], annotate)
    fig.colorbar(im, ax=list(axes), shrink=0.8, label="posterior edge probability")
    return fig


def _layout(nodes: list[str], node_kinds: Sequence[str] | None) -> np.ndarray:
    """Node positions (node, 2): layered by kind (channels → mediators → target) when kinds are known, else a
    circle."""
    n = len(nodes)
    if node_kinds is None:
        angle = np.pi / 2 - 2 * np.pi * np.arange(n) / n
        return np.stack([np.cos(angle), np.sin(angle)], axis=1)
    kinds = np.asarray(node_kinds)
    layer = np.select([kinds == "channel", kinds == "mediator"], [0.0, 1.0], default=2.0)
    pos = np.zeros((n, 2))
    for value in np.unique(layer):
        members = np.flatnonzero(layer == value)
        pos[members, 0] = value
        pos[members, 1] = np.linspace(1, -1, len(members)) if len(members) > 1 else 0.0
    return pos


def graph_drawing(source: pd.DataFrame | Any, shop: str | None = None, *, node_kinds: Sequence[str] | None = None,
                  min_probability: float = 0.05, ax: plt.Axes | None = None) -> Figure:
    """One shop's learned graph: an arrow per edge, width and opacity proportional to its probability.

    Parameters
    ----------
    source : edge table or CausalMMM InferenceData
    shop : default the first shop
    node_kinds : (node,) ``channel``/``mediator``/``target`` in the table's node order; gives a layered layout
    min_probability : edges below are not drawn
    """
    cube, all_shops, nodes = edge_cube(edge_table(source))
    shop = select_shops(all_shops, shop, 1)[0]
    prob = cube[all_shops.index(shop)]  # NaN on pairs that are not candidate edges (the diagonal)
    if node_kinds is not None and len(node_kinds) != len(nodes):
        raise ValueError(f"node_kinds has {len(node_kinds)} entries for {len(nodes)} nodes")
    pos = _layout(nodes, node_kinds)
    fig = ax.figure if ax is not None else plt.figure(figsize=(5.5, 4.5))
    ax = ax or fig.add_subplot()
    causes, effects = np.nonzero(np.nan_to_num(prob, nan=-1.0) >= min_probability)
    for i, j in zip(causes, effects):
        p = float(prob[i, j])
        ax.add_patch(FancyArrowPatch(pos[i], pos[j], arrowstyle="-|>", mutation_scale=8 + 10 * p,
                                     linewidth=0.5 + 4.5 * p, alpha=0.25 + 0.75 * p, color="tab:blue",
                                     connectionstyle="arc3,rad=0.12", shrinkA=14, shrinkB=14))
    colors = {"channel": "#f2f2f2", "mediator": "#fde3c8", "target": "#d5f0d5"}
    kinds = list(node_kinds) if node_kinds is not None else ["channel"] * len(nodes)
    for (x, y), name, kind in zip(pos, nodes, kinds):
        ax.text(x, y, name, ha="center", va="center", fontsize=9, zorder=3,
                bbox={"boxstyle": "round,pad=0.35", "fc": colors.get(kind, "#f2f2f2"), "ec": "0.3"})
    ax.set_xlim(pos[:, 0].min() - 0.4, pos[:, 0].max() + 0.4)
    ax.set_ylim(pos[:, 1].min() - 0.3, pos[:, 1].max() + 0.3)
    ax.set_axis_off()
    ax.set_title(f"shop {shop}: edges with probability ≥ {min_probability:g} (width ∝ probability)", fontsize=9)
    return fig


def edge_frequency(source: pd.DataFrame | Any, *, threshold: float = 0.5, truth: pd.DataFrame | None = None
                   ) -> Figure:
    """Across shops: the share of shops in which each edge has probability above ``threshold`` (colour), and the
    mean probability (numbers).

    Parameters
    ----------
    source : edge table or CausalMMM InferenceData
    threshold : probability above which an edge counts as present in a shop
    truth : optional truth table; the numbers then read ``mean prob / true share``
    """
    cube, shops, nodes = edge_cube(edge_table(source))
    share = np.mean(np.nan_to_num(cube) > threshold, axis=0)
    share[np.isnan(cube).all(axis=0)] = np.nan
    mean = np.nanmean(np.where(np.isnan(cube).all(axis=0, keepdims=True), 0.0, cube), axis=0)
    true_share = None
    if truth is not None:
        true_share = _truth_cube(truth, shops, nodes).mean(axis=0)
    size = 0.55 * len(nodes) + 2.0
    fig, ax = plt.subplots(figsize=(size + 1.2, size))
    im = ax.imshow(np.ma.masked_invalid(share), vmin=0, vmax=1, cmap="Purples")
    ax.set_xticks(range(len(nodes)), nodes, rotation=90, fontsize=8)
    ax.set_yticks(range(len(nodes)), nodes, fontsize=8)
    ax.set_xlabel("effect")
    ax.set_ylabel("cause")
    shown = mean >= 0.05
    if true_share is not None:
        shown |= true_share > 0
    rows, cols = np.nonzero(~np.isnan(share) & shown)
    for r, c in zip(rows, cols):
        text = f"{mean[r, c]:.2f}" + (f"\n/{true_share[r, c]:.2f}" if true_share is not None else "")
        ax.text(c, r, text, ha="center", va="center", fontsize=6, color="white" if share[r, c] > 0.6 else "black")
    fig.colorbar(im, ax=ax, shrink=0.8, label=f"share of shops with p > {threshold:g}")
    note = "numbers: mean probability" + (" / true share of shops" if true_share is not None else "")
    ax.set_title(f"{len(shops)} shops; {note}", fontsize=9)
    return fig
