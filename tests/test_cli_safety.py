"""Safe by default, through the command line with real fits and real files: run directories never execute code,
``--out`` never replaces a folder this tool did not write, absurd input fails fast, failures are one line and leave
nothing behind, one writer per run, CSV output is safe to open in a spreadsheet."""

from __future__ import annotations

import json
import os
import pickle
import shutil
import stat
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from causalmmm_ppl._io import MARKER
from causalmmm_ppl._tensor_store import load_tree
from causalmmm_ppl.cli import main
from tests.cli_contract import Boom, assert_one_line_error, lock_holder, run_cli

FAST = {"steps": 6, "batch_shops": 4, "window": 20, "num_draws": 4, "checkpoint_every": 3}


@pytest.fixture(scope="module")
def sim(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("safety") / "sim"
    assert main(["simulate", "--out", str(d), "--scenario", "sim1", "--shops", "4", "--days", "40", "--quiet"]) == 0
    return d


@pytest.fixture(scope="module")
def flags(sim) -> list[str]:
    return (sim / "fit_flags.txt").read_text().split()


@pytest.fixture(scope="module")
def config(tmp_path_factory) -> Path:
    p = tmp_path_factory.mktemp("cfg") / "fast.json"
    p.write_text(json.dumps(FAST))
    return p


@pytest.fixture(scope="module")
def run_dir(sim, flags, config, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "run"
    assert main(["fit", str(sim / "panel.csv"), *flags, "--holdout", "5", "--config", str(config), "--out", str(out),
                 "--quiet"]) == 0
    return out


def fit_argv(sim, flags, config, out, *extra) -> list[str]:
    return ["fit", str(sim / "panel.csv"), *flags, "--config", str(config), "--out", str(out), "--quiet", *extra]


@pytest.fixture(scope="module")
def plan_csv(sim, tmp_path_factory) -> Path:
    """The panel's last 5 days as a spend plan (target and mediator emptied)."""
    frame = pd.read_csv(sim / "panel.csv")
    last = frame["date"].isin(sorted(frame["date"].unique())[-5:])
    frame.loc[last, ["gmv", "pv"]] = np.nan
    path = tmp_path_factory.mktemp("plan") / "plan.csv"
    frame.to_csv(path, index=False)
    return path


# ------------------------------------------------------------------------------------------------------ 1. no code
def _plant(path: Path, sentinel: Path) -> None:
    """Replace ``path`` by a crafted pickle (a torch zip archive for ``.pt`` files, a raw pickle otherwise)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".pt":
        torch.save(Boom(str(sentinel)), path)
    else:
        path.write_bytes(pickle.dumps(Boom(str(sentinel))))


def _files_of(run: Path) -> list[str]:
    return sorted(str(p.relative_to(run)) for p in run.rglob("*") if p.is_file())


# every file a run holds, the checkpoint a killed fit leaves, and the pickled files of earlier versions
EXTRA_FILES = ["checkpoint/checkpoint.safetensors", "checkpoint/checkpoint.pt", "model/weights.pt"]


def _commands(run: Path, sim: Path, flags: list[str], config: Path, plan_csv: Path, tmp: Path) -> dict[str, list]:
    return {
        "edges": ["edges", run, "--data", sim / "panel.csv", "--out", tmp / "edges.csv", "--quiet"],
        "forecast": ["forecast", run, "--data", plan_csv, "--out", tmp / "fc.csv", "--quiet"],
        "report": ["report", run, "--out", tmp / "report.html", "--quiet"],
        "compare": ["compare", run, run, "--quiet"],
        "resume": [*fit_argv(sim, flags, config, run, "--resume")],
    }


def test_a_run_directory_with_crafted_pickles_everywhere_runs_no_code(run_dir, sim, flags, config, plan_csv,
                                                                      tmp_path, capsys):
    """Every file of the run (and the checkpoint and pickled files of earlier versions) replaced by a pickle whose
    loading would create a file: no command creates it; each ends with exit 0 or one line and exit 2."""
    assert _files_of(run_dir) == [MARKER, "edges.csv", "forecast.csv", "idata.nc", "model/fit.json",
                                  "model/reading.json", "model/train_panel.parquet", "model/weights.safetensors"]
    sentinel = tmp_path / "pwned"
    for single in [None, *_files_of(run_dir), *EXTRA_FILES]:
        run = tmp_path / "run"
        shutil.rmtree(run, ignore_errors=True)
        shutil.copytree(run_dir, run)
        for name in ([single] if single else [*_files_of(run_dir), *EXTRA_FILES]):
            if name != MARKER:
                _plant(run / name, sentinel)
        if single == "model/weights.pt":  # the run of an earlier version: only the pickled weights
            (run / "model" / "weights.safetensors").unlink()
        for what, argv in _commands(run, sim, flags, config, plan_csv, tmp_path).items():
            if what == "resume" and single is not None and not single.startswith("checkpoint"):
                continue  # the other files are not read by a resumed fit, which would simply run
            code, _, err = run_cli(capsys, *argv)
            assert not sentinel.exists(), (single, what)
            assert code in (0, 2), (single, what, err)
            if code == 2:
                assert_one_line_error(code, err)
            assert "Traceback" not in err
    # the control: the planted file (the last case, an earlier version's weights) runs code when loaded as before
    torch.load(run / "model" / "weights.pt", weights_only=False)
    assert sentinel.exists()


def test_a_run_of_an_earlier_version_still_loads_and_may_be_replaced(run_dir, sim, flags, config, tmp_path, capsys):
    """A run as earlier versions wrote it: ``model/weights.pt`` (torch.save of the state dicts) and no marker."""
    old = tmp_path / "old_run"
    shutil.copytree(run_dir, old)
    (old / MARKER).unlink()
    state = load_tree(old / "model" / "weights.safetensors")
    (old / "model" / "weights.safetensors").unlink()
    torch.save(state, old / "model" / "weights.pt")
    for run, name in ((old, "old.csv"), (run_dir, "new.csv")):
        code, _, err = run_cli(capsys, "edges", run, "--data", sim / "panel.csv", "--out", tmp_path / name)
        assert code == 0, err
    old_p, new_p = (pd.read_csv(tmp_path / n)["probability"] for n in ("old.csv", "new.csv"))
    assert np.allclose(old_p, new_p, atol=1e-6)
    code, _, err = run_cli(capsys, *fit_argv(sim, flags, config, old))  # recognised as this tool's: replaced
    assert code == 0, err
    assert (old / MARKER).exists() and (old / "model" / "weights.safetensors").exists()


@pytest.mark.parametrize("damage", ["zero-byte", "truncated"])
def test_a_damaged_checkpoint_on_resume_is_one_line(run_dir, sim, flags, config, tmp_path, capsys, damage):
    out = tmp_path / "run"
    import causalmmm_ppl.inference.svi as svi

    real = svi._save_checkpoint

    def save_then_die(path, state):
        real(path, state)
        raise KeyboardInterrupt

    svi._save_checkpoint = save_then_die
    try:
        assert run_cli(capsys, *fit_argv(sim, flags, config, out))[0] == 130
    finally:
        svi._save_checkpoint = real
    ckpt = out / "checkpoint" / "checkpoint.safetensors"
    ckpt.write_bytes(b"" if damage == "zero-byte" else ckpt.read_bytes()[:1000])
    code, _, err = run_cli(capsys, *fit_argv(sim, flags, config, out, "--resume"))
    assert_one_line_error(code, err, "checkpoint.safetensors", "drop --resume")
    assert ckpt.exists()  # the user's checkpoint is left as it was


def test_truncated_weights_are_one_line(run_dir, sim, tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(run_dir, run)
    w = run / "model" / "weights.safetensors"
    w.write_bytes(w.read_bytes()[:5000])
    code, _, err = run_cli(capsys, "edges", run, "--data", sim / "panel.csv", "--out", tmp_path / "e.csv")
    assert_one_line_error(code, err, "weights.safetensors", "fit the run again")
    assert not (tmp_path / "e.csv").exists()


# -------------------------------------------------------------------------------------- 2. --out and user folders
@pytest.mark.parametrize("command", ["fit", "simulate"])
def test_out_never_replaces_a_folder_this_tool_did_not_write(sim, flags, config, tmp_path, capsys, command):
    home = tmp_path / "project"
    home.mkdir()
    (home / "notes.md").write_text("keep me")
    argv = (fit_argv(sim, flags, config, home) if command == "fit"
            else ["simulate", "--out", home, "--shops", "2", "--days", "30", "--quiet"])
    code, _, err = run_cli(capsys, *argv)
    assert_one_line_error(code, err, str(home), "--force")
    assert sorted(p.name for p in home.iterdir()) == ["notes.md"]
    code, _, err = run_cli(capsys, *argv, "--force")
    assert code == 0, err
    assert not (home / "notes.md").exists() and (home / MARKER).exists()
    code, _, err = run_cli(capsys, *argv)  # now it is this tool's: replaced without --force
    assert code == 0, err


@pytest.mark.parametrize("where", ["file", "under_file"])
def test_fit_out_naming_a_file_or_a_path_under_one_is_one_line(sim, flags, config, tmp_path, capsys, where):
    f = tmp_path / "results.csv"
    f.write_text("keep")
    out = f if where == "file" else f / "run"
    code, _, err = run_cli(capsys, *fit_argv(sim, flags, config, out))
    assert_one_line_error(code, err, "--out")
    assert f.read_text() == "keep" and sorted(p.name for p in tmp_path.iterdir()) == ["results.csv"]


def test_edges_out_naming_a_directory_leaves_no_temporary_file(run_dir, sim, tmp_path, capsys):
    d = tmp_path / "somewhere"
    d.mkdir()
    code, _, err = run_cli(capsys, "edges", run_dir, "--data", sim / "panel.csv", "--out", d)
    assert_one_line_error(code, err, "is a directory")
    assert list(d.iterdir()) == [] and sorted(p.name for p in tmp_path.iterdir()) == ["somewhere"]


# ---------------------------------------------------------------------------------------- 3. absurd magnitudes
def _edit_panel(sim: Path, tmp_path: Path, edit) -> Path:
    frame = pd.read_csv(sim / "panel.csv")
    edit(frame)
    path = tmp_path / "edited.csv"
    frame.to_csv(path, index=False)
    return path


def test_an_absurd_value_fails_fast_naming_column_shop_and_line(sim, flags, config, tmp_path, capsys):
    def edit(frame):
        frame.loc[5, "c1"] = 1e300

    data = _edit_panel(sim, tmp_path, edit)
    shop = pd.read_csv(data)["shop"][5]
    code, _, err = run_cli(capsys, "fit", data, *flags, "--config", config, "--out", tmp_path / "run", "--quiet")
    assert_one_line_error(code, err, "column 'c1'", f"shop '{shop}'", "line 7", "1e+300")
    assert not (tmp_path / "run").exists()


def test_a_shop_spanning_more_than_1e12_fails_fast(sim, flags, config, tmp_path, capsys):
    def edit(frame):
        frame.loc[3, "pv"] = frame.loc[3, "pv"] * 1e14

    code, _, err = run_cli(capsys, "validate", _edit_panel(sim, tmp_path, edit), *flags)
    assert_one_line_error(code, err, "column 'pv'", "line 5", "span")


def test_an_absurd_plan_is_one_line_naming_the_cell(run_dir, plan_csv, tmp_path, capsys):
    frame = pd.read_csv(plan_csv)
    row = int(np.flatnonzero(frame["gmv"].isna())[0])
    frame.loc[row, "c0"] = 1e300
    frame.to_csv(tmp_path / "plan.csv", index=False)
    code, _, err = run_cli(capsys, "forecast", run_dir, "--data", tmp_path / "plan.csv", "--out", tmp_path / "f.csv")
    assert_one_line_error(code, err, "column 'c0'", f"line {row + 2}")
    assert not (tmp_path / "f.csv").exists()


def test_a_diverging_fit_is_an_error_not_a_success(sim, flags, tmp_path, capsys):
    cfg = tmp_path / "wild.json"
    cfg.write_text(json.dumps({**FAST, "lr": 1e6}))  # Adam steps of 10^6: the variational parameters blow up
    code, _, err = run_cli(capsys, *fit_argv(sim, flags, cfg, tmp_path / "run"))
    assert_one_line_error(code, err, "diverged")
    assert not (tmp_path / "run").exists()


def test_negative_or_zero_targets_and_short_shops_warn_but_fit(sim, flags, config, tmp_path, capsys):
    def edit(frame):
        shops = frame["shop"].unique()
        frame.loc[frame["shop"] == shops[0], "gmv"] = 0.0
        frame.loc[frame.index[frame["shop"] == shops[1]][:3], "gmv"] = -5.0

    code, _, err = run_cli(capsys, "fit", _edit_panel(sim, tmp_path, edit), *flags, "--config", config, "--out",
                           tmp_path / "run", "--quiet")
    assert code == 0, err
    assert "is negative in shop" in err and "is zero on every day of shop" in err
    assert "fewer than the training window (20)" not in err  # 40 days, window 20
    cfg = tmp_path / "long_window.json"
    cfg.write_text(json.dumps({**FAST, "window": 60}))
    code, _, err = run_cli(capsys, *fit_argv(sim, flags, cfg, tmp_path / "run2"))
    assert code == 0 and "fewer than the training window (60)" in err


# -------------------------------------------------------------------------------- 4. configs fail before any work
@pytest.mark.parametrize("config_text, words", [
    ('{"checkpoint_every": 0}', ["checkpoint_every"]),
    ('{"lr": Infinity}', ["lr", "finite"]),
    ('{"prior_prob": "high"}', ["prior_prob", "a number"]),
    ('{"steps": "many"}', ["steps"]),
    ('{"lr": 0.01,', ["not valid JSON"]),
])
def test_bad_configs_fail_before_the_data_is_read(tmp_path, capsys, config_text, words):
    cfg = tmp_path / "bad.json"
    cfg.write_text(config_text)
    # the data file does not even exist: the config is checked first
    code, _, err = run_cli(capsys, "fit", tmp_path / "missing.csv", "--target", "y", "--channels", "a", "--config",
                           cfg, "--out", tmp_path / "run", "--quiet")
    assert_one_line_error(code, err, "--config", *words)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.json"]


def test_a_config_error_found_against_the_data_leaves_no_checkpoint(sim, flags, tmp_path, capsys):
    cfg = tmp_path / "priors.json"
    cfg.write_text(json.dumps({**FAST, "edge_priors": {"c0->nowhere": 1.0}}))
    code, _, err = run_cli(capsys, *fit_argv(sim, flags, cfg, tmp_path / "run"))
    assert_one_line_error(code, err, "'c0->nowhere'", "unknown node")
    assert not (tmp_path / "run").exists()


# --------------------------------------------------------------------------------------------- 5. one writer
def test_a_second_fit_to_the_same_out_is_refused(sim, flags, config, tmp_path, capsys):
    out = tmp_path / "run"
    with lock_holder(out) as proc:
        code, _, err = run_cli(capsys, *fit_argv(sim, flags, config, out))
        assert_one_line_error(code, err, f"pid {proc.pid}", "another causalmmm process")
        assert not out.exists()
    code, _, err = run_cli(capsys, *fit_argv(sim, flags, config, out))  # the holder is gone: the fit runs
    assert code == 0, err


# ---------------------------------------------------------------------------------------------- 6. CSV formulas
def test_formula_like_names_are_neutralised_in_every_csv(sim, flags, config, tmp_path, capsys, plan_csv):
    evil_shop, evil_channel = '=HYPERLINK("http://evil","click")', "+c0"
    frame = pd.read_csv(sim / "panel.csv")
    first = frame["shop"].unique()[0]
    frame["shop"] = frame["shop"].where(frame["shop"] != first, evil_shop)
    frame = frame.rename(columns={"c0": evil_channel})
    frame.to_csv(tmp_path / "panel.csv", index=False)
    flag_list = [f.replace("c0,", f"{evil_channel},") for f in flags]
    out = tmp_path / "run"
    code, _, err = run_cli(capsys, "fit", tmp_path / "panel.csv", *flag_list, "--holdout", "5", "--config", config,
                           "--out", out, "--quiet")
    assert code == 0, err
    for name in ("edges.csv", "forecast.csv"):
        table = pd.read_csv(out / name)
        cells = table[[c for c in table.columns if not pd.api.types.is_numeric_dtype(table[c])]].stack().astype(str)
        assert not cells.str.startswith(("=", "+", "-", "@")).any(), name
        assert ("'" + evil_shop) in set(table["shop"])
    assert ("'" + evil_channel) in set(pd.read_csv(out / "edges.csv")["cause"])
    code, _, err = run_cli(capsys, "edges", out, "--data", tmp_path / "panel.csv", "--out", tmp_path / "e.csv")
    assert code == 0, err
    assert ("'" + evil_shop) in set(pd.read_csv(tmp_path / "e.csv")["shop"])


# ------------------------------------------------------------------------------ 7. sink rule and permissions
def test_an_edge_out_of_the_target_needs_the_sink_rule_off(sim, flags, tmp_path, capsys):
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps({**FAST, "edge_priors": {"gmv->c0": 1.0}}))
    code, _, err = run_cli(capsys, *fit_argv(sim, flags, cfg, tmp_path / "run"))
    assert_one_line_error(code, err, "'gmv->c0'", "forbid_target_causes")
    cfg.write_text(json.dumps({**FAST, "edge_priors": {"gmv->c0": 1.0}, "forbid_target_causes": False}))
    code, _, err = run_cli(capsys, *fit_argv(sim, flags, cfg, tmp_path / "run"))
    assert code == 0, err
    edges = pd.read_csv(tmp_path / "run" / "edges.csv")
    assert (edges.query("cause == 'gmv' and effect == 'c0'")["probability"] > 0.99).all()


def test_outputs_get_the_permissions_of_the_umask(run_dir, sim, flags, config, tmp_path, capsys):
    old = os.umask(0o022)
    try:
        out = tmp_path / "run"
        assert run_cli(capsys, *fit_argv(sim, flags, config, out))[0] == 0
        assert run_cli(capsys, "edges", out, "--data", sim / "panel.csv", "--out", tmp_path / "e.csv")[0] == 0
    finally:
        os.umask(old)
    modes = {p.relative_to(tmp_path): stat.S_IMODE(p.stat().st_mode) for p in [out, *out.rglob("*")]}
    assert all(m == (0o755 if (tmp_path / p).is_dir() else 0o644) for p, m in modes.items()), modes
    assert stat.S_IMODE((tmp_path / "e.csv").stat().st_mode) == 0o644
