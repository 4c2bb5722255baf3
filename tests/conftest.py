"""Test-suite settings: two threads, JAX host devices, a CI-sized hypothesis profile, shared paths."""

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
# ../shared sits beside the clone in this workplace; CAUSALMMM_SHARED overrides.
SHARED = Path(os.environ.get("CAUSALMMM_SHARED", REPO.parent / "shared"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The peer data sets (../shared/data); tests that need them skip with a reason when absent."""
    path = SHARED / "data"
    if not path.is_dir():
        pytest.skip(f"peer data not found at {path} (set CAUSALMMM_SHARED)")
    return path
