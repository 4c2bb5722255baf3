"""The benchmarks' shared split of a panel into its history and its last periods."""

from __future__ import annotations

import numpy as np

from benchmarks._engines import holdout, split_last
from causalmmm_ppl.data.simulate import simulate


def test_a_panel_splits_into_its_history_and_its_last_periods_and_the_holdout_blanks_what_is_forecast():
    panel = simulate("sim1", n_shops=2, n_days=30, seed=0).panel
    history, window = split_last(panel, 7)
    assert (history.n_time, window.n_time) == (23, 7)
    np.testing.assert_array_equal(np.concatenate([history.values, window.values], axis=1), panel.values)
    assert window.label(0) == panel.label(23)

    h, plan, truth = holdout(panel, 7)
    np.testing.assert_array_equal(h.values, history.values)
    np.testing.assert_array_equal(truth.values, window.values)
    channels = panel.channel_index
    np.testing.assert_array_equal(plan.values[..., channels], window.values[..., channels])  # the plan's spend
    assert not plan.observed[..., panel.n_nodes - 1].any()  # the target is left to the forecast
