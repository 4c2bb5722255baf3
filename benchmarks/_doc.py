"""Shared by the benchmark scripts: the machine line and replacing one section of docs/benchmarks.md."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import re
import shlex
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from benchmarks._source import fingerprint_line  # imported as a benchmark starts: the source it runs

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
    threads = os.environ.get("OMP_NUM_THREADS", "unset")
    return (
        f"Date: {dt.date.today().isoformat()}; machine: {platform.platform()}, {os.cpu_count()} CPUs "
        f"({processor()}; OMP_NUM_THREADS={threads}), " + ", ".join(versions) + "."
    )


def processor() -> str:
    """The CPU's model name (``/proc/cpuinfo``; the platform's processor field elsewhere): another processor takes
    another floating-point path through the same SVI steps, so the page's figures name it."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "processor unknown"


def section_head(title: str, command: str) -> list[str]:
    """The first lines of a section: its title, the command, the machine line and the model source fingerprint."""
    return [title, "", f"Command: `{command}`  ", machine_line() + "  ", fingerprint_line()]


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


def benchmark_parser(description: str) -> argparse.ArgumentParser:
    """The flags every side-by-side benchmark takes: ``--quick``, ``--note``, ``--no-write``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="tiny sizes (for tests)")
    parser.add_argument("--note", default="", help="a sentence added under the table (e.g. reduced sizes)")
    parser.add_argument("--no-write", action="store_true", help="print the section instead of writing it")
    return parser


def command_for(module: str, argv: list[str] | None) -> str:
    """The command line to print under a table: the module and the arguments that change the numbers."""
    return shlex.join([".venv/bin/python", "-m", module] + shown_args(argv if argv is not None else sys.argv[1:]))


def publish(section: str, title: str, args: argparse.Namespace) -> None:
    """Replace the section in docs/benchmarks.md (not in ``--quick`` or ``--no-write`` runs) and print it."""
    if not (args.no_write or args.quick):
        replace_section(section, title, DOC)
    print(section)


def parse_spec(items: list[str]) -> dict:
    """``["kl_weight=0.1", "link=log1p"]`` → ``{"kl_weight": 0.1, "link": "log1p"}`` (values parsed as JSON, else str):
    the ``--spec`` / ``--set`` settings overrides of the benchmark scripts."""
    import json

    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"--spec {item!r}: expected KEY=VALUE")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def parse_variant(variant: str) -> dict:
    """``"adstock=mixed,mediator_prior=0.5"`` → the settings it changes (:func:`parse_spec`); ``""`` → none: the
    ``--variant`` option of the benchmarks that fit a model variant beside or instead of the default."""
    return parse_spec([item for item in variant.split(",") if item])


def mean_sd(values: list[float]) -> str:
    """``mean ± sd`` of the defined values (``–`` when none is defined), the cell of the per-seed tables."""
    import numpy as np

    v = np.asarray(values, dtype=float)
    if np.isnan(v).all():
        return "–"
    return f"{np.nanmean(v):.3f} ± {np.nanstd(v):.3f}"


def table_head(heading: str, columns: list[str]) -> list[str]:
    """The lines that open a subsection's table: ``heading`` (e.g. ``### sim1: …``), a blank line, the header row
    of ``columns`` and its rule."""
    return [heading, "", "| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]


def by_scenario(results: list[dict]) -> dict[str, list[dict]]:
    """Results of :func:`map_panels` grouped by their ``scenario``, in the order the scenarios first appear."""
    out: dict[str, list[dict]] = {}
    for r in results:
        out.setdefault(r["scenario"], []).append(r)
    return out


def map_panels(score_panel, scenarios: list[str], seeds: tuple[int, ...], quick: bool, jobs: int) -> list[dict]:
    """``score_panel(scenario, seed, quick)`` for every scenario and seed, ``jobs`` panels at a time in fresh
    processes (one thread each), or one after another in this process with ``jobs`` 0; results in
    scenario-then-seed order."""
    import concurrent.futures as cf
    import multiprocessing as mp

    pairs = [(s, seed) for s in scenarios for seed in seeds]
    if jobs == 0:  # in this process, one panel after another (the test suite's quick modes: no worker start-up)
        return [score_panel(s, seed, quick) for s, seed in pairs]
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    with cf.ProcessPoolExecutor(max_workers=max(1, jobs), mp_context=mp.get_context("spawn")) as pool:
        return list(pool.map(score_panel, *zip(*pairs), [quick] * len(pairs)))


def print_only_parser(description: str, flag: str, names: Sequence[str], seeds: Sequence[int]
                      ) -> argparse.ArgumentParser:
    """The flags of a print-only diagnosis: ``--<flag>`` (comma-separated panels, default ``names``), ``--seeds``,
    ``--jobs`` and ``--quick``; a script adds its own before parsing."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument(f"--{flag}", default=",".join(names))
    p.add_argument("--seeds", default=",".join(map(str, seeds)))
    p.add_argument("--jobs", type=int, default=2,
                   help="panels fitted at a time (one core each; 0: one after another in this process)")
    p.add_argument("--quick", action="store_true", help="tiny settings (the test suite)")
    return p


