"""The scenarios built to differ from the model (``sim3``, ``sources``): truth, templates with deviations, forms."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from causalmmm_ppl.cli import main
from causalmmm_ppl.data.sim_layout import allowed_edges
from causalmmm_ppl.data.simulate import simulate
from causalmmm_ppl.data.simulate_offhome import saturate, weibull_weights

SMALL = dict(n_shops=40, n_days=60)


@pytest.fixture(scope="module")
def sim3():
    return simulate("sim3", seed=5, **SMALL)


@pytest.fixture(scope="module")
def sources():
    return simulate("sources", seed=5, **SMALL)


def test_sim3_is_seeded_finite_and_has_spend_with_zero_days(sim3):
    again = simulate("sim3", seed=5, **SMALL)
    np.testing.assert_array_equal(again.panel.values, sim3.panel.values)
    assert not np.array_equal(simulate("sim3", seed=6, **SMALL).panel.values, sim3.panel.values)
    v = sim3.panel.values
    assert np.isfinite(v).all() and (v >= 0).all()
    channels = np.asarray(sim3.panel.node_kinds) == "channel"
    zero = (v[..., channels] == 0).mean()
    assert 0.03 < zero < 0.3  # campaigns switch off
    assert (v[..., ~channels] > 0).all()


def test_sim3_shops_follow_templates_with_their_own_deviations(sim3):
    adj, template = sim3.adjacency, sim3.params["template"]
    allowed = allowed_edges(sim3.panel.node_kinds)
    assert set(np.unique(template)) <= set(range(4)) and len(np.unique(template)) > 1
    assert not adj[:, ~allowed].any()  # deviations stay within the simulator's DAG
    # within a template, shops differ from the template's majority graph on roughly the flip rate of their pairs
    share = []
    for t in np.unique(template):
        g = adj[template == t]
        majority = g.mean(0) > 0.5
        share.append((g != majority)[:, allowed].mean())
    assert 0.03 < np.mean(share) < 0.2
    truth = sim3.truth
    assert list(truth.columns) == ["shop", "cause", "effect", "edge", "template"]
    assert (truth.groupby("shop")["template"].nunique() == 1).all()


def test_sources_never_receive_an_edge_and_are_smooth_and_positive(sources):
    kinds = np.asarray(sources.panel.node_kinds)
    channels = kinds == "channel"
    assert not sources.adjacency[:, :, channels].any()  # nothing causes a source
    assert sources.adjacency[:, channels][:, :, ~channels].any()  # sources do cause the others
    x = sources.panel.values[..., channels]
    assert (x > 0).all()
    day_to_day = np.abs(np.diff(np.log(x), axis=1)).mean()
    assert day_to_day < 0.2  # smooth: small daily moves in log


def test_another_graph_keeps_parameters_and_noise(sim3):
    cut = sim3.adjacency.copy()
    cut[:, :, -1] = 0
    cut[:, -2, -1] = 1  # the target keeps only the mediator
    other = simulate("sim3", seed=5, graph=cut, **SMALL)
    channels = np.asarray(sim3.panel.node_kinds) == "channel"
    np.testing.assert_array_equal(other.adjacency, cut)
    # channels do not depend on the target's causes: same parameters and noise give the same spend
    np.testing.assert_allclose(other.panel.values[..., channels], sim3.panel.values[..., channels])
    assert not np.allclose(other.panel.values[..., -1], sim3.panel.values[..., -1])


@settings(max_examples=50, deadline=None)
@given(st.floats(1.01, 6.0), st.floats(1.0, 12.0))
def test_weibull_carryover_is_normalised_and_peaks_after_lag_0(shape, scale):
    w = weibull_weights(np.array([shape]), np.array([scale]), 21)[0]
    assert w.sum() == pytest.approx(1.0) and (w >= 0).all()
    assert np.argmax(w) >= (1 if scale * ((shape - 1) / shape) ** (1 / shape) > 1.5 else 0)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(0.0, 50.0), min_size=2, max_size=2), st.floats(0.1, 3.0))
def test_saturation_families_are_increasing_and_bounded(xs, k):
    x = np.sort(np.asarray(xs))[:, None].repeat(2, 1)  # (shop, node): node 0 Michaelis–Menten, node 1 tanh
    y = saturate(x, np.array([0, 1]), np.full_like(x, k))
    assert (np.diff(y, axis=0) >= -1e-12).all() and (y >= 0).all() and (y < 1 + 1e-12).all()


def test_the_cli_writes_sim3_and_its_flags_validate(tmp_path, capsys):
    out = tmp_path / "sim3"
    assert main(["simulate", "--scenario", "sim3", "--shops", "6", "--days", "40", "--out", str(out), "--quiet"]) == 0
    truth = pd.read_csv(out / "truth.csv")
    assert "template" in truth.columns
    flags = (out / "fit_flags.txt").read_text().split()
    assert main(["validate", str(out / "panel.csv"), *flags, "--quiet"]) == 0, capsys.readouterr().err
