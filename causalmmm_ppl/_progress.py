"""Progress for every loop a user waits for: a tqdm bar on a terminal, plain log lines elsewhere.

When stderr is not a terminal (CI logs, ``nohup``, a pipe), a carriage-return bar would fill the log with one
overwritten line per update; there :func:`progress` writes one line per tenth of the work instead, e.g.
``SVI: 150/1500 (10%)``. ``disable=True`` (``--quiet``) writes nothing. The object takes the tqdm calls the package
uses: iteration, ``update``, ``set_postfix``, ``close`` and ``with``.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable
from typing import Any


class _Lines:
    """A tqdm stand-in that logs one line per ``1 / steps`` of ``total`` (and one at the end) to ``file``."""

    def __init__(self, iterable: Iterable | None, *, total: int | None, desc: str, initial: int, file: Any,
                 steps: int = 10) -> None:
        self.iterable, self.desc, self.file = iterable, desc, file
        if total is None and iterable is not None and hasattr(iterable, "__len__"):
            total = len(iterable)  # type: ignore[arg-type]
        self.total, self.n = total, initial
        self.every = max(1, (total or 0) // steps) if total else None
        self.next_at = (initial // self.every + 1) * self.every if self.every else None
        self.postfix = ""
        self.start = time.perf_counter()
        self.closed = False

    def __iter__(self):
        for item in self.iterable or ():
            yield item
            self.update(1)
        self.close()

    def __enter__(self) -> "_Lines":
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        if exc_type is not None:  # a failed command prints its one error line only
            self.closed = True
        self.close()

    def set_postfix(self, **kw: Any) -> None:
        self.postfix = ", ".join(f"{k}={v}" for k, v in kw.items())

    def update(self, n: int = 1) -> None:
        self.n += n
        if self.next_at is not None and self.n >= self.next_at and (self.total is None or self.n < self.total):
            self._line()
            self.next_at = (self.n // self.every + 1) * self.every

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._line(done=True)

    def _line(self, done: bool = False) -> None:
        share = f" ({100 * self.n / self.total:.0f}%)" if self.total else ""
        of = f"/{self.total}" if self.total else ""
        extra = f", {self.postfix}" if self.postfix else ""
        took = f", {time.perf_counter() - self.start:.1f} s" if done else ""
        print(f"{self.desc}: {self.n}{of}{share}{extra}{took}", file=self.file, flush=True)


def progress(iterable: Iterable | None = None, *, total: int | None = None, desc: str = "", unit: str = "it",
             disable: bool = False, leave: bool = False, initial: int = 0):
    """A progress reporter over ``iterable`` (or ``total`` units advanced with ``update``).

    Parameters
    ----------
    iterable, total, desc, unit, leave, initial : as for tqdm
    disable : report nothing (``--quiet``)

    Returns
    -------
    a tqdm bar when stderr is a terminal; else an object that logs one plain line per tenth of the work
    """
    from tqdm.auto import tqdm

    if disable or sys.stderr.isatty():
        return tqdm(iterable, total=total, desc=desc, unit=unit, disable=disable, leave=leave, initial=initial)
    return _Lines(iterable, total=total, desc=desc, initial=initial, file=sys.stderr)