def print_only_panels(args: argparse.Namespace, flag: str, score_panel) -> tuple[list, tuple[int, ...]]:
    """Every panel of ``--<flag>`` and seed of ``--seeds`` scored by ``score_panel`` (:func:`map_panels`), with the
    flags of :func:`print_only_parser`: ``(results, seeds)``."""
    seeds = tuple(int(s) for s in args.seeds.split(",") if s)
    panels = [n for n in getattr(args, flag).split(",") if n]
    return map_panels(score_panel, panels, seeds, args.quick, args.jobs), seeds


def chosen_labels(names: str, short: Mapping[str, str], flag: str = "--families") -> list[str]:
    """The labels that ``flag``'s value ``names`` (comma-separated keys of ``short``, short name → label) names, in
    its order; an empty or unknown name exits with a message that lists the known ones."""
    chosen = [n for n in names.split(",") if n]
    if not chosen or any(n not in short for n in chosen):
        raise SystemExit(f"{flag} {names!r}: expected names among {', '.join(short)}")
    return [short[n] for n in chosen]


def panel_benchmark(argv: list[str] | None, *, module: str, title: str, description: str, scenarios: tuple[str, ...],
                    seeds: tuple[int, ...], quick_seeds: tuple[int, ...], score_panel, render,
                    options: Mapping[str, tuple[int | str, str]] | None = None) -> int:
    """``main`` of a benchmark that scores one panel per scenario and seed (:func:`map_panels`) and renders one
    section: flags ``--scenarios``, ``--seeds``, ``--jobs`` and those of :func:`benchmark_parser`; each of
    ``options`` (``{name: (default, help)}``) is a flag ``--name`` (``_`` as ``-``, of its default's type) passed to
    ``score_panel`` as a keyword."""
    from functools import partial

    p = benchmark_parser(description)
    p.add_argument("--scenarios", default=",".join(scenarios))
    p.add_argument("--seeds", default=None,
                   help=f"default {','.join(map(str, seeds))} (--quick: {','.join(map(str, quick_seeds))})")
    p.add_argument("--jobs", type=int, default=2,
                   help="panels fitted at a time (one core each; 0: one after another in this process)")
    for name, (default, text) in (options or {}).items():
        p.add_argument(f"--{name.replace('_', '-')}", dest=name, type=type(default), default=default,
                       help=f"{text} (default {default})")
    args = p.parse_args(argv)
    score = partial(score_panel, **{name: getattr(args, name) for name in options or {}})
    chosen = tuple(int(s) for s in args.seeds.split(",") if s) if args.seeds else (quick_seeds if args.quick else seeds)
    results = map_panels(score, [s for s in args.scenarios.split(",") if s], chosen, args.quick, args.jobs)
    text = render(results, command_for(module, argv), chosen)
    if args.note:
        text += "\n" + args.note + "\n"
    publish(text, title, args)
    return 0


def single_benchmark(argv: list[str] | None, *, module: str, title: str, description: str, run, render) -> int:
    """``main`` of a benchmark that measures once (``run(quick) -> result``) and renders one section
    (``render(result, command) -> str``): the flags of :func:`benchmark_parser`."""
    args = benchmark_parser(description).parse_args(argv)
    text = render(run(args.quick), command_for(module, argv))
    if args.note:
        text += "\n" + args.note + "\n"
    publish(text, title, args)
    return 0
