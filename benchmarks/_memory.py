"""Peak resident memory of the running process, as the benchmarks report it."""

from __future__ import annotations

import resource


def peak_memory_mb() -> float:
    """This process's peak resident memory in MB: ``VmHWM`` of ``/proc/self/status`` where Linux has it, else
    ``ru_maxrss``.

    ``VmHWM`` is the high-water mark of the process's own address space, which ``exec`` starts afresh. On Linux
    ``ru_maxrss`` keeps across ``exec`` the peak of the image that ``fork`` copied from the parent, so a worker
    started by ``subprocess`` or a spawned pool from a parent holding a large panel would report the parent's
    memory as its own.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
