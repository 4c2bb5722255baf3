"""A replayed recursion equals the recursion run from day 0 under the same intervention, value for value."""

from __future__ import annotations

import numpy as np
import pytest

from causalmmm_ppl.data.recursion import Intervention
from causalmmm_ppl.data.simulate import simulate


@pytest.mark.parametrize("scenario", ["sim1", "sim2", "sim3", "sources"])
@pytest.mark.parametrize("first", [0, 17, 59])
def test_a_replay_from_the_first_touched_day_equals_a_run_from_day_zero(scenario, first):
    sim = simulate(scenario, n_shops=3, n_days=60, seed=5, keep_recursion=True)
    rng = np.random.default_rng(first)
    shape = sim.panel.values.shape
    mask = np.zeros(shape, dtype=bool)
    mask[:, first:] = rng.random((shape[0], shape[1] - first, shape[2])) < 0.3
    mask[0, first, 0] = True
    value = rng.uniform(0.0, 2.0, shape)
    iv = Intervention(mask, value)
    assert iv.first_day() == first
    replayed = sim.recursion.replay(iv)
    np.testing.assert_array_equal(replayed, sim.recursion.run(iv))
    assert not np.array_equal(replayed, sim.recursion.run())
    # the days before the intervention are the factual panel's
    factual = sim.panel.values / sim.params["scale"][:, None, :]
    np.testing.assert_allclose(replayed[:, :first], factual[:, :first], rtol=1e-12)
    # a re-simulation from the seed under the intervention gives the same values
    again = simulate(scenario, n_shops=3, n_days=60, seed=5, intervention=iv)
    np.testing.assert_array_equal(sim.rerun(iv), again.panel.values)


@pytest.mark.parametrize("scenario", ["sim1", "sim3"])
def test_an_intervention_that_touches_nothing_replays_the_factual_panel(scenario):
    sim = simulate(scenario, n_shops=2, n_days=40, seed=1)
    assert sim.recursion is None  # not kept by default (its noise would double the result's memory): rebuilt
    shape = sim.panel.values.shape
    iv = Intervention(np.zeros(shape, dtype=bool), np.zeros(shape))
    assert iv.first_day() is None
    np.testing.assert_array_equal(sim.rerun(iv), sim.panel.values)
