"""Process settings: ``_runtime.configure`` must give torch the thread count the user set, also when torch was
imported first (it used to set the 2-core default then, whatever ``OMP_NUM_THREADS`` said)."""

import os
import subprocess
import sys

import pytest

SCRIPT = """
import torch
from causalmmm_ppl import _runtime
_runtime.configure()
print(torch.get_num_threads())
"""


def _threads_after_configure(env_threads: str | None) -> int:
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    if env_threads is not None:
        env["OMP_NUM_THREADS"] = env_threads
    out = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, check=True)
    return int(out.stdout.strip().splitlines()[-1])


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="needs 2 cores to tell 1 thread from the default 2")
def test_configure_after_torch_import_keeps_the_users_thread_count():
    assert _threads_after_configure("1") == 1
    assert _threads_after_configure(None) == 2  # the 2-core default where nothing is set
