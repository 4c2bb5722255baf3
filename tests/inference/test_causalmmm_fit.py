"""CausalMMM fitted by SVI on simulated panels with known graphs: recovery, the graph matters, amortization,
determinism, checkpoint/resume, save/load. Small, CI-sized settings; the figures that matter are in
docs/benchmarks.md (benchmarks/causalmmm_recovery.py)."""

from __future__ import annotations

import warnings

import numpy as np
import pyro
import pytest
import torch
from pyro import poutine

from causalmmm_ppl.data.simulate import simulate
from causalmmm_ppl._tensor_store import load_tree, save_tree
from causalmmm_ppl.errors import InputError
from causalmmm_ppl.evaluation.granger import granger_scores
from causalmmm_ppl.evaluation.inference_data import az
from causalmmm_ppl.evaluation.graph_metrics import graph_report
from causalmmm_ppl.inference.causalmmm_fit import CausalMMMFit, fit_causalmmm
from causalmmm_ppl.models.settings import CausalMMMSettings

FAST = dict(steps=250, batch_shops=16, window=96, num_draws=64)


@pytest.fixture(scope="module")
def sim():
    return simulate("sim1", n_shops=20, n_days=150, seed=3)


@pytest.fixture(scope="module")
def fitted(sim):
    train = sim.panel.select_shops(np.arange(16))
    return fit_causalmmm(train, CausalMMMSettings.of(**FAST), seed=0, progress=False)


def test_recovers_the_graph_better_than_linear_granger(sim, fitted):
    truth = sim.adjacency[:16]
    ours = graph_report(fitted.edge_probability_array(), truth)
    granger = graph_report(granger_scores(fitted.train_panel), truth)
    # loose bounds that a model ignoring the data (≈ 0.5) or its graph fails
    assert ours["auroc_mean"] >= 0.8, ours
    assert ours["auroc_mean"] > granger["auroc_mean"] + 0.05, (ours["auroc_mean"], granger["auroc_mean"])
    probs = fitted.edge_probability_array()
    off = ~np.eye(truth.shape[1], dtype=bool)
    # true edges carry clearly more posterior mass than absent ones (a data-blind model gives equal means)
    assert probs[:, off][truth[:, off] == 1].mean() > probs[:, off][truth[:, off] == 0].mean() + 0.05


def test_edges_for_unseen_shops_come_from_the_encoder(sim, fitted):
    held_out = sim.panel.select_shops(np.arange(16, 20))
    table = fitted.edge_probabilities(held_out)
    assert set(table["shop"]) == set(held_out.shops)
    assert len(table) == 4 * 8 * 7
    probs = fitted.edge_probability_array(held_out)
    report = graph_report(probs, sim.adjacency[16:])
    assert report["auroc_mean"] >= 0.7, report


def test_the_graph_matters_for_forecasts(sim, fitted):
    """One-step-ahead target forecasts under the true graph beat those under the empty graph."""
    panel = fitted.train_panel
    data = fitted.training_data()
    target = panel.n_nodes - 1
    batch = data.full_batch()
    u = fitted.guide.distributions(batch)[1]
    weekly = fitted.guide.weekly_distribution(batch).mean
    truth = torch.as_tensor(sim.adjacency[:16], dtype=torch.float32)
    with torch.no_grad():
        errs = {}
        for name, z in {"true": truth, "empty": torch.zeros_like(truth)}.items():
            pred, _ = fitted.model.one_step_means(data.x, u, z, data.calendar, weekly)
            errs[name] = float(((pred.loc[:, :-1, target] - data.x[:, 1:, target]) ** 2).mean())
    assert errs["true"] < 0.8 * errs["empty"], errs


