"""Shared by the command-line tests: run ``causalmmm`` in-process, check the one-line error contract, a pickle that
runs code when loaded (to show that nothing loads one), and another process holding a run's lock."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

from causalmmm_ppl.cli import main

_HOLD = textwrap.dedent("""
    import sys, time
    from causalmmm_ppl._lock import output_lock
    with output_lock(sys.argv[1]):
        print("held", flush=True)
        time.sleep(60)
""")


def run_cli(capsys, *argv) -> tuple[int, str, str]:
    """``causalmmm ARGV`` in this process: exit status, stdout, stderr."""
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code: int, err: str, *needles: str) -> str:
    """Exit status 2 and exactly one line on stderr, no traceback, holding every needle; returns the line."""
    assert code == 2, err
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for n in needles:
        assert n in lines[0], (n, lines[0])
    return lines[0]


class Boom:
    """Unpickling this runs code: it creates the file ``path``."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (os.system, (f"touch {self.path}",))


@contextlib.contextmanager
def lock_holder(path: Path) -> Iterator[subprocess.Popen]:
    """Another process that holds the output lock of ``path`` until the block ends (then it is killed)."""
    proc = subprocess.Popen([sys.executable, "-c", _HOLD, str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "held"
        yield proc
    finally:
        proc.kill()
        proc.wait()
