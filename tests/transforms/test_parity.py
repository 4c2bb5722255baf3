"""The numpy, torch and jax twins of carryover and Hill saturation agree, and behave as their definitions say."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from causalmmm_ppl.models.response import ADSTOCKS
from causalmmm_ppl.transforms import jax_ops, np_ops, torch_ops

# zero-spend days or spend well above float32 underflow (jax runs in float32)
spend = arrays(np.float64, (2, 3, 20), elements=st.one_of(st.just(0.0), st.floats(1e-3, 50.0)))
unit = st.floats(0.05, 0.95)


@given(x=spend, decay=unit, alpha=st.floats(0.3, 5.0), gamma=st.floats(0.1, 20.0), normalize=st.booleans())
def test_twins_agree(x, decay, alpha, gamma, normalize):
    d = np.full(x.shape[:-1], decay)
    a = np.full(x.shape[:-1], alpha)
    g = np.full(x.shape[:-1], gamma)
    ref = np_ops.hill(np_ops.geometric_adstock(x, d, 7, normalize), a, g)
    tor = torch_ops.hill(
        torch_ops.geometric_adstock(torch.tensor(x), torch.tensor(d), 7, normalize), torch.tensor(a), torch.tensor(g)
    ).numpy()
    jx = np.asarray(
        jax_ops.hill(jax_ops.geometric_adstock(jnp.asarray(x), jnp.asarray(d), 7, normalize), jnp.asarray(a),
                     jnp.asarray(g))
    )
    np.testing.assert_allclose(tor, ref, atol=1e-10)
    np.testing.assert_allclose(jx, ref, atol=1e-5)  # jax computes in float32 by default


#: two-parameter carryover families: weights function → the range of its second parameter (after ``decay``)
SECOND = {"delayed_weights": 4.0, "buildup_weights": 0.98}


@given(x=spend, decay=unit, share=st.floats(0.0, 1.0), name=st.sampled_from(sorted(SECOND)))
def test_two_parameter_weights_twins_agree(x, decay, share, name):
    d = np.full(x.shape[:-1], decay)
    q = np.full(x.shape[:-1], share * SECOND[name])  # delay in (0, 4) periods, build-up in (0, 0.98)
    ref = np_ops.adstock(x, getattr(np_ops, name)(d, q, 8))
    tor = torch_ops.adstock(torch.tensor(x), getattr(torch_ops, name)(torch.tensor(d), torch.tensor(q), 8)).numpy()
    jx = np.asarray(jax_ops.adstock(jnp.asarray(x), getattr(jax_ops, name)(jnp.asarray(d), jnp.asarray(q), 8)))
    np.testing.assert_allclose(tor, ref, atol=1e-9)
    np.testing.assert_allclose(jx, ref, rtol=1e-4, atol=1e-3)


def _mixed(ops, as_array, decay, delay, share, l_max):
    """The ``mixed`` family's weights in the twin ``ops`` (its registry entry), parameters made by ``as_array``."""
    p = {"decay": decay, "delay": delay, "delayed_share": share}
    return ADSTOCKS["mixed"].weights(ops, {k: as_array(v) for k, v in p.items()}, l_max)


@given(x=spend, decay=unit, delay=st.floats(0.0, 4.0), share=st.floats(0.0, 1.0))
def test_mixed_weights_twins_agree(x, decay, delay, share):
    d, q, s = (np.full(x.shape[:-1], v) for v in (decay, delay, share))
    ref = np_ops.adstock(x, _mixed(np_ops, np.asarray, d, q, s, 8))
    tor = torch_ops.adstock(torch.tensor(x), _mixed(torch_ops, torch.tensor, d, q, s, 8)).numpy()
    jx = np.asarray(jax_ops.adstock(jnp.asarray(x), _mixed(jax_ops, jnp.asarray, d, q, s, 8)))
    np.testing.assert_allclose(tor, ref, atol=1e-9)
    np.testing.assert_allclose(jx, ref, rtol=1e-4, atol=1e-3)


