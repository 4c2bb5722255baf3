"""Simulators: determinism, ground truth that matches the generating process, graph rules, files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from causalmmm_ppl.data.sim_layout import allowed_edges, check_graph, node_layout
from causalmmm_ppl.data.simulate import MIN_DAYS, SimulationResult, scenario_config, simulate, transformed_causes

SMALL2 = {"n_shops": 4, "n_channels": 5, "n_days": 60}
SMALL1 = {"n_shops": 9, "n_days": 40}


@pytest.fixture(scope="module")
def sim2() -> SimulationResult:
    return simulate("sim2", seed=3, **SMALL2)


@pytest.fixture(scope="module")
def sim1() -> SimulationResult:
    return simulate("sim1", seed=5, **SMALL1)


def _descendants(adj: np.ndarray, start: int) -> set[int]:
    """Nodes with a directed path from ``start`` (``start`` included)."""
    seen, todo = {start}, [start]
    while todo:
        k = todo.pop()
        for j in np.flatnonzero(adj[k]):
            if j not in seen:
                seen.add(int(j))
                todo.append(int(j))
    return seen


# ------------------------------------------------------------------------------------------------- scenarios
def test_default_sizes():
    s1, s2 = scenario_config("sim1"), scenario_config("sim2")
    assert (s1.n_shops, s1.n_nodes, s1.n_days, s1.n_context, s1.n_templates) == (300, 8, 100, 2, 3)
    assert (s2.n_shops, s2.n_nodes, s2.n_days, s2.n_context, s2.n_templates) == (50, 14, 676, 5, None)


@pytest.mark.parametrize(
    "kwargs, flag",
    [({"n_shops": 0}, "--shops"), ({"n_days": MIN_DAYS - 1}, "--days"), ({"n_channels": 0}, "--channels")],
)
def test_bad_sizes_raise(kwargs, flag):
    with pytest.raises(ValueError, match=flag):
        simulate("sim2", **kwargs)


def test_unknown_scenario():
    with pytest.raises(ValueError, match="sim9"):
        simulate("sim9")


# ------------------------------------------------------------------------------------------------- determinism
def test_generating_settings_override_one_setting_and_replay_with_it():
    """``settings=``: a scenario without its latent demand keeps the same seed's other parameters, differs from the
    default panel, and replays (``rerun`` rebuilt from the seed) its own panel, not the default one."""
    from causalmmm_ppl.data.recursion import Intervention

    before = simulate("sim1", n_shops=3, n_days=30, seed=1)
    flat = simulate("sim1", n_shops=3, n_days=30, seed=1, settings={"demand_sd": [0.0, 0.0]})
    assert np.all(flat.params["demand_sd"] == 0) and np.all(before.params["demand_sd"] > 0)
    assert flat.params["settings"] == {"demand_sd": [0.0, 0.0]} and before.params["settings"] == {}
    np.testing.assert_array_equal(flat.params["rho"], before.params["rho"])
    assert not np.array_equal(flat.panel.values, before.panel.values)
    shape = flat.panel.values.shape
    nothing = Intervention(np.zeros(shape, dtype=bool), np.zeros(shape))
    np.testing.assert_allclose(flat.rerun(nothing), flat.panel.values, rtol=1e-12)
    off = simulate("sources", n_shops=3, n_days=30, seed=1, settings={"flip": 0.0})
    assert off.params["settings"] == {"flip": 0.0}


@pytest.mark.parametrize("settings, match", [({"demand": 0}, "no setting 'demand'.*demand_sd"),
                                             ({"n_shops": 4}, "no setting 'n_shops'")])
def test_unknown_generating_settings_are_named(settings, match):
    with pytest.raises(ValueError, match=match):
        simulate("sim1", n_shops=3, n_days=30, settings=settings)


def test_same_seed_same_bytes_different_seed_different(tmp_path):
    a = simulate("sim2", seed=11, **SMALL2).write(tmp_path / "a")
    b = simulate("sim2", seed=11, **SMALL2).write(tmp_path / "b")
    c = simulate("sim2", seed=12, **SMALL2).write(tmp_path / "c")
    for name in ("panel.csv", "truth.csv", "fit_flags.txt"):
        assert (a / name).read_bytes() == (b / name).read_bytes()
    assert (a / "panel.csv").read_bytes() != (c / "panel.csv").read_bytes()


# ------------------------------------------------------------------------------------------------- panel shape
def test_panel_layout(sim2):
    p = sim2.panel
    assert p.values.shape == (4, 60, 7)
    assert p.nodes == ("c0", "c1", "c2", "c3", "c4", "pv", "gmv")
    assert p.node_kinds[-1] == "target" and p.node_kinds[-2] == "mediator"
    assert p.shops == ("s000", "s001", "s002", "s003")
    assert p.dates[0] == pd.Timestamp("2022-01-01") and (np.diff(p.dates.values) == np.timedelta64(1, "D")).all()
    assert p.context.shape == (4, 5) and p.context_names == tuple(f"ctx{k}" for k in range(5))
    assert p.observed.all()


def test_values_nonnegative_with_zero_spend_days(sim2):
    v = sim2.panel.values
    assert np.isfinite(v).all() and (v >= 0).all()
    spend = v[..., sim2.panel.channel_index]
    assert 0.02 < (spend == 0).mean() < 0.5  # zero-spend days exist but are not the norm
    assert (v[..., sim2.panel.mediator_index] > 0).mean() > 0.99


# ------------------------------------------------------------------------------------------------- graph rules
@pytest.mark.parametrize("fixture", ["sim1", "sim2"])
def test_graph_rules(fixture, request):
    res: SimulationResult = request.getfixturevalue(fixture)
    adj, kinds = res.adjacency, np.asarray(res.panel.node_kinds)
    assert adj.dtype == np.int8 and set(np.unique(adj)) <= {0, 1}
    assert not np.diagonal(adj, axis1=1, axis2=2).any()
    assert not adj[:, kinds == "target", :].any()  # target → anything
    assert not adj[:, kinds == "mediator"][:, :, kinds == "channel"].any()  # mediator → channel
    assert (adj[:, :, -1].sum(1) > 0).all()  # the target always receives
    assert not adj[:, ~allowed_edges(tuple(kinds))].any()
    check_graph(adj, tuple(kinds), adj.shape[0])  # acyclic


def test_sim1_shares_three_templates_sim2_per_shop(sim1):
    assert len({a.tobytes() for a in sim1.adjacency}) <= 3
    assert set(np.unique(sim1.params["template"])) <= {0, 1, 2}
    big = simulate("sim2", seed=0, n_shops=8, n_channels=6, n_days=MIN_DAYS)
    assert len({a.tobytes() for a in big.adjacency}) >= 6


def test_check_graph_rejects_forbidden_edges(sim2):
    kinds = sim2.panel.node_kinds
    for cause, effect in ((6, 0), (5, 0), (2, 2)):  # target → c0, pv → c0, self-loop
        bad = sim2.adjacency.copy()
        bad[0, cause, effect] = 1
        with pytest.raises(ValueError):
            simulate("sim2", seed=3, graph=bad, **SMALL2)
    cyc = np.zeros_like(sim2.adjacency)
    cyc[0, 0, 1] = cyc[0, 1, 0] = 1
    with pytest.raises(ValueError, match="cycle"):
        check_graph(cyc, kinds, 4)


# ------------------------------------------------------------------------------------------------- truth
def test_truth_covers_all_ordered_pairs(sim2):
    t = sim2.truth
    s, v = sim2.panel.n_shops, sim2.panel.n_nodes
    assert list(t.columns) == ["shop", "cause", "effect", "edge", "template"]
    assert len(t) == s * v * (v - 1)
    assert not (t["cause"] == t["effect"]).any()
    assert not t.duplicated(["shop", "cause", "effect"]).any()
    assert set(t["shop"]) == set(sim2.panel.shops)
    pos = {n: k for k, n in enumerate(sim2.panel.nodes)}
    shop_pos = {n: k for k, n in enumerate(sim2.panel.shops)}
    arr = np.zeros_like(sim2.adjacency)
    arr[t["shop"].map(shop_pos), t["cause"].map(pos), t["effect"].map(pos)] = t["edge"]
    np.testing.assert_array_equal(arr, sim2.adjacency)


def test_removing_a_true_edge_changes_its_effect_and_only_downstream(sim2):
    adj = sim2.adjacency
    shop = 0
    cause, effect = map(int, np.argwhere(adj[shop])[0])
    cut = adj.copy()
    cut[shop, cause, effect] = 0
    alt = simulate("sim2", seed=3, graph=cut, **SMALL2)
    before, after = sim2.panel.values, alt.panel.values
    # Lag >= 1: the first day cannot depend on any cause; later days of the effect do.
    assert before[shop, 0, effect] == after[shop, 0, effect]
    assert not np.allclose(before[shop, 1:, effect], after[shop, 1:, effect])
    downstream = _descendants(cut[shop], effect)
    assert cause not in downstream
    for node in range(adj.shape[1]):
        if node not in downstream:
            np.testing.assert_array_equal(before[shop, :, node], after[shop, :, node])
    others = np.arange(adj.shape[0]) != shop
    np.testing.assert_array_equal(before[others], after[others])
    np.testing.assert_array_equal(alt.truth["edge"].sum(), sim2.truth["edge"].sum() - 1)


def test_removing_a_non_edge_changes_nothing(sim2):
    shop = 1
    cause, effect = map(int, np.argwhere((sim2.adjacency[shop] == 0) & allowed_edges(sim2.panel.node_kinds))[0])
    graph = sim2.adjacency.copy()
    graph[shop, cause, effect] = 0
    alt = simulate("sim2", seed=3, graph=graph, **SMALL2)
    np.testing.assert_array_equal(alt.panel.values, sim2.panel.values)


def test_transformed_causes_are_the_generating_drive(sim2):
    """The innovations of pv/gmv recovered with transformed_causes are the same under two different graphs.

    This holds only if ``transformed_causes`` (np_ops adstock + Hill on the panel) equals what the dynamics used.
    """
    cut = sim2.adjacency.copy()
    cut[:, :, -1] = 0
    cut[:, -2, -1] = 1  # only pv → gmv remains into the target
    alt = simulate("sim2", seed=3, graph=cut, **SMALL2)

    def innovations(res: SimulationResult) -> np.ndarray:
        p = res.params
        d = len(res.panel.channel_index)
        u = res.panel.values / p["scale"][:, None, :]
        y = np.log(np.expm1(4.0 * u[..., d:])) / 4.0  # inverse of softplus(4 y) / 4
        s = transformed_causes(res)
        drive = np.einsum("sti,sij->stj", s[:, :-1], p["weights"])[..., d:]
        weekday = np.asarray(res.panel.dates.day_of_week)
        season = (p["season_amp"][:, None, :] * p["season_profile"][:, weekday][..., None])[:, 1:, d:]
        rho = p["rho"][:, None, d:]
        return y[:, 1:] - rho * y[:, :-1] - (1 - rho) - season - drive

    np.testing.assert_allclose(innovations(sim2), innovations(alt), atol=1e-6)


# ------------------------------------------------------------------------------------------------- files
def test_write_files_and_flags(tmp_path, sim2):
    out = sim2.write(tmp_path / "sim")
    assert sorted(p.name for p in out.iterdir()) == [".causalmmm-run", "fit_flags.txt", "panel.csv", "truth.csv"]
    flags_text = (out / "fit_flags.txt").read_text()
    assert flags_text.count("\n") == 1 and flags_text.endswith("\n")
    header = pd.read_csv(out / "panel.csv", nrows=0).columns
    assert list(header) == ["shop", "date", *sim2.panel.nodes, *sim2.panel.context_names]
    tokens = flags_text.split()
    flags = dict(zip(tokens[::2], tokens[1::2]))
    assert set(flags) == {"--target", "--channels", "--mediators", "--context", "--shop-col", "--date-col"}
    named = [flags["--target"], flags["--shop-col"], flags["--date-col"]]
    named += [c for key in ("--channels", "--mediators", "--context") for c in flags[key].split(",")]
    assert set(named) <= set(header)
    truth = pd.read_csv(out / "truth.csv")
    pd.testing.assert_frame_equal(truth, sim2.truth.astype({"shop": str, "cause": str, "effect": str}),
                                  check_dtype=False)


def test_fit_flags_parse_with_the_cli(sim2):
    from causalmmm_ppl.cli import build_parser

    args = build_parser().parse_args(["fit", "panel.csv", *sim2.fit_flags().split(), "--out", "run"])
    assert args.target == "gmv" and args.mediators == ("pv",)
    assert args.channels == tuple(f"c{k}" for k in range(5))
    assert args.context == tuple(f"ctx{k}" for k in range(5))


def test_panel_csv_round_trip(tmp_path, sim2):
    out = sim2.write(tmp_path / "sim")
    try:
        from causalmmm_ppl.data.load import load_panel
    except ImportError:  # the loader is optional here
        frame = pd.read_csv(out / "panel.csv")
        values = frame[list(sim2.panel.nodes)].to_numpy().reshape(sim2.panel.values.shape)
    else:
        panel = load_panel(out / "panel.csv", sim2.spec)
        assert panel.shops == sim2.panel.shops and panel.nodes == sim2.panel.nodes
        assert (panel.dates == sim2.panel.dates).all()
        np.testing.assert_allclose(panel.context, sim2.panel.context, rtol=1e-7)
        values = panel.values
    np.testing.assert_allclose(values, sim2.panel.values, rtol=1e-7, atol=1e-9)


def test_node_layout():
    names, kinds = node_layout(3, 2)
    assert names == ("c0", "c1", "c2", "pv", "pv1", "gmv")
    assert kinds == ("channel",) * 3 + ("mediator",) * 2 + ("target",)
