"""Checks on user panels: every problem becomes one :class:`~causalmmm_ppl.errors.InputError` line.

Each message names what the user needs to find the problem: the file (when the panel came from a file), the column
(and the flag that named it), the shop, the row, and the offending value. Rows are reported as

* ``line N`` for CSV files: the 1-based line of the file, the header being line 1 (this assumes one record per
  line, i.e. no quoted line breaks and no blank lines);
* ``row N (0-based)`` for Parquet files and DataFrames: the position of the row in the table.

Warnings (problems that do not stop a fit) are returned as strings and end up in ``Panel.warnings``; nothing here
prints. Never ``assert`` on user input: every check raises :class:`InputError`.

The functions work on whole columns at once (numpy/pandas); loops run over columns, never over rows.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from causalmmm_ppl.data.panel import ColumnSpec
from causalmmm_ppl.errors import InputError

__all__ = [
    "Source",
    "FLAG_OF_FIELD",
    "check_header",
    "check_spec",
    "check_options",
    "numeric_column",
    "check_values",
    "aggregate_context",
    "constant_node_warnings",
    "target_warnings",
    "check_span",
    "check_min_days",
    "column_listing",
]

#: The command-line flag behind each ColumnSpec field (used in messages).
FLAG_OF_FIELD = {
    "target": "--target",
    "channels": "--channels",
    "mediators": "--mediators",
    "context": "--context",
    "controls": "--controls",
    "shop_col": "--shop-col",
    "date_col": "--date-col",
}

FILL_GAPS = ("error", "zero")
CONTEXT_AGG = ("error", "first", "mean")
#: ``--freq`` of a table whose date column holds period numbers: "" (it holds dates), daily or weekly periods.
PERIOD_FREQS = ("", "D", "W")
_MAX_LISTED = 12
#: Largest |value| accepted anywhere: the model computes in float32 (max 3.4e38), with room for sums and intervals.
MAX_MAGNITUDE = 1e30
#: Largest ratio of a shop's largest to smallest nonzero |value| in one column.
MAX_SPAN = 1e12


# ------------------------------------------------------------------------------------------------ the source
@dataclass(frozen=True)
class Source:
    """Where a table came from, for messages.

    Attributes
    ----------
    name
        The file path as the user gave it, or ``""`` for an in-memory DataFrame.
    kind
        ``"csv"``, ``"parquet"`` or ``"frame"``; decides how rows are named (see the module docstring).
    """

    name: str = ""
    kind: str = "frame"
    rows: tuple[int, ...] | None = None  # the file's row of each frame row, when the frame is a part of the file

    def row(self, i: int) -> str:
        """Name the 0-based frame row ``i`` the way the user finds it (CSV line or 0-based row)."""
        if self.rows is not None:
            i = self.rows[int(i)]
        if self.kind == "csv":
            return f"line {int(i) + 2}"
        return f"row {int(i)} (0-based)"

    def fail(self, *parts: str | None, problem: str) -> InputError:
        """An :class:`InputError` whose one-line message is ``"file: part, part: problem"``."""
        where = ", ".join(p for p in parts if p)
        text = f"{where}: {problem}" if where else problem
        if self.name:
            text = f"{self.name}: {text}"
        return InputError(" ".join(text.split()))


def _col(name: str, field: str | None = None) -> str:
    flag = f" ({FLAG_OF_FIELD[field]})" if field else ""
    return f"column {name!r}{flag}"


def _shop(name: str) -> str:
    return f"shop {name!r}"


def column_listing(names: Sequence[str]) -> str:
    """Column names for a message, the first dozen and a count."""
    names = [str(n) for n in names]
    shown = ", ".join(names[:_MAX_LISTED])
    return shown + (f", ... ({len(names)} in all)" if len(names) > _MAX_LISTED else "")


# ------------------------------------------------------------------------------------------- columns and flags
def check_options(fill_gaps: str, context_agg: str, min_days: int | None, freq: str = "") -> None:
    """Check the loader options (programming or flag errors)."""
    if freq not in PERIOD_FREQS:
        raise InputError(f"freq must be one of {', '.join(repr(f) for f in PERIOD_FREQS)}, not {freq!r}")
    if fill_gaps not in FILL_GAPS:
        raise InputError(f"fill_gaps must be one of {', '.join(FILL_GAPS)}, not {fill_gaps!r}")
    if context_agg not in CONTEXT_AGG:
        raise InputError(f"context_agg must be one of {', '.join(CONTEXT_AGG)}, not {context_agg!r}")
    if min_days is not None and (isinstance(min_days, bool) or not isinstance(min_days, (int, np.integer))):
        raise InputError(f"the window length (min_days) must be an integer, not {min_days!r}")
    if min_days is not None and min_days < 1:
        raise InputError(f"the window length (min_days) must be at least 1, not {min_days}")


def check_header(names: Sequence[object], source: Source) -> None:
    """Reject duplicated column names (pandas would silently rename them ``x.1``).

    Parameters
    ----------
    names : (column,)
        The raw header, before pandas de-duplicates it; missing (unnamed) entries are ignored.
    """
    named = pd.Series([str(n) for n in names if not (isinstance(n, float) and np.isnan(n)) and n is not None])
    counts = named.value_counts(sort=False)
    dup = counts[counts > 1]
    if len(dup):
        name, n = str(dup.index[0]), int(dup.iloc[0])
        raise source.fail(_col(name), problem=f"appears {n} times in the header; column names must be unique")


def check_spec(spec: ColumnSpec, columns: Sequence[str], source: Source, *, shop_required: bool) -> None:
    """Check the column flags against each other and against the table's columns.

    Parameters
    ----------
    spec
        The column roles.
    columns : (column,)
        The table's column names.
    source
        For messages.
    shop_required
        Whether ``spec.shop_col`` must exist (False: a missing shop column means one shop).
    """
    if not isinstance(spec.target, str) or not spec.target:
        raise source.fail(problem="no target column: name it with --target")
    if not spec.channels and not spec.mediators:
        raise source.fail(problem="no channel columns: name them with --channels")
    _check_no_repeats(spec, source)
    _check_roles_disjoint(spec, source)
    _check_present(spec, columns, source, shop_required=shop_required)


def _flag_items(spec: ColumnSpec) -> list[tuple[str, str]]:
    """(field, column) pairs for every column a flag names, flags in a fixed order."""
    items = [("target", spec.target)]
    items += [("channels", c) for c in spec.channels]
    items += [("mediators", c) for c in spec.mediators]
    items += [("context", c) for c in spec.context]
    items += [("controls", c) for c in spec.controls]
    items += [("date_col", spec.date_col), ("shop_col", spec.shop_col)]
    return items


def _check_no_repeats(spec: ColumnSpec, source: Source) -> None:
    for field in ("channels", "mediators", "context", "controls"):
        names = pd.Series(list(getattr(spec, field)), dtype=object)
        dup = names[names.duplicated()]
        if len(dup):
            raise source.fail(problem=f"{FLAG_OF_FIELD[field]} lists {dup.iloc[0]!r} more than once")


def _check_roles_disjoint(spec: ColumnSpec, source: Source) -> None:
    if spec.target in spec.channels:
        raise source.fail(problem=f"the target {spec.target!r} (--target) is also listed in --channels; "
                          "a column cannot be both the target and a channel")
    if spec.target in spec.mediators:
        raise source.fail(problem=f"the target {spec.target!r} (--target) is also listed in --mediators; "
                          "a column cannot be both the target and a mediator")
    # Channels and mediators may overlap on purpose (a name in both is a mediator); nothing else may.
    seen: dict[str, str] = {}
    for field, name in _flag_items(spec):
        other = seen.get(name)
        if other is not None and {other, field} != {"channels", "mediators"}:
            raise source.fail(problem=f"column {name!r} is named by both {FLAG_OF_FIELD[other]} and "
                              f"{FLAG_OF_FIELD[field]}; each column has one role")
        seen.setdefault(name, field)


def _check_present(spec: ColumnSpec, columns: Sequence[str], source: Source, *, shop_required: bool) -> None:
    have = set(map(str, columns))
    for field, name in _flag_items(spec):
        if name in have or (field == "shop_col" and not shop_required):
            continue
        close = difflib.get_close_matches(name, sorted(have), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        where = f"a column of {source.name}" if source.name else "a column of the table"
        raise InputError(
            f"{source.name + ': ' if source.name else ''}{FLAG_OF_FIELD[field]} names {name!r}, which is not "
            f"{where}{hint} (columns: {column_listing(list(columns))})"
        )


# ----------------------------------------------------------------------------------------------- cell values
def numeric_column(series: pd.Series, column: str, field: str, source: Source,
                   shops: np.ndarray | None = None) -> np.ndarray:
    """A column as float64, NaN where empty; text that is not a number is an error naming the row and value.

    Parameters
    ----------
    series : (row,)
        The raw column.
    shops : (row,) str, optional
        Each row's shop, for messages.

    Returns
    -------
    (row,) float64
    """
    if pd.api.types.is_bool_dtype(series.dtype):
        return series.to_numpy(dtype=np.float64, na_value=np.nan)
    if pd.api.types.is_numeric_dtype(series.dtype):
        return series.to_numpy(dtype=np.float64, na_value=np.nan)
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        raise source.fail(_col(column, field), problem=f"holds dates ({series.dtype}), not numbers")
    text = series.astype(object)
    blank = series.isna().to_numpy() | (text.astype(str).str.strip() == "").to_numpy()
    coerced = pd.to_numeric(text.where(~blank, np.nan), errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    bad = np.flatnonzero(np.isnan(coerced) & ~blank)
    if bad.size:
        i = int(bad[0])
        shop = _shop(str(shops[i])) if shops is not None else None
        raise source.fail(_col(column, field), shop, source.row(i),
                          problem=f"non-numeric value {text.iloc[i]!r} ({bad.size} such rows)")
    return coerced


def check_values(
    values: np.ndarray,
    column: str,
    field: str,
    shops: np.ndarray,
    source: Source,
    *,
    allow_nan: np.ndarray | bool = False,
    nonnegative: bool = False,
    nan_hint: str = "",
    span_check: bool = True,
) -> None:
    """Reject empty/NaN, infinite, absurdly large (beyond ``MAX_MAGNITUDE``) and (optionally) negative values in
    one column, and (``span_check``) a shop whose values span more than ``MAX_SPAN`` (:func:`check_span`).

    Parameters
    ----------
    values : (row,) float64
    shops : (row,) str
        Each row's shop, for messages.
    allow_nan : (row,) bool or bool
        Rows where an empty value is allowed (e.g. the target on plan rows).
    nonnegative
        Reject values < 0 (channels and mediators: spend and counts).
    nan_hint
        Appended to the message about empty values.
    span_check
        Also check each shop's span (node columns; context is one value per shop).
    """
    with np.errstate(invalid="ignore"):
        checks = [
            (np.isnan(values) & ~np.asarray(allow_nan, dtype=bool), "empty or NaN value" + nan_hint),
            (np.isinf(values), "infinite value"),
            (np.abs(values) > MAX_MAGNITUDE, f"value {{v}} is beyond {MAX_MAGNITUDE:g} (it overflows the "
                                             f"model's 32-bit arithmetic); rescale the column"),
        ]
        if nonnegative:
            checks.append((values < 0, "negative value {v}; channels and mediators must be >= 0"))
    for bad, problem in checks:
        rows = np.flatnonzero(bad)
        if rows.size:
            i = int(rows[0])
            more = f" ({rows.size} such rows)" if rows.size > 1 else ""
            raise source.fail(_col(column, field), _shop(str(shops[i])), source.row(i),
                              problem=problem.format(v=f"{values[i]:g}") + more)
    if span_check:
        check_span(values, column, field, shops, source)


def check_span(values: np.ndarray, column: str, field: str, shops: np.ndarray, source: Source) -> None:
    """Reject a shop whose nonzero values in one column span more than ``MAX_SPAN`` (largest / smallest |value|):
    scaled by the shop's mean, its small values would vanish below float32 resolution, or its large ones explode.

    Parameters
    ----------
    values : (row,) float64, finite where not NaN
    shops : (row,) str
    """
    size = np.abs(values)
    nonzero = np.isfinite(size) & (size > 0)
    if not nonzero.any():
        return
    frame = pd.DataFrame({"shop": np.asarray(shops, dtype=object)[nonzero], "size": size[nonzero]})
    rows = np.flatnonzero(nonzero)
    stats = frame.groupby("shop", sort=False)["size"].agg(["max", "min", "idxmax"])
    wide = stats[stats["max"] > MAX_SPAN * stats["min"]]
    if len(wide):
        shop, top = wide.index[0], wide.iloc[0]
        i = int(rows[int(top["idxmax"])])
        more = f" ({len(wide)} such shops)" if len(wide) > 1 else ""
        raise source.fail(_col(column, field), _shop(str(shop)), source.row(i), problem=(
            f"values span {top['min']:g} to {top['max']:g}, more than {MAX_SPAN:g}-fold within the shop{more}; "
            f"check the units of the column"))


def target_warnings(values: np.ndarray, observed: np.ndarray, nodes: Sequence[str], kinds: Sequence[str],
                    shops: Sequence[str]) -> list[str]:
    """Warn about a target that is negative somewhere, or zero on every observed day of a shop.

    Parameters
    ----------
    values, observed : (shop, time, node)
    """
    j = list(kinds).index("target")
    y, seen = values[..., j], observed[..., j]
    out = []
    negative = (seen & (y < 0)).any(1)
    if negative.any():
        s = int(np.flatnonzero(negative)[0])
        more = f" and {int(negative.sum()) - 1} more shop(s)" if negative.sum() > 1 else ""
        out.append(f"target {nodes[j]!r} is negative in shop {shops[s]!r}{more}; sales are usually >= 0 "
                   f"(check the column)")
    zero = seen.any(1) & ~(seen & (y != 0)).any(1)
    if zero.any():
        s = int(np.flatnonzero(zero)[0])
        more = f" and {int(zero.sum()) - 1} more shop(s)" if zero.sum() > 1 else ""
        out.append(f"target {nodes[j]!r} is zero on every day of shop {shops[s]!r}{more}; such a shop carries no "
                   f"information about effects")
    return out


def aggregate_context(ctx: np.ndarray, codes: np.ndarray, days: np.ndarray, n_shops: int,
                      names: Sequence[str], shops: Sequence[str], *, how: str, source: Source) -> np.ndarray:
    """One context vector per shop.

    Parameters
    ----------
    ctx : (row, context) float64
        Finite context values of every row.
    codes, days : (row,) int
        Shop index and date of each row.
    how
        ``"error"`` (context must be constant within a shop), ``"first"`` (the value on the shop's earliest
        date) or ``"mean"``.

    Returns
    -------
    (shop, context) float64
    """
    n_rows, k = ctx.shape
    if k == 0:
        return np.zeros((n_shops, 0))
    order = np.lexsort((days, codes))
    first_row = np.empty(n_shops, dtype=np.int64)
    first_row[codes[order][::-1]] = order[::-1]  # earliest date wins (last write)
    first = ctx[first_row]
    if how == "error":
        varies = ctx != first[codes]
        if varies.any():
            rows, cols = np.nonzero(varies)
            i, j = int(rows[0]), int(cols[0])
            s = int(codes[i])
            raise source.fail(_col(names[j], "context"), _shop(str(shops[s])), problem=(
                f"context varies within the shop ({ctx[first_row[s], j]:g} at {source.row(first_row[s])}, "
                f"{ctx[i, j]:g} at {source.row(i)}); context must be constant per shop, "
                "or pass --context-agg first|mean"))
        return first
    if how == "first":
        return first
    counts = np.bincount(codes, minlength=n_shops).astype(np.float64)
    sums = np.stack([np.bincount(codes, weights=ctx[:, j], minlength=n_shops) for j in range(k)], axis=1)
    return sums / counts[:, None]


def constant_node_warnings(values: np.ndarray, observed: np.ndarray, nodes: Sequence[str],
                           kinds: Sequence[str]) -> list[str]:
    """Warn about channels (and mediators) that never change within any shop: they carry no information.

    Parameters
    ----------
    values, observed : (shop, time, node)
    """
    out = []
    vmax = np.where(observed, values, -np.inf).max(1)  # (shop, node)
    vmin = np.where(observed, values, np.inf).min(1)
    seen = observed.any(1)
    constant = (~seen | (vmax == vmin)).all(0)
    zero = (~seen | ((vmax == 0) & (vmin == 0))).all(0)
    for v in np.flatnonzero(constant):
        if kinds[v] == "target":
            continue
        what = "zero everywhere" if zero[v] else "constant within every shop"
        out.append(f"{kinds[v]} {nodes[v]!r} is {what}; it carries no information (consider dropping it)")
    return out


def check_min_days(full_days: np.ndarray, min_days: int | None, shops: Sequence[str], source: Source) -> None:
    """Every shop needs at least ``min_days`` fully observed days (e.g. one training window).

    Parameters
    ----------
    full_days : (shop,) int
        Days (grid steps) on which every node of the shop is observed.
    """
    if min_days is None:
        return
    short = np.flatnonzero(full_days < min_days)
    if short.size:
        s = int(short[0])
        more = f" ({short.size} shops are this short)" if short.size > 1 else ""
        raise source.fail(_shop(str(shops[s])), problem=(
            f"has {int(full_days[s])} fully observed time steps, fewer than the window length {min_days}{more}"))
