"""A fit that keeps every SVI run (``keep_runs = "all"``): its posterior is the equal mixture of the runs'. Each run
gives its share of the draws in turn, each share as that run alone would draw it; edge probabilities are the runs'
mean; the mixture is saved and read back whole, and served by the commands."""

from __future__ import annotations

import json

import numpy as np
import pytest

from causalmmm_ppl.cli import main
from causalmmm_ppl.data.simulate import simulate
from causalmmm_ppl.errors import InputError
from causalmmm_ppl.inference.causalmmm_fit import CausalMMMFit, fit_causalmmm
from causalmmm_ppl.models.settings import CausalMMMSettings
from tests.cli_contract import run_cli

TINY = dict(steps=25, batch_shops=8, window=32, num_draws=8, collapse_restarts=0)
SEED = 7


@pytest.fixture(scope="module")
def split():
    full = simulate("sim1", n_shops=12, n_days=50, seed=4).panel
    return full.select_time(0, 45), full.select_time(45, 50)


@pytest.fixture(scope="module")
def fits(split):
    """The mixture of the runs from seeds 7 and 8, and each run fitted alone."""
    train = split[0]
    alone = [fit_causalmmm(train, CausalMMMSettings.of(**TINY, restarts=1), seed=s, progress=False)
             for s in (SEED, SEED + 1)]
    mixed = fit_causalmmm(train, CausalMMMSettings.of(**TINY, restarts=2, keep_runs="all"), seed=SEED,
                          progress=False)
    best, other = alone if mixed.log.loss == alone[0].log.loss else alone[::-1]
    return mixed, best, other


def test_every_run_is_kept_and_the_best_run_comes_first(fits):
    mixed, best, other = fits
    assert len(mixed.mixed_runs) == 1 and [run["kept"] for run in mixed.svi_runs] == [True, True]
    assert mixed.log.loss == best.log.loss
    assert mixed.run_seeds == (best.seed, other.seed) and {best.seed, other.seed} == {SEED, SEED + 1}
    assert "kept and mixed" in mixed.svi_runs_note()
    assert mixed.draw_shares(8) == [4, 4] and mixed.draw_shares(5) == [3, 2] and mixed.draw_shares(1) == [1, 0]
    np.testing.assert_allclose(mixed.edge_probability_array(),
                               (best.edge_probability_array() + other.edge_probability_array()) / 2, atol=1e-6)
    for run, alone in enumerate((best, other)):  # one kept run's edges alone: that run's fit's
        np.testing.assert_allclose(mixed.edge_probability_array(run=run), alone.edge_probability_array(), atol=1e-6)
        np.testing.assert_allclose(mixed.edge_probability_array(pooled=False, run=run),
                                   alone.edge_probability_array(pooled=False), atol=1e-6)


def test_each_run_gives_its_share_of_the_draws(fits, split):
    """The first half of the mixture's forecast and effect draws is the best run's own, drawn with the fit's seed;
    the second half comes from the other run, whose forecasts differ."""
    mixed, best, other = fits
    history, plan = split
    draws = mixed.forecast_samples(history, plan, num_draws=8)
    assert draws.shape[0] == 8
    np.testing.assert_array_equal(draws[:4], best.forecast_samples(history, plan, num_draws=4, seed=SEED))
    tgt = -1
    assert not np.allclose(draws[4:, ..., tgt].mean(0), draws[:4, ..., tgt].mean(0))
    scenario = [("total", mixed.channel_names[0], 0.0)]
    factual, counter = mixed.effect_samples(history, plan, scenario, num_draws=8)
    factual_best, counter_best = best.effect_samples(history, plan, scenario, num_draws=4, seed=SEED)
    assert factual.shape == (8, 12)
    np.testing.assert_array_equal(factual[:4], factual_best)
    np.testing.assert_array_equal(counter[scenario[0]][:4], counter_best[scenario[0]])
    post = mixed.posterior_samples(num_draws=6)
    assert post["edge"].shape[0] == 6 and post["loglik"].shape[0] == 6
    np.testing.assert_allclose(post["edge_probability"], np.mean(
        [f.posterior_samples(num_draws=3)["edge_probability"] for f in (best, other)], axis=0), atol=1e-6)


def test_inference_data_holds_one_chain_per_run(fits):
    """Each run's draws are one chain (the draws rounded down to a multiple of the runs), so ArviZ's R-hat compares
    the runs; the first chain is the best run's own posterior draws; LOO runs on the mixture."""
    import arviz as az

    mixed, best, _ = fits
    idata = mixed.to_inference_data(num_draws=9)
    assert idata.posterior.sizes["chain"] == 2 and idata.posterior.sizes["draw"] == 4
    assert idata.log_likelihood["target"].shape[:2] == (2, 4)
    own = best.posterior_samples(num_draws=4, seed=SEED)
    np.testing.assert_array_equal(idata.posterior["edge"].values[0], own["edge"])
    assert np.isfinite(az.loo(idata).elpd_loo)
    assert np.isfinite(az.rhat(idata, var_names=["decay"])["decay"].values).all()
    # one run alone: its 16 independent draws as 4 chains of 4, so that az.summary's defaults run without warnings
    alone = best.to_inference_data(num_draws=16)
    assert (alone.posterior.sizes["chain"], alone.posterior.sizes["draw"]) == (4, 4)


