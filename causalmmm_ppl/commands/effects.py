"""``causalmmm effects RUN --data DATA [--window START:END] [--interval 0.9] [--draws N] [--curves FILE]
[--shops-per-chunk K] --out FILE``:
every shop's and channel's effect on the target over the plan rows of DATA (the trailing rows whose target is empty,
read as ``forecast`` reads them).

For each channel the target summed over the window is compared, under the posterior, with the same sum when the
channel's planned spend is 0 there (``total``, ``held``, ``direct``; see :mod:`causalmmm_ppl.inference.effects`).
The table has ``shop, channel, kind, mean, lower, upper, spend, roas, mroas``, with ``shop = "ALL"`` rows summed over
shops. Shops whose plans start on the same day and have the same length are computed together; when the shops' plans
cover different windows, no portfolio rows are written. On a BTVC run (additive, no graph) the three kinds agree, and
the plan must start the day after the run's training end (its history is the run's own).

``--window START:END`` takes the window from past days instead (dates, END included): every shop's rows from START to
END are the plan, with their channel values, and the rows before START the history; the target's recorded values
there are not used. This decomposes a stretch of history into the channels' effects (runs whose model starts from any
history, ``MMMFit.fixed_history`` false: CausalMMM).

``--series FILE`` also writes each channel's contribution on each day of the window, ``shop, date, channel, mean,
lower, upper``: the target that day minus the target that day with the channel's spend at 0 over the whole window
(``total``; carryover from before the window stays). Summed over the window's days, a channel's rows give its
``total`` row of the effects table (up to Monte-Carlo error: the series use their own rollouts).

``--shops-per-chunk K`` reads DATA K shops at a time (a Parquet file chunk by chunk) and appends each chunk's rows to
FILE as it goes; the portfolio rows come last, from every chunk's draws summed draw by draw (the chunks draw with
seeds of their own, so their draws are independent). One chunk's rows are in memory at a time. ``--curves`` and
``--series`` need the whole panel.

``--curves FILE`` also writes response curves: ``shop, channel, multiplier, mean, lower, upper``, the
target summed over the window when the channel's planned spend is multiplied by 0, 0.25, …, 2 (the other channels
respond through the graph).
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

from causalmmm_ppl._io import write_csv
from causalmmm_ppl.commands._run import data_in_chunks, stream_csv
from causalmmm_ppl.commands.forecast import no_plan, plan_groups, split_at_plan, warn_left_out
from causalmmm_ppl.data.panel import period_dates
from causalmmm_ppl.errors import InputError, require_finite
from causalmmm_ppl.inference.effects import PORTFOLIO, contribution_series
from causalmmm_ppl.inference.mmm_fit import load_run


def window_groups(panel, window: str) -> dict[tuple[int, int], np.ndarray]:
    """``{(first day, length): shops}`` for ``--window START:END`` (dates, or period numbers for a panel read with
    ``--freq``; END included), every shop together.

    Raises InputError for a malformed window, one outside the data, one that starts on the first day (no history),
    or a shop without channel values on a day of the window.
    """
    start_text, sep, end_text = window.partition(":")
    try:
        if not sep:
            raise ValueError
        if panel.period_index:
            start, end = period_dates([int(start_text), int(end_text)], panel.freq)
        else:
            start, end = pd.Timestamp(start_text), pd.Timestamp(end_text)
    except ValueError:
        what = "two period numbers" if panel.period_index else "two dates"
        raise InputError(f"--window must be START:END ({what}), got {window!r}") from None
    if end < start:
        raise InputError(f"--window {window}: END is before START")
    days = np.flatnonzero((panel.dates >= start) & (panel.dates <= end))
    if days.size == 0:
        raise InputError(f"--window {window}: no {panel.period} of the data ({panel.label(0)} to "
                         f"{panel.label(-1)}) falls in it")
    if days[0] == 0:
        raise InputError(f"--window {window}: it starts on the data's first {panel.period}; the model needs "
                         f"{panel.period}s before it")
    return {(int(days[0]), int(days.size)): np.arange(panel.n_shops)}


def chunk_seed(seed: int | None, part: int) -> int | None:
    """The seed of the ``part``-th chunk of shops: the given seed for the first (a panel read whole is one chunk), one
    derived from it and the part for the others, so that the portfolio sums draws that are independent across
    chunks."""
    if part == 0:
        return seed
    return int(np.random.SeedSequence([part, 0 if seed is None else seed + 1]).generate_state(1)[0])


class _EffectsStream:
    """The effects of DATA part by part (a part: the whole panel, or ``--shops-per-chunk`` shops): every shop's rows
    as its part comes, the portfolio rows at the end from the draws summed over every part."""

    def __init__(self, fit, args: argparse.Namespace, target: str, chunked: bool) -> None:
        self.fit, self.args, self.target, self.chunked = fit, args, target, chunked
        self.schema = getattr(fit, "schema", None)  # a model that keeps its node schema checks DATA against it
        self.progress = not args.quiet and not chunked
        self.left_out: list[str] = []
        self.windows: set[tuple[pd.Timestamp, int]] = set()  # (first day, length) of every plan
        self.portfolio = None  # EffectDraws summed over the shops so far
        self.curves: list[pd.DataFrame] = []
        self.series: list[pd.DataFrame] = []
        self.parts = self.shops = self.channels = 0

    def table_of(self, panel) -> pd.DataFrame:
        """Every shop's rows of one part (no portfolio rows)."""
        args, fit = self.args, self.fit
        if self.schema is not None:
            self.schema.check(panel, what=str(args.data))
        if args.window is None:
            groups, left = plan_groups(panel, require=not self.chunked)
            self.left_out.extend(left)
        else:
            groups = window_groups(panel, args.window)
        seed = chunk_seed(args.seed, self.parts)
        self.parts += 1
        kw = dict(num_draws=args.draws, seed=seed, progress=self.progress)
        tables = []
        for (start, horizon), shops in groups.items():
            history, plan = split_at_plan(panel.select_shops(shops), start, horizon)
            self.windows.add((panel.dates[start], horizon))
            self.shops += len(shops)
            draws = fit.effect_draws(history, plan, **kw)
            tables.append(draws.table(args.interval, portfolio=False))
            self.portfolio = draws.portfolio() if self.portfolio is None else self.portfolio + draws.portfolio()
            if args.curves is not None:
                self.curves.append(fit.response_curves(history, plan, interval=args.interval, **kw))
            if args.series is not None:
                self.series.append(panel.labelled(contribution_series(fit, history, plan, interval=args.interval,
                                                                      **kw)))
        if not tables:
            return pd.DataFrame()
        table = pd.concat(tables, ignore_index=True)
        require_finite(table[["mean", "lower", "upper"]], "the effects")
        self.channels = table["channel"].nunique()
        return table

    def check(self) -> None:
        if not self.shops:
            raise no_plan(self.target)

    def portfolio_rows(self) -> pd.DataFrame:
        """The ``shop = "ALL"`` rows: only when every plan is the same window (shops with different windows have no
        common portfolio)."""
        if len(self.windows) != 1 or self.portfolio is None:
            return pd.DataFrame()
        table = self.portfolio.table(self.args.interval, portfolio=False)
        require_finite(table[["mean", "lower", "upper"]], "the effects")
        return table


