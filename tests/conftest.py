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
