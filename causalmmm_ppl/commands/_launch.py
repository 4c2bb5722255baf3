"""``causalmmm fit ... --nproc N``: run the same command as N local processes through torch's elastic launcher.

This is what ``torchrun --standalone --nproc-per-node N -m causalmmm_ppl.cli fit ...`` does, started from the
command itself: each process gets ``RANK`` / ``WORLD_SIZE`` / ``MASTER_ADDR`` / ``MASTER_PORT`` and runs the fit as
one shard of a data-parallel fit (:mod:`causalmmm_ppl.inference.distributed`). The machine's threads are shared
out: each process gets ``OMP_NUM_THREADS // N`` (at least one). When a process fails, the launcher stops the
others, and the command exits with the status of the first that failed (process 0 printed its one-line error). The
processes run with Python's fault handler on (``PYTHONFAULTHANDLER``): a process killed by a fatal signal (e.g. an
abort in a native library's thread) prints every thread's Python traceback to stderr.
"""

from __future__ import annotations

import logging
import os
import sys
import uuid

THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
#: environment variables the launched processes get besides their threads
PROCESS_ENV = {"PYTHONFAULTHANDLER": "1"}


def launched() -> bool:
    """Whether this process is one of a launch's processes (``torchrun`` set ``WORLD_SIZE``)."""
    return "WORLD_SIZE" in os.environ


def run_processes(module_argv: list[str], nproc: int, threads: int) -> None:
    """``python -m <module_argv>`` as ``nproc`` local processes of ``threads`` threads each, through torch's
    elastic launcher (the engine of ``torchrun``), with :data:`PROCESS_ENV`; this process's environment is restored
    afterwards.

    Raises ``torch.distributed.elastic.multiprocessing.errors.ChildFailedError`` when a process fails (the launcher
    has stopped the others by then).
    """
    from torch.distributed.launcher.api import LaunchConfig, elastic_launch

    saved = {var: os.environ.get(var) for var in (*THREAD_VARS, *PROCESS_ENV)}
    os.environ.update({var: str(threads) for var in THREAD_VARS} | PROCESS_ENV)  # the processes inherit them
    logging.getLogger("torch.distributed.elastic").setLevel(logging.CRITICAL)
    config = LaunchConfig(min_nodes=1, max_nodes=1, nproc_per_node=nproc, run_id=f"causalmmm-{uuid.uuid4().hex[:8]}",
                          rdzv_backend="c10d", rdzv_endpoint="localhost:0", max_restarts=0, monitor_interval=0.1)
    try:
        elastic_launch(config, sys.executable)("-m", *module_argv)
    finally:
        for var, value in saved.items():
            if value is None:
                os.environ.pop(var, None)
            else:
                os.environ[var] = value


def launch(argv: list[str], nproc: int) -> int:
    """Run ``causalmmm <argv>`` as ``nproc`` local processes; the exit status of the launch.

    Parameters
    ----------
    argv : the command line after ``causalmmm`` (it may keep ``--nproc``: the processes see ``WORLD_SIZE`` and do
        not launch again)
    nproc : processes on this machine
    """
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError

    threads = int(os.environ.get("OMP_NUM_THREADS", "1") or 1)
    try:
        run_processes(["causalmmm_ppl.cli", *argv], nproc, max(1, threads // nproc))
    except ChildFailedError as exc:
        codes = [f.exitcode for _, f in sorted(exc.failures.items()) if f.exitcode > 0]  # not those stopped
        return int(codes[0]) if codes else 1
    return 0
