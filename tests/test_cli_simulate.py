"""``causalmmm simulate``: writes its files atomically; bad flags exit 2 with one line and no output."""

from __future__ import annotations

import pandas as pd
import pytest

from causalmmm_ppl.cli import main

SMALL = ["--scenario", "sim2", "--shops", "2", "--channels", "3", "--days", "40"]


def test_simulate_writes_the_panel_its_truth_and_a_plan(tmp_path, capsys):
    out = tmp_path / "sim"
    assert main(["simulate", "--out", str(out), *SMALL, "--seed", "4", "--horizon", "5"]) == 0
    assert sorted(p.name for p in out.iterdir()) == [".causalmmm-run", "effects.csv", "fit_flags.txt", "history.csv",
                                                     "panel.csv", "plan.csv", "truth.csv"]
    effects = pd.read_csv(out / "effects.csv")
    assert list(effects.columns) == ["shop", "channel", "kind", "effect", "spend"] and len(effects) == 2 * 3 * 3
    assert len(pd.read_csv(out / "history.csv")) == 2 * 35
    plan = pd.read_csv(out / "plan.csv")
    assert len(plan) == 2 * 40 and plan["gmv"].isna().sum() == 2 * 5
    panel = pd.read_csv(out / "panel.csv")
    assert len(panel) == 2 * 40 and {"shop", "date", "c0", "c1", "c2", "pv", "gmv"} <= set(panel.columns)
    truth = pd.read_csv(out / "truth.csv")
    assert len(truth) == 2 * 5 * 4
    assert "wrote" in capsys.readouterr().out
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary directory left


def test_quiet_prints_nothing(tmp_path, capsys):
    assert main(["simulate", "--out", str(tmp_path / "q"), *SMALL, "--quiet"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


@pytest.mark.parametrize(
    "flags, word",
    [(["--shops", "0"], "--shops"), (["--days", "5"], "--days"), (["--channels", "0"], "--channels"),
     (["--days", "30", "--horizon", "30"], "--horizon"), (["--horizon", "0"], "--horizon")],
)
def test_bad_values_exit_2_with_one_line_and_no_output(tmp_path, capsys, flags, word):
    out = tmp_path / "bad"
    assert main(["simulate", "--out", str(out), "--scenario", "sim1", *flags, "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and word in err and "Traceback" not in err
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_fit_flags_work_with_validate(tmp_path, capsys):
    pytest.importorskip("causalmmm_ppl.commands.validate")
    out = tmp_path / "sim"
    assert main(["simulate", "--out", str(out), *SMALL, "--quiet"]) == 0
    flags = (out / "fit_flags.txt").read_text().split()
    assert main(["validate", str(out / "panel.csv"), *flags, "--quiet"]) == 0, capsys.readouterr().err