def run(args: argparse.Namespace) -> int:
    if args.draws is not None and args.draws < 2:
        raise InputError(f"--draws must be at least 2, got {args.draws}")
    if not 0.0 < args.interval < 1.0:
        raise InputError(f"--interval must be in (0, 1), got {args.interval}")
    chunked = getattr(args, "shops_per_chunk", None) is not None
    if chunked and (args.curves is not None or args.series is not None):
        raise InputError("--curves and --series are computed for the whole panel: leave out --shops-per-chunk")
    fit, columns = load_run(args.run)
    if args.window is not None and fit.fixed_history:
        raise InputError("--window: this run's model answers only for plans after its training days; past days are "
                         "decomposed by models that start from any history (CausalMMM)")
    parts = data_in_chunks(args.run, args.data, columns, getattr(args, "shops_per_chunk", None),
                           allow_missing_target=True, args=args)
    stream = _EffectsStream(fit, args, columns.target, chunked)
    rows, _ = stream_csv(args.out, parts, stream.table_of, desc="effects", quiet=args.quiet, total=parts.n_shops,
                         check=stream.check, tail=stream.portfolio_rows)
    warn_left_out(stream.left_out, columns.target, "effects")
    if stream.curves:
        curves = stream.curves
        curve = curves[0] if len(curves) == 1 else pd.concat([c[c["shop"] != PORTFOLIO] for c in curves],
                                                             ignore_index=True)
        require_finite(curve[["mean", "lower", "upper"]], "the response curves")
        write_csv(curve, args.curves)
    if stream.series:
        per_day = pd.concat(stream.series, ignore_index=True)
        require_finite(per_day[["mean", "lower", "upper"]], "the contribution series")
        write_csv(per_day, args.series)
    if not args.quiet:
        print(f"effects: {stream.shops} shop(s) x {stream.channels} channel(s), {rows} rows; wrote {args.out}")
    return 0
