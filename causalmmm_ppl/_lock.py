"""One writer per output directory: a lock file beside it, holding the writer's pid.

``RUN`` is locked through ``.RUN.lock`` in its parent directory (the directory itself is replaced by a rename when a
command finishes, so the lock cannot live inside it). The lock is an ``flock`` on that file: the operating system
drops it when the holder exits, however it exits, so a killed fit never leaves a stale lock. The pid in the file only
serves the message a second writer gets.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from causalmmm_ppl.errors import InputError


def lock_path(path: str | os.PathLike[str]) -> Path:
    """Where the lock of output ``path`` lives: ``.NAME.lock`` beside it."""
    p = Path(path)
    return p.with_name(f".{p.name}.lock")


@contextlib.contextmanager
def output_lock(path: str | os.PathLike[str], *, flag: str = "--out") -> Iterator[None]:
    """Hold the lock of output ``path`` for the block; InputError (one line, naming the holder's pid) if another
    process holds it. The parent directory of ``path`` must exist."""
    lock = lock_path(path)
    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 64).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise InputError(f"{flag} {path}: another causalmmm process (pid {holder}) is writing it; wait for it "
                             f"to finish or choose another directory") from None
        # the holder before us may have removed the file after we opened it: then our lock guards nothing
        try:
            same = os.fstat(fd).st_ino == os.stat(lock).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        with contextlib.suppress(OSError):
            lock.unlink()
        os.close(fd)
