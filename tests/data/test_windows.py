"""Windows: inside the mask, complete, and equal to naive slicing."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from causalmmm_ppl.data import gather_windows, sliding_windows, window_starts
from causalmmm_ppl.errors import InputError
from tests.data.fixtures.panels import valid_panels

masks = hnp.arrays(np.bool_, st.tuples(st.integers(1, 4), st.integers(1, 20)))


def _naive_starts(mask, length):
    return [(s, t) for s in range(mask.shape[0]) for t in range(mask.shape[1] - length + 1)
            if mask[s, t:t + length].all()]


@given(mask=masks, length=st.integers(1, 8))
def test_windows_inside_mask_and_complete(mask, length):
    starts = window_starts(mask, length)
    assert starts.shape[1] == 2 and starts.dtype == np.int64
    assert [tuple(r) for r in starts] == _naive_starts(mask, length)
    for s, t in starts:
        assert mask[s, t:t + length].all()


@given(mask=masks, length=st.integers(1, 6), stride=st.integers(1, 4))
def test_stride_keeps_every_kth_start_per_shop(mask, length, stride):
    all_starts = window_starts(mask, length)
    starts = window_starts(mask, length, stride)
    for s in range(mask.shape[0]):
        mine = all_starts[all_starts[:, 0] == s, 1]
        kept = starts[starts[:, 0] == s, 1]
        expect = mine[(mine - mine[0]) % stride == 0] if mine.size else mine
        np.testing.assert_array_equal(kept, expect)


@given(data=st.data(), length=st.integers(1, 6))
def test_gather_matches_naive_slice(data, length):
    values = data.draw(hnp.arrays(np.float64, st.tuples(st.integers(1, 3), st.integers(length, 15), st.integers(1, 3)),
                                  elements=st.floats(-10, 10)), label="values")
    mask = data.draw(hnp.arrays(np.bool_, values.shape[:2]), label="mask")
    starts = window_starts(mask, length)
    out = gather_windows(values, starts, length)
    assert out.shape == (len(starts), length, values.shape[2])
    for w, (s, t) in enumerate(starts):
        np.testing.assert_array_equal(out[w], values[s, t:t + length])


@given(panel=valid_panels(), length=st.integers(1, 5))
def test_sliding_windows_fully_observed(panel, length):
    windows, starts = sliding_windows(panel, length)
    assert windows.shape == (len(starts), length, panel.n_nodes)
    assert len(starts) == len(_naive_starts(panel.observed.all(-1), length))
    obs = gather_windows(panel.observed, starts, length)
    assert obs.all()


def test_edge_cases():
    mask = np.ones((2, 3), dtype=bool)
    assert window_starts(mask, 4).shape == (0, 2)
    assert gather_windows(np.zeros((2, 3)), window_starts(mask, 4), 4).shape == (0, 4)
    with pytest.raises(InputError, match="window length"):
        window_starts(mask, 0)
    with pytest.raises(InputError, match="stride"):
        window_starts(mask, 1, stride=0)


@given(panel=valid_panels(), holdout=st.integers(0, 4))
def test_a_holdout_keeps_exactly_the_shops_with_every_channel_on_its_periods(panel, holdout):
    """``fit --holdout``'s split: the training panel is every shop before the last H periods; the forecast takes the
    shops with a row on each of them (and one before), and a note names the others."""
    from causalmmm_ppl.data.windows import holdout_split

    if panel.n_time - holdout < 1:
        with pytest.raises(InputError, match="remain for training"):
            holdout_split(panel, holdout, 1)
        return
    complete = panel.mask[:, panel.n_time - holdout:].all(1) & panel.mask[:, : panel.n_time - holdout].any(1)
    if holdout and not complete.any():
        with pytest.raises(InputError, match="none can be forecast"):
            holdout_split(panel, holdout, 1)
        return
    split = holdout_split(panel, holdout, 1)
    assert split.train.n_time == panel.n_time - holdout and split.train.shops == panel.shops
    assert list(split.shops) == list(np.flatnonzero(complete))
    assert split.plan.shops == tuple(panel.shops[i] for i in split.shops)
    assert split.plan.mask[:, panel.n_time - holdout:].all()
    assert (split.note is not None) == bool(holdout and not complete.all())
    if split.note:
        assert repr(panel.shops[int(np.flatnonzero(~complete)[0])]) in split.note
    with pytest.raises(InputError, match="--holdout -1"):
        holdout_split(panel, -1, 1)