def test_forecast_intervals_and_an_edge_cut(sim, fitted):
    panel = sim.panel.select_shops(np.arange(2))
    history, plan = panel.select_time(0, 140), panel.select_time(140, 150)
    table = fitted.forecast(history, plan, num_draws=64)
    assert set(table["node"]) == {"pv", "gmv"}
    assert len(table) == 2 * 10 * 2
    assert (table["lower"] <= table["mean"]).all() and (table["mean"] <= table["upper"]).all()
    assert table["observed"].notna().all()
    # cutting every edge into gmv changes its forecast
    g = fitted.edge_probability_array(history).round()
    cut = g.copy()
    cut[:, :, -1] = 0
    a = fitted.forecast_samples(history, plan, num_draws=32, seed=1, graph=g)
    b = fitted.forecast_samples(history, plan, num_draws=32, seed=1, graph=cut)
    assert np.allclose(a[..., :-2], b[..., :-2])  # channels are the plan either way
    assert not np.allclose(a[..., -1], b[..., -1])


def test_same_seed_same_edges_and_forecasts(sim):
    panel = sim.panel.select_shops(np.arange(4)).select_time(0, 80)
    spec = CausalMMMSettings.of(steps=15, batch_shops=2, window=40, num_draws=8)
    a = fit_causalmmm(panel, spec, seed=5, progress=False)
    b = fit_causalmmm(panel, spec, seed=5, progress=False)
    c = fit_causalmmm(panel, spec, seed=6, progress=False)
    np.testing.assert_array_equal(a.edge_probability_array(), b.edge_probability_array())
    assert not np.array_equal(a.edge_probability_array(), c.edge_probability_array())
    hist, plan = panel.select_time(0, 70), panel.select_time(70, 80)
    np.testing.assert_array_equal(a.forecast_samples(hist, plan), b.forecast_samples(hist, plan))


def test_multistep_paths_train_reproducibly_and_change_the_fit(sim):
    """A fit with free-running training paths is its own seed's fit (the same seed gives the same edges, the same
    training losses) and a different fit from the one-step likelihood alone, whose losses it exceeds by what the
    paths score."""
    panel = sim.panel.select_shops(np.arange(4)).select_time(0, 80)
    spec = CausalMMMSettings.of(steps=15, batch_shops=2, window=40, num_draws=8)
    plain = fit_causalmmm(panel, spec, seed=5, progress=False)
    a = fit_causalmmm(panel, spec.replace(multistep=7), seed=5, progress=False)
    b = fit_causalmmm(panel, spec.replace(multistep=7), seed=5, progress=False)
    np.testing.assert_array_equal(a.edge_probability_array(), b.edge_probability_array())
    assert a.log.loss == b.log.loss
    assert not np.array_equal(a.edge_probability_array(), plain.edge_probability_array())
    assert a.log.loss[0] > plain.log.loss[0]  # the same first minibatch, scored again along its paths


def test_a_killed_fit_resumes_from_its_checkpoint_exactly(sim, tmp_path):
    panel = sim.panel.select_shops(np.arange(4)).select_time(0, 80)
    spec = CausalMMMSettings.of(steps=30, batch_shops=2, window=40, checkpoint_every=10)
    full = fit_causalmmm(panel, spec, seed=2, progress=False)
    fit_causalmmm(panel, spec, seed=2, progress=False, checkpoint_dir=tmp_path, stop_after=20)  # "killed" at 20
    resumed = fit_causalmmm(panel, spec, seed=2, progress=False, checkpoint_dir=tmp_path, resume=True)
    assert resumed.log.steps_done == 30
    np.testing.assert_allclose(resumed.log.loss, full.log.loss, rtol=1e-5)
    np.testing.assert_allclose(resumed.edge_probability_array(), full.edge_probability_array(), atol=1e-6)
    with pytest.raises(InputError, match="checkpoint"):
        fit_causalmmm(panel, spec, seed=2, progress=False, checkpoint_dir=tmp_path, resume=True, fingerprint="other")


