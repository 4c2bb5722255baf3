"""``causalmmm_ppl._io``: atomic outputs, which directories may be replaced, permissions, formula neutralising."""

from __future__ import annotations

import os
import stat

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from causalmmm_ppl._io import (
    MARKER,
    atomic_dir,
    atomic_file,
    neutralise_formulas,
    restore_formulas,
    run_directory,
    write_csv,
)
from causalmmm_ppl.errors import InputError


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_a_foreign_directory_is_never_replaced(tmp_path):
    home = tmp_path / "project"
    home.mkdir()
    (home / "thesis.tex").write_text("years of work")
    with pytest.raises(InputError, match="did not write.*--force"):
        with atomic_dir(home) as tmp:
            (tmp / "edges.csv").write_text("x")
    assert (home / "thesis.tex").read_text() == "years of work"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["project"]  # no temporary left


def test_force_replaces_a_foreign_directory(tmp_path):
    home = tmp_path / "project"
    home.mkdir()
    (home / "old.txt").write_text("x")
    with atomic_dir(home, force=True) as tmp:
        (tmp / "edges.csv").write_text("x")
    assert sorted(p.name for p in home.iterdir()) == [MARKER, "edges.csv"]


def test_empty_own_and_legacy_directories_are_replaced(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with atomic_dir(empty) as tmp:
        (tmp / "a.csv").write_text("1")
    with atomic_dir(empty) as tmp:  # now it carries the marker
        (tmp / "b.csv").write_text("2")
    assert sorted(p.name for p in empty.iterdir()) == [MARKER, "b.csv"]
    legacy = tmp_path / "old_run"  # what a run of an earlier version held: no marker
    (legacy / "model").mkdir(parents=True)
    (legacy / "model" / "fit.json").write_text("{}")
    (legacy / "edges.csv").write_text("x")
    with atomic_dir(legacy) as tmp:
        (tmp / "edges.csv").write_text("new")
    assert (legacy / "edges.csv").read_text() == "new"
    (legacy / "notes.txt").write_text("mine")  # a file no run holds: no longer recognisable as a run
    (legacy / MARKER).unlink()
    with pytest.raises(InputError, match="did not write"):
        with atomic_dir(legacy):
            pass


@pytest.mark.parametrize("where", ["file", "under_file"])
def test_a_file_or_a_path_under_a_file_is_refused(tmp_path, where):
    f = tmp_path / "data.csv"
    f.write_text("keep")
    target = f if where == "file" else f / "run"
    with pytest.raises(InputError, match="--out"):
        with atomic_dir(target):
            pass
    assert f.read_text() == "keep"


def test_atomic_file_onto_a_directory_leaves_nothing_behind(tmp_path):
    d = tmp_path / "out"
    d.mkdir()
    with pytest.raises(InputError, match="is a directory"):
        write_csv(pd.DataFrame({"a": [1]}), d)
    assert list(d.iterdir()) == [] and sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_atomic_file_cleans_up_when_the_block_fails(tmp_path):
    with pytest.raises(RuntimeError):
        with atomic_file(tmp_path / "x.csv") as tmp:
            tmp.write_text("half")
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_outputs_respect_the_umask(tmp_path, umask_022):
    write_csv(pd.DataFrame({"a": [1]}), tmp_path / "t.csv")
    with atomic_dir(tmp_path / "run") as tmp:
        (tmp / "sub").mkdir()
        (tmp / "sub" / "f.txt").write_text("x")
    assert _mode(tmp_path / "t.csv") == 0o644
    assert _mode(tmp_path / "run") == 0o755 and _mode(tmp_path / "run" / "sub") == 0o755
    assert _mode(tmp_path / "run" / "sub" / "f.txt") == 0o644
    os.umask(0o077)
    write_csv(pd.DataFrame({"a": [1]}), tmp_path / "private.csv")
    assert _mode(tmp_path / "private.csv") == 0o600


def test_run_directory_removes_what_a_failed_command_created_and_keeps_a_checkpoint_on_interrupt(tmp_path):
    out = tmp_path / "run"
    with pytest.raises(ValueError):
        with run_directory(out) as held:
            (held.scratch("checkpoint") / "state").write_text("x")
            raise ValueError("bad data")
    assert not out.exists()
    with pytest.raises(KeyboardInterrupt):
        with run_directory(out) as held:
            (held.scratch("checkpoint") / "state").write_text("x")
            raise KeyboardInterrupt
    assert (out / "checkpoint" / "state").exists() and (out / MARKER).exists()  # resumable, and recognisably ours
    with run_directory(out) as held:  # the resumed command finishes: the checkpoint goes with the old directory
        held.scratch("checkpoint")
        with held.commit() as tmp:
            (tmp / "edges.csv").write_text("x")
    assert sorted(p.name for p in out.iterdir()) == [MARKER, "edges.csv"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # no lock, backup or temporary left


def test_formula_cells_are_neutralised_in_written_csv(tmp_path):
    frame = pd.DataFrame({"shop": ["=HYPERLINK(\"http://x\")", "+1", "-2", "@SUM(A1)", "plain"],
                          "value": [-1.5, 2.0, -3.0, 4.0, 5.0]})
    write_csv(frame, tmp_path / "t.csv")
    back = pd.read_csv(tmp_path / "t.csv")
    assert back["shop"].tolist() == ["'=HYPERLINK(\"http://x\")", "'+1", "'-2", "'@SUM(A1)", "plain"]
    assert back["value"].tolist() == [-1.5, 2.0, -3.0, 4.0, 5.0]  # numbers are untouched, negative ones too


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(max_size=6), min_size=1, max_size=6))
def test_neutralised_cells_never_start_a_formula_and_read_back_unchanged(names):
    frame = pd.DataFrame({"name": names})
    safe = neutralise_formulas(frame)
    assert not safe["name"].str.startswith(("=", "+", "-", "@", "\t", "\r")).any()
    quoted_before = [n.startswith("'") and n[1:2] in ("=", "+", "-", "@", "\t", "\r") for n in names]
    restored = restore_formulas(safe)["name"].tolist()
    # a name that itself starts with a quote and a formula sign is the one ambiguous case (read back without quote)
    assert [r if not q else "'" + r for r, q in zip(restored, quoted_before)] == names
