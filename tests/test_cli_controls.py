"""Time-varying controls (``--controls``) through the command line: a CausalMMM run fitted with a promotion column
forecasts, and reports effects of, plans that carry it; a plan without it is one line, exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from causalmmm_ppl.cli import main
from tests.cli_contract import assert_one_line_error, run_cli

#: one SVI run: these tests are about the commands; a few-shop panel's default of three runs mixed is
#: tests/inference/test_mixed_runs.py's (and test_cli_safety's fits run it)
FAST = {"steps": 20, "batch_shops": 4, "window": 40, "num_draws": 16, "checkpoint_every": 10, "restarts": 1}


@pytest.fixture(scope="module")
def promo_dir(tmp_path_factory) -> Path:
    """A simulated panel with a ``promo`` column (on about one day in five) that lifts the target by half."""
    d = tmp_path_factory.mktemp("promo")
    assert main(["simulate", "--out", str(d), "--scenario", "sim1", "--shops", "5", "--days", "60", "--quiet"]) == 0
    frame = pd.read_csv(d / "panel.csv")
    frame["promo"] = (np.random.default_rng(0).random(len(frame)) < 0.2).astype(float)
    frame["gmv"] = frame["gmv"] * (1.0 + 0.5 * frame["promo"])
    frame.to_csv(d / "promo.csv", index=False)
    (d / "fast.json").write_text(json.dumps(FAST))
    return d


def flags(d: Path) -> list[str]:
    return (d / "fit_flags.txt").read_text().split() + ["--controls", "promo"]


@pytest.fixture(scope="module")
def run_dir(promo_dir, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "run"
    code = main(["fit", str(promo_dir / "promo.csv"), *flags(promo_dir), "--holdout", "7", "--config",
                 str(promo_dir / "fast.json"), "--out", str(out), "--quiet", "--seed", "1"])
    assert code == 0
    return out


def _plan(promo_dir: Path, tmp_path: Path, days: int = 5) -> tuple[pd.DataFrame, list]:
    frame = pd.read_csv(promo_dir / "promo.csv")
    last = sorted(frame["date"].unique())[-days:]
    frame.loc[frame["date"].isin(last), ["gmv", "pv"]] = np.nan
    return frame, last


def test_a_run_with_controls_keeps_them_and_forecasts_plans_that_carry_them(run_dir, promo_dir, tmp_path, capsys):
    schema = json.loads((run_dir / "model" / "fit.json").read_text())["schema"]
    assert schema["control_names"] == ["promo"] and schema["columns"]["controls"] == ["promo"]
    assert (run_dir / "forecast.csv").exists()  # the holdout forecast read the holdout rows' promo
    frame, last = _plan(promo_dir, tmp_path)
    frame.to_csv(tmp_path / "plan.csv", index=False)
    code, _, err = run_cli(capsys, "forecast", run_dir, "--data", tmp_path / "plan.csv", "--out", tmp_path / "fc.csv")
    assert code == 0, err
    fc = pd.read_csv(tmp_path / "fc.csv")
    assert sorted(fc["date"].unique()) == last and np.isfinite(fc["mean"]).all()
    code, _, err = run_cli(capsys, "effects", run_dir, "--data", tmp_path / "plan.csv", "--out", tmp_path / "eff.csv",
                           "--draws", "8")
    assert code == 0, err
    assert set(pd.read_csv(tmp_path / "eff.csv")["kind"]) == {"total", "held", "direct"}
    # an allocation moves spend only: the new plan keeps the plan's controls, and forecast reads it
    code, _, err = run_cli(capsys, "allocate", run_dir, "--data", tmp_path / "plan.csv", "--draws", "4", "--out",
                           tmp_path / "new.csv", "--quiet")
    assert code == 0, err
    new = pd.read_csv(tmp_path / "new.csv")
    np.testing.assert_array_equal(new["promo"].to_numpy(), frame["promo"].to_numpy())
    code, _, err = run_cli(capsys, "forecast", run_dir, "--data", tmp_path / "new.csv", "--out", tmp_path / "fc2.csv")
    assert code == 0, err


def test_a_plan_row_without_its_control_is_one_line_exit_2(run_dir, promo_dir, tmp_path, capsys):
    frame, last = _plan(promo_dir, tmp_path)
    frame.loc[frame["date"] == last[2], "promo"] = np.nan
    frame.to_csv(tmp_path / "plan.csv", index=False)
    code, _, err = run_cli(capsys, "forecast", run_dir, "--data", tmp_path / "plan.csv", "--out", tmp_path / "fc.csv")
    assert_one_line_error(code, err, "promo", "--controls", "plan")
    assert not (tmp_path / "fc.csv").exists()
    frame.drop(columns="promo").to_csv(tmp_path / "without.csv", index=False)
    code, _, err = run_cli(capsys, "forecast", run_dir, "--data", tmp_path / "without.csv", "--out",
                           tmp_path / "fc.csv")
    assert_one_line_error(code, err, "promo")


def test_validate_checks_the_controls_as_fit_reads_them(promo_dir, tmp_path, capsys):
    code, _, err = run_cli(capsys, "validate", promo_dir / "promo.csv", *flags(promo_dir))
    assert code == 0, err
    frame = pd.read_csv(promo_dir / "promo.csv")
    frame["promo"] = frame["promo"].astype(object)
    frame.loc[3, "promo"] = "yes"
    frame.to_csv(tmp_path / "bad.csv", index=False)
    code, _, err = run_cli(capsys, "validate", tmp_path / "bad.csv", *flags(promo_dir))
    assert_one_line_error(code, err, "promo", "line 5", "non-numeric")
    code, _, err = run_cli(capsys, "validate", promo_dir / "promo.csv",
                           *(promo_dir / "fit_flags.txt").read_text().split(), "--controls", "c0")
    assert_one_line_error(code, err, "'c0'", "--controls", "--channels")
