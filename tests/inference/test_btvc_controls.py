"""BTVC's controls are the panel's control columns (``ColumnSpec.controls``, ``--controls``), not channels: a real
fit recovers a control that drives the target, forecasts read the plan rows' control values, the removed config key
fails with a message that says where controls went, and a plan row without a control value does not load."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from causalmmm_ppl.cli import main
from causalmmm_ppl.data.load import load_panel
from causalmmm_ppl.data.panel import ColumnSpec
from causalmmm_ppl.errors import InputError
from causalmmm_ppl.inference.btvc import BTVCFit, fit_btvc
from causalmmm_ppl.models.btvc_spec import BTVCSpec, split_config
from causalmmm_ppl.transforms import np_ops
from tests.cli_contract import assert_one_line_error

N_DAYS, PLAN_DAYS = 110, 14
PROMO_EFFECT = 20.0  # target units per promo day (the level is about 100)
PRICE_EFFECT = -3.0  # target units per unit of (signed, centred) price
COLUMNS = ColumnSpec(target="y", channels=("x",), controls=("promo", "price"))


def _frame(seed: int = 0) -> pd.DataFrame:
    """One shop, daily: y = 100 + 25·Hill(adstock(x)) + 20·promo − 3·price + noise; the last ``PLAN_DAYS`` rows are
    the plan (target empty, channel and controls known). ``price`` is signed, which a channel cannot be."""
    rng = np.random.default_rng(seed)
    x = rng.lognormal(0.0, 0.5, N_DAYS)
    promo = (rng.random(N_DAYS) < 0.25).astype(float)
    price = rng.normal(0.0, 2.0, N_DAYS)
    sat = np_ops.hill(np_ops.geometric_adstock(x / x.mean(), np.asarray(0.4), l_max=28, normalize=True),
                      np.asarray(1.5), np.asarray(1.0))
    y = 100.0 + 25.0 * sat + PROMO_EFFECT * promo + PRICE_EFFECT * price + rng.normal(0.0, 2.0, N_DAYS)
    y[-PLAN_DAYS:] = np.nan
    dates = pd.date_range("2023-01-02", periods=N_DAYS, freq="D").strftime("%Y-%m-%d")
    return pd.DataFrame({"shop": "s0", "date": dates, "x": x, "promo": promo, "price": price, "y": y})


@pytest.fixture(scope="module")
def fitted():
    frame = _frame()
    panel = load_panel(frame, COLUMNS, allow_missing_target=True)
    train = panel.select_time(0, N_DAYS - PLAN_DAYS)
    fit = fit_btvc(train, BTVCSpec(yearly_order=0, weekly_order=0), method="svi", svi_steps=500, svi_draws=200,
                   seed=0, progress=False)
    return fit, frame, panel


def test_a_control_column_that_drives_the_target_is_recovered(fitted):
    """promo (+20 a day) and the signed price (−3 per unit) enter linearly; the channel x stays the one medium."""
    fit, _, panel = fitted
    assert fit.design.media == ("x",) and fit.design.controls == ("promo", "price")
    assert list(panel.nodes) == ["x", "y"]  # the controls are not graph nodes
    coef = fit.samples["control_coef"][:, :, 0, :].reshape(-1, 2)  # (draw, control), per-shop scaled units
    lo, hi = np.quantile(coef, [0.05, 0.95], axis=0)
    assert lo[0] > 0 and hi[1] < 0, (lo, hi)
    # target units per unit of the control: coefficient × the target's scale (its mean) / the control's (max |value|)
    per_unit = coef.mean(0) * fit.scales.target[0] / fit.scales.controls[0]
    assert per_unit[0] == pytest.approx(PROMO_EFFECT, rel=0.25), per_unit
    assert per_unit[1] == pytest.approx(PRICE_EFFECT, rel=0.25), per_unit
    shares = fit.contribution_shares().set_index("channel")
    assert shares.loc["promo", "lower"] > 0  # a positive contribution over the training days
    contrib = fit.contributions()
    assert set(contrib["channel"]) == {"x", "promo", "price"}


def test_the_forecast_reads_the_plan_rows_control_values(fitted):
    """The same plan with the promotion on every plan day forecasts more than with it off, by about its effect."""
    fit, frame, _ = fitted
    plan_rows = frame.index >= N_DAYS - PLAN_DAYS
    forecasts = {}
    for promo in (0.0, 1.0):
        plan = frame.copy()
        plan.loc[plan_rows, "promo"] = promo
        forecasts[promo] = fit.forecast(None, load_panel(plan, COLUMNS, allow_missing_target=True), seed=1)
    on, off = forecasts[1.0], forecasts[0.0]
    assert len(on) == len(off) == PLAN_DAYS
    lift = (on["mean"] - off["mean"]).to_numpy()
    assert (lift > 0).all()
    assert lift.mean() == pytest.approx(PROMO_EFFECT, rel=0.25), lift.mean()
    # a plan that lacks a control column (loaded without it) cannot be forecast
    bare = load_panel(frame.drop(columns=["promo"]), ColumnSpec(target="y", channels=("x",), controls=("price",)),
                      allow_missing_target=True)
    with pytest.raises(InputError, match="no control column 'promo'"):
        fit.forecast(None, bare)


def test_a_run_saved_when_controls_were_a_setting_still_forecasts(fitted, tmp_path):
    """Runs saved before: their spec named the controls and their columns.json listed them with the channels. They
    load, and a plan read with that schema (promo and price as channels) forecasts as the control columns do."""
    fit, frame, panel = fitted
    fit.save(tmp_path / "model")
    meta = json.loads((tmp_path / "model" / "btvc.json").read_text())
    meta["spec"]["controls"] = ["promo", "price"]
    (tmp_path / "model" / "btvc.json").write_text(json.dumps(meta))
    old = BTVCFit.load(tmp_path / "model")
    assert old.spec == fit.spec and old.design.controls == ("promo", "price")
    frame = frame.assign(price=frame["price"] - frame["price"].min())  # a channel cannot be negative
    as_channels = load_panel(frame, ColumnSpec(target="y", channels=("x", "promo", "price")), allow_missing_target=True)
    as_controls = load_panel(frame, COLUMNS, allow_missing_target=True)
    pd.testing.assert_frame_equal(old.forecast(None, as_channels, seed=2), fit.forecast(None, as_controls, seed=2))


def test_the_controls_setting_is_gone_with_a_message_that_says_where_controls_went(tmp_path, capsys):
    for make in (lambda: BTVCSpec(controls=("promo",)), lambda: split_config({"controls": ["promo"]}),
                 lambda: split_config({"model": {"controls": ["promo"]}}),
                 lambda: BTVCSpec.from_dict({"controls": []})):
        with pytest.raises(InputError) as err:
            make()
        msg = str(err.value)
        assert "'controls'" in msg and "--controls" in msg and "not channels" in msg and "\n" not in msg, msg
    frame = _frame().dropna(subset=["y"])
    frame.to_csv(tmp_path / "panel.csv", index=False)
    (tmp_path / "cfg.json").write_text(json.dumps({"controls": ["promo"], "method": "svi"}))
    code = main(["fit", str(tmp_path / "panel.csv"), "--target", "y", "--channels", "x,promo", "--model", "btvc",
                 "--config", str(tmp_path / "cfg.json"), "--out", str(tmp_path / "run"), "--quiet"])
    assert_one_line_error(code, capsys.readouterr().err, "cfg.json", "setting 'controls' was removed", "--controls")
    assert not (tmp_path / "run").exists()


def test_a_plan_row_without_a_control_value_does_not_load():
    frame = _frame()
    frame.loc[N_DAYS - 3, "promo"] = np.nan  # a plan row (empty target) without the promotion's value
    with pytest.raises(InputError) as err:
        load_panel(frame, COLUMNS, allow_missing_target=True)
    msg = str(err.value)
    assert "'promo'" in msg and "--controls" in msg and "\n" not in msg, msg
    assert load_panel(frame.drop(columns=["promo"]), ColumnSpec(target="y", channels=("x",), controls=("price",)),
                      allow_missing_target=True).control_names == ("price",)
