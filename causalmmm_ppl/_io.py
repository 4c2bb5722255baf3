"""Writing outputs safely: all or nothing, never over a folder this tool did not write, readable as the umask says.

Every file and directory a command writes goes through :func:`atomic_file` or :func:`atomic_dir`:

- the output appears only when complete (a temporary sibling is renamed onto it), and the temporary is removed on
  every path out of the block, error or interrupt;
- a directory is replaced only if it is empty, or carries the marker file :data:`MARKER` that this tool writes into
  every run and simulation directory (directories of earlier versions, which hold nothing but this tool's files, are
  recognised by their contents); anything else is refused unless ``force=True`` (``--force``);
- files get the permissions a plain ``open()`` would give (``0666 & ~umask``, directories ``0777 & ~umask``), not the
  ``0600``/``0700`` of :mod:`tempfile`.

CSV tables go through :func:`write_csv`, which also neutralises text cells that a spreadsheet would run as a formula.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from causalmmm_ppl.errors import InputError

MARKER = ".causalmmm-run"
# What directories written before the marker existed held (runs of both models, simulations): such a directory,
# holding nothing else, is recognised as this tool's.
LEGACY_ENTRIES = frozenset({
    "edges.csv", "idata.nc", "forecast.csv", "templates.csv", "model", "checkpoint", "diagnostics.csv",
    "contributions.csv", "contribution_shares.csv", "panel.csv", "truth.csv", "fit_flags.txt",
})
LEGACY_SIGNS = ("model/fit.json", "model/btvc.json", "truth.csv", "checkpoint")
# A text cell starting with one of these runs as a formula in spreadsheet programs (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


# ------------------------------------------------------------------------------------------------ permissions
def current_umask() -> int:
    """The process umask (read without changing it where /proc allows)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def apply_umask(path: Path) -> None:
    """Give ``path`` (and, for a directory, everything in it) the mode a plain create would have."""
    mask = current_umask()
    targets = [path] + (sorted(path.rglob("*")) if path.is_dir() else [])
    for p in targets:
        if p.is_symlink():
            continue
        base = 0o777 if p.is_dir() else 0o666
        os.chmod(p, base & ~mask)


# --------------------------------------------------------------------------------------------- path checks
def _check_parent(final: Path, flag: str, *, create: bool) -> None:
    """The parent of ``final`` must be a directory or creatable (no file on the way); ``create`` creates it."""
    for p in [final.parent, *final.parent.parents]:
        if p.exists():
            if not p.is_dir():
                raise InputError(f"{flag} {final}: {p} is a file, not a directory")
            break
    if create:
        try:
            final.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"{flag} {final}: cannot create {final.parent} ({exc.strerror or exc})") from None


def is_tool_directory(path: Path) -> bool:
    """Whether ``path`` is a directory this tool wrote: it has the marker, or it holds only the files that runs and
    simulations of earlier versions held (and at least one of their signs, e.g. ``model/fit.json``)."""
    if (path / MARKER).is_file():
        return True
    try:
        names = {p.name for p in path.iterdir()}
    except OSError:
        return False
    return bool(names) and names <= LEGACY_ENTRIES and any((path / s).exists() for s in LEGACY_SIGNS)


def check_replaceable(path: str | os.PathLike[str], *, force: bool = False, flag: str = "--out",
                      create_parent: bool = False) -> Path:
    """Refuse an output directory that may not be replaced (InputError with one line); ``create_parent`` creates
    its parent.

    ``path`` may be missing, an empty directory, or a directory this tool wrote (:func:`is_tool_directory`);
    ``force=True`` allows any directory. A file, or a path under a file, is always refused.
    """
    final = Path(path)
    _check_parent(final, flag, create=create_parent)
    if final.is_symlink() or (final.exists() and not final.is_dir()):
        raise InputError(f"{flag} {final}: exists and is not a directory; name a new or empty directory")
    if final.is_dir() and not force and any(final.iterdir()) and not is_tool_directory(final):
        raise InputError(
            f"{flag} {final}: is a directory this tool did not write (no {MARKER} file); it would be replaced with "
            f"everything in it. Name a new or empty directory, or pass --force to replace it"
        )
    return final


def write_marker(directory: Path, kind: str) -> None:
    """Write the marker that says ``directory`` is this tool's (``kind``: ``run``, ``simulation``)."""
    from causalmmm_ppl import __version__

    (directory / MARKER).write_text(json.dumps({"written_by": "causalmmm_ppl", "version": __version__,
                                                "kind": kind}) + "\n")


def remove_tree(path: Path) -> None:
    """Remove a directory tree (read-only entries too); missing is fine."""
    def _retry(func, p, _exc):  # a read-only entry: make it writable and try again
        with contextlib.suppress(OSError):
            os.chmod(p, stat.S_IRWXU)
            func(p)

    if path.is_symlink() or path.is_file():
        path.unlink(missing_ok=True)
    elif path.exists():
        shutil.rmtree(path, onerror=_retry)


