"""Validation: every bad input is one InputError line naming the file, column, shop and/or row."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from causalmmm_ppl.data import ColumnSpec, load_panel
from causalmmm_ppl.errors import InputError
from tests.data.fixtures.panels import SPEC, long_frame, spec_of, valid_panels


def _error(df, spec=SPEC, **kw) -> str:
    with pytest.raises(InputError) as info:
        load_panel(df, spec, **kw)
    msg = str(info.value)
    assert "\n" not in msg
    return msg


def _spec(**kw) -> ColumnSpec:
    return ColumnSpec(**{**SPEC.to_dict(), **kw})


# ------------------------------------------------------------------------------------------- flags and columns
def test_missing_column_names_the_flag_and_suggests():
    msg = _error(long_frame(), _spec(channels=("tv", "serch")))
    assert "--channels names 'serch'" in msg and "did you mean 'search'" in msg


@pytest.mark.parametrize("field", ["target", "mediators", "context", "date_col"])
def test_missing_column_for_each_flag(field):
    value = "nope" if field in ("target", "date_col") else ("nope",)
    flag = {"target": "--target", "mediators": "--mediators", "context": "--context", "date_col": "--date-col"}
    assert f"{flag[field]} names 'nope'" in _error(long_frame(), _spec(**{field: value}))


def test_duplicated_header_in_frame():
    df = long_frame()
    df.columns = ["shop", "date", "tv", "tv", "pv", "gmv", "size"]
    assert "column 'tv'" in _error(df, _spec(channels=("tv",))) and "2 times" in _error(df, _spec(channels=("tv",)))


def test_duplicated_header_in_csv(tmp_path):
    path = tmp_path / "d.csv"
    long_frame().rename(columns={"search": "tv"}).to_csv(path, index=False)
    msg = _error(path, _spec(channels=("tv",)))
    assert msg.startswith(str(path)) and "column 'tv'" in msg and "appears 2 times" in msg


@pytest.mark.parametrize(("kw", "text"), [
    (dict(channels=("tv", "gmv")), "target 'gmv' (--target) is also listed in --channels"),
    (dict(mediators=("gmv",)), "also listed in --mediators"),
    (dict(context=("tv",)), "'tv' is named by both --channels and --context"),
    (dict(channels=("tv", "tv")), "--channels lists 'tv' more than once"),
    (dict(channels=("tv", "date")), "'date' is named by both --channels and --date-col"),
])
def test_conflicting_flags(kw, text):
    assert text in _error(long_frame(), _spec(**kw))


def test_empty_table():
    assert "no data rows" in _error(long_frame().iloc[:0])


# --------------------------------------------------------------------------------------------------- values
def test_non_numeric_value_names_row_and_value(tmp_path):
    df = long_frame()
    df["tv"] = df["tv"].astype(object)
    df.loc[5, "tv"] = "12,5"
    msg = _error(df)
    assert "column 'tv' (--channels)" in msg and "row 5 (0-based)" in msg and "'12,5'" in msg
    path = tmp_path / "n.csv"
    df.to_csv(path, index=False)
    msg = _error(path)
    assert msg.startswith(f"{path}: ") and "line 7" in msg and "shop 'a'" in msg


def test_non_numeric_context():
    df = long_frame()
    df["size"] = df["size"].astype(object)
    df.loc[30, "size"] = "big"
    msg = _error(df)
    assert "column 'size' (--context)" in msg and "shop 'c'" in msg and "'big'" in msg


@pytest.mark.parametrize(("col", "value", "text"), [
    ("tv", -1.0, "negative value -1"),
    ("pv", -2.5, "negative value -2.5"),
    ("tv", np.nan, "empty or NaN"),
    ("pv", np.inf, "infinite"),
    ("size", np.nan, "empty or NaN"),
    ("gmv", np.nan, "empty or NaN"),
    ("gmv", np.inf, "infinite"),
])
def test_bad_values(col, value, text):
    df = long_frame()
    df.loc[14, col] = value
    msg = _error(df)
    assert f"column '{col}'" in msg and "shop 'b'" in msg and "row 14 (0-based)" in msg and text in msg


def test_negative_target_is_allowed():
    df = long_frame()
    df.loc[3, "gmv"] = -10.0
    assert load_panel(df, SPEC).values[0, 3, -1] == -10.0


def test_empty_target_only_on_trailing_rows():
    df = long_frame()
    df.loc[[20, 23], "gmv"] = np.nan  # shop b, not trailing
    msg = _error(df, allow_missing_target=True)
    assert "column 'gmv' (--target)" in msg and "shop 'b'" in msg and "row 20" in msg and "last rows" in msg


def test_empty_mediator_only_where_target_is_empty():
    df = long_frame()
    df.loc[11, "gmv"] = np.nan
    df.loc[10, "pv"] = np.nan
    msg = _error(df, allow_missing_target=True)
    assert "column 'pv' (--mediators)" in msg and "row 10" in msg


# --------------------------------------------------------------------------------------------- shops and dates
def test_duplicate_shop_date():
    df = long_frame()
    df.loc[5, "date"] = df.loc[4, "date"]
    msg = _error(df)
    assert "shop 'a'" in msg and "2021-03-05 appears more than once" in msg and "row 4" in msg and "row 5" in msg


def test_duplicate_dates_without_shop_column_hint():
    msg = _error(long_frame().drop(columns="shop"))
    assert "read as one shop" in msg and "--shop-col" in msg


def test_gap_names_shop_and_first_missing_date():
    df = long_frame().drop(index=[16, 17])
    msg = _error(df)
    assert "shop 'b'" in msg and "2 missing day(s)" in msg and "2021-03-05" in msg and "--fill-gaps zero" in msg


def test_bad_date_text():
    df = long_frame()
    df.loc[7, "date"] = "03/08/2021"
    msg = _error(df)
    assert "column 'date' (--date-col)" in msg and "row 7" in msg and "'03/08/2021'" in msg


def test_irregular_spacing_is_an_error():
    df = long_frame(n_shops=1, n_days=5)
    df["date"] = pd.date_range("2021-01-01", periods=5, freq="3D").strftime("%Y-%m-%d")
    assert "3 days apart" in _error(df) and "shop 'a'" in _error(df)


def test_off_weekly_grid():
    df = long_frame(n_shops=2, n_days=6)
    df["date"] = np.tile(pd.date_range("2021-01-04", periods=6, freq="W-MON").strftime("%Y-%m-%d"), 2)
    df.loc[6:, "date"] = pd.date_range("2021-01-05", periods=6, freq="W-TUE").strftime("%Y-%m-%d")
    msg = _error(df)
    assert "shop 'b'" in msg and "off the weekly grid" in msg and "MON" in msg


def test_context_varies_within_shop():
    df = long_frame()
    df.loc[27, "size"] = 99.0
    msg = _error(df)
    assert "column 'size' (--context)" in msg and "shop 'c'" in msg and "--context-agg" in msg


def test_too_few_days_for_window():
    df = long_frame()
    df = df[~((df["shop"] == "b") & (df.index > 16))]
    msg = _error(df, min_days=8)
    assert "shop 'b'" in msg and "5 fully observed" in msg and "window length 8" in msg
    assert load_panel(df, SPEC, min_days=5).n_shops == 3


@pytest.mark.parametrize(("kw", "text"), [(dict(fill_gaps="nope"), "fill_gaps"), (dict(context_agg="x"), "context_agg"),
                                          (dict(min_days=0), "at least 1")])
def test_bad_options(kw, text):
    assert text in _error(long_frame(), **kw)


# --------------------------------------------------------------------------------------------- property tests
@given(panel=valid_panels(allow_plan=False), data=st.data())
def test_injected_negative_or_nan_is_caught_and_named(panel, data):
    frame = panel.to_frame()
    spec = spec_of(panel)
    row = data.draw(st.integers(0, len(frame) - 1), label="row")
    kinds = dict(zip(panel.nodes, panel.node_kinds))
    bad = data.draw(st.sampled_from(["negative", "nan", "inf"]), label="bad")
    candidates = [n for n in panel.nodes if bad != "negative" or kinds[n] != "target"]
    candidates += list(panel.context_names) if bad != "negative" else []
    col = data.draw(st.sampled_from(candidates), label="column")
    frame.loc[row, col] = {"negative": -1.0 - abs(frame.loc[row, col]), "nan": np.nan, "inf": np.inf}[bad]
    with pytest.raises(InputError) as info:
        load_panel(frame, spec)
    msg = str(info.value)
    assert f"column {col!r}" in msg and f"shop {frame.loc[row, 'shop']!r}" in msg and f"row {row} " in msg


@given(panel=valid_panels(), data=st.data())
def test_valid_panels_load_after_row_shuffle(panel, data):
    frame = panel.to_frame()
    perm = data.draw(st.permutations(range(len(frame))), label="order")
    back = load_panel(frame.iloc[list(perm)], spec_of(panel), allow_missing_target=True)
    order = [back.shops.index(s) for s in panel.shops]
    np.testing.assert_array_equal(back.values[order], panel.values)
    np.testing.assert_array_equal(back.observed[order], panel.observed)
    assert back.dates.equals(panel.dates)


@given(panel=valid_panels(allow_plan=False), data=st.data())
def test_dropped_interior_row_is_a_gap_or_filled(panel, data):
    frame = panel.to_frame()
    long_shop = frame["shop"].map(frame["shop"].value_counts()) >= 4  # keeps the modal spacing the grid's
    inner = frame.index[(frame["shop"] == frame["shop"].shift()) & (frame["shop"] == frame["shop"].shift(-1))
                        & long_shop]
    if not len(inner):
        return
    row = data.draw(st.sampled_from(list(inner)), label="row")
    shop, date = frame.loc[row, "shop"], frame.loc[row, "date"]
    damaged = frame.drop(index=row)
    msg = _error(damaged, spec_of(panel))
    assert f"shop {shop!r}" in msg and f"the first {date.date()}" in msg
    filled = load_panel(damaged, spec_of(panel), fill_gaps="zero")
    s, t = panel.shops.index(shop), panel.dates.get_loc(date)
    assert filled.observed[s, t].all() and (filled.values[s, t] == 0).all()
    assert filled.warnings and "filled 1 missing" in filled.warnings[0]


def test_gap_in_plan_rows_fills_channels_only():
    df = long_frame(n_shops=1, n_days=8)
    df.loc[5:, ["gmv", "pv"]] = np.nan
    panel = load_panel(df.drop(index=6), SPEC, allow_missing_target=True, fill_gaps="zero")
    assert panel.mask.all() and not panel.target_observed[0, 5:].any() and not panel.observed[0, 6, 2]


@pytest.mark.parametrize("dates, freq, n_time", [(["2022-01-24", "2022-01-03", "2022-01-10"], "W-MON", 4),
                                                  (["2022-01-05", "2022-01-03", "2022-01-10"], "D", 8)])
def test_one_row_per_shop_takes_the_spacing_of_the_panels_dates(dates, freq, n_time):
    """No shop has two rows: the grid is weekly when every gap between the panel's dates is a whole number of
    weeks, else daily."""
    frame = pd.DataFrame({"shop": ["s0", "s1", "s2"], "date": dates, "ch0": [1.0, 2.0, 3.0], "y": [4.0, 5.0, 6.0]})
    panel = load_panel(frame, ColumnSpec(target="y", channels=("ch0",)), allow_missing_target=True)
    assert panel.freq == freq and panel.n_time == n_time
