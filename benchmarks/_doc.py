"""Shared by the benchmark scripts: the machine line and replacing one section of docs/benchmarks.md."""

from __future__ import annotations

import datetime as dt
import os
import platform
import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"
HEADER = (
    "# Benchmarks\n\n"
    "Every figure on this page comes from a committed command, shown with its table, together with the date and the\n"
    "machine it ran on. Rerun the command to regenerate a section; each script replaces only its own section.\n"
)


def machine_line() -> str:
    """Date, platform, CPUs and library versions, for the record under each table."""
    import numpy as np

    versions = [f"Python {platform.python_version()}", f"numpy {np.__version__}"]
    for name in ("torch", "pyro", "jax", "numpyro", "arviz"):
        try:
            mod = __import__(name)
            versions.append(f"{name} {mod.__version__}")
        except ImportError:
            pass
    threads = os.environ.get("OMP_NUM_THREADS", "?")
    return (
        f"Date: {dt.date.today().isoformat()}; machine: {platform.platform()}, {os.cpu_count()} CPUs "
        f"(OMP_NUM_THREADS={threads}), " + ", ".join(versions) + "."
    )


def replace_section(section: str, title: str, doc: Path = DOC) -> None:
    """Put ``section`` (which starts with the line ``title``) in place of that section of ``doc``, or append it."""
    text = doc.read_text() if doc.exists() else HEADER
    pattern = re.compile(rf"^{re.escape(title)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: section.rstrip("\n") + "\n\n", text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    doc.parent.mkdir(parents=True, exist_ok=True)
    tmp = doc.with_name(f".{doc.name}.tmp")
    tmp.write_text(text.rstrip("\n") + "\n")
    os.replace(tmp, doc)


def shown_args(args: list[str]) -> list[str]:
    """The arguments that change the numbers (``--note``, ``--csv`` and ``--no-write`` are left out)."""
    out, skip = [], False
    for a in args:
        if skip:
            skip = False
        elif a in ("--note", "--csv"):
            skip = True
        elif a != "--no-write" and not a.startswith(("--note=", "--csv=")):
            out.append(a)
    return out
