"""PanelScaler: fitting rules, the exact inverse, shop subsets, batch dims, JSON round trip."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from causalmmm_ppl.data import PanelScaler, load_panel
from causalmmm_ppl.errors import InputError
from tests.data.fixtures.panels import SPEC, long_frame, valid_panels

finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False, width=64)


@given(panel=valid_panels(), method=st.sampled_from(["mean", "max", "standard"]), data=st.data())
def test_inverse_is_exact(panel, method, data):
    scaler = PanelScaler.fit(panel, method)
    assert np.all(scaler.scale > 0)
    scaled = scaler.transform(panel.values)
    np.testing.assert_allclose(scaler.inverse(scaled), panel.values, rtol=1e-12, atol=1e-9)
    # arbitrary arrays (zeros included), with leading draw dims
    x = data.draw(hnp.arrays(np.float64, (2,) + panel.values.shape, elements=finite), label="x")
    np.testing.assert_allclose(scaler.inverse(scaler.transform(x)), x, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(scaler.transform(scaler.inverse(x)), x, rtol=1e-9, atol=1e-9)


@given(panel=valid_panels())
def test_mean_scaling_keeps_spend_nonnegative_and_ignores_unobserved(panel):
    scaler = PanelScaler.fit(panel, "mean")
    assert np.all(scaler.loc == 0)
    ch = panel.channel_index
    assert np.all(scaler.transform(panel.values)[..., ch] >= 0)
    # unobserved cells do not change the fit
    poked = panel.values.copy()
    poked[~panel.observed] = 1e9
    other = PanelScaler.fit(type(panel)(**{**panel.__dict__, "values": poked}), "mean")
    np.testing.assert_array_equal(other.scale, scaler.scale)


def test_fit_rules():
    df = long_frame(n_shops=2, n_days=4)
    df["search"] = 0.0
    df.loc[0:3, "tv"] = [1.0, 2.0, 3.0, 6.0]
    panel = load_panel(df, SPEC)
    mean = PanelScaler.fit(panel, "mean")
    assert mean.scale[0, 0] == 3.0 and mean.scale[0, 1] == 1.0  # all-zero channel: scale 1
    assert PanelScaler.fit(panel, "max").scale[0, 0] == 6.0
    std = PanelScaler.fit(panel, "standard")
    assert std.loc[0, 0] == 3.0 and np.isclose(std.scale[0, 0], np.std([1.0, 2.0, 3.0, 6.0]))
    with pytest.raises(InputError, match="unknown scaling method"):
        PanelScaler.fit(panel, "minmax")


def test_shop_index_and_single_node():
    scaler = PanelScaler(loc=np.array([[0.0, 1.0], [0.0, 2.0]]), scale=np.array([[2.0, 4.0], [10.0, 8.0]]),
                         shops=("a", "b"), nodes=("tv", "y"))
    windows = np.ones((3, 5, 2))  # (window, length, node), windows from shops b, a, b
    idx = scaler.shop_index_of(["b", "a", "b"])
    out = scaler.inverse(windows, shop_index=idx)
    np.testing.assert_array_equal(out[:, 0], [[10.0, 10.0], [2.0, 5.0], [10.0, 10.0]])
    draws = np.ones((7, 2, 5))  # (draw, shop, time) for the target
    np.testing.assert_array_equal(scaler.inverse_node(draws, "y")[0, :, 0], [5.0, 10.0])
    np.testing.assert_array_equal(scaler.transform_node(scaler.inverse_node(draws, -1), -1), draws)
    with pytest.raises(InputError, match="shop 'z'"):
        scaler.shop_index_of(["z"])


@given(panel=valid_panels())
def test_dict_round_trip(panel):
    scaler = PanelScaler.fit(panel, "standard")
    back = PanelScaler.from_dict(json.loads(json.dumps(scaler.to_dict())))
    np.testing.assert_array_equal(back.loc, scaler.loc)
    np.testing.assert_array_equal(back.scale, scaler.scale)
    assert back.shops == scaler.shops and back.nodes == scaler.nodes and back.method == "standard"
