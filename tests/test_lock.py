"""``causalmmm_ppl._lock``: one writer per output directory."""

from __future__ import annotations

import time

import pytest

from causalmmm_ppl._lock import lock_path, output_lock
from causalmmm_ppl.errors import InputError
from tests.cli_contract import lock_holder

@pytest.fixture
def holder(tmp_path):
    """Another process holding the lock of ``tmp_path / "run"``."""
    with lock_holder(tmp_path / "run") as proc:
        yield proc


def test_a_second_writer_is_refused_with_the_holders_pid(tmp_path, holder):
    with pytest.raises(InputError, match=rf"another causalmmm process \(pid {holder.pid}\)"):
        with output_lock(tmp_path / "run"):
            pass


def test_the_lock_is_free_once_its_holder_is_killed(tmp_path, holder):
    holder.kill()
    holder.wait()
    time.sleep(0.05)
    with output_lock(tmp_path / "run"):  # the kernel dropped the killed holder's lock; its file is still there
        assert lock_path(tmp_path / "run").read_text().strip() != str(holder.pid)
    assert not lock_path(tmp_path / "run").exists()


def test_a_lock_is_not_reentrant_within_one_process(tmp_path):
    with output_lock(tmp_path / "run"):
        with pytest.raises(InputError, match="another causalmmm process"):
            with output_lock(tmp_path / "run"):
                pass