@given(decay=unit, delay=st.floats(0.0, 6.0), share=st.floats(0.0, 1.0))
def test_mixed_carryover_nests_geometric_and_delayed(decay, delay, share):
    """Mixed weights sum to 1, are geometric carryover at share 0 and delayed carryover at share 1, and lie on the
    line between the two in between."""
    geometric = np_ops.geometric_weights(decay, 12, normalize=True)
    delayed = np_ops.delayed_weights(decay, delay, 12)
    w = _mixed(np_ops, np.asarray, decay, delay, share, 12)
    assert w.sum() == pytest.approx(1.0, rel=1e-12)
    np.testing.assert_allclose(_mixed(np_ops, np.asarray, decay, delay, 0.0, 12), geometric, rtol=1e-12)
    np.testing.assert_allclose(_mixed(np_ops, np.asarray, decay, delay, 1.0, 12), delayed, rtol=1e-12)
    np.testing.assert_allclose(w, geometric + share * (delayed - geometric), atol=1e-12)


@given(decay=unit, buildup=st.floats(0.01, 0.98))
def test_buildup_carryover_is_two_geometric_stages(decay, buildup):
    """Build-up weights are geometric carryover at ``decay`` convolved with a first stage at ``decay * buildup``
    (normalised): at buildup 0 geometric carryover, a later peak for a larger build-up, the same geometric tail."""
    l_max = 40
    first = np_ops.geometric_weights(decay * buildup, l_max)
    second = np_ops.geometric_weights(decay, l_max)
    conv = np.convolve(first, second)[:l_max]
    np.testing.assert_allclose(np_ops.buildup_weights(decay, buildup, l_max), conv / conv.sum(), rtol=1e-9)
    np.testing.assert_allclose(np_ops.buildup_weights(decay, 0.0, l_max),
                               np_ops.geometric_weights(decay, l_max, normalize=True), rtol=1e-12)
    peaks = [np.argmax(np_ops.buildup_weights(decay, b, l_max)) for b in (0.0, buildup / 2, buildup)]
    assert peaks[0] == 0 and peaks[0] <= peaks[1] <= peaks[2]
    w = np_ops.buildup_weights(decay, min(buildup, 0.9), 202)
    assert w[201] / w[200] == pytest.approx(decay, rel=1e-6)


@given(x=arrays(np.float64, (30,), elements=st.floats(0.0, 10.0)), decay=unit)
def test_geometric_adstock_is_the_recursion(x, decay):
    y = np.zeros_like(x)
    for t in range(len(x)):
        y[t] = x[t] + (decay * y[t - 1] if t else 0.0)
    np.testing.assert_allclose(np_ops.geometric_adstock(x, decay, l_max=len(x)), y, rtol=1e-9, atol=1e-9)


@given(decay=unit, level=st.floats(0.1, 100.0))
def test_normalized_carryover_keeps_a_constant_level(decay, level):
    x = np.full(40, level)
    y = np_ops.geometric_adstock(x, decay, l_max=10, normalize=True)
    np.testing.assert_allclose(y[10:], level, rtol=1e-12)


@given(alpha=st.floats(0.3, 5.0), gamma=st.floats(0.1, 20.0))
def test_hill_is_monotone_bounded_and_half_at_gamma(alpha, gamma):
    x = np.linspace(0.0, 10 * gamma, 50)
    h = np_ops.hill(x, alpha, gamma)
    assert h[0] == 0.0 and np.all((h >= 0) & (h < 1)) and np.all(np.diff(h) >= -1e-12)
    np.testing.assert_allclose(np_ops.hill(np.array([gamma]), alpha, gamma), 0.5, rtol=1e-9)


@given(x=spend, decay=unit, n_days=st.integers(1, 20), l_max=st.integers(1, 12))
def test_the_last_day_alone_is_the_last_day_of_the_carryover(x, decay, n_days, l_max):
    """A rollout's daily signal (``last_only``) equals the last day of the full carryover, also when the history is
    shorter than the carryover."""
    xt = torch.tensor(x[..., :n_days])
    d = torch.full(x.shape[:-1], decay, dtype=torch.float64)
    full = torch_ops.geometric_adstock(xt, d, l_max, normalize=True)[..., -1:]
    last = torch_ops.geometric_adstock(xt, d, l_max, normalize=True, last_only=True)
    torch.testing.assert_close(last, full, rtol=1e-12, atol=1e-12)