def test_save_and_load_round_trip(fitted, tmp_path):
    fitted.save(tmp_path / "model")
    loaded = CausalMMMFit.load(tmp_path / "model")
    np.testing.assert_allclose(loaded.edge_probability_array(), fitted.edge_probability_array(), atol=1e-6)
    assert loaded.schema == fitted.schema
    assert loaded.log.loss == fitted.log.loss
    assert loaded.settings == fitted.settings
    # the run declares its format; one written by a newer version is refused in one line naming the file
    import json

    meta = json.loads((tmp_path / "model" / "fit.json").read_text())
    assert meta["format"] == 2 and set(meta["settings"]) == {"model", "inference", "outputs"}
    (tmp_path / "model" / "fit.json").write_text(json.dumps({**meta, "format": 3}))
    with pytest.raises(InputError, match="fit.json: written in run format 3 by a newer version"):
        CausalMMMFit.load(tmp_path / "model")


def test_a_reloaded_run_reads_its_training_panel_only_when_asked(fitted, sim, tmp_path):
    """Edges of new shops need the networks, not the training panel (which may be large): it is read on demand."""
    fitted.save(tmp_path / "model")
    loaded = CausalMMMFit.load(tmp_path / "model")
    new = sim.panel.select_shops(np.arange(16, 20))
    np.testing.assert_allclose(loaded.edge_probability_array(new), fitted.edge_probability_array(new), atol=1e-6)
    assert callable(loaded._train_panel)  # not read yet
    assert loaded.train_panel.shops == fitted.train_panel.shops
    np.testing.assert_array_equal(loaded.train_panel.values, fitted.train_panel.values)


def test_weights_of_another_model_version_are_a_clear_error(fitted, tmp_path):
    """A run saved by a version whose networks had other shapes (e.g. before the hurdle spend model) says so."""
    fitted.save(tmp_path / "model")
    state = load_tree(tmp_path / "model" / "weights.safetensors")
    state["model"]["decoder.readout.2.weight"] = state["model"]["decoder.readout.2.weight"][:1]  # one output, not two
    save_tree(state, tmp_path / "model" / "weights.safetensors")
    with pytest.raises(InputError, match="saved weights do not fit this version's model"):
        CausalMMMFit.load(tmp_path / "model")


def test_a_run_saved_with_pickled_weights_still_loads(fitted, tmp_path):
    """Runs of earlier versions hold ``weights.pt`` (torch.save of the two state dicts): it is read through torch's
    tensors-only loader and gives the same fit."""
    fitted.save(tmp_path / "model")
    state = load_tree(tmp_path / "model" / "weights.safetensors")
    (tmp_path / "model" / "weights.safetensors").unlink()
    torch.save(state, tmp_path / "model" / "weights.pt")  # what earlier versions wrote
    loaded = CausalMMMFit.load(tmp_path / "model")
    np.testing.assert_allclose(loaded.edge_probability_array(), fitted.edge_probability_array(), atol=1e-6)


