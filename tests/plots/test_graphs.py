"""Graph figures: heatmaps, drawn graph, cross-shop frequency; edge tables from edges.csv or InferenceData."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from causalmmm_ppl.plots import edge_frequency, edge_heatmaps, edge_table, graph_drawing
from causalmmm_ppl.plots.graphs import edge_cube
from tests.plots.test_common import KINDS, NODES, SHOPS, btvc_idata, causalmmm_idata


@pytest.fixture(scope="module")
def idata():
    return causalmmm_idata()


def test_edge_table_from_idata_matches_the_posterior(idata):
    tab = edge_table(idata)
    assert list(tab.columns) == ["shop", "cause", "effect", "probability"]
    assert len(tab) == len(SHOPS) * len(NODES) * (len(NODES) - 1)
    cube, shops, nodes = edge_cube(tab, nodes=NODES)
    expected = idata.posterior["edge_probability"].values[0, 0]
    off = ~np.eye(len(NODES), dtype=bool)
    np.testing.assert_allclose(cube[:, off], expected[:, off], rtol=1e-6)
    assert np.isnan(cube[:, ~off]).all() and shops == list(SHOPS)


def test_edge_table_rejects_a_run_without_a_graph():
    with pytest.raises(ValueError, match="edge_probability"):
        edge_table(btvc_idata())
    with pytest.raises(ValueError, match="'probability'"):
        edge_table(pd.DataFrame({"shop": [], "cause": [], "effect": []}))


def test_heatmaps_draw_one_panel_per_shop_with_truth(idata):
    tab = edge_table(idata)
    truth = tab.rename(columns={"probability": "edge"}).assign(edge=lambda d: (d["edge"] > 0.5).astype(int))
    fig = edge_heatmaps(tab, truth=truth, max_shops=2)
    heat_axes = [ax for ax in fig.axes if ax.get_title().startswith("shop")]
    assert [ax.get_title().split()[1] for ax in heat_axes] == ["s0", "s1"]
    plt.close(fig)
    fig = edge_heatmaps(idata, shops="s2")
    assert sum(ax.get_title().startswith("shop s2") for ax in fig.axes) == 1
    plt.close(fig)
    with pytest.raises(ValueError, match="'nope'"):
        edge_heatmaps(tab, shops="nope")


def test_graph_drawing_width_follows_probability(idata):
    fig = graph_drawing(idata, "s1", node_kinds=KINDS, min_probability=0.0)
    arrows = fig.axes[0].patches
    n = len(NODES)
    assert len(arrows) == n * (n - 1)
    widths = sorted(a.get_linewidth() for a in arrows)
    assert widths[0] < widths[-1]
    plt.close(fig)
    with pytest.raises(ValueError, match="node_kinds"):
        graph_drawing(idata, node_kinds=KINDS[:2])


def test_edge_frequency_counts_shops_above_threshold():
    rows = [("a", "x", "y", 0.9), ("b", "x", "y", 0.2), ("a", "y", "x", 0.6), ("b", "y", "x", 0.7)]
    tab = pd.DataFrame(rows, columns=["shop", "cause", "effect", "probability"])
    fig = edge_frequency(tab, threshold=0.5)
    image = fig.axes[0].images[0].get_array()
    assert image[0, 1] == pytest.approx(0.5) and image[1, 0] == pytest.approx(1.0)
    plt.close(fig)
