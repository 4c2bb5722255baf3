"""The panel container: shops × time × nodes, with per-shop context, names, dates and masks.

Nodes are ordered channels, then mediators, then the target (always last). Data code imports no engine
(no torch, no jax): arrays are numpy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

NODE_KINDS = ("channel", "mediator", "target")


@dataclass(frozen=True)
class ColumnSpec:
    """Which columns of a long table are what.

    Attributes
    ----------
    target
        The target column (e.g. GMV); it becomes the last node.
    channels
        Advertising channel columns (numeric, >= 0). Names also listed in ``mediators`` are treated as mediators.
    mediators
        Mediator columns (e.g. page views): driven by channels, forecast rather than planned.
    context
        Per-shop context columns (constant within a shop).
    controls
        Time-varying control columns (price, promotions, holidays, macro indices): exogenous covariates known on
        every row of a shop, the plan's rows included. They are not graph nodes: they move the mediators and the
        target, and nothing responds to them through the graph.
    shop_col, date_col
        The shop identifier and date columns.
    """

    target: str
    channels: tuple[str, ...]
    mediators: tuple[str, ...] = ()
    context: tuple[str, ...] = ()
    shop_col: str = "shop"
    date_col: str = "date"
    controls: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "channels", tuple(self.channels))
        object.__setattr__(self, "mediators", tuple(self.mediators))
        object.__setattr__(self, "context", tuple(self.context))
        object.__setattr__(self, "controls", tuple(self.controls))

    @property
    def nodes(self) -> tuple[str, ...]:
        """Node names in model order: channels (not mediators), mediators, target."""
        med = set(self.mediators)
        return tuple(c for c in self.channels if c not in med) + tuple(self.mediators) + (self.target,)

    @property
    def node_kinds(self) -> tuple[str, ...]:
        med = set(self.mediators)
        n_ch = sum(c not in med for c in self.channels)
        return ("channel",) * n_ch + ("mediator",) * len(self.mediators) + ("target",)

    def to_dict(self) -> dict:
        return {
            "target": self.target,
            "channels": list(self.channels),
            "mediators": list(self.mediators),
            "context": list(self.context),
            "controls": list(self.controls),
            "shop_col": self.shop_col,
            "date_col": self.date_col,
        }

    @classmethod
    def from_dict(cls, d: dict) -> "ColumnSpec":
        return cls(
            target=d["target"],
            channels=tuple(d["channels"]),
            mediators=tuple(d.get("mediators", ())),
            context=tuple(d.get("context", ())),
            controls=tuple(d.get("controls", ())),
            shop_col=d.get("shop_col", "shop"),
            date_col=d.get("date_col", "date"),
        )


#: The nominal calendar of a table whose date column holds period numbers (``--freq``): period 0 is this day
#: (Monday 2001-01-01, in days since 1970-01-01) and period k is k days or k weeks later.
PERIOD_ORIGIN = 11323


def period_step(freq: str) -> int:
    """Days per period of a grid of frequency ``freq`` (``"D"``: 1; ``"W"`` or ``"W-..."``: 7)."""
    return 1 if freq == "D" else 7


def period_days(numbers: Sequence[int] | np.ndarray, freq: str) -> np.ndarray:
    """The nominal dates of period numbers (``--freq``) as whole days since 1970-01-01: period k is k days or weeks
    after :data:`PERIOD_ORIGIN`. ``(period,)`` int64."""
    return PERIOD_ORIGIN + period_step(freq) * np.asarray(numbers, dtype=np.int64)


def period_numbers(dates: pd.DatetimeIndex, freq: str) -> np.ndarray:
    """The period numbers of nominal dates (the inverse of :func:`period_days`): ``(period,)`` int64."""
    days = pd.DatetimeIndex(dates).values.astype("datetime64[D]").astype(np.int64)
    return (days - PERIOD_ORIGIN) // period_step(freq)


def period_dates(numbers: Sequence[int] | np.ndarray, freq: str) -> pd.DatetimeIndex:
    """The nominal dates of period numbers (``--freq``), as a nanosecond DatetimeIndex."""
    return pd.DatetimeIndex(period_days(numbers, freq).astype("datetime64[D]")).as_unit("ns")


def period_range(freq: str) -> tuple[int, int]:
    """The first and last period numbers whose nominal dates a nanosecond DatetimeIndex holds (the calendar
    features, InferenceData coordinates and plots need one): about 1678 to 2262."""
    first = pd.Timestamp.min.ceil("D").value // 86_400_000_000_000
    last = pd.Timestamp.max.floor("D").value // 86_400_000_000_000
    step = period_step(freq)
    return -((PERIOD_ORIGIN - first) // step), (last - PERIOD_ORIGIN) // step


@dataclass(frozen=True)
class Panel:
    """A validated multi-shop panel on a common date grid.

    Attributes
    ----------
    values : (shop, time, node) float64
        Observed values in original units; 0.0 where not observed (see ``observed``).
    observed : (shop, time, node) bool
        True where a value was observed. A shop's rows outside its own date range are False for every node
        (ragged panels); a row whose target is empty (a spend plan to forecast) is False for the target only.
    context : (shop, context) float64
        Per-shop context.
    shops : (shop,) str
    dates : (time,) pandas.DatetimeIndex, regular (daily or weekly)
    nodes : (node,) str, channels, then mediators, then the target
    node_kinds : (node,) one of ``"channel"``, ``"mediator"``, ``"target"``
    context_names : (context,) str
    freq : pandas frequency string of the date grid (``"D"`` or ``"W-..."``)
    period_index : the table numbered its periods (``--freq``) instead of dating them: ``dates`` are then the
        nominal calendar of :data:`PERIOD_ORIGIN`, and tables written from the panel number periods the same way
        (:meth:`labels`)
    controls : (shop, time, control) float64
        Time-varying controls in original units (see :class:`ColumnSpec`), known on every row a shop has; 0 outside
        a shop's rows. None: no controls, ``(shop, time, 0)``.
    control_names : (control,) str
    """

    values: np.ndarray
    observed: np.ndarray
    context: np.ndarray
    shops: tuple[str, ...]
    dates: pd.DatetimeIndex
    nodes: tuple[str, ...]
    node_kinds: tuple[str, ...]
    context_names: tuple[str, ...] = ()
    freq: str = "D"
    warnings: tuple[str, ...] = field(default=(), compare=False)
    period_index: bool = False
    controls: np.ndarray | None = field(default=None, compare=False)
    control_names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # Internal consistency (programming errors, not user input: user input is checked in validate.py).
        s, t, v = self.values.shape
        if self.controls is None:
            object.__setattr__(self, "controls", np.zeros((s, t, len(self.control_names))))
        if self.controls.shape != (s, t, len(self.control_names)):
            raise ValueError(f"controls has shape {self.controls.shape}, expected ({s}, {t}, "
                             f"{len(self.control_names)})")
        if self.observed.shape != (s, t, v):
            raise ValueError(f"observed has shape {self.observed.shape}, values {self.values.shape}")
        if self.context.shape[0] != s or self.context.ndim != 2:
            raise ValueError(f"context has shape {self.context.shape}, expected ({s}, k)")
        if len(self.shops) != s or len(self.dates) != t or len(self.nodes) != v or len(self.node_kinds) != v:
            raise ValueError("names do not match the array shapes")
        if self.node_kinds[-1] != "target" or self.node_kinds.count("target") != 1:
            raise ValueError("the target must be the last node and the only one")

    # ----------------------------------------------------------------------------------------------- shapes
    @property
    def n_shops(self) -> int:
        return self.values.shape[0]

    @property
    def n_time(self) -> int:
        return self.values.shape[1]

    @property
    def n_nodes(self) -> int:
        return self.values.shape[2]

    @property
    def period(self) -> str:
        """The name of one time step in messages: ``"day"`` on a daily grid, ``"week"`` on a weekly one."""
        return "day" if self.freq == "D" else "week"

    def periods(self, n: int) -> str:
        """``n`` time steps in words, e.g. ``"14 days"`` or ``"1 week"``."""
        return f"{n} {self.period}{'' if n == 1 else 's'}"

    @property
    def target(self) -> str:
        return self.nodes[-1]

    @property
    def channel_index(self) -> np.ndarray:
        """(channel,) indices of the planned (exogenous) nodes."""
        return np.flatnonzero(np.asarray(self.node_kinds) == "channel")

    @property
    def mediator_index(self) -> np.ndarray:
        return np.flatnonzero(np.asarray(self.node_kinds) == "mediator")

    @property
    def mask(self) -> np.ndarray:
        """(shop, time) bool: the shop has a row on that date (its channels are observed)."""
        return self.observed[..., self.channel_index].all(-1) if len(self.channel_index) else self.observed.any(-1)

    @property
    def target_observed(self) -> np.ndarray:
        """(shop, time) bool: the target is observed."""
        return self.observed[..., -1]

    # ------------------------------------------------------------------------------------------- selection
    def select_shops(self, shops: Sequence[int] | np.ndarray) -> "Panel":
        """A panel with the shops at the given positions (order kept as given)."""
        idx = np.asarray(shops, dtype=int)
        return replace(self, values=self.values[idx], observed=self.observed[idx], context=self.context[idx],
                       shops=tuple(self.shops[i] for i in idx), controls=self.controls[idx])

    def select_time(self, start: int, stop: int) -> "Panel":
        """A panel restricted to grid positions ``start:stop``."""
        return replace(self, values=self.values[:, start:stop], observed=self.observed[:, start:stop],
                       dates=self.dates[start:stop], controls=self.controls[:, start:stop])

    def on_dates(self, dates: pd.DatetimeIndex) -> "Panel":
        """The panel laid on a wider grid ``dates`` (same frequency, holding every date of this panel's grid): the
        new dates are no rows of any shop (nothing observed, like the days outside a ragged shop's range)."""
        if dates.equals(self.dates):
            return self
        t = dates.get_indexer(self.dates)
        if (t < 0).any():
            raise ValueError(f"the grid lacks {self.dates[int(np.argmax(t < 0))].date()} of the panel")
        s, v = self.n_shops, self.n_nodes
        values, observed = np.zeros((s, len(dates), v)), np.zeros((s, len(dates), v), dtype=bool)
        controls = np.zeros((s, len(dates), len(self.control_names)))
        values[:, t], observed[:, t], controls[:, t] = self.values, self.observed, self.controls
        return replace(self, values=values, observed=observed, controls=controls, dates=dates)

    # ------------------------------------------------------------------------------------------ conversion
    def labels(self, dates: Sequence | pd.DatetimeIndex) -> pd.DatetimeIndex | np.ndarray:
        """How tables name the grid's ``dates``: the dates themselves, or their period numbers (int64) when the panel
        was read from numbered periods (``period_index``)."""
        dates = pd.DatetimeIndex(dates)
        return period_numbers(dates, self.freq) if self.period_index else dates

    def labelled(self, table: pd.DataFrame, column: str = "date") -> pd.DataFrame:
        """``table`` with its ``column`` of grid dates written as :meth:`labels` (itself without ``period_index``)."""
        if not self.period_index or column not in table.columns:
            return table
        out = table.copy()
        out[column] = self.labels(out[column])
        return out

    def label(self, t: int) -> str:
        """Grid position ``t`` as tables name it: an ISO date, or a period number."""
        label = self.labels(self.dates[[t]])[0]
        return str(label.date()) if isinstance(label, pd.Timestamp) else str(int(label))

    def to_frame(self, shop_col: str = "shop", date_col: str = "date") -> pd.DataFrame:
        """The long table: one row per observed (shop, date), node columns, then context columns.

        Unobserved node values are NaN (e.g. an empty target on a plan row). Dates are written as :meth:`labels`.
        """
        s_idx, t_idx = np.nonzero(self.observed.any(-1))
        vals = np.where(self.observed, self.values, np.nan)[s_idx, t_idx]
        df = pd.DataFrame(vals, columns=list(self.nodes))
        df.insert(0, date_col, self.labels(self.dates[t_idx]))
        df.insert(0, shop_col, np.asarray(self.shops, dtype=object)[s_idx])
        for k, name in enumerate(self.context_names):
            df[name] = self.context[s_idx, k]
        for k, name in enumerate(self.control_names):
            df[name] = self.controls[s_idx, t_idx, k]
        return df

    def summary(self) -> dict:
        """Numbers a user checks first: shops, days, nodes, date range, zero-spend share, warnings."""
        mask = self.mask
        ch = self.channel_index
        spend = self.values[..., ch][mask]
        days_per_shop = mask.sum(1)
        return {
            "shops": self.n_shops,
            "time_steps": self.n_time,
            "freq": self.freq,
            "days_per_shop_min": int(days_per_shop.min()) if self.n_shops else 0,
            "days_per_shop_max": int(days_per_shop.max()) if self.n_shops else 0,
            "nodes": self.n_nodes,
            "channels": [self.nodes[i] for i in ch],
            "mediators": [self.nodes[i] for i in self.mediator_index],
            "target": self.target,
            "context": list(self.context_names),
            "controls": list(self.control_names),
            "date_min": self.label(0) if self.n_time else "",
            "date_max": self.label(-1) if self.n_time else "",
            "zero_spend_share": float((spend == 0).mean()) if spend.size else 0.0,
            "warnings": list(self.warnings),
        }


def date_grid(first: pd.Timestamp, last: pd.Timestamp, freq: str) -> pd.DatetimeIndex:
    """The regular grid of ``freq`` (``"D"`` or ``"W-..."``) from ``first`` to ``last``."""
    return pd.date_range(first, last, freq=freq)


def concat_shops(panels: Sequence[Panel]) -> Panel:
    """One panel of the shops of ``panels`` (in order; the same nodes, context, controls and frequency), on the grid
    from their first to their last date (:meth:`Panel.on_dates`); warnings of the parts are kept once each."""
    first = panels[0]
    if len(panels) == 1:
        return first
    dates = date_grid(min(p.dates[0] for p in panels), max(p.dates[-1] for p in panels), first.freq)
    laid = [p.on_dates(dates) for p in panels]
    warnings = tuple(dict.fromkeys(w for p in panels for w in p.warnings))
    return replace(first, values=np.concatenate([p.values for p in laid]),
                   observed=np.concatenate([p.observed for p in laid]),
                   context=np.concatenate([p.context for p in laid]),
                   controls=np.concatenate([p.controls for p in laid]),
                   shops=tuple(s for p in panels for s in p.shops), dates=dates, warnings=warnings)
