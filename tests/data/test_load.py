"""Loaders: round trips through CSV/Parquet/DataFrame, date formats, ragged panels, defaults, peer data sets."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings

from causalmmm_ppl.data import ColumnSpec, load_panel, panel_from_args, read_table, spec_from_args
from causalmmm_ppl.errors import InputError
from tests.data.fixtures.make_airmmm_sample import frame as airmmm_frame
from tests.data.fixtures.make_airmmm_sample import make as make_airmmm
from tests.data.fixtures.panels import SPEC, assert_panels_equal, long_frame, spec_of, valid_panels

FIXTURES = Path(__file__).parent / "fixtures"
AIRMMM = FIXTURES / "airmmm_sample.csv"
AIRMMM_SPEC = ColumnSpec(target="gmv", channels=tuple(f"x{i}" for i in range(11)), mediators=("pv",),
                         context=tuple(f"context{i}" for i in range(5)), shop_col="shop_id", date_col="ds")


def _args(data, **kw) -> argparse.Namespace:
    base = dict(data=str(data), target=None, channels=(), mediators=(), context=(), shop_col=None, date_col=None,
                fill_gaps="error", context_agg="error")
    base.update(kw)
    return argparse.Namespace(**base)


# ------------------------------------------------------------------------------------------------ round trips
@settings(max_examples=25)
@given(panel=valid_panels())
def test_round_trip_csv_parquet_frame(panel, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("rt")
    frame = panel.to_frame()
    spec = spec_of(panel)
    frame.to_csv(tmp / "p.csv", index=False)
    frame.to_parquet(tmp / "p.parquet", index=False)
    for source in (tmp / "p.csv", tmp / "p.parquet", frame):
        back = load_panel(source, spec, allow_missing_target=True)
        assert_panels_equal(panel, back)


def test_frame_source_is_not_modified():
    df = long_frame()
    before = df.copy()
    load_panel(df, SPEC)
    pd.testing.assert_frame_equal(df, before)


def test_rows_in_any_order_give_the_same_panel():
    df = long_frame()
    a = load_panel(df, SPEC)
    shuffled = df.sample(frac=1.0, random_state=1)
    shuffled = pd.concat([df.iloc[:1], shuffled[shuffled.index != 0]])  # same first shop, rest shuffled
    b = load_panel(shuffled, SPEC)
    order = [b.shops.index(s) for s in a.shops]
    np.testing.assert_array_equal(a.values, b.values[order])


def test_shops_in_order_of_first_appearance():
    df = long_frame(n_shops=3)
    df = pd.concat([df[df["shop"] == "c"], df[df["shop"] != "c"]])
    assert load_panel(df, SPEC).shops == ("c", "a", "b")


# ------------------------------------------------------------------------------------------------ formats
def test_airmmm_layout_loads_with_flags(tmp_path):
    panel, spec = panel_from_args(_args(AIRMMM, target="gmv", channels=AIRMMM_SPEC.channels, mediators=("pv",),
                                        context=AIRMMM_SPEC.context))
    assert spec.shop_col == "shop_id" and spec.date_col == "ds"
    assert panel.shops == ("1001", "1002", "1003")
    assert panel.values.shape == (3, 40, 13) and panel.observed.all()
    assert panel.freq == "D" and str(panel.dates[0].date()) == "2020-01-01"
    assert panel.nodes[-2:] == ("pv", "gmv") and panel.node_kinds[-2:] == ("mediator", "target")
    assert panel.context.shape == (3, 5)


def test_airmmm_fixture_matches_its_script(tmp_path):
    pd.testing.assert_frame_equal(pd.read_csv(make_airmmm(tmp_path / "a.csv")), pd.read_csv(AIRMMM))
    assert len(airmmm_frame()) == 120


def test_channel_also_listed_as_mediator_is_a_mediator():
    spec = ColumnSpec(target="gmv", channels=("tv", "search", "pv"), mediators=("pv",), shop_col="shop")
    panel = load_panel(long_frame(), spec)
    assert panel.nodes == ("tv", "search", "pv", "gmv")
    assert panel.node_kinds == ("channel", "channel", "mediator", "target")


@pytest.mark.parametrize("fmt", ["iso", "int", "text8", "datetime", "iso_time"])
def test_date_formats(fmt):
    df = long_frame()
    dt = pd.to_datetime(df["date"])
    df["date"] = {
        "iso": df["date"],
        "int": dt.dt.strftime("%Y%m%d").astype(int),
        "text8": dt.dt.strftime("%Y%m%d"),
        "datetime": dt,
        "iso_time": dt.dt.strftime("%Y-%m-%dT00:00:00"),
    }[fmt]
    panel = load_panel(df, SPEC)
    assert panel.dates[0] == pd.Timestamp("2021-03-01") and panel.n_time == 12


def test_weekly_grid_and_ragged_shops():
    df = long_frame(n_shops=2, n_days=10)
    df["date"] = np.tile(pd.date_range("2021-03-07", periods=10, freq="W-SUN").strftime("%Y-%m-%d"), 2)
    df = df.drop(index=[10, 11, 12, 19])  # shop b starts 3 weeks late and ends 1 week early
    panel = load_panel(df, SPEC)
    assert panel.freq == "W-SUN" and panel.n_time == 10
    np.testing.assert_array_equal(panel.mask[1], [False] * 3 + [True] * 6 + [False])
    assert (panel.values[1, :3] == 0).all() and not panel.observed[1, :3].any()
    assert panel.summary()["days_per_shop_min"] == 6
    # messages speak of the grid's periods
    assert (panel.period, panel.periods(1), panel.periods(10)) == ("week", "1 week", "10 weeks")
    assert load_panel(long_frame(), SPEC).periods(12) == "12 days"


def test_plan_rows_leave_target_and_mediators_unobserved():
    df = long_frame(n_shops=2, n_days=10)
    df.loc[[8, 9], ["gmv", "pv"]] = np.nan
    df.loc[[19], "gmv"] = np.nan
    panel = load_panel(df, SPEC, allow_missing_target=True)
    assert not panel.target_observed[0, 8:].any() and panel.target_observed[0, :8].all()
    assert not panel.observed[0, 8:, 2].any()  # pv
    assert panel.mask.all()
    assert panel.target_observed[1, :9].all() and not panel.target_observed[1, 9]


def test_fill_gaps_zero_fills_and_warns():
    df = long_frame(n_shops=2, n_days=10).drop(index=[3, 4])
    panel = load_panel(df, SPEC, fill_gaps="zero")
    assert panel.observed.all()
    assert (panel.values[0, 3:5] == 0).all()
    assert any("filled 2 missing day(s)" in w and "'a'" in w for w in panel.warnings)


CONTROLLED = ColumnSpec(target="gmv", channels=("tv", "search"), mediators=("pv",), context=("size",),
                        controls=("price", "promo"))


def _controlled_frame(n_shops: int = 2, n_days: int = 10) -> pd.DataFrame:
    df = long_frame(n_shops=n_shops, n_days=n_days)
    df["price"] = np.linspace(9.0, 11.0, len(df))
    df["promo"] = (np.arange(len(df)) % 3 == 0).astype(float)
    return df


def test_controls_are_read_on_every_row_and_written_back():
    df = _controlled_frame()
    df.loc[[8, 9], ["gmv", "pv"]] = np.nan  # plan rows: the controls are known there
    panel = load_panel(df, CONTROLLED, allow_missing_target=True)
    assert panel.control_names == ("price", "promo") and panel.controls.shape == (2, 10, 2)
    np.testing.assert_allclose(panel.controls[1, :, 0], df["price"].to_numpy()[10:])
    plan = panel.select_time(8, 10).select_shops([1])
    np.testing.assert_allclose(plan.controls[0], df[["price", "promo"]].to_numpy()[18:20])
    back = load_panel(panel.to_frame(), CONTROLLED, allow_missing_target=True)
    np.testing.assert_allclose(back.controls, panel.controls)
    assert panel.summary()["controls"] == ["price", "promo"]


@pytest.mark.parametrize("row", [4, 9])  # a history row, a plan row
def test_a_row_without_its_control_names_column_shop_and_row(row):
    df = _controlled_frame()
    df.loc[[8, 9], ["gmv", "pv"]] = np.nan
    df.loc[row, "promo"] = np.nan
    with pytest.raises(InputError, match=rf"column 'promo' \(--controls\), shop 'a', row {row} .*known on every row"):
        load_panel(df, CONTROLLED, allow_missing_target=True)


def test_filled_gaps_carry_the_controls_of_the_day_before():
    df = _controlled_frame().drop(index=[3, 4])
    panel = load_panel(df, CONTROLLED, fill_gaps="zero")
    np.testing.assert_allclose(panel.controls[0, 3], df.loc[2, ["price", "promo"]].to_numpy(dtype=float))
    np.testing.assert_allclose(panel.controls[0, 4], panel.controls[0, 3])


def test_a_column_cannot_be_a_control_and_a_channel():
    with pytest.raises(InputError, match="'tv' is named by both --channels and --controls"):
        load_panel(_controlled_frame(), ColumnSpec(target="gmv", channels=("tv", "search"), controls=("tv",)))


def test_context_agg_first_and_mean():
    df = long_frame(n_shops=2, n_days=4)
    df.loc[[0, 1, 2, 3], "size"] = [1.0, 2.0, 3.0, 6.0]
    df = df.iloc[[1, 0, 2, 3, 4, 5, 6, 7]]  # the earliest date is not the first row
    assert load_panel(df, SPEC, context_agg="first").context[0, 0] == 1.0
    assert load_panel(df, SPEC, context_agg="mean").context[0, 0] == 3.0


def test_constant_channel_warns():
    df = long_frame()
    df["search"] = 0.0
    panel = load_panel(df, SPEC)
    assert any("channel 'search' is zero everywhere" in w for w in panel.warnings)
    df["search"] = np.repeat([1.0, 2.0, 3.0], 12)
    assert any("'search' is constant within every shop" in w for w in load_panel(df, SPEC).warnings)


def test_shop_ids_keep_leading_zeros(tmp_path):
    df = long_frame(n_shops=2)
    df["shop"] = np.where(df["shop"] == "a", "007", "010")
    df.to_csv(tmp_path / "p.csv", index=False)
    assert load_panel(tmp_path / "p.csv", SPEC).shops == ("007", "010")


# ------------------------------------------------------------------------------------------------ defaults
def test_spec_from_args_defaults():
    ns = argparse.Namespace(target="y", channels=("a",), mediators=(), context=(), shop_col=None, date_col=None)
    assert spec_from_args(ns, ["shop_id", "ds", "a", "y"]).shop_col == "shop_id"
    assert spec_from_args(ns, ["shop", "shop_id", "date", "ds"]).shop_col == "shop"
    assert spec_from_args(ns, ["shop", "shop_id", "date", "ds"]).date_col == "date"
    assert spec_from_args(ns, ["ds", "a", "y"]).date_col == "ds"
    with pytest.raises(InputError, match="--date-col"):
        spec_from_args(ns, ["when", "a", "y"])
    ns.shop_col = "store"
    with pytest.raises(InputError, match="--shop-col names 'store'"):
        spec_from_args(ns, ["shop", "date", "a", "y"])


def test_single_unit_table_is_one_shop(tmp_path):
    df = long_frame(n_shops=1).drop(columns="shop")
    df.to_csv(tmp_path / "one.csv", index=False)
    panel, spec = panel_from_args(_args(tmp_path / "one.csv", target="gmv", channels=("tv", "search")))
    assert panel.shops == ("shop0",) and panel.n_time == 12


def test_read_table_suffixes(tmp_path):
    df = long_frame()
    df.to_csv(tmp_path / "a.csv.gz", index=False)
    df.to_parquet(tmp_path / "a.pq", index=False)
    assert len(read_table(tmp_path / "a.csv.gz")) == len(read_table(tmp_path / "a.pq")) == 36
    (tmp_path / "a.xlsx").write_text("x")
    with pytest.raises(InputError, match="unknown file type"):
        read_table(tmp_path / "a.xlsx")
    with pytest.raises(FileNotFoundError, match="no such file"):
        read_table(tmp_path / "missing.csv")


def test_data_package_imports_no_engine():
    code = ("import sys, causalmmm_ppl.data, causalmmm_ppl.commands.validate; "
            "print(','.join(m for m in ('torch', 'jax', 'pyro', 'numpyro') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


# ------------------------------------------------------------------------------------------------ peer data
def test_pymc_marketing_example_loads(shared_data):
    path = shared_data / "pymc-marketing" / "mmm_example.csv"
    panel, _ = panel_from_args(_args(path, target="y", channels=("x1", "x2", "event_1", "event_2"),
                                     date_col="date_week"))
    assert panel.shops == ("shop0",) and panel.freq == "W-MON" and panel.n_time == 179
    raw = pd.read_csv(path)
    np.testing.assert_array_equal(panel.values[0, :, -1], raw["y"].to_numpy())


def test_meridian_geo_panel_loads(shared_data):
    path = shared_data / "meridian" / "geo_all_channels.csv"
    channels = tuple(f"Channel{i}_spend" for i in range(5))
    panel, _ = panel_from_args(_args(path, target="conversions", channels=channels, context=("population",),
                                     shop_col="geo", date_col="time"))
    assert panel.n_shops == 40 and panel.n_time == 156 and panel.freq == "W-MON"
    assert panel.shops[:3] == ("Geo0", "Geo1", "Geo10") and panel.observed.all()


# ------------------------------------------------------------------------------------------- numbered periods
def test_numbered_weeks_load_on_a_nominal_calendar_and_write_back_as_numbers():
    """``freq="W"``: the date column holds week numbers; the grid is weekly from a fixed origin, ragged shops keep
    their own range, and tables written from the panel number the weeks as the input did."""
    weeks = list(range(1, 13))
    frame = pd.concat([
        pd.DataFrame({"shop": "a", "week": weeks, "tv": np.arange(12.0) + 1, "sales": np.arange(12.0) + 5}),
        pd.DataFrame({"shop": "b", "week": weeks[3:], "tv": np.ones(9), "sales": np.ones(9) * 2}),
    ])
    spec = ColumnSpec(target="sales", channels=("tv",), date_col="week")
    panel = load_panel(frame, spec, freq="W")
    assert panel.period_index and panel.freq.startswith("W") and panel.n_time == 12
    assert panel.dates[0] == pd.Timestamp("2001-01-08")  # week 1 = one week after period 0 (Monday 2001-01-01)
    assert panel.observed[1, :3].sum() == 0 and panel.observed[1, 3:].all()
    back = panel.to_frame(date_col="week")
    assert back["week"].tolist() == weeks + weeks[3:]
    assert panel.summary()["date_min"] == "1" and panel.summary()["date_max"] == "12"
    assert_panels_equal(load_panel(back, spec, freq="W"), panel)
    daily = load_panel(frame.assign(week=frame["week"].astype(str)), spec, freq="D")  # text digits, daily periods
    assert daily.freq == "D" and daily.dates[1] - daily.dates[0] == pd.Timedelta(days=1)
    # without --freq the same integers are read as YYYYMMDD dates, which they are not
    with pytest.raises(InputError, match="cannot read the date"):
        load_panel(frame, spec)


@pytest.mark.parametrize("bad, problem", [(2.5, "not a whole period number"), ("w3", "not a whole period number"),
                                          (None, "empty period")])
def test_a_period_that_is_not_a_whole_number_is_one_line_naming_column_shop_and_row(bad, problem):
    frame = pd.DataFrame({"shop": "a", "week": [1, 2, 3, 4], "tv": 1.0, "sales": 2.0}).astype({"week": object})
    frame.loc[2, "week"] = bad
    with pytest.raises(InputError, match=problem) as info:
        load_panel(frame, ColumnSpec(target="sales", channels=("tv",), date_col="week"), freq="W")
    assert "'week'" in str(info.value) and "shop 'a'" in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(InputError, match="freq must be one of"):
        load_panel(frame, ColumnSpec(target="sales", channels=("tv",), date_col="week"), freq="M")


def test_period_numbers_beyond_the_nominal_calendar_are_one_line():
    """Year-and-week codes (202401, …) are not period numbers: their nominal dates would pass 2262, where the
    calendar features and InferenceData coordinates end."""
    frame = pd.DataFrame({"shop": "a", "week": [202401, 202402, 202403], "tv": 1.0, "sales": 2.0})
    with pytest.raises(InputError, match="out of range: with --freq W period numbers run from") as info:
        load_panel(frame, ColumnSpec(target="sales", channels=("tv",), date_col="week"), freq="W")
    assert "202401" in str(info.value) and "\n" not in str(info.value)