def test_the_mixture_is_saved_and_read_back_whole(fits, split, tmp_path):
    mixed = fits[0]
    mixed.save(tmp_path / "model")
    again = CausalMMMFit.load(tmp_path / "model")
    assert len(again.mixed_runs) == 1 and again.svi_runs == mixed.svi_runs and again.run_seeds == mixed.run_seeds
    np.testing.assert_array_equal(again.edge_probability_array(), mixed.edge_probability_array())
    np.testing.assert_array_equal(again.forecast_samples(*split, num_draws=8),
                                  mixed.forecast_samples(*split, num_draws=8))


def test_keep_runs_is_checked():
    with pytest.raises(InputError, match="keep_runs must be one of 'best', 'all'"):
        CausalMMMSettings.of(keep_runs="some")
    with pytest.raises(InputError, match="graph_templates = 0"):
        CausalMMMSettings.of(keep_runs="all", graph_templates=2)


def test_fit_with_keep_runs_all_writes_and_saves_the_mixture(tmp_path, capsys):
    """Through the command: a run fitted with ``{"restarts": 2, "keep_runs": "all"}`` forecasts its holdout, writes
    its edges and InferenceData, saves the mixture and says it mixed the runs (or names them where one collapsed)."""
    data = tmp_path / "sim"
    assert main(["simulate", "--out", str(data), "--scenario", "sim1", "--shops", "4", "--days", "50", "--quiet"]) == 0
    flags = (data / "fit_flags.txt").read_text().split()
    cfg = tmp_path / "mixed.json"
    cfg.write_text(json.dumps({"steps": 15, "batch_shops": 4, "window": 32, "num_draws": 8, "restarts": 2,
                               "keep_runs": "all", "collapse_restarts": 0}))
    run = tmp_path / "run"
    code, out, err = run_cli(capsys, "fit", str(data / "panel.csv"), *flags, "--holdout", "5", "--config", str(cfg),
                             "--out", str(run), "--quiet")
    assert code == 0, err
    kept = len(CausalMMMFit.load(run / "model").mixed_runs) + 1
    assert (f"{kept} SVI runs mixed" in out) if kept > 1 else ("SVI runs (collapsed" in err)
    assert {"edges.csv", "forecast.csv", "idata.nc"} <= {p.name for p in run.iterdir()}


def test_the_number_of_runs_mixed_is_left_to_the_panels_size():
    """``restarts`` and ``keep_runs`` left to the panel's size: three runs mixed below ``FEW_SHOPS`` shops, two from
    ``FEW_SHOPS`` on (one process); one run on several processes; model templates keep the best run (of three
    below ``FEW_SHOPS``, of one from there on); a value set stays."""
    from causalmmm_ppl.models.settings import FEW_SHOPS_RUNS, PANEL_RUNS
    from causalmmm_ppl.models.spec import FEW_SHOPS

    default = CausalMMMSettings.of()
    assert (default.inference.restarts, default.inference.keep_runs) == (None, None)
    few = default.for_shops(FEW_SHOPS - 1).inference
    assert (few.restarts, few.keep_runs) == (FEW_SHOPS_RUNS, "all") == (3, "all")
    for n_shops in (FEW_SHOPS, 100_000):
        many = default.for_shops(n_shops).inference
        assert (many.restarts, many.keep_runs) == (PANEL_RUNS, "all") == (2, "all")
    for n_shops in (2, FEW_SHOPS):
        on_processes = default.for_shops(n_shops, parallel=True).inference
        assert (on_processes.restarts, on_processes.keep_runs) == (1, "best")
    templates = CausalMMMSettings.of(graph_templates=2)
    assert (templates.for_shops(2).inference.restarts, templates.for_shops(2).inference.keep_runs) == (3, "best")
    assert (templates.for_shops(FEW_SHOPS).inference.restarts,
            templates.for_shops(FEW_SHOPS).inference.keep_runs) == (1, "best")
    assert CausalMMMSettings.of(restarts=1).for_shops(2).inference.restarts == 1
    assert CausalMMMSettings.of(restarts=1).for_shops(FEW_SHOPS).inference.restarts == 1
    assert CausalMMMSettings.of(keep_runs="best").for_shops(FEW_SHOPS).inference.keep_runs == "best"
    assert CausalMMMSettings.of(restarts=3).for_shops(FEW_SHOPS).inference.keep_runs == "all"


def test_a_fit_of_few_shops_keeps_three_runs_and_saves_what_it_resolved(tmp_path):
    panel = simulate("sim1", n_shops=3, n_days=40, seed=5).panel
    fit = fit_causalmmm(panel, CausalMMMSettings.of(**{**TINY, "collapse_restarts": 1}), seed=3, progress=False)
    assert [run["seed"] for run in fit.svi_runs] == [3, 4, 5]
    assert len(fit.mixed_runs) == sum(run["kept"] for run in fit.svi_runs) - 1
    assert (fit.settings.inference.restarts, fit.settings.inference.keep_runs) == (3, "all")
    fit.save(tmp_path / "model")
    again = CausalMMMFit.load(tmp_path / "model")
    assert again.settings == fit.settings and len(again.mixed_runs) == len(fit.mixed_runs)