@pytest.mark.parametrize("damage", ["empty", "truncated", "garbage"])
def test_a_damaged_weights_file_is_a_one_line_error(fitted, tmp_path, damage):
    fitted.save(tmp_path / "model")
    path = tmp_path / "model" / "weights.safetensors"
    data = path.read_bytes()
    path.write_bytes({"empty": b"", "truncated": data[: len(data) // 2], "garbage": b"not a tensor file" * 10}[damage])
    with pytest.raises(InputError, match="weights.safetensors.*fit the run again"):
        CausalMMMFit.load(tmp_path / "model")


def test_training_rows_need_their_target(sim):
    panel = sim.panel.select_shops(np.arange(2)).select_time(0, 30)
    observed = panel.observed.copy()
    observed[1, 12, -1] = False
    broken = type(panel)(**{**panel.__dict__, "observed": observed})
    with pytest.raises(InputError, match=r"shop 's001'.*target 'gmv' is empty"):
        fit_causalmmm(broken, CausalMMMSettings.of(steps=1), progress=False)


def test_inference_data_has_the_contract_groups(fitted, caplog):
    idata = fitted.to_inference_data(num_draws=16)
    for group in ("posterior", "posterior_predictive", "observed_data", "log_likelihood", "sample_stats"):
        assert group in idata.groups(), group
    # the default fit of 16 shops mixes two SVI runs: each run's 8 draws are one chain, so R-hat compares the runs
    # (one run's draws are split into 4 chains: tests/inference/test_mixed_runs.py)
    assert len(fitted.runs()) == 2
    assert idata.posterior["edge"].shape == (2, 8, 16, 8, 8)
    assert idata.posterior_predictive["target"].shape[:2] == (2, 8)
    with caplog.at_level("WARNING"):
        summary = az.summary(idata, var_names=["decay"])
    assert not [r for r in caplog.records if "chains" in r.getMessage()]
    assert np.isfinite(summary["r_hat"]).all()
    ll = idata.log_likelihood["target"]
    assert ll.dims == ("chain", "draw", "obs") and np.isfinite(ll.values).all()
    first = idata.observed_data["date"].values[0]  # no one-step-ahead prediction of a shop's first day
    assert first not in set(ll["obs_date"].values) and ll.shape[-1] == 16 * (idata.observed_data["date"].size - 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert np.isfinite(az.loo(idata).elpd_loo)  # ArviZ reads it as it is
    assert idata.sample_stats["elbo"].shape == (fitted.log.steps_done,)


def test_population_prior_and_learned_tails_fit_forecast_and_reload(sim, tmp_path):
    """The template mixture and per-node tails are learned, reach forecasts, and survive save/load; runs saved
    before these settings existed load as fitted (off)."""
    import json

    panel = sim.panel.select_shops(np.arange(6)).select_time(0, 90)
    spec = CausalMMMSettings.of(steps=30, batch_shops=6, window=60, num_draws=8, graph_templates=3, learn_df=True)
    fit = fit_causalmmm(panel, spec, seed=1, progress=False)
    start = torch.logit(torch.tensor(spec.model.prior_prob))
    assert not torch.allclose(fit.model.template_logits(), start)
    assert fit.model.template_weights().sum().item() == pytest.approx(1.0)
    assert not torch.allclose(fit.model.degrees_of_freedom(), torch.tensor(spec.model.df))
    member = fit.template_probabilities()
    np.testing.assert_allclose(member.groupby("shop")["probability"].sum(), 1.0, rtol=1e-5)
    new = sim.panel.select_shops([18, 19]).select_time(0, 90)
    assert set(fit.template_probabilities(new)["shop"]) == set(new.shops)  # new shops, no retraining
    idata = fit.to_inference_data(num_draws=8)
    assert idata.posterior["template"].dims == ("chain", "draw", "shop", "template")
    np.testing.assert_allclose(idata.posterior["template"].sum("template"), 1.0, rtol=1e-5)
    history, plan = panel.select_time(0, 80), panel.select_time(80, 90)
    draws = fit.forecast_samples(history, plan, seed=0)
    assert np.isfinite(draws).all()
    fit.save(tmp_path / "run")
    loaded = CausalMMMFit.load(tmp_path / "run")
    assert loaded.spec.graph_templates == 3 and loaded.spec.learn_df
    np.testing.assert_allclose(loaded.edge_probability_array(), fit.edge_probability_array(), atol=1e-6)
    np.testing.assert_allclose(loaded.forecast_samples(history, plan, seed=0), draws, rtol=1e-5, atol=1e-5)
    old = tmp_path / "old"
    plain = fit_causalmmm(panel, CausalMMMSettings.of(steps=5, batch_shops=6, window=60, learn_df=False,
                                                      switching=False), seed=1, progress=False)  # as runs were saved before learn_df and switching existed
    plain.save(old)
    meta = json.loads((old / "fit.json").read_text())
    # runs of earlier versions saved every setting in one flat "spec"
    meta["spec"] = {k: v for group in meta.pop("settings").values() for k, v in group.items()}
    for key in ("graph_templates", "template_spread", "learn_df", "edge_pooling", "switching", "switching_scale"):
        del meta["spec"][key]
    del meta["edge_population"]
    (old / "fit.json").write_text(json.dumps(meta))
    reloaded = CausalMMMFit.load(old)
    assert reloaded.spec.graph_templates == 0 and not reloaded.spec.learn_df
    assert reloaded.settings.outputs.edge_pooling == 0
    assert not reloaded.spec.switching
    with pytest.raises(InputError, match="no graph templates"):
        reloaded.template_probabilities()
    np.testing.assert_allclose(reloaded.edge_probability_array(), plain.edge_probability_array(), atol=1e-6)


def test_reported_edges_are_the_population_layers_posterior(sim, fitted, tmp_path):
    """With 16 training shops the default fit pools its edges (one template: a learned probability per edge); the
    pooled posterior is what edges, posterior draws and new shops get, and it survives save/load."""
    population = fitted.guide.population
    assert population is not None and population.n_templates == 1
    outputs = fitted.settings.outputs
    assert (population.miss_rate, population.false_rate) == (outputs.edge_miss_rate, outputs.edge_false_rate)
    batch = fitted.training_data().full_batch(temperature=fitted.spec.temperature)
    with torch.no_grad():
        own = fitted.model.edges_to_matrix(torch.sigmoid(fitted.guide.encoder_logits(batch))).numpy()
    pooled = fitted.edge_probability_array()
    off = ~np.eye(8, dtype=bool) & (fitted.model.rho.numpy() > 0)
    assert np.abs(pooled - own)[:, off].mean() > 0.02  # the layer moves the probabilities
    truth = sim.adjacency[:16]
    assert graph_report(pooled, truth)["auroc_mean"] >= graph_report(own, truth)["auroc_mean"] - 0.02
    member = fitted.template_probabilities()  # the layer's templates: one here, so every shop follows it
    assert len(member) == 16 and np.allclose(member["probability"], 1.0) and np.allclose(member["share"], 1.0)
    draws = fitted.posterior_samples(num_draws=400, seed=1)["edge"].mean(0)
    np.testing.assert_allclose(draws, pooled, atol=0.1)
    fitted.save(tmp_path / "run")
    loaded = CausalMMMFit.load(tmp_path / "run")
    assert loaded.guide.population is not None
    held_out = sim.panel.select_shops(np.arange(16, 20))
    np.testing.assert_allclose(loaded.edge_probability_array(held_out), fitted.edge_probability_array(held_out),
                               atol=1e-6)
    unpooled = fit_causalmmm(fitted.train_panel, CausalMMMSettings.of(**FAST | {"steps": 5, "edge_pooling": 0}), seed=0,
                             progress=False)
    assert unpooled.guide.population is None


def test_a_mediator_prior_sets_the_mediator_to_target_pairs_and_keeps_them_out_of_pooling(sim):
    """With ``mediator_prior`` the model's prior on pv → gmv is that belief, the population layer pools the other
    candidates only, and the reported pv → gmv probability is the encoder's own (not pulled by the other shops)."""
    from causalmmm_ppl.inference.causalmmm_pooling import pooled_candidates

    panel = sim.panel.select_shops(np.arange(12)).select_time(0, 80)
    fit = fit_causalmmm(panel, CausalMMMSettings.of(steps=200, restarts=1, mediator_prior=0.5), seed=0, progress=False)
    model, guide = fit.runs()[0]
    pv, gmv = panel.nodes.index("pv"), panel.nodes.index(panel.target)
    assert float(model.rho[pv, gmv]) == 0.5 and float(model.rho[0, gmv]) == pytest.approx(0.1)
    pooled = pooled_candidates(model)
    pair = (model.edge_index[:, 0] == pv) & (model.edge_index[:, 1] == gmv)
    assert bool(pair.any()) and not bool(pooled[pair].any()) and int(pooled.sum()) == int(pair.numel()) - 1
    assert guide.population is not None  # the other candidates are pooled
    own, reported = fit.edge_probability_array(pooled=False), fit.edge_probability_array()
    np.testing.assert_allclose(reported[:, pv, gmv], own[:, pv, gmv], atol=1e-6)
    assert np.abs(reported - own).max() > 0.01


def test_a_fit_pooled_again_with_another_miss_rate_moves_its_edges_and_only_its_copy(fitted):
    """``read_with(edge_miss_rate=...)`` (what ``benchmarks.miss_rate`` reads), on the default mixture of runs: the
    same rate gives the fit's own edge probabilities; a smaller miss rate gives other ones (the layer lets a shop's
    score move its edges further), and the fit itself is left as it was."""
    assert fitted.guide.population is not None and fitted.mixed_runs  # every run's layer pools these shops
    own = fitted.edge_probability_array()
    np.testing.assert_allclose(fitted.read_with(edge_miss_rate=0.3).edge_probability_array(), own, atol=1e-12)
    sharper = fitted.read_with(edge_miss_rate=0.03)
    assert sharper.settings.outputs.edge_miss_rate == 0.03 and fitted.settings.outputs.edge_miss_rate == 0.3
    assert np.abs(sharper.edge_probability_array() - own).max() > 0.01
    np.testing.assert_array_equal(fitted.edge_probability_array(), own)


def test_a_fit_pooled_again_with_a_class_prior_learns_one_prior_per_class(fitted):
    """``read_with(edge_template_prior="class")`` (what ``benchmarks.template_prior`` reads): every run's layer
    learns one Beta prior per class of edges, the same for the edges of a class, and the fit itself keeps its fixed
    prior."""
    from causalmmm_ppl.inference.causalmmm_pooling import edge_classes, pooled_candidates

    read = fitted.read_with(edge_template_prior="class")
    for (model, guide), (_, own) in zip(read.runs(), fitted.runs()):
        classes = edge_classes(model.edge_index[pooled_candidates(model)].numpy(), model.node_kinds)
        pop = guide.population
        assert pop is not None and pop.prior_a.shape == classes.shape
        for c in np.unique(classes):
            assert np.unique(pop.prior_a[classes == c]).size == 1
        assert np.unique(own.population.prior_a).size == 1  # the fixed prior of every edge
    assert np.unique(pop.prior_a).size > 1
    assert fitted.settings.outputs.edge_template_prior == "fixed"


@pytest.mark.slow
def test_pooling_keeps_the_extra_edge_of_a_few_shops():
    """20 shops share one graph; the 3 shops with the strongest c2 → pv weight also have that edge. Where the encoder
    finds it, the population layer (one template: the others lack the edge) must not pull it to the template's off,
    and the shops without it must stay off. At 600 steps one run of the default (mixed) carryover meets this from
    SVI seeds 0 to 5 and 7; from seed 6 its encoder gives the weaker shop 0.35 (`python -m benchmarks.carryover_graph
    --scenarios deviating --seeds 0,1,2,3,4,5,6,7 --families mixed --variant restarts=1,steps=600 --no-write`).
    Seed 1 runs here: every figure of it is far from its bound (seed 0's weaker shop pools to 0.91, against the
    bound 0.9, which another processor's floating-point path could cross). One SVI run: each run's own layer pools
    its edges, and the default mixture of runs reports their mean (``tests/inference/test_mixed_runs.py``), so what
    holds run by run holds for the mixture."""
    from benchmarks.carryover_graph import deviating_edge_panel

    sim, extra, c, e = deviating_edge_panel()
    n = sim.panel.n_shops
    fit = fit_causalmmm(sim.panel, CausalMMMSettings.of(steps=600, restarts=1), seed=1, progress=False)
    assert fit.guide.population is not None  # the layer is in use
    pooled, encoder = fit.edge_probability_array(), fit.edge_probability_array(pooled=False)
    found = encoder[extra, c, e] > 0.4
    assert found.sum() >= 2, encoder[extra, c, e]  # the encoder sees the deviation in most of these shops
    assert (pooled[extra[found], c, e] > 0.9).all(), pooled[extra, c, e]
    others = np.setdiff1d(np.arange(n), extra)
    assert pooled[others, c, e].mean() < 0.15, pooled[others, c, e]


def test_a_rollout_runs_its_state_over_the_last_window_of_history(sim, fitted):
    """As in training (a zero state a window and its warm-up before the scored days), a rollout's recurrent state
    runs over the history's last ``window + l_max`` days: what came before them does not change the paths, a
    recent day does."""
    import dataclasses

    import pyro

    from causalmmm_ppl.inference.forecast import guide_draws, plan_interventions, rollout_trace

    panel = sim.panel.select_shops(np.arange(2))
    history, plan = panel.select_time(0, 140), panel.select_time(140, 150)
    _, data, plan_t, cal = fitted._plan_inputs(history, plan)
    batch = data.full_batch(temperature=fitted.spec.temperature)
    days = fitted.model.rollout_history_days(140)
    assert days == FAST["window"] + fitted.spec.l_max < 140
    latents = guide_draws(fitted.guide, batch, 8)

    def paths(x):
        pyro.set_rng_seed(0)
        trace = rollout_trace(fitted.model, latents, dataclasses.replace(batch, x=x), cal,
                              plan_interventions(plan_t, 8), 8)
        return trace.nodes["_RETURN"]["value"]

    before, inside = batch.x.clone(), batch.x.clone()
    before[:, : 140 - days] = 0.0
    inside[:, -5] *= 2.0
    torch.testing.assert_close(paths(before), paths(batch.x))
    assert not torch.allclose(paths(inside), paths(batch.x))


def test_weekly_panels_are_fitted_without_weekday_profiles():
    """Every week has the same weekday mix: a weekly panel's fit has no per-shop weekday profile (no ``weekly``
    site), and a daily one keeps it."""
    import dataclasses

    import pandas as pd

    daily = simulate("sim1", n_shops=3, n_days=40, seed=5).panel
    weeks = pd.date_range("2024-01-07", periods=daily.n_time, freq="W-SUN")
    weekly = dataclasses.replace(daily, dates=weeks, freq="W-SUN")
    spec = CausalMMMSettings.of(steps=2, batch_shops=3, window=20, num_draws=4, hidden=8, encoder_hidden=16)
    from causalmmm_ppl.inference.forecast import guide_draws

    def sites(fit):
        return set(guide_draws(fit.guide, fit.training_data().full_batch(), 2))

    fit = fit_causalmmm(weekly, spec, seed=0, progress=False)
    assert spec.model.seasonality and not fit.spec.seasonality
    assert sites(fit) == {"edge_logit", "response"}
    assert fit.forecast(weekly.select_time(0, 30), weekly.select_time(30, 40), num_draws=4)["mean"].notna().all()
    on_days = fit_causalmmm(daily, spec, seed=0, progress=False)
    assert on_days.spec.seasonality and "weekly" in sites(on_days)


@pytest.mark.parametrize("option, site", [({"edge_gain": 0.5}, "edge_gain"), ({"additive": "drive"}, "edge_beta"),
                                          ({"edge_gain": 0.5, "learn_gain_scale": True}, "edge_gain")])
def test_per_edge_sites_are_fitted_saved_and_drawn_by_effects(sim, tmp_path, option, site):
    """``edge_gain`` and ``additive``: the guide gives every shop and candidate edge (into a mediator or the target,
    for ``additive``) a Normal, the run saves its weights, and effects draw the site (a reloaded run gives the same
    effects for the same seed)."""
    history, plan = sim.panel.select_time(0, sim.panel.n_time - 5), sim.panel.select_time(sim.panel.n_time - 5,
                                                                                          sim.panel.n_time)
    fit = fit_causalmmm(history, CausalMMMSettings.of(steps=20, num_draws=8, **option), seed=0, progress=False)
    trace = poutine.trace(fit.guide).get_trace(fit.training_data().full_batch())
    n = fit.model.n_edges if site == "edge_gain" else int(fit.model.additive_edges.sum())
    assert 0 < n and (site == "edge_gain" or n < fit.model.n_edges)
    drawn = trace.nodes[site]
    assert drawn["value"].shape == (history.n_shops, n) and drawn["fn"].event_shape == (n,)
    scale = drawn["fn"].base_dist.scale.detach()
    assert 0.0 < float(scale.min()) and float(scale.max()) < 1.0
    a = fit.effects(history, plan, num_draws=8, seed=3)
    assert np.isfinite(a[["mean", "lower", "upper"]].to_numpy()).all()
    fit.save(tmp_path / "run")
    again = CausalMMMFit.load(tmp_path / "run")
    assert {k: getattr(again.spec, k) for k in option} == option
    if option.get("learn_gain_scale"):  # trained by SVI from its start, and saved with the run
        learned = float(fit.model.log_gain_scale.detach())
        assert learned != pytest.approx(np.log(0.5), abs=1e-4)
        assert float(again.model.log_gain_scale.detach()) == learned
    pyro.clear_param_store()
    b = again.effects(history, plan, num_draws=8, seed=3)
    np.testing.assert_allclose(a[["mean", "lower", "upper"]].to_numpy(), b[["mean", "lower", "upper"]].to_numpy(),
                               rtol=1e-5, atol=1e-6)


def test_a_fit_sets_the_message_weight_prior_by_its_panels_size(sim, fitted, tmp_path):
    """The default leaves ``edge_weight_prior`` to the panel: a 3-shop fit trains with σ = 0.3 (the model it trained
    has the factor site) and saves it, so the run reloads the model it fitted; the 16-shop fit has none."""
    few = fit_causalmmm(sim.panel.select_shops(np.arange(3)), CausalMMMSettings.of(steps=2, window=96), seed=0,
                        progress=False)
    assert few.settings.model.edge_weight_prior == 0.3 and few.model.spec.edge_weight_prior == 0.3
    assert fitted.settings.model.edge_weight_prior == 0.0 and fitted.model.spec.edge_weight_prior == 0.0
    few.save(tmp_path / "run")
    assert CausalMMMFit.load(tmp_path / "run").settings.model.edge_weight_prior == 0.3


def test_the_training_setup_is_where_settings_left_to_the_panels_size_are_set(sim):
    """``training_setup`` sets what the default leaves to the panel's size from the panel's number of shops, builds
    the model with it and hands the settings on (the one place it is set: a fit trains and saves
    ``setup.settings``); a value the user set stays."""
    from causalmmm_ppl.inference.causalmmm_setup import training_setup

    for shops, sigma in ((3, 0.3), (12, 0.0)):
        setup = training_setup(sim.panel.select_shops(np.arange(shops)), CausalMMMSettings.of(steps=2), seed=0)
        assert setup.settings.model.edge_weight_prior == sigma and setup.model.spec.edge_weight_prior == sigma
    kept = training_setup(sim.panel.select_shops(np.arange(3)), CausalMMMSettings.of(edge_weight_prior=1.5), seed=0)
    assert kept.settings.model.edge_weight_prior == 1.5 and kept.model.spec.edge_weight_prior == 1.5


def test_a_message_weight_prior_shrinks_the_fitted_weights(sim):
    """``edge_weight_prior``: SVI maximises the ELBO with log p(W) in it, so a tight prior leaves the decoder's
    message weights smaller than maximum likelihood from the same start and seed does (4 shops, one SVI run each)."""
    norms = {}
    panel = sim.panel.select_shops(np.arange(4))
    for scale in (0.0, 0.05):
        fit = fit_causalmmm(panel, CausalMMMSettings.of(steps=40, restarts=1, edge_weight_prior=scale), seed=0,
                            progress=False)
        norms[scale] = float(fit.model.decoder.edge_weight.detach().norm())
    assert norms[0.05] < 0.8 * norms[0.0]
