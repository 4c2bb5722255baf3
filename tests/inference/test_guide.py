"""The amortized guide's pieces that are plain functions of the data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from causalmmm_ppl.data.calendar import WEEKDAY_COLUMNS, calendar_features
from causalmmm_ppl.inference.guide import own_switching, own_weekday_harmonics

coef = st.floats(-0.8, 0.8, allow_nan=False)


@settings(max_examples=25, deadline=None)
@given(st.lists(coef, min_size=4, max_size=4), st.lists(coef, min_size=4, max_size=4), st.integers(0, 10_000))
def test_own_weekday_harmonics_recover_a_known_profile(w_channel, w_mediator, seed):
    """A channel whose log-spend is a weekday profile (on active days, zero on off days) and a mediator whose value is
    1 plus a profile: the least-squares harmonics recover both profiles; off days and unobserved days do not count."""
    rng = np.random.default_rng(seed)
    days = 70
    cal = torch.as_tensor(calendar_features(pd.date_range("2023-01-02", periods=days, freq="D")))
    harm = cal[:, WEEKDAY_COLUMNS].double()
    w = torch.tensor([w_channel, w_mediator], dtype=torch.float64)  # (node, harmonic)
    profile = harm @ w.T  # (time, node)
    on = torch.as_tensor(rng.random(days) > 0.3)
    x = torch.stack([torch.where(on, profile[:, 0].exp(), torch.zeros(days, dtype=torch.float64)),
                     1.0 + profile[:, 1]], dim=-1).unsqueeze(0)  # (1, time, 2)
    observed = torch.ones_like(x, dtype=torch.bool)
    observed[0, :5, 1] = False
    x[0, :5, 1] = 99.0  # garbage on unobserved days
    got = own_weekday_harmonics(x, observed, cal.double(), torch.tensor([True, False]))
    torch.testing.assert_close(got[0], w, atol=0.02, rtol=0.0)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.booleans(), min_size=2, max_size=40), st.lists(st.booleans(), min_size=40, max_size=40))
def test_own_switching_counts_the_transitions_between_observed_days(on, seen):
    """The two logits are (transitions into an active day + 1) / (days + 2) after active and after off days, over
    pairs of consecutive days that are both observed; a day with nothing observed around it gives logit 0."""
    days = len(on)
    x = torch.tensor([[2.5 if a else 0.0 for a in on]], dtype=torch.float64).unsqueeze(-1)  # (1, time, 1)
    observed = torch.tensor([seen[:days]]).unsqueeze(-1)
    counts = np.zeros((2, 2))  # (state today: on, off) × (days, on tomorrow)
    for t in range(days - 1):
        if seen[t] and seen[t + 1]:
            state = 0 if on[t] else 1
            counts[state] += (1, on[t + 1])
    expected = np.log((counts[:, 1] + 1) / (counts[:, 0] - counts[:, 1] + 1))
    np.testing.assert_allclose(own_switching(x, observed)[0, 0].numpy(), expected, atol=1e-9)
