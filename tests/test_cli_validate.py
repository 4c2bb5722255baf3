"""``causalmmm validate``: the happy path prints a summary; each bad input exits 2 with one named line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from causalmmm_ppl.cli import main
from tests.data.fixtures.panels import long_frame

REPO = Path(__file__).resolve().parents[1]
AIRMMM = Path(__file__).parent / "data" / "fixtures" / "airmmm_sample.csv"
AIRMMM_FLAGS = ["--target", "gmv", "--channels", ",".join(f"x{i}" for i in range(11)), "--mediators", "pv",
                "--context", ",".join(f"context{i}" for i in range(5))]
FLAGS = ["--target", "gmv", "--channels", "tv,search", "--mediators", "pv", "--context", "size"]


def _listing(path: Path) -> list[str]:
    return sorted(str(p.relative_to(path)) for p in path.rglob("*"))


def _validate(capsys, tmp_path, data, flags, code):
    before = _listing(tmp_path)
    rc = main(["validate", str(data), *flags])
    out, err = capsys.readouterr()
    assert rc == code, (out, err)
    assert _listing(tmp_path) == before  # writes no files
    return out, err


def _fails(capsys, tmp_path, data, flags=FLAGS) -> str:
    _, err = _validate(capsys, tmp_path, data, flags, 2)
    assert err.count("\n") == 1 and err.startswith("causalmmm validate: error: ")
    assert "Traceback" not in err
    return err


def _csv(tmp_path, df, name="panel.csv") -> Path:
    df.to_csv(tmp_path / name, index=False)
    return tmp_path / name


# ------------------------------------------------------------------------------------------------ happy paths
def test_airmmm_layout_validates(capsys, tmp_path):
    out, err = _validate(capsys, tmp_path, AIRMMM, AIRMMM_FLAGS + ["--window", "30"], 0)
    assert "shops:       3" in out and "2020-01-01 to 2020-02-09" in out and "mediators: pv" in out
    assert "zero spend:" in out and "warnings:    none" in out and err == ""


def test_constant_channel_is_a_warning_not_an_error(capsys, tmp_path):
    df = long_frame()
    df["search"] = 0.0
    out, _ = _validate(capsys, tmp_path, _csv(tmp_path, df), FLAGS, 0)
    assert "channel 'search' is zero everywhere" in out


def test_python_dash_m_entry_point(tmp_path):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    ok = subprocess.run([sys.executable, "-m", "causalmmm_ppl.cli", "validate", str(AIRMMM), *AIRMMM_FLAGS],
                        capture_output=True, text=True, cwd=tmp_path, env=env)
    assert ok.returncode == 0 and "shops:       3" in ok.stdout
    bad = subprocess.run([sys.executable, "-m", "causalmmm_ppl.cli", "validate", str(AIRMMM), "--target", "gmv",
                          "--channels", "x0,x99"], capture_output=True, text=True, cwd=tmp_path, env=env)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "Traceback" not in bad.stderr
    assert "--channels names 'x99'" in bad.stderr and list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------------------------------------ bad inputs
def _mutate(df, kind):
    """Apply one kind of damage to a valid frame; returns (frame, flags, expected substrings)."""
    flags = list(FLAGS)
    if kind == "missing_channel":
        flags[3] = "tv,serch"
        return df, flags, ["--channels names 'serch'", "did you mean 'search'"]
    if kind == "missing_target":
        flags[1] = "revenue"
        return df, flags, ["--target names 'revenue'"]
    if kind == "missing_context":
        flags[7] = "size,region"
        return df, flags, ["--context names 'region'"]
    if kind == "missing_mediator":
        flags[5] = "visits"
        return df, flags, ["--mediators names 'visits'"]
    if kind == "missing_shop_col":
        return df, flags + ["--shop-col", "store"], ["--shop-col names 'store'"]
    if kind == "missing_date_col":
        return df, flags + ["--date-col", "day"], ["--date-col names 'day'"]
    if kind == "no_date_col":
        return df.rename(columns={"date": "when"}), flags, ["no date column", "--date-col"]
    if kind == "duplicated_header":
        return df.rename(columns={"search": "tv"}), ["--target", "gmv", "--channels", "tv"], ["column 'tv'",
                                                                                           "2 times"]
    if kind == "column_in_two_flags":
        flags[7] = "tv"
        return df, flags, ["'tv' is named by both --channels and --context"]
    if kind == "target_is_channel":
        flags[3] = "tv,gmv"
        return df, flags, ["target 'gmv'", "also listed in --channels"]
    if kind == "non_numeric":
        df["tv"] = df["tv"].astype(object)
        df.loc[4, "tv"] = "n/a?"
        return df, flags, ["column 'tv'", "line 6", "shop 'a'", "'n/a?'"]
    if kind in ("nan_channel", "inf_mediator", "nan_context", "nan_target", "negative_channel", "negative_mediator"):
        col = {"nan_channel": "search", "inf_mediator": "pv", "nan_context": "size", "nan_target": "gmv",
               "negative_channel": "tv", "negative_mediator": "pv"}[kind]
        df.loc[13, col] = {"nan": np.nan, "inf": np.inf, "negative": -3.0}[kind.split("_")[0]]
        text = {"nan": "empty or NaN", "inf": "infinite", "negative": "negative value -3"}[kind.split("_")[0]]
        return df, flags, [f"column '{col}'", "shop 'b'", "line 15", text]
    if kind == "duplicate_row":
        df.loc[5, "date"] = df.loc[4, "date"]
        return df, flags, ["shop 'a'", "2021-03-05 appears more than once", "line 6", "line 7"]
    if kind == "gap":
        return df.drop(index=[27, 28]), flags, ["shop 'c'", "2 missing day(s)", "2021-03-04", "--fill-gaps"]
    if kind == "context_varies":
        df.loc[30, "size"] = 7.0
        return df, flags, ["column 'size'", "shop 'c'", "varies within the shop"]
    if kind == "too_few_days":
        return df.drop(index=range(12, 20)), flags + ["--window", "6"], ["shop 'b'", "4 fully observed",
                                                                        "window length 6"]
    if kind == "bad_date":
        df.loc[2, "date"] = "yesterday"
        return df, flags, ["column 'date'", "line 4", "'yesterday'"]
    if kind == "irregular_dates":
        df["date"] = np.tile(np.array(["2021-01-01", "2021-01-04", "2021-01-07", "2021-01-10"] * 3), 3)
        return df.iloc[:12].assign(shop=np.repeat(["a", "b", "c"], 4)), flags, ["3 days apart"]
    raise AssertionError(kind)


BAD = ["missing_channel", "missing_target", "missing_context", "missing_mediator", "missing_shop_col",
       "missing_date_col", "no_date_col", "duplicated_header", "column_in_two_flags", "target_is_channel",
       "non_numeric", "nan_channel", "inf_mediator", "nan_context", "nan_target", "negative_channel",
       "negative_mediator", "duplicate_row", "gap", "context_varies", "too_few_days", "bad_date", "irregular_dates"]


@pytest.mark.parametrize("kind", BAD)
def test_bad_input_one_line_exit_2(capsys, tmp_path, kind):
    df, flags, expected = _mutate(long_frame(), kind)
    path = _csv(tmp_path, df)
    err = _fails(capsys, tmp_path, path, flags)
    assert str(path) in err
    for text in expected:
        assert text in err, (text, err)


def test_empty_file(capsys, tmp_path):
    (tmp_path / "empty.csv").write_text("")
    assert "the file is empty" in _fails(capsys, tmp_path, tmp_path / "empty.csv")
    (tmp_path / "header.csv").write_text("shop,date,tv,search,pv,gmv,size\n")
    assert "no data rows" in _fails(capsys, tmp_path, tmp_path / "header.csv")


def test_missing_file_and_unknown_type(capsys, tmp_path):
    assert "no such file" in _fails(capsys, tmp_path, tmp_path / "nope.csv")
    (tmp_path / "p.json").write_text("{}")
    assert "unknown file type" in _fails(capsys, tmp_path, tmp_path / "p.json")


def test_bad_window(capsys, tmp_path):
    assert "at least 1" in _fails(capsys, tmp_path, AIRMMM, AIRMMM_FLAGS + ["--window", "0"])


def test_parquet_rows_are_0_based(capsys, tmp_path):
    df = long_frame()
    df.loc[13, "tv"] = -1.0
    df.to_parquet(tmp_path / "p.parquet", index=False)
    err = _fails(capsys, tmp_path, tmp_path / "p.parquet")
    assert "row 13 (0-based)" in err and "shop 'b'" in err


# ------------------------------------------------------------------------------------- the fit's own checks
def test_validate_runs_the_checks_fit_makes_before_training(capsys, tmp_path):
    """With --holdout, --config or --model, validate fails where fit would fail before training, with fit's
    message, and says which shops a holdout forecast would leave out."""
    df = long_frame(n_shops=3, n_days=20)
    ragged = df[~((df["shop"] == "b") & (df["date"] >= "2021-03-18"))]
    data = _csv(tmp_path, ragged)
    out, _ = _validate(capsys, tmp_path, data, FLAGS + ["--holdout", "5"], 0)
    assert "fit checks:  causalmmm" in out and "the last 5 periods of 2 shop(s)" in out
    assert "shop 'b' lacks a channel value" in out
    out, _ = _validate(capsys, tmp_path, data, FLAGS + ["--model", "btvc", "--holdout", "5"], 0)
    assert "fit checks:  btvc" in out
    # what fit refuses before training, validate refuses too
    early = df[df["date"] < "2021-03-18"]  # every shop ends 3 days early; a new one has only those days
    late = df[(df["shop"] == "a") & (df["date"] >= "2021-03-18")].assign(shop="late")
    hopeless = _csv(tmp_path, pd.concat([early, late]), "hopeless.csv")
    assert "none can be forecast" in _fails(capsys, tmp_path, hopeless, FLAGS + ["--holdout", "3"])
    bad = tmp_path / "cfg.json"
    bad.write_text('{"prior_prop": 0.2}')
    assert "did you mean 'prior_prob'" in _fails(capsys, tmp_path, data, FLAGS + ["--config", str(bad)])
    bad.write_text('{"edge_priors": {"gmv->tv": 1}}')
    assert "sink of the graph" in _fails(capsys, tmp_path, data, FLAGS + ["--config", str(bad)])
    bad.write_text('{"controls": ["price"]}')  # BTVC's controls are --controls columns now, not a setting
    err = _fails(capsys, tmp_path, data, FLAGS + ["--model", "btvc", "--config", str(bad)])
    assert "setting 'controls' was removed" in err and "--controls" in err
    out, _ = _validate(capsys, tmp_path, data, FLAGS, 0)
    assert "fit checks" not in out  # the panel's own checks only


def test_a_panel_read_part_by_part_gives_the_whole_panels_summary_and_checks(capsys, tmp_path):
    """``--shops-per-chunk K``: the parts of a ragged panel, summarised together, print what the whole panel prints
    (its warnings included, not a part's own); a short shop and a holdout (which ``fit --shops-per-chunk`` refuses)
    fail in one line."""
    frame = long_frame(n_shops=7, n_days=12)
    frame = frame[~((frame["shop"] == "b") & (frame["date"] < "2021-03-04"))]  # "b" starts late
    frame = frame[~((frame["shop"] == "g") & (frame["date"] > "2021-03-09"))]  # "g" ends early
    frame.loc[frame["shop"] == "e", "tv"] = 0.0  # zero in one part's every shop, not in the panel's: no warning
    frame.loc[frame["shop"] == "f", "gmv"] = 0.0  # a warning about the panel's shop "f"
    data = tmp_path / "p.parquet"
    frame.to_parquet(data, index=False)
    whole, _ = _validate(capsys, tmp_path, data, FLAGS, 0)
    for per in ("1", "3"):
        parts, _ = _validate(capsys, tmp_path, data, [*FLAGS, "--shops-per-chunk", per], 0)
        assert parts == whole
    assert "warnings:    1" in whole and "zero on every day of shop 'f'" in whole and "'tv'" not in whole
    assert "date range:  2021-03-01 to 2021-03-12" in whole and "shops:       7" in whole
    checked, _ = _validate(capsys, tmp_path, data, [*FLAGS, "--shops-per-chunk", "3", "--model", "causalmmm"], 0)
    assert "read 3 shop(s) at a time: ok" in checked
    assert "shop 'b'" in _fails(capsys, tmp_path, data, [*FLAGS, "--shops-per-chunk", "3", "--window", "10"])
    assert "--holdout 2" in _fails(capsys, tmp_path, data, [*FLAGS, "--shops-per-chunk", "3", "--holdout", "2"])
