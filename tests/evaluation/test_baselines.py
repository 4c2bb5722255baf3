"""Baselines: each recovers a strong lagged edge of a small VAR, forecasters keep the plan and the shapes, NetSim
loads with the right orientation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from causalmmm_ppl.data.panel import Panel
from causalmmm_ppl.evaluation.backtest import blind_plan
from causalmmm_ppl.evaluation.baselines import cmlp, recurrent, seasonal_naive
from causalmmm_ppl.evaluation.graph_metrics import per_shop_auroc


def var_panel(shops: int = 2, days: int = 300, seed: int = 0) -> tuple[Panel, np.ndarray]:
    """x0 → x2 and x1 → x3 at lag 1 (Laplace noise: non-Gaussian, for LiNGAM), own AR on every node."""
    rng = np.random.default_rng(seed)
    v = 4
    x = np.zeros((shops, days, v))
    e = rng.laplace(size=(shops, days, v))
    for t in range(1, days):
        x[:, t] = 0.3 * x[:, t - 1] + e[:, t]
        x[:, t, 2] += 0.9 * x[:, t - 1, 0]
        x[:, t, 3] += 0.9 * x[:, t - 1, 1]
    truth = np.zeros((shops, v, v), dtype=int)
    truth[:, 0, 2] = truth[:, 1, 3] = 1
    panel = Panel(values=x, observed=np.ones(x.shape, bool), context=np.zeros((shops, 0)),
                  shops=tuple(f"s{k}" for k in range(shops)), dates=pd.date_range("2023-01-02", periods=days),
                  nodes=("a", "b", "c", "d"), node_kinds=("mediator",) * 3 + ("target",))
    return panel, truth


def _check_recovers(scores: np.ndarray, truth: np.ndarray) -> None:
    assert scores.shape == truth.shape
    assert np.all(scores[:, np.arange(4), np.arange(4)] == 0)
    np.testing.assert_allclose(per_shop_auroc(scores, truth), 1.0)


def test_pcmci_recovers_the_edges():
    pytest.importorskip("tigramite")
    from causalmmm_ppl.evaluation.baselines import pcmci

    _check_recovers(pcmci.scores(*var_panel()[:1]), var_panel()[1])


def test_varlingam_recovers_the_edges():
    pytest.importorskip("lingam")
    from causalmmm_ppl.evaluation.baselines import varlingam

    panel, truth = var_panel()
    _check_recovers(varlingam.scores(panel), truth)


def test_cmlp_recovers_the_edges_and_group_lasso_zeroes_inputs():
    panel, truth = var_panel()
    sc = cmlp.scores(panel, lags=1, hidden=8, lam=0.1, lr=0.1, iterations=250, seed=0)
    _check_recovers(sc, truth)
    assert (sc[:, ~np.eye(4, dtype=bool)] == 0).mean() > 0.3  # the proximal step sets whole inputs to exactly 0


def test_prox_group_is_the_group_soft_threshold():
    import torch

    w = torch.zeros(1, 1, 2, 2, 1)
    w[0, 0, :, 0, 0] = torch.tensor([3.0, 4.0])  # group norm 5
    w[0, 0, :, 1, 0] = torch.tensor([0.3, 0.4])  # group norm 0.5
    out = cmlp.prox_group(w, 1.0)
    torch.testing.assert_close(out[0, 0, :, 0, 0], torch.tensor([2.4, 3.2]))  # scaled by 1 - 1/5
    assert torch.all(out[0, 0, :, 1, 0] == 0)


def weekly_panel(days: int = 60) -> Panel:
    t = np.arange(days)
    rng = np.random.default_rng(0)
    vals = np.stack([rng.uniform(0, 2, (2, days)), np.tile(1 + np.sin(2 * np.pi * t / 7), (2, 1)) * 3], -1)
    return Panel(values=vals, observed=np.ones(vals.shape, bool), context=np.zeros((2, 0)), shops=("a", "b"),
                 dates=pd.date_range("2023-01-02", periods=days), nodes=("c0", "y"), node_kinds=("channel", "target"))


def test_seasonal_naive_repeats_the_last_season_and_keeps_the_plan():
    p = weekly_panel()
    hist, plan = p.select_time(0, 45), blind_plan(p, 45, 60)
    d = seasonal_naive.forecast(hist, plan, num_draws=5)
    assert d.shape == (5, 2, 15, 2)
    np.testing.assert_allclose(d[..., 1], np.broadcast_to(p.values[None, :, 45:60, 1], (5, 2, 15)), atol=1e-12)
    np.testing.assert_array_equal(d[..., 0], np.broadcast_to(p.values[None, :, 45:60, 0], (5, 2, 15)))
    with pytest.raises(ValueError):
        seasonal_naive.forecast(p.select_time(0, 5), plan)


def test_recurrent_forecaster_shapes_and_plan():
    p = weekly_panel()
    hist, plan = p.select_time(0, 45), blind_plan(p, 45, 60)
    d = recurrent.forecast(hist, plan, num_draws=4, seed=0, steps=5, window=20)
    assert d.shape == (4, 2, 15, 2) and np.isfinite(d).all()
    np.testing.assert_allclose(d[..., 0], np.broadcast_to(p.values[None, :, 45:60, 0], (4, 2, 15)))
    assert d[..., 1].std(0).min() > 0  # draws carry noise


def test_netsim_loader(shared_data):
    from causalmmm_ppl.data.netsim import load_netsim

    d = load_netsim(shared_data / "netsim", subjects=[0, 3])
    p = d.panel
    assert p.values.shape == (2, 200, 15) and p.node_kinds[-1] == "target"
    assert p.values.min() == 0.0 and np.allclose(p.values.min(1), 0.0)
    g = np.load(shared_data / "netsim" / "sim3_subject_3.npz")["Gref"]
    i, j = np.argwhere((g == 1) & ~np.eye(15, dtype=bool))[0]  # j → i
    assert d.adjacency[1, j, i] == 1
    assert d.adjacency.sum((1, 2)).tolist() == [18, 18]
    assert np.all(d.adjacency[:, np.arange(15), np.arange(15)] == 0)
