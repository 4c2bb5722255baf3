"""Loading long panels (CSV, Parquet, DataFrame) into a validated :class:`~causalmmm_ppl.data.panel.Panel`.

A long panel has one row per shop and date. Flags (or a :class:`ColumnSpec`) say which columns are the shop, the
date, the channels, mediators, target and per-shop context; other columns are ignored.

Conventions
-----------
* Shops keep the order of their first appearance in the table (a panel written by ``Panel.to_frame`` reads back
  in the same order); identifiers are strings.
* Dates: ISO text, integer/text ``YYYYMMDD`` (AirMMM's ``ds``) or datetimes. The grid is daily or weekly (the most
  common spacing between a shop's consecutive dates) and spans all shops; shops may cover different ranges (ragged
  panels): rows outside a shop's range are unobserved. With ``freq`` (``--freq D`` or ``W``) the date column holds
  period numbers (1, 2, 3, …) instead, laid on a nominal calendar (:data:`~causalmmm_ppl.data.panel.PERIOD_ORIGIN`)
  and written back as numbers.
* A table without a shop column (and no ``--shop-col``) is one shop named ``"shop0"``.
* All checks live in :mod:`causalmmm_ppl.data.validate` and :mod:`causalmmm_ppl.data.validate_dates` (shops, dates
  and the grid); every problem is one ``InputError`` line.
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd

from causalmmm_ppl.data import validate as V
from causalmmm_ppl.data import validate_dates as D
from causalmmm_ppl.data.panel import ColumnSpec, Panel
from causalmmm_ppl.errors import InputError

__all__ = ["load_panel", "read_table", "spec_from_args", "panel_from_args", "SINGLE_SHOP", "CSV_SUFFIXES",
           "PARQUET_SUFFIXES"]

#: Name of the one shop of a table without a shop column.
SINGLE_SHOP = "shop0"
CSV_SUFFIXES = (".csv", ".csv.gz", ".csv.bz2", ".csv.zip", ".csv.xz")
PARQUET_SUFFIXES = (".parquet", ".pq")
_SHOP_DEFAULTS = ("shop", "shop_id")
_DATE_DEFAULTS = ("date", "ds")
# pandas >= 3 parses floats exactly by default (and deprecates the option); older pandas needs asking.
_EXACT_FLOATS = {} if int(pd.__version__.split(".")[0]) >= 3 else {"float_precision": "round_trip"}


# ------------------------------------------------------------------------------------------------- reading
def _kind_of(path: Path) -> str:
    if path.is_dir():  # a Parquet dataset: a folder of Parquet files, e.g. partitioned by shop (shop=…/…)
        return "parquet"
    name = path.name.lower()
    if name.endswith(CSV_SUFFIXES):
        return "csv"
    if name.endswith(PARQUET_SUFFIXES):
        return "parquet"
    raise InputError(f"{path}: unknown file type; expected a CSV ({', '.join(CSV_SUFFIXES)}) or Parquet "
                     f"({', '.join(PARQUET_SUFFIXES)}) file")


def _check_file(path: Path) -> None:
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    if path.is_dir():
        if not _parquet_files(path):
            raise IsADirectoryError(f"{path}: is a directory without Parquet files, not a data file")
        return
    if path.stat().st_size == 0:
        raise InputError(f"{path}: the file is empty")


def _parquet_files(folder: Path) -> list[Path]:
    """The Parquet files anywhere under ``folder``."""
    return [f for suffix in PARQUET_SUFFIXES for f in folder.rglob(f"*{suffix}") if f.is_file()]


def _parquet_dataset(path: Path):
    """A Parquet file, or a folder of them, as a pyarrow dataset. A folder's ``name=value`` subfolders (Hive
    partitioning, as ``DataFrame.to_parquet(partition_cols=...)`` writes them) are columns whose values stay text
    (shop ``007`` keeps its zeros)."""
    import pyarrow as pa
    import pyarrow.dataset as ds

    if not path.is_dir():
        return ds.dataset(path, format="parquet")
    keys: dict[str, None] = {}  # the partition keys, outermost first
    for f in _parquet_files(path):
        keys.update((part.split("=", 1)[0], None) for part in f.relative_to(path).parts[:-1] if "=" in part)
    schema = pa.schema([(key, pa.string()) for key in keys])
    return ds.dataset(path, format="parquet", partitioning=ds.partitioning(schema, flavor="hive"))


def _dataset_frame(table) -> pd.DataFrame:
    """A pyarrow table as a DataFrame, partition columns (categorical) as plain text."""
    frame = table.to_pandas()
    for name in frame.columns[[isinstance(t, pd.CategoricalDtype) for t in frame.dtypes]]:
        frame[name] = frame[name].astype(object)
    return frame


def _raw_header(path: Path, kind: str) -> list[Any]:
    """Column names as written in the file, duplicates kept (pandas renames them on reading)."""
    if kind == "parquet":
        if path.is_dir():
            return list(_parquet_dataset(path).schema.names)
        import pyarrow.parquet as pq

        return list(pq.read_schema(path).names)
    head = pd.read_csv(path, header=None, nrows=1, dtype=str, keep_default_na=False)
    return head.iloc[0].tolist() if len(head) else []


def _header(path: Path) -> tuple[list[Any], V.Source]:
    """A table's checked header (column names as written) and its source, without reading its rows."""
    _check_file(path)
    source = V.Source(str(path), _kind_of(path))
    try:
        header = _raw_header(path, source.kind)
    except (OSError, ValueError) as exc:
        raise _unreadable(path, source.kind, exc) from exc
    V.check_header(header, source)
    return header, source