# -------------------------------------------------------------------------------------------- atomic writes
@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike[str], *, kind: str = "run", force: bool = False,
               flag: str = "--out") -> Iterator[Path]:
    """Yield a temporary directory that replaces ``path`` only if the block succeeds.

    ``path`` must be replaceable (:func:`check_replaceable`). The result carries the marker file. On any exception
    (or interrupt) the temporary directory is removed and ``path`` is left as it was.
    """
    final = check_replaceable(path, force=force, flag=flag, create_parent=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=final.parent))
    backup = final.with_name(f".{final.name}.old")
    try:
        yield tmp
        write_marker(tmp, kind)
        apply_umask(tmp)
        if final.exists():
            remove_tree(backup)
            final.rename(backup)
            try:
                tmp.rename(final)
            except BaseException:
                backup.rename(final)
                raise
            remove_tree(backup)
        else:
            tmp.rename(final)
    finally:
        remove_tree(tmp)


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike[str], *, flag: str = "--out") -> Iterator[Path]:
    """Yield a temporary file path that is renamed onto ``path`` only if the block succeeds.

    ``path`` must not be a directory (InputError naming ``flag``); its parent is created. The temporary file is
    removed on every path out of the block.
    """
    final = Path(path)
    if final.is_dir():
        raise InputError(f"{flag} {final}: is a directory; name a file")
    _check_parent(final, flag, create=True)
    fd, name = tempfile.mkstemp(prefix=f".{final.name}.", dir=final.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        apply_umask(tmp)
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)


class RunDirectory:
    """An output directory held for one command (see :func:`run_directory`).

    Attributes
    ----------
    path : the directory (checked replaceable by :func:`run_directory`); kind : what it holds (``run``,
    ``simulation``)
    """

    def __init__(self, path: Path, kind: str) -> None:
        self.path, self.kind = path, kind
        self.created_path = False
        self.created: list[Path] = []

    def scratch(self, name: str) -> Path:
        """``path/name``, a directory kept while the command runs and across interrupts (e.g. a checkpoint); created
        (and ``path`` with the marker, if missing) here, and removed again if the command fails."""
        if not self.path.exists():
            self.path.mkdir()
            self.created_path = True
            write_marker(self.path, self.kind)
            apply_umask(self.path)
        sub = self.path / name
        if not sub.exists():
            sub.mkdir()
            apply_umask(sub)
            self.created.append(sub)
        return sub

    def commit(self) -> contextlib.AbstractContextManager[Path]:
        """A temporary directory that replaces ``path`` when the block succeeds (:func:`atomic_dir`)."""
        return atomic_dir(self.path, kind=self.kind, force=True)

    def discard(self) -> None:
        """Remove what this command created (after a failure)."""
        if self.created_path:
            remove_tree(self.path)
        else:
            for sub in self.created:
                remove_tree(sub)


@contextlib.contextmanager
def run_directory(path: str | os.PathLike[str], *, kind: str = "run", force: bool = False,
                  flag: str = "--out") -> Iterator[RunDirectory]:
    """Hold output directory ``path`` for one command: check that it may be replaced (:func:`check_replaceable`),
    lock it against other writers (:func:`causalmmm_ppl._lock.output_lock`), and on an error remove what the
    command created in it. An interrupt (Ctrl-C) keeps its scratch directories, so a killed fit can be resumed."""
    from causalmmm_ppl._lock import output_lock

    final = check_replaceable(path, force=force, flag=flag, create_parent=True)
    with output_lock(final, flag=flag):
        held = RunDirectory(final, kind)
        try:
            yield held
        except Exception:
            held.discard()
            raise


# -------------------------------------------------------------------------------------------------- tables
def _rewrite_text(frame: pd.DataFrame, starts: tuple[str, ...], rewrite) -> pd.DataFrame:
    """A copy of ``frame`` where ``rewrite`` is applied to every text cell and column name starting with ``starts``."""
    out = frame.copy()
    for col in out.columns:
        series = out[col]
        if pd.api.types.is_object_dtype(series.dtype) or pd.api.types.is_string_dtype(series.dtype):
            hit = series.map(lambda v: isinstance(v, str) and v.startswith(starts))
            if hit.any():
                out[col] = series.where(~hit, series.map(lambda v: rewrite(v) if isinstance(v, str) else v))
    return out.rename(columns={c: rewrite(c) for c in out.columns if isinstance(c, str) and c.startswith(starts)})


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells that start like a spreadsheet formula (``= + - @``, tab, CR) are
    prefixed with ``'``, so spreadsheet programs show them as text instead of running them. Numbers are untouched.
    """
    return _rewrite_text(frame, FORMULA_STARTS, lambda v: "'" + v)


def restore_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Undo :func:`neutralise_formulas` on a table this tool wrote (a text cell ``'=x`` reads back as ``=x``)."""
    return _rewrite_text(frame, tuple("'" + c for c in FORMULA_STARTS), lambda v: v[1:])


def write_csv(frame: pd.DataFrame, path: str | os.PathLike[str], *, flag: str = "--out", **to_csv) -> Path:
    """Write ``frame`` as CSV atomically (``index=False`` unless given), formulas neutralised
    (:func:`neutralise_formulas`)."""
    to_csv.setdefault("index", False)
    with atomic_file(path, flag=flag) as tmp:
        neutralise_formulas(frame).to_csv(tmp, **to_csv)
    return Path(path)
