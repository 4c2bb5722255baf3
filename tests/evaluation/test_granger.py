"""Linear Granger baseline: recovers an easy linear VAR, batched per shop, scale-free; and its benchmark script."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from causalmmm_ppl.data.panel import Panel
from causalmmm_ppl.evaluation.granger import granger_scores
from causalmmm_ppl.evaluation.graph_metrics import per_shop_auroc


def linear_var_panel(n_shops: int = 6, n_nodes: int = 6, n_days: int = 300, seed: int = 0) -> tuple[Panel, np.ndarray]:
    """A lag-1 linear VAR per shop with a random sparse graph (strong, easy edges)."""
    rng = np.random.default_rng(seed)
    adj = (rng.random((n_shops, n_nodes, n_nodes)) < 0.25).astype(int)
    adj[:, np.arange(n_nodes), np.arange(n_nodes)] = 0
    adj[:, 0, 1] = 1  # every shop has at least one edge
    adj[:, 1, 0] = 0
    coef = adj * rng.choice([-1.0, 1.0], adj.shape) * rng.uniform(0.25, 0.45, adj.shape)
    coef /= np.maximum(1.0, np.abs(coef).sum(1, keepdims=True) / 0.6)  # keep the VAR stable
    x = np.zeros((n_shops, n_days, n_nodes))
    for t in range(1, n_days):
        noise = rng.standard_normal((n_shops, n_nodes))
        x[:, t] = 0.4 * x[:, t - 1] + np.einsum("si,sij->sj", x[:, t - 1], coef) + noise
    kinds = ("channel",) * (n_nodes - 1) + ("target",)
    panel = Panel(
        values=x, observed=np.ones(x.shape, dtype=bool), context=np.zeros((n_shops, 0)),
        shops=tuple(f"s{k}" for k in range(n_shops)), dates=pd.date_range("2022-01-01", periods=n_days),
        nodes=tuple(f"n{k}" for k in range(n_nodes)), node_kinds=kinds,
    )
    return panel, (coef != 0).astype(int)


@pytest.fixture(scope="module")
def var():
    return linear_var_panel()


def test_beats_chance_on_an_easy_linear_case(var):
    panel, truth = var
    scores = granger_scores(panel, lags=2)
    assert scores.shape == truth.shape
    assert np.all(np.diagonal(scores, axis1=1, axis2=2) == 0)
    assert np.nanmean(per_shop_auroc(scores, truth)) > 0.8
    # The threshold catches a broken baseline: swapping cause and effect, or random scores, fails it.
    assert np.nanmean(per_shop_auroc(scores.transpose(0, 2, 1), truth)) < 0.8
    noise = np.random.default_rng(0).random(truth.shape)
    assert np.nanmean(per_shop_auroc(noise, truth)) < 0.8


def test_batched_over_shops_equals_one_shop_at_a_time(var):
    panel, _ = var
    scores = granger_scores(panel)
    for k in (0, 3):
        np.testing.assert_allclose(granger_scores(panel.select_shops([k]))[0], scores[k], rtol=1e-8, atol=1e-12)


def test_scale_free_per_shop_and_node(var):
    panel, _ = var
    factor = np.random.default_rng(1).uniform(0.01, 1000, (panel.n_shops, 1, panel.n_nodes))
    shifted = Panel(**{**panel.__dict__, "values": panel.values * factor + 7.0})
    np.testing.assert_allclose(granger_scores(shifted), granger_scores(panel), rtol=1e-6, atol=1e-10)


def test_unobserved_rows_do_not_matter(var):
    panel, _ = var
    observed = panel.observed.copy()
    observed[1, 100:110] = False
    garbage = panel.values.copy()
    garbage[1, 100:110] = 1e6
    zeros = panel.values.copy()
    zeros[1, 100:110] = 0.0
    a = granger_scores(Panel(**{**panel.__dict__, "values": garbage, "observed": observed}))
    b = granger_scores(Panel(**{**panel.__dict__, "values": zeros, "observed": observed}))
    np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


def test_bad_lags(var):
    panel, _ = var
    with pytest.raises(ValueError, match="lags"):
        granger_scores(panel, lags=0)
    with pytest.raises(ValueError, match="time steps"):
        granger_scores(panel.select_time(0, 4), lags=3)


def test_benchmark_quick_writes_its_section_only(tmp_path):
    from benchmarks import granger_baseline as gb

    doc = tmp_path / "benchmarks.md"
    doc.write_text(gb.HEADER + "\n## Another section\n\nkept\n")
    assert gb.main(["--quick", "--seeds", "0", "--doc", str(doc)]) == 0
    assert gb.main(["--quick", "--seeds", "0", "--doc", str(doc)]) == 0
    text = doc.read_text()
    assert text.count(gb.SECTION) == 1 and "## Another section\n\nkept" in text
    assert "| sim1 |" in text and "| sim2 |" in text and "oracle" in text
    assert "benchmarks.granger_baseline --quick" in text