def _unreadable(path: Path, kind: str, exc: Exception) -> InputError:
    detail = " ".join(str(exc).split()) or type(exc).__name__
    what = "Parquet dataset" if path.is_dir() else f"{kind} file"
    return InputError(f"{path}: cannot read the {what} ({detail})")


def _read(path: Path, str_columns: tuple[str, ...] = ()) -> tuple[pd.DataFrame, V.Source]:
    """Read a table and check its header; ``str_columns`` are read as text (shop ids keep leading zeros)."""
    header, source = _header(path)
    kind = source.kind
    try:
        if kind == "csv":
            dtype = {c: str for c in str_columns if c in set(map(str, header))}
            frame = pd.read_csv(path, dtype=dtype, **_EXACT_FLOATS)
        elif path.is_dir():
            frame = _dataset_frame(_parquet_dataset(path).to_table())
        else:
            frame = pd.read_parquet(path)
    except InputError:
        raise
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError, OSError, ValueError) as exc:
        raise _unreadable(path, kind, exc) from exc
    if not len(frame.columns):
        raise InputError(f"{path}: the file is empty")
    return frame, source


def read_table(path: str | os.PathLike[str], *, str_columns: tuple[str, ...] = ()) -> pd.DataFrame:
    """Read a CSV or Parquet table, chosen by the file suffix.

    Parameters
    ----------
    path
        ``.csv`` (optionally compressed: ``.csv.gz`` ...) or ``.parquet``/``.pq``.
    str_columns
        Columns to read as text from CSV (e.g. shop identifiers such as ``007``).

    Returns
    -------
    pandas.DataFrame
        The table; duplicated column names, unknown suffixes and empty files are ``InputError``.
    """
    return _read(Path(path), tuple(str_columns))[0]


# ------------------------------------------------------------------------------------------------- flags
def spec_from_args(args: Any, frame_columns: Any) -> ColumnSpec:
    """The :class:`ColumnSpec` that the CLI flags describe, with defaults resolved against the table's columns.

    Parameters
    ----------
    args
        Parsed flags: ``target``, ``channels``, ``mediators``, ``context``, ``controls``, ``shop_col``, ``date_col`` (missing
        attributes count as not given).
    frame_columns : (column,)
        The table's column names.

    Returns
    -------
    ColumnSpec
        Shop column: ``--shop-col`` (which must exist), else ``shop``, else ``shop_id``, else ``shop`` (absent:
        the table is one shop). Date column: ``--date-col`` (which must exist), else ``date``, else ``ds``.
        The other columns are checked by :func:`load_panel`.
    """
    columns = [str(c) for c in frame_columns]
    have = set(columns)
    shop_col = getattr(args, "shop_col", None)
    date_col = getattr(args, "date_col", None)
    for flag, name in (("--shop-col", shop_col), ("--date-col", date_col)):
        if name is not None and name not in have:
            raise InputError(f"{flag} names {name!r}, which is not a column (columns: {V.column_listing(columns)})")
    if shop_col is None:
        shop_col = next((c for c in _SHOP_DEFAULTS if c in have), _SHOP_DEFAULTS[0])
    if date_col is None:
        date_col = next((c for c in _DATE_DEFAULTS if c in have), None)
        if date_col is None:
            raise InputError(f"no date column (looked for {', '.join(_DATE_DEFAULTS)}): name it with --date-col "
                             f"(columns: {V.column_listing(columns)})")
    return ColumnSpec(
        target=getattr(args, "target", None) or "",
        channels=tuple(getattr(args, "channels", None) or ()),
        mediators=tuple(getattr(args, "mediators", None) or ()),
        context=tuple(getattr(args, "context", None) or ()),
        controls=tuple(getattr(args, "controls", None) or ()),
        shop_col=shop_col,
        date_col=date_col,
    )


