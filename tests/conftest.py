"""Test-suite settings: two threads, JAX host devices, a CI-sized hypothesis profile, the peer data sets."""

from __future__ import annotations

import os
from pathlib import Path

from causalmmm_ppl import _runtime

_runtime.configure()

import matplotlib  # noqa: E402

matplotlib.use("Agg")

import pytest  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

settings.register_profile(
    "ci", max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

REPO = Path(__file__).resolve().parents[1]
#: The peer data sets, in the repository (datasets/README.md says where each comes from).
DATASETS = REPO / "datasets"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The peer data sets (``datasets/``, part of the repository)."""
    return DATASETS


#: The longest test files (worker-seconds of `scripts/test.sh --durations=0` with three workers on a 2-core machine,
#: longest first).
#: They run first: each test worker takes one file at a time, and one of them left alone at the end with a long
#: file would keep the run going while the others wait (`scripts/test.sh` turns off pytest-xdist's own ordering,
#: which puts the files with the most tests first).
LONGEST_FIRST = (
    "tests/benchmarks/test_quick_modes.py",
    "tests/inference/test_causalmmm_fit.py",
    "tests/benchmarks/test_quick_modes_planning.py",
    "tests/benchmarks/test_quick_modes_btvc.py",
    "tests/inference/test_btvc.py",
    "tests/test_notebooks.py",
    "tests/test_cli_btvc.py",
    "tests/test_demo.py",
    "tests/test_cli_safety.py",
    "tests/test_report.py",
    "tests/test_cli_causalmmm.py",
    "tests/models/test_btvc.py",
    "tests/test_cli_fuzz.py",
)


def pytest_collection_modifyitems(config, items):
    """The files of :data:`LONGEST_FIRST` first, in that order; every file's own tests and the other files keep
    their order (a stable sort)."""
    rank = {path: k for k, path in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))
