"""Checks on the shop and date columns of user panels, and on the date grid they make: shop labels, dates or period
numbers, duplicates, the grid's step, gaps and the trailing plan rows. Messages follow
:mod:`causalmmm_ppl.data.validate` (one :class:`~causalmmm_ppl.errors.InputError` line naming file, column, shop and
row).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from causalmmm_ppl.data.validate import Source, _col, _shop

__all__ = ["shop_labels", "parse_dates", "parse_periods", "check_duplicates", "infer_step", "check_trailing_target",
           "find_gaps"]

STEPS = {1: "daily", 7: "weekly"}
_WEEKDAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")


def _day(day: int | np.integer) -> str:
    return str(np.datetime64(int(day), "D"))


def shop_labels(series: pd.Series, column: str, source: Source) -> np.ndarray:
    """Shop identifiers as strings (surrounding spaces dropped; integral floats written without ``.0``).

    Returns
    -------
    (row,) object array of str
    """
    missing = series.isna().to_numpy()
    if missing.any():
        i = int(np.flatnonzero(missing)[0])
        raise source.fail(_col(column, "shop_col"), source.row(i), problem="empty shop identifier")
    if pd.api.types.is_float_dtype(series.dtype) and np.all(np.mod(series.to_numpy(), 1) == 0):
        series = series.astype(np.int64)
    labels = series.astype(str).str.strip().to_numpy(dtype=object)
    empty = np.flatnonzero(labels == "")
    if empty.size:
        raise source.fail(_col(column, "shop_col"), source.row(int(empty[0])), problem="empty shop identifier")
    return labels


def parse_dates(series: pd.Series, column: str, shops: np.ndarray, source: Source) -> np.ndarray:
    """Dates as whole days since 1970-01-01.

    Accepts datetimes, ISO 8601 text (``2020-01-31``, ``2020-01-31T00:00``) and integer or text ``YYYYMMDD``
    (e.g. AirMMM's ``ds`` = 20200131). Time zones are dropped (local wall time is kept); a time of day other
    than midnight is an error.

    Parameters
    ----------
    series : (row,)
    shops : (row,) str
        For messages.

    Returns
    -------
    (row,) int64 days
    """
    parsed = _to_datetime(series)
    bad = np.flatnonzero(parsed.isna().to_numpy())
    if bad.size:
        i = int(bad[0])
        raw = series.iloc[i]
        problem = ("empty date" if pd.isna(raw) or str(raw).strip() == "" else
                   f"cannot read the date {raw!r}; use ISO dates (2020-01-31) or YYYYMMDD (20200131)")
        raise source.fail(_col(column, "date_col"), _shop(str(shops[i])), source.row(i), problem=problem)
    if getattr(parsed.dt, "tz", None) is not None:
        parsed = parsed.dt.tz_localize(None)
    stamps = parsed.to_numpy(dtype="datetime64[ns]")
    days = stamps.astype("datetime64[D]")
    off = np.flatnonzero(days != stamps)
    if off.size:
        i = int(off[0])
        raise source.fail(_col(column, "date_col"), _shop(str(shops[i])), source.row(i),
                          problem=f"{series.iloc[i]!r} has a time of day; the panel needs one row per day or week")
    return days.astype(np.int64)


def parse_periods(series: pd.Series, column: str, shops: np.ndarray, source: Source, freq: str) -> np.ndarray:
    """Integer period numbers (``--freq D`` or ``W``) as whole days since 1970-01-01 on the nominal calendar of
    :data:`causalmmm_ppl.data.panel.PERIOD_ORIGIN` (period 0 on that Monday, one day or one week per period).

    Parameters
    ----------
    series : (row,) integers, or floats or text that hold whole numbers
    shops : (row,) str
        For messages.

    Returns
    -------
    (row,) int64 days
    """
    from causalmmm_ppl.data.panel import period_days, period_range

    numbers = pd.to_numeric(series.astype(object).where(series.notna(), None), errors="coerce")
    whole = (numbers.notna() & (np.mod(numbers.fillna(0.5), 1) == 0)).to_numpy()
    bad = np.flatnonzero(~whole)
    if bad.size:
        i = int(bad[0])
        raw = series.iloc[i]
        problem = ("empty period" if pd.isna(raw) or str(raw).strip() == "" else
                   f"{raw!r} is not a whole period number; with --freq {freq} the column holds period numbers "
                   f"(1, 2, 3, …), without it dates")
        raise source.fail(_col(column, "date_col"), _shop(str(shops[i])), source.row(i), problem=problem)
    first, last = period_range(freq)
    far = np.flatnonzero((numbers.to_numpy() < first) | (numbers.to_numpy() > last))
    if far.size:
        i = int(far[0])
        raise source.fail(_col(column, "date_col"), _shop(str(shops[i])), source.row(i), problem=(
            f"period {series.iloc[i]!r} is out of range: with --freq {freq} period numbers run from {first} to {last} "
            "(number the periods from 1, not as years and weeks)"))
    return period_days(numbers.to_numpy(), freq)


def _to_datetime(series: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        return series
    if pd.api.types.is_integer_dtype(series.dtype):
        return pd.to_datetime(series.astype(str), format="%Y%m%d", errors="coerce")
    if pd.api.types.is_float_dtype(series.dtype):
        ints = series.where(np.mod(series, 1) == 0)
        return pd.to_datetime(ints.astype("Int64").astype(str), format="%Y%m%d", errors="coerce")
    text = series.astype(object).where(series.notna(), None).astype(str).str.strip()
    text = text.where(series.notna().to_numpy(), "")
    if text.str.fullmatch(r"\d{8}").all():
        return pd.to_datetime(text, format="%Y%m%d", errors="coerce")
    return pd.to_datetime(text.where(text != "", None), format="ISO8601", errors="coerce")


def check_duplicates(codes: np.ndarray, days: np.ndarray, shops: Sequence[str], source: Source, *,
                     hint: str = "") -> None:
    """Reject two rows for the same shop and date.

    Parameters
    ----------
    codes : (row,) int
        Shop index of each row.
    days : (row,) int
        Date of each row (days since epoch).
    shops : (shop,) str
    hint
        Appended to the message (e.g. that a missing shop column made the table one shop).
    """
    key = pd.DataFrame({"shop": codes, "day": days})
    dup = np.flatnonzero(key.duplicated(keep="first").to_numpy())
    if dup.size:
        i = int(dup[0])
        j = int(np.flatnonzero((codes == codes[i]) & (days == days[i]))[0])
        raise source.fail(_shop(str(shops[codes[i]])), problem=(
            f"date {_day(days[i])} appears more than once ({source.row(j)} and {source.row(i)}); "
            f"the panel needs one row per shop and date{hint}"))


def infer_step(codes: np.ndarray, days: np.ndarray, shops: Sequence[str], date_col: str,
               source: Source) -> tuple[int, str]:
    """The grid spacing (the most common gap between a shop's consecutive dates: 1 or 7 days; where no shop has
    two rows, 7 when every gap between the panel's dates is a whole number of weeks) and its frequency.

    Parameters
    ----------
    codes, days : (row,) int
        Shop index and date of each row (no duplicate pairs).

    Returns
    -------
    step
        1 (daily) or 7 (weekly).
    freq
        ``"D"`` or ``"W-MON"``..``"W-SUN"`` (the weekday of the panel's first date).
    """
    order = np.lexsort((days, codes))
    c, d = codes[order], days[order]
    same = c[1:] == c[:-1]
    gaps = np.diff(d)[same]
    if gaps.size == 0:  # no shop has two rows: the spacing of the panel's dates, pooled over shops
        pooled = np.diff(np.unique(d))
        step = 7 if pooled.size and np.gcd.reduce(pooled) % 7 == 0 else 1
    else:
        vals, counts = np.unique(gaps, return_counts=True)
        step = int(vals[np.argmax(counts)])
    if step not in STEPS:
        k = int(np.flatnonzero(same & (np.diff(d) == step))[0])
        raise source.fail(_col(date_col, "date_col"), _shop(str(shops[c[k]])), problem=(
            f"dates are most often {step} days apart (e.g. {_day(d[k])} to {_day(d[k + 1])}); "
            "only daily (1 day) or weekly (7 days) panels are supported"))
    start = int(days.min())
    if step == 1:
        return 1, "D"
    off = np.flatnonzero((days - start) % step != 0)
    if off.size:
        i = int(off[0])
        weekday = _WEEKDAYS[int((start + 3) % 7)]  # 1970-01-01 was a Thursday
        raise source.fail(_col(date_col, "date_col"), _shop(str(shops[codes[i]])), source.row(i), problem=(
            f"date {_day(days[i])} is off the weekly grid (the panel's weeks start on {weekday}, "
            f"from {_day(start)}); use the same weekday for every row"))
    return step, f"W-{_WEEKDAYS[int((start + 3) % 7)]}"


# ----------------------------------------------------------------------------------------- grid-level checks
def check_trailing_target(target_nan: np.ndarray, codes: np.ndarray, t: np.ndarray, n_shops: int,
                          target: str, shops: Sequence[str], grid_days: np.ndarray, source: Source) -> np.ndarray:
    """An empty target is allowed only on a shop's trailing rows (the plan to forecast).

    Parameters
    ----------
    target_nan : (row,) bool
        Rows whose target is empty.
    codes, t : (row,) int
        Shop index and grid position of each row.
    grid_days : (time,) int
        The date grid, for messages.

    Returns
    -------
    last_observed : (shop,) int
        Grid position of each shop's last observed target, -1 where there is none.
    """
    last = np.full(n_shops, -1, dtype=np.int64)
    np.maximum.at(last, codes[~target_nan], t[~target_nan])
    bad = np.flatnonzero(target_nan & (t < last[codes]))
    if bad.size:
        i = int(bad[0])
        raise source.fail(_col(target, "target"), _shop(str(shops[codes[i]])), source.row(i), problem=(
            f"empty target before the shop's last observed target ({_day(grid_days[last[codes[i]]])}); "
            "an empty target is allowed only on a shop's last rows (the plan to forecast)"))
    return last


def find_gaps(codes: np.ndarray, t: np.ndarray, n_shops: int, n_time: int, shops: Sequence[str],
              grid_days: np.ndarray, freq: str, *, fill_gaps: str, date_col: str,
              source: Source) -> tuple[np.ndarray | None, list[str]]:
    """Missing grid dates inside each shop's own date range, found from the rows (before any grid is built).

    Parameters
    ----------
    codes, t : (row,) int
        Shop index and grid position of each row (no duplicate pairs).
    grid_days : (time,) int
        The date grid, for messages.

    Returns
    -------
    gaps : (shop, time) bool or None
        Dates to fill with zeros (``fill_gaps == "zero"``); None when there are none.
    warnings
        One message when gaps were filled.
    """
    order = np.lexsort((t, codes))
    c, tt = codes[order], t[order]
    jumps = np.flatnonzero((c[1:] == c[:-1]) & (np.diff(tt) > 1))
    if not jumps.size:
        return None, []
    first = np.full(n_shops, n_time, dtype=np.int64)
    last = np.full(n_shops, -1, dtype=np.int64)
    np.minimum.at(first, codes, t)
    np.maximum.at(last, codes, t)
    missing = (last - first + 1) - np.bincount(codes, minlength=n_shops)
    k = int(jumps[0])
    s = int(c[k])
    first_gap = _day(grid_days[tt[k] + 1])
    unit = "day" if freq == "D" else "week"
    if fill_gaps != "zero":
        raise source.fail(_col(date_col, "date_col"), _shop(str(shops[s])), problem=(
            f"{int(missing[s])} missing {unit}(s) between {_day(grid_days[first[s]])} and "
            f"{_day(grid_days[last[s]])}, the first {first_gap}; add the rows or pass --fill-gaps zero"))
    present = np.zeros((n_shops, n_time), dtype=bool)
    present[codes, t] = True
    steps = np.arange(n_time)
    gaps = (steps >= first[:, None]) & (steps <= last[:, None]) & ~present
    warning = (f"filled {int(missing.sum())} missing {unit}(s) with zero in {int((missing > 0).sum())} shop(s) "
               f"(first: shop {shops[s]!r}, {first_gap})")
    return gaps, [warning]