def panel_from_args(args: Any, *, allow_missing_target: bool = False,
                    min_days: int | None = None) -> tuple[Panel, ColumnSpec]:
    """Read ``args.data`` and load it with the column flags (what every CLI command does first).

    Parameters
    ----------
    args
        Parsed flags: ``data`` plus the column flags (see :func:`spec_from_args`) and optionally ``fill_gaps``
        and ``context_agg``.
    allow_missing_target, min_days
        See :func:`load_panel`.

    Returns
    -------
    panel, spec
    """
    path = Path(args.data)
    candidates = (args.shop_col,) if getattr(args, "shop_col", None) else _SHOP_DEFAULTS
    frame, source = _read(path, tuple(candidates))
    try:
        spec = spec_from_args(args, frame.columns)
    except InputError as exc:
        raise InputError(f"{path}: {exc}") from None
    panel = _load_frame(frame, spec, source, allow_missing_target=allow_missing_target, min_days=min_days,
                        **_reading_options(args))
    return panel, spec


def _reading_options(args: Any) -> dict:
    """The reading flags ``--fill-gaps``, ``--context-agg`` and ``--freq`` (their defaults where absent)."""
    return dict(fill_gaps=getattr(args, "fill_gaps", "error") or "error",
                context_agg=getattr(args, "context_agg", "error") or "error", freq=getattr(args, "freq", "") or "")


def chunks_from_args(args: Any, shops_per_chunk: int, *, allow_missing_target: bool = False,
                     min_days: int | None = None) -> tuple["PanelChunks", ColumnSpec]:
    """:func:`panel_from_args` for a panel read ``shops_per_chunk`` shops at a time (:func:`load_panel_chunks`):
    only the file's header is read here.

    Returns
    -------
    chunks, spec
    """
    path = Path(args.data)
    header, _ = _header(path)
    try:
        spec = spec_from_args(args, header)
    except InputError as exc:
        raise InputError(f"{path}: {exc}") from None
    chunks = load_panel_chunks(path, spec, shops_per_chunk, allow_missing_target=allow_missing_target,
                               min_days=min_days, **_reading_options(args))
    return chunks, spec


# ------------------------------------------------------------------------------------------------- loading
def load_panel(
    source: str | os.PathLike[str] | pd.DataFrame,
    spec: ColumnSpec,
    *,
    fill_gaps: str = "error",
    context_agg: str = "error",
    allow_missing_target: bool = False,
    min_days: int | None = None,
    freq: str = "",
) -> Panel:
    """Load and validate a long panel.

    Parameters
    ----------
    source
        A CSV/Parquet path, a folder of Parquet files (e.g. partitioned by shop: ``shop=…/`` subfolders), or a
        DataFrame (not modified; rows are named by 0-based position in messages).
    spec
        Column roles. A ``spec.shop_col`` that is not a column makes the table one shop named ``"shop0"``.
    fill_gaps
        ``"error"``: a missing date inside a shop's range is an error; ``"zero"``: such dates become rows of
        zeros (channels, mediators and target; controls carried from the shop's row before) and a warning.
    context_agg
        ``"error"``: context that varies within a shop is an error; ``"first"``: take the value on the shop's
        earliest date; ``"mean"``: the shop's mean.
    allow_missing_target
        Allow an empty target on each shop's trailing rows (the spend plan to forecast); mediators may be empty
        on those rows too. Such cells are unobserved in the panel.
    min_days
        Every shop needs at least this many fully observed time steps (e.g. the training window length).
    freq
        ``""``: the date column holds dates; ``"D"`` or ``"W"``: it holds whole period numbers of days or weeks
        (the panel's ``period_index``).

    Returns
    -------
    Panel
        Values in original units, observation masks, context, and ``warnings`` (constant channels, filled gaps).

    Raises
    ------
    InputError
        On any problem in the data or the column roles, with a one-line message naming file, column, shop, row.
    """
    V.check_options(fill_gaps, context_agg, min_days, freq)
    if isinstance(source, pd.DataFrame):
        frame, src = source, V.Source("", "frame")
        V.check_header(list(frame.columns), src)
    elif isinstance(source, (str, os.PathLike)):
        frame, src = _read(Path(source), (spec.shop_col,))
    else:
        raise InputError(f"load_panel needs a file path or a DataFrame, not {type(source).__name__}")
    return _load_frame(frame, spec, src, fill_gaps=fill_gaps, context_agg=context_agg,
                       allow_missing_target=allow_missing_target, min_days=min_days, freq=freq)


