"""Process-level settings: thread counts for the 2-core reference machines, host devices for JAX.

Call :func:`configure` before torch or jax is imported (the CLI and the test suite do).
"""

from __future__ import annotations

import os

_DEFAULT_THREADS = "2"


def configure(threads: int | None = None) -> None:
    """Set OpenMP/MKL/XLA thread settings unless the user already did.

    Parameters
    ----------
    threads
        Threads for BLAS/OpenMP and torch intra-op work; defaults to ``min(2, cpu_count)``.
    """
    n = str(threads) if threads else str(min(int(_DEFAULT_THREADS), os.cpu_count() or 1))
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(var, n)
    # NumPyro runs NUTS chains in parallel only when JAX sees several host devices.
    flags = os.environ.get("XLA_FLAGS", "")
    if "xla_force_host_platform_device_count" not in flags:
        os.environ["XLA_FLAGS"] = (flags + f" --xla_force_host_platform_device_count={n}").strip()
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    # torch reads OMP_NUM_THREADS when it is first imported; if it already was, give it the same count (the
    # user's setting where there is one, as for a torch imported after this call).
    import sys

    if "torch" in sys.modules:
        try:
            count = int(os.environ["OMP_NUM_THREADS"])
        except ValueError:
            count = int(n)
        sys.modules["torch"].set_num_threads(max(1, count))
