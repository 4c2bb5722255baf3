"""Time-varying controls in CausalMMM: the mediators and the target read them on the day they predict, channels do
not, and a forecast follows the plan's controls."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from causalmmm_ppl.data.simulate import simulate
from causalmmm_ppl.inference.causalmmm_fit import CausalMMMFit, fit_causalmmm
from causalmmm_ppl.models.settings import CausalMMMSettings
from causalmmm_ppl.models.spec import CausalMMMSpec

HISTORY, DAYS = 76, 90


@pytest.fixture(scope="module")
def promo_panel():
    """sim1 with a promotion on about one day in five that multiplies the target by 1.5 that day."""
    panel = simulate("sim1", n_shops=12, n_days=DAYS, seed=3).panel
    promo = (np.random.default_rng(0).random((panel.n_shops, panel.n_time)) < 0.2).astype(float)
    values = panel.values.copy()
    values[..., -1] *= 1.0 + 0.5 * promo
    return dataclasses.replace(panel, values=values, controls=promo[..., None], control_names=("promo",))


@pytest.fixture(scope="module")
def promo_fit(promo_panel):
    return fit_causalmmm(promo_panel.select_time(0, HISTORY), CausalMMMSettings.of(steps=300), seed=0, progress=False)


def _target_forecast(fit, history, plan) -> np.ndarray:
    """(shop, day) posterior mean of the target over the plan."""
    fc = fit.forecast(history, plan, num_draws=50, seed=0)
    fc = fc[fc["node"] == history.target]
    return fc.pivot(index="shop", columns="date", values="mean").loc[list(plan.shops)].to_numpy()


def test_the_forecast_follows_the_plans_promotion(promo_panel, promo_fit, tmp_path):
    history, plan = promo_panel.select_time(0, HISTORY), promo_panel.select_time(HISTORY, DAYS)
    on = plan.controls[..., 0] > 0
    mean = _target_forecast(promo_fit, history, plan)
    level = promo_panel.values[:, HISTORY:, -1].mean(1, keepdims=True)
    lift = (mean / level)[on].mean() / (mean / level)[~on].mean()
    assert 1.25 < lift < 1.8, lift  # the truth is 1.5
    # the same plan with the promotion off everywhere: the promotion days lose their lift
    off = dataclasses.replace(plan, controls=np.zeros_like(plan.controls))
    flat = _target_forecast(promo_fit, history, off)
    assert (mean[on] > flat[on]).mean() > 0.9
    assert abs((flat / level)[on].mean() / (flat / level)[~on].mean() - 1.0) < 0.1
    # a saved run keeps the controls' standardisation and reads plans the same way
    promo_fit.save(tmp_path / "model")
    again = CausalMMMFit.load(tmp_path / "model")
    np.testing.assert_allclose(_target_forecast(again, history, plan), mean, rtol=1e-5)


def test_channels_do_not_read_the_controls(promo_panel, promo_fit):
    """Only the mediators' and the target's predictions move when a day's control changes."""
    data = promo_fit.prepare(promo_panel)
    x, cal = data.x[:2], data.calendar[:2]
    model = promo_fit.model
    u = torch.zeros(2, model.n_nodes, model.spec.response.size)
    z = model.edges_to_matrix(torch.full((2, model.n_edges), 0.5))
    with torch.no_grad():
        base, _ = model.one_step_means(x, u, z, cal)
        moved = cal.clone()
        moved[:, 40, -1] += 3.0  # day 40's promotion: read when predicting day 40, from day 39
        pred, _ = model.one_step_means(x, u, z, moved)
    changed = (pred.loc - base.loc).abs() > 1e-6  # (shop, time, node)
    ch = model.channel_mask
    assert not changed[..., ch].any()
    assert changed[:, 39, ~ch].all()
    assert not changed[:, :39].any()  # nothing before the day that reads it


def test_the_standardisation_is_learned_from_the_training_panel_and_round_trips(promo_panel):
    """One record scales every panel a run reads: learned from the training panel (each control's mean and standard
    deviation over every shop's rows, 1 for a constant one), written to and read from ``fit.json``'s entries."""
    import json

    from causalmmm_ppl.inference.causalmmm_data import Standardisation

    panel = dataclasses.replace(promo_panel, controls=np.concatenate([promo_panel.controls,
                                                                      np.ones_like(promo_panel.controls)], -1),
                                control_names=("promo", "flat"))
    std = Standardisation.of(panel)
    rows = panel.controls[panel.mask]
    np.testing.assert_allclose(std.control_loc, rows.mean(0))
    np.testing.assert_allclose(std.control_scale, [rows[:, 0].std(), 1.0])
    entries = json.loads(json.dumps(std.to_dict()))
    assert set(entries) == {"scaler", "context_loc", "context_scale", "control_loc", "control_scale"}
    back = Standardisation.from_dict(entries)
    for name in ("context_loc", "context_scale", "control_loc", "control_scale"):
        np.testing.assert_array_equal(getattr(back, name), getattr(std, name))
    np.testing.assert_array_equal(back.scaler.scale, std.scaler.scale)
    # a run saved before controls existed has no control entries: it reads as a run without controls
    old = Standardisation.from_dict({k: v for k, v in entries.items() if not k.startswith("control")})
    assert old.control_loc.shape == (0,) and old.control_scale.shape == (0,)
    spec = CausalMMMSpec()
    plain = std.prepare(panel, spec)
    torch.testing.assert_close(std.calendar(panel), plain.calendar)


def test_a_panel_of_known_and_new_shops_is_scaled_by_the_training_rows_and_its_own(promo_panel):
    """Shops seen in training keep the training scaler's rows whatever values the panel holds for them now; a new
    shop is scaled by its own values."""
    from causalmmm_ppl.data.scaling import PanelScaler
    from causalmmm_ppl.inference.causalmmm_data import Standardisation

    train = promo_panel.select_shops([0, 1])
    std = Standardisation.of(train)
    other = dataclasses.replace(promo_panel.select_shops([2]), values=promo_panel.values[2:3] * 3.0, shops=("new",))
    mixed = dataclasses.replace(promo_panel.select_shops([1, 2]), values=np.concatenate(
        [promo_panel.values[1:2] * 2.0, other.values]), shops=(train.shops[1], "new"))
    scaler = std.scaler_for(mixed)
    assert scaler.shops == mixed.shops
    np.testing.assert_array_equal(scaler.scale[0], std.scaler.scale[1])
    np.testing.assert_array_equal(scaler.loc[0], std.scaler.loc[1])
    assert not np.allclose(PanelScaler.fit(mixed, method=std.scaler.method).scale[0], std.scaler.scale[1])
    own = PanelScaler.fit(other, method=std.scaler.method)
    np.testing.assert_allclose(scaler.scale[1], own.scale[0])
    np.testing.assert_allclose(scaler.loc[1], own.loc[0])