def _arrow_codes(column) -> tuple[np.ndarray, np.ndarray]:
    """A pyarrow shop column → ``(row,)`` int32 codes in order of first appearance (-1 where empty) and the shops
    in that order, without a Python object per row (memory follows the number of shops, not of rows)."""
    import pyarrow.compute as pc

    order = pc.drop_null(pc.unique(column))
    codes = pc.fill_null(pc.index_in(column, value_set=order), -1).to_numpy()
    return codes, order.to_numpy(zero_copy_only=False)


def _file_rows(path: Path, rows: np.ndarray):
    """The rows at positions ``rows`` (ascending) of one Parquet file, as a pyarrow table: the row groups that hold
    them are decoded one at a time and only their rows kept, so memory follows one row group and the chunk, not
    the file (a file written shop by shop holds a chunk in a few groups; one written date by date, in all)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(path)
    sizes = [pf.metadata.row_group(i).num_rows for i in range(pf.metadata.num_row_groups)]
    starts = np.concatenate([[0], np.cumsum(sizes)])
    group = np.searchsorted(starts, rows, side="right") - 1  # (row,) the row group of each row, ascending
    groups, first = np.unique(group, return_index=True)
    parts = [pf.read_row_group(int(g)).take(part - starts[g]) for g, part in zip(groups, np.split(rows, first[1:]))]
    return pa.concat_tables(parts) if parts else pf.schema_arrow.empty_table()


class PanelChunks:
    """A long panel ``shops_per_chunk`` shops at a time (:func:`load_panel_chunks`): iterate for the parts;
    ``n_shops`` is the panel's number of shops (known before any part is read; None when ``shops_per_chunk`` is
    None: the whole panel as one part, read as :func:`load_panel` reads it)."""

    def __init__(self, path: Path, spec: ColumnSpec, shops_per_chunk: int | None, options: dict) -> None:
        self.path, self.spec, self.per_chunk, self.options = path, spec, shops_per_chunk, options
        if shops_per_chunk is None:
            self.whole_at_once, self.n_shops = True, None
            return
        _check_file(path)
        self.kind = _kind_of(path)
        codes = None  # (row,) each row's shop, numbered in order of first appearance; None: no shop column
        if self.kind == "csv":
            self.whole, self.source = _read(path, (spec.shop_col,))
            if spec.shop_col in self.whole.columns:
                codes, self.order = pd.factorize(self.whole[spec.shop_col], use_na_sentinel=True)
        else:
            _, self.source = _header(path)
            try:
                self.dataset = _parquet_dataset(path)
                if spec.shop_col in self.dataset.schema.names:
                    codes, self.order = _arrow_codes(self.dataset.to_table(columns=[spec.shop_col]).column(0))
            except (OSError, ValueError) as exc:
                raise _unreadable(path, self.kind, exc) from exc
        # one shop (no shop column) or an empty shop id: the whole panel at once (which names the bad row)
        self.whole_at_once = codes is None or bool((codes < 0).any())
        if self.whole_at_once:
            self.n_shops = 1 if codes is None else len(self.order) + 1
            return
        self.n_shops = len(self.order)
        self.codes = codes  # (row,)
        self.chunk_shops, self.chunk_rows = _chunk_rows(codes, np.arange(self.n_shops) // shops_per_chunk)

    def _rows(self, k: int, rows: np.ndarray) -> pd.DataFrame:
        """Chunk ``k``'s rows (``rows``: their positions in the file, ascending) as a frame."""
        if self.kind == "csv":
            return self.whole.iloc[rows].reset_index(drop=True)
        import pyarrow.dataset as ds

        chosen = self.order[self.chunk_shops[k]]
        try:
            if not self.path.is_dir():  # one file: only the row groups that hold the chunk's rows are decoded
                return _dataset_frame(_file_rows(self.path, rows))
            return _dataset_frame(self.dataset.to_table(filter=ds.field(self.spec.shop_col).isin(chosen)))
        except (OSError, ValueError) as exc:
            raise InputError(f"{self.path}: cannot read the rows of shop(s) {', '.join(map(repr, chosen[:3]))}"
                             f"{', ...' if len(chosen) > 3 else ''} ({' '.join(str(exc).split())})") from exc

    def __iter__(self) -> Iterator[Panel]:
        if self.whole_at_once:
            yield load_panel(self.path, self.spec, **self.options)
            return
        for k, rows in enumerate(self.chunk_rows):
            part = V.Source(self.source.name, self.source.kind, tuple(rows.tolist()))
            yield _load_frame(self._rows(k, rows), self.spec, part, **self.options)

    def shard(self, rank: int, world: int) -> "PanelChunks":
        """The same reader over the shops of one process of ``world`` only: the panel's shops ``rank, rank + world,
        …`` (:meth:`~causalmmm_ppl.inference.distributed.Shard.shops`), ``shops_per_chunk`` of them a part. Where the
        panel is read whole (no shop column, an empty shop id), each part is the whole panel's shops of the shard."""
        if self.whole_at_once:
            return _WholeShard(self, rank, world)
        mine = np.arange(self.n_shops)
        chunk = np.where(mine % world == rank, mine // world // self.per_chunk, -1)  # (shop,) -1: another's
        out = copy.copy(self)
        out.chunk_shops, out.chunk_rows = _chunk_rows(self.codes, chunk)
        return out


class _WholeShard:
    """:meth:`PanelChunks.shard` of a panel that is read whole: one part, the shard's shops of the whole panel."""

    def __init__(self, chunks: PanelChunks, rank: int, world: int) -> None:
        self.chunks, self.rank, self.world = chunks, rank, world

    def __iter__(self) -> Iterator[Panel]:
        for panel in self.chunks:
            yield panel.select_shops(np.arange(self.rank, panel.n_shops, self.world))


def _chunk_rows(codes: np.ndarray, chunk_of_shop: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Parts of a file's rows: ``chunk_of_shop`` (shop,) numbers each shop's part (0, 1, …; -1: in none) →
    each part's shops (ascending) and its rows (positions in the file, ascending)."""
    def parts(of: np.ndarray) -> list[np.ndarray]:  # positions with of >= 0, by part, ascending within each
        kept = np.flatnonzero(of >= 0)
        order = kept[np.argsort(of[kept], kind="stable")]  # one stable sort, cut at the parts' counts
        return np.split(order, np.cumsum(np.bincount(of[kept], minlength=n_parts))[:-1])

    n_parts = int(chunk_of_shop.max()) + 1 if chunk_of_shop.size else 0
    return parts(chunk_of_shop), parts(chunk_of_shop[codes])


def load_panel_chunks(path: str | os.PathLike[str], spec: ColumnSpec, shops_per_chunk: int | None, *,
                      fill_gaps: str = "error", context_agg: str = "error", allow_missing_target: bool = False,
                      freq: str = "", min_days: int | None = None) -> PanelChunks:
    """A long panel ``shops_per_chunk`` shops at a time, each part loaded and validated as :func:`load_panel` does
    (the same options), shops in the order they first appear.

    A Parquet file is read part by part: its shop column first, then each part's rows alone (row groups that hold
    none of them are skipped), so the rows in memory are the part's, not the file's. A folder of Parquet files
    partitioned by shop (``shop=…/`` subfolders) is read the same way, each part from its shops' files alone. A CSV
    file is read whole and then split.
    Messages name the row of the file, as for the whole panel. ``shops_per_chunk=None``: the whole panel as one part.
    ``min_days`` is checked part by part.
    """
    V.check_options(fill_gaps, context_agg, min_days, freq)
    if shops_per_chunk is not None and shops_per_chunk < 1:
        raise InputError(f"--shops-per-chunk {shops_per_chunk}: must be >= 1")
    options = dict(fill_gaps=fill_gaps, context_agg=context_agg, allow_missing_target=allow_missing_target, freq=freq,
                   min_days=min_days)
    return PanelChunks(Path(path), spec, shops_per_chunk, options)


def _load_frame(frame: pd.DataFrame, spec: ColumnSpec, src: V.Source, *, fill_gaps: str, context_agg: str,
                allow_missing_target: bool, min_days: int | None, freq: str = "") -> Panel:
    V.check_options(fill_gaps, context_agg, min_days, freq)
    spec = _plain_spec(spec)
    frame = frame.reset_index(drop=True)
    frame.columns = [str(c) for c in frame.columns]
    V.check_spec(spec, frame.columns, src, shop_required=False)
    if len(frame) == 0:
        raise src.fail(problem="no data rows")
    single = spec.shop_col not in frame.columns
    labels = (np.full(len(frame), SINGLE_SHOP, dtype=object) if single
              else D.shop_labels(frame[spec.shop_col], spec.shop_col, src))
    codes, shops = pd.factorize(labels, sort=False)
    shops = tuple(str(s) for s in shops)

    nodes, kinds = spec.nodes, spec.node_kinds
    node_vals, target_nan = _node_values(frame, spec, nodes, kinds, labels, src, allow_missing_target)
    ctx = _context_values(frame, spec, labels, src)
    ctrl = _control_values(frame, spec, labels, src)

    grid = _date_grid(frame[spec.date_col], spec, codes, labels, shops, src, single=single, freq=freq)
    t, n_time, grid_days = grid.t, grid.n_time, grid.days
    last_target = (D.check_trailing_target(target_nan, codes, t, len(shops), spec.target, shops, grid_days, src)
                   if allow_missing_target else np.full(len(shops), n_time))
    gaps, warnings = D.find_gaps(codes, t, len(shops), n_time, shops, grid_days, grid.freq, fill_gaps=fill_gaps,
                                 date_col=spec.date_col, source=src)
    values, observed = _scatter(node_vals, codes, t, len(shops), n_time)
    controls, _ = _scatter(ctrl, codes, t, len(shops), n_time)
    if gaps is not None:
        _fill(observed, gaps, kinds, last_target)
        _carry_forward(controls, gaps)

    context = V.aggregate_context(ctx, codes, grid.row_days, len(shops), spec.context, shops, how=context_agg,
                                  source=src)
    warnings += V.constant_node_warnings(values, observed, nodes, kinds)
    warnings += V.target_warnings(values, observed, nodes, kinds, shops)
    V.check_min_days(observed.all(-1).sum(1), min_days, shops, src)
    dates = pd.date_range(pd.Timestamp(np.datetime64(int(grid_days[0]), "D")), periods=n_time, freq=grid.freq)
    return Panel(values=values, observed=observed, context=context, shops=shops, dates=dates, nodes=nodes,
                 node_kinds=kinds, context_names=tuple(spec.context), freq=grid.freq, warnings=tuple(warnings),
                 period_index=bool(freq), controls=controls, control_names=tuple(spec.controls))


@dataclass(frozen=True)
class _Grid:
    """The date grid of a table.

    Attributes
    ----------
    row_days : (row,) int
        Each row's date, days since 1970-01-01.
    t : (row,) int
        Each row's grid position.
    days : (time,) int
        The grid's dates.
    freq : ``"D"`` or ``"W-XXX"``
    """

    row_days: np.ndarray
    t: np.ndarray
    days: np.ndarray
    freq: str

    @property
    def n_time(self) -> int:
        return len(self.days)


def _date_grid(dates: pd.Series, spec: ColumnSpec, codes: np.ndarray, labels: np.ndarray, shops: tuple[str, ...],
               src: V.Source, *, single: bool, freq: str = "") -> _Grid:
    """Parse the dates (or period numbers, with ``freq``), reject duplicate (shop, date) rows, and lay the rows on a
    daily or weekly grid."""
    days = (D.parse_periods(dates, spec.date_col, labels, src, freq) if freq
            else D.parse_dates(dates, spec.date_col, labels, src))
    hint = (f" (there is no shop column {spec.shop_col!r}, so the table was read as one shop; "
            "name the shop column with --shop-col)") if single else ""
    D.check_duplicates(codes, days, shops, src, hint=hint)
    step, freq = D.infer_step(codes, days, shops, spec.date_col, src)
    start = int(days.min())
    n_time = (int(days.max()) - start) // step + 1
    return _Grid(row_days=days, t=(days - start) // step, days=start + step * np.arange(n_time), freq=freq)


def _plain_spec(spec: ColumnSpec) -> ColumnSpec:
    """The same spec with every name a plain ``str`` (numpy strings and the like would leak into messages)."""
    def names(items: Any) -> tuple[str, ...]:
        return tuple(str(c) for c in items)

    return ColumnSpec(target=str(spec.target) if spec.target else "", channels=names(spec.channels),
                      mediators=names(spec.mediators), context=names(spec.context), controls=names(spec.controls),
                      shop_col=str(spec.shop_col), date_col=str(spec.date_col))


def _node_values(frame: pd.DataFrame, spec: ColumnSpec, nodes: tuple[str, ...], kinds: tuple[str, ...],
                 labels: np.ndarray, src: V.Source, allow_missing_target: bool) -> tuple[np.ndarray, np.ndarray]:
    """(row, node) float64 node values (NaN where empty) and (row,) bool: the target is empty."""
    field_of = {"channel": "channels", "mediator": "mediators", "target": "target"}
    cols = [V.numeric_column(frame[n], n, field_of[k], src, labels) for n, k in zip(nodes, kinds)]
    target_nan = np.isnan(cols[-1])
    plan_hint = "" if allow_missing_target else "; the target must be observed on every row"
    for col, name, kind in zip(cols, nodes, kinds):
        allow = target_nan if (allow_missing_target and kind != "channel") else False
        hint = plan_hint if kind == "target" else (
            "; mediators may be empty only where the target is" if allow_missing_target and kind == "mediator"
            else "")
        V.check_values(col, name, field_of[kind], labels, src, allow_nan=allow,
                       nonnegative=kind != "target", nan_hint=hint)
    return np.stack(cols, axis=1), target_nan


def _context_values(frame: pd.DataFrame, spec: ColumnSpec, labels: np.ndarray, src: V.Source) -> np.ndarray:
    """(row, context) float64, finite."""
    cols = [V.numeric_column(frame[c], c, "context", src, labels) for c in spec.context]
    for col, name in zip(cols, spec.context):
        V.check_values(col, name, "context", labels, src, span_check=False)
    return np.stack(cols, axis=1) if cols else np.zeros((len(frame), 0))


def _control_values(frame: pd.DataFrame, spec: ColumnSpec, labels: np.ndarray, src: V.Source) -> np.ndarray:
    """(row, control) float64, finite on every row (a plan's rows included: a control is known in advance)."""
    cols = [V.numeric_column(frame[c], c, "controls", src, labels) for c in spec.controls]
    for col, name in zip(cols, spec.controls):
        V.check_values(col, name, "controls", labels, src, span_check=False,
                       nan_hint="; a control must be known on every row, the plan's rows included")
    return np.stack(cols, axis=1) if cols else np.zeros((len(frame), 0))


def _carry_forward(controls: np.ndarray, gaps: np.ndarray) -> None:
    """Give filled gaps ``gaps: (shop, time)`` the controls ``(shop, time, control)`` of the shop's last row before
    them (a gap lies inside a shop's range, so such a row exists)."""
    source = np.where(gaps, 0, np.arange(gaps.shape[1])[None, :])
    np.maximum.accumulate(source, axis=1, out=source)  # (shop, time): the latest row that is not a gap
    controls[:] = np.take_along_axis(controls, source[..., None], axis=1)


def _scatter(node_vals: np.ndarray, codes: np.ndarray, t: np.ndarray, n_shops: int,
             n_time: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows onto the grid: values (shop, time, node), 0 where unobserved, and observed (shop, time, node)."""
    n_nodes = node_vals.shape[1]
    observed = np.zeros((n_shops, n_time, n_nodes), dtype=bool)
    values = np.zeros((n_shops, n_time, n_nodes), dtype=np.float64)
    finite = np.isfinite(node_vals)
    observed[codes, t] = finite
    values[codes, t] = np.where(finite, node_vals, 0.0)
    return values, observed


def _fill(observed: np.ndarray, gaps: np.ndarray, kinds: tuple[str, ...], last_target: np.ndarray) -> None:
    """Mark filled gaps observed (values stay 0); after a shop's last observed target only channels are."""
    planned = np.arange(gaps.shape[1])[None, :] > last_target[:, None]  # (shop, time) plan rows
    is_channel = np.asarray(kinds) == "channel"
    observed |= gaps[..., None] & (is_channel | ~planned[..., None])
