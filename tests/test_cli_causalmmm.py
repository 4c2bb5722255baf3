"""`causalmmm fit --model causalmmm`, `edges`, `forecast`, `effects` and `allocate` through the command line: real
files, real fits."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from causalmmm_ppl.cli import main
from causalmmm_ppl.data.panel import period_dates
from causalmmm_ppl.evaluation.inference_data import read_inference_data
from causalmmm_ppl.reporting.run import read_run
from causalmmm_ppl.reporting.sections import data_section
from tests.cli_contract import assert_one_line_error, run_cli

#: one SVI run: these tests are about the commands; a few-shop panel's default of three runs mixed is
#: tests/inference/test_mixed_runs.py's (and test_cli_safety's fits run it)
FAST = {"steps": 20, "batch_shops": 4, "window": 40, "num_draws": 16, "checkpoint_every": 10, "restarts": 1}


@pytest.fixture(scope="module")
def panel_dir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("sim")
    assert main(["simulate", "--out", str(d), "--scenario", "sim1", "--shops", "6", "--days", "60", "--quiet"]) == 0
    return d


@pytest.fixture(scope="module")
def config(tmp_path_factory) -> Path:
    p = tmp_path_factory.mktemp("cfg") / "fast.json"
    p.write_text(json.dumps(FAST))
    return p


def flags(panel_dir: Path) -> list[str]:
    return (panel_dir / "fit_flags.txt").read_text().split()


@pytest.fixture(scope="module")
def run_dir(panel_dir, config, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "run"
    code = main(["fit", str(panel_dir / "panel.csv"), *flags(panel_dir), "--holdout", "7", "--config", str(config),
                 "--out", str(out), "--quiet", "--seed", "1"])
    assert code == 0
    return out


def test_fit_writes_the_contract_files(run_dir, panel_dir):
    assert sorted(p.name for p in run_dir.iterdir()) == [".causalmmm-run", "edges.csv", "forecast.csv", "idata.nc",
                                                         "model"]
    edges = pd.read_csv(run_dir / "edges.csv")
    assert list(edges.columns) == ["shop", "cause", "effect", "probability"]
    assert len(edges) == 6 * 8 * 7 and edges["probability"].between(0, 1).all()
    assert (edges["cause"] != edges["effect"]).all()
    fc = pd.read_csv(run_dir / "forecast.csv")
    assert list(fc.columns) == ["shop", "date", "node", "observed", "mean", "lower", "upper"]
    assert len(fc) == 6 * 7 * 2 and set(fc["node"]) == {"pv", "gmv"}
    assert (fc["lower"] <= fc["upper"]).all() and fc["observed"].notna().all()
    panel = pd.read_csv(panel_dir / "panel.csv")
    assert fc["date"].min() == sorted(panel["date"].unique())[-7]
    idata = read_inference_data(run_dir / "idata.nc")
    for g in ("posterior", "posterior_predictive", "observed_data", "log_likelihood", "sample_stats"):
        assert g in idata.groups()
    assert idata.posterior.attrs["model"] == "causalmmm"
    assert (run_dir / "model" / "fit.json").exists() and (run_dir / "model" / "weights.safetensors").exists()
    assert not (run_dir / "checkpoint").exists()


def test_edges_for_new_shops_without_retraining(run_dir, tmp_path, capsys):
    new = tmp_path / "new"
    assert main(["simulate", "--out", str(new), "--scenario", "sim1", "--shops", "2", "--days", "60", "--seed", "9",
                 "--quiet"]) == 0
    frame = pd.read_csv(new / "panel.csv")
    frame["shop"] = frame["shop"].map({"s000": "new_a", "s001": "new_b"})
    frame.to_csv(new / "renamed.csv", index=False)
    code, out, err = run_cli(capsys, "edges", str(run_dir), "--data", str(new / "renamed.csv"), "--out",
                             str(tmp_path / "edges.csv"))
    assert code == 0, err
    edges = pd.read_csv(tmp_path / "edges.csv")
    assert set(edges["shop"]) == {"new_a", "new_b"} and len(edges) == 2 * 56


def test_forecast_rows_with_an_empty_target(run_dir, panel_dir, tmp_path, capsys):
    frame = pd.read_csv(panel_dir / "panel.csv")
    last = sorted(frame["date"].unique())[-5:]
    plan_rows = frame["date"].isin(last)
    frame.loc[plan_rows, ["gmv", "pv"]] = np.nan
    frame.to_csv(tmp_path / "plan.csv", index=False)
    code, out, err = run_cli(capsys, "forecast", str(run_dir), "--data", str(tmp_path / "plan.csv"), "--out",
                             str(tmp_path / "fc.csv"), "--interval", "0.8")
    assert code == 0, err
    fc = pd.read_csv(tmp_path / "fc.csv")
    assert len(fc) == 6 * 5 * 2 and fc["observed"].isna().all()
    assert sorted(fc["date"].unique()) == last


def test_forecast_plan_with_missing_days_is_refused(run_dir, panel_dir, tmp_path, capsys):
    frame = pd.read_csv(panel_dir / "panel.csv")
    dates = sorted(frame["date"].unique())
    frame.loc[frame["date"].isin(dates[-5:]), "gmv"] = np.nan
    frame = frame[~((frame["shop"] == "s002") & (frame["date"] == dates[-3]))]  # a hole in one shop's plan
    frame.to_csv(tmp_path / "holey.csv", index=False)
    code, _, err = run_cli(capsys, "forecast", str(run_dir), "--data", str(tmp_path / "holey.csv"), "--out",
                           str(tmp_path / "fc.csv"))
    assert_one_line_error(code, err, "s002")
    assert not (tmp_path / "fc.csv").exists()


def test_effects_of_every_channel_over_the_plan(run_dir, panel_dir, tmp_path, capsys):
    code, out, err = run_cli(capsys, "effects", str(run_dir), "--data", str(panel_dir / "plan.csv"), "--draws", "4",
                             "--out", str(tmp_path / "effects.csv"), "--interval", "0.8", "--curves",
                             str(tmp_path / "curves.csv"))
    assert code == 0, err
    table = pd.read_csv(tmp_path / "effects.csv")
    assert list(table.columns) == ["shop", "channel", "kind", "mean", "lower", "upper", "spend", "roas", "mroas"]
    assert len(table) == (6 + 1) * 6 * 3 and set(table["kind"]) == {"total", "held", "direct"}
    truth = pd.read_csv(panel_dir / "effects.csv")  # the simulator's window is the plan's
    spend = table[table["shop"] != "ALL"].merge(truth, on=["shop", "channel", "kind"], suffixes=("", "_true"))
    np.testing.assert_allclose(spend["spend"], spend["spend_true"], rtol=1e-6)
    curves = pd.read_csv(tmp_path / "curves.csv")
    assert list(curves.columns) == ["shop", "channel", "multiplier", "mean", "lower", "upper"]
    assert len(curves) == (6 + 1) * 6 * 9 and sorted(curves["multiplier"].unique()) == [i / 4 for i in range(9)]
    # the same draws and noise: a channel's total effect is its curve at the plan minus its curve at 0
    wide = curves.pivot_table(index=["shop", "channel"], columns="multiplier", values="mean")
    total = table[table["kind"] == "total"].set_index(["shop", "channel"])["mean"]
    np.testing.assert_allclose((wide[1.0] - wide[0.0]).loc[total.index], total, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("flags, needle", [(["--draws", "1"], "--draws"), (["--interval", "1.5"], "--interval")])
def test_effects_with_bad_flags_exit_2_and_write_nothing(run_dir, panel_dir, tmp_path, capsys, flags, needle):
    code, _, err = run_cli(capsys, "effects", str(run_dir), "--data", str(panel_dir / "plan.csv"), *flags, "--out",
                           str(tmp_path / "e.csv"))
    assert_one_line_error(code, err, needle)
    assert not (tmp_path / "e.csv").exists()


def test_effects_over_past_days_decompose_history(run_dir, panel_dir, tmp_path, capsys):
    """--window takes past days (their recorded target unused) as the plan: the same table as the same days given as
    plan rows with an empty target."""
    dates = sorted(pd.read_csv(panel_dir / "panel.csv")["date"].unique())
    window = f"{dates[-14]}:{dates[-1]}"
    code, _, err = run_cli(capsys, "effects", str(run_dir), "--data", str(panel_dir / "panel.csv"), "--window",
                           window, "--draws", "4", "--out", str(tmp_path / "past.csv"), "--series",
                           str(tmp_path / "series.csv"))
    assert code == 0, err
    # the per-day contributions of the window: every shop, day and channel; summed over days, the total effects
    series, past = pd.read_csv(tmp_path / "series.csv"), pd.read_csv(tmp_path / "past.csv")
    assert set(series["date"]) == set(dates[-14:])
    assert len(series) == series["shop"].nunique() * 14 * series["channel"].nunique()
    total = past[(past["kind"] == "total") & (past["shop"] != "ALL")].set_index(["shop", "channel"])["mean"]
    summed = series.groupby(["shop", "channel"])["mean"].sum().loc[total.index]
    np.testing.assert_allclose(summed.to_numpy(), total.to_numpy(), rtol=1e-5, atol=1e-3)
    code, _, err = run_cli(capsys, "effects", str(run_dir), "--data", str(panel_dir / "plan.csv"), "--draws", "4",
                           "--out", str(tmp_path / "plan.csv"))
    assert code == 0, err
    past, plan = pd.read_csv(tmp_path / "past.csv"), pd.read_csv(tmp_path / "plan.csv")
    pd.testing.assert_frame_equal(past, plan)
    for bad, needle in ((f"{dates[0]}:{dates[3]}", "first day"), ("2031-01-01:2031-02-01", "no day"),
                        ("yesterday", "START:END"), (f"{dates[-1]}:{dates[-3]}", "before START")):
        code, _, err = run_cli(capsys, "effects", str(run_dir), "--data", str(panel_dir / "panel.csv"), "--window",
                               bad, "--out", str(tmp_path / "bad.csv"))
        assert_one_line_error(code, err, needle)
        assert not (tmp_path / "bad.csv").exists()


def test_effects_without_plan_rows_exit_2(run_dir, panel_dir, tmp_path, capsys):
    code, _, err = run_cli(capsys, "effects", str(run_dir), "--data", str(panel_dir / "panel.csv"), "--out",
                           str(tmp_path / "e.csv"))
    assert_one_line_error(code, err, "no rows with an empty")
    assert not (tmp_path / "e.csv").exists()


def test_allocate_writes_a_plan_forecast_reads(run_dir, panel_dir, tmp_path, capsys):
    """The new plan keeps the history, the budget and every channel's day-to-day shape; only the window's spend moves,
    within 0.5-2x; `forecast` reads it; the same seed gives the same plan."""
    out = tmp_path / "new.csv"
    code, stdout, err = run_cli(capsys, "allocate", str(run_dir), "--data", str(panel_dir / "plan.csv"), "--draws", "4",
                                "--out", str(out))
    assert code == 0, err
    assert "expected uplift vs the plan" in stdout and "interval" in stdout
    old, new = pd.read_csv(panel_dir / "plan.csv"), pd.read_csv(out)
    assert list(new.columns[: len(old.columns) - 2]) == list(old.columns[: len(old.columns) - 2])  # no context: fit
    assert len(new) == len(old) and new["gmv"].isna().sum() == old["gmv"].isna().sum()
    channels = [f"c{k}" for k in range(6)]
    window = old["gmv"].isna()
    pd.testing.assert_frame_equal(new.loc[~window.to_numpy(), channels].reset_index(drop=True),
                                  old.loc[~window, channels].reset_index(drop=True), check_dtype=False)
    assert new.loc[window.to_numpy(), channels].to_numpy().sum() == pytest.approx(
        old.loc[window, channels].to_numpy().sum(), rel=1e-6)
    ratio = (new.loc[window.to_numpy()].groupby("shop")[channels].sum()
             / old.loc[window].groupby("shop")[channels].sum())
    ratio = ratio.to_numpy()[np.isfinite(ratio.to_numpy())]
    assert ratio.min() >= 0.5 - 1e-9 and ratio.max() <= 2.0 + 1e-9 and np.ptp(ratio) > 0.05
    code, _, err = run_cli(capsys, "forecast", str(run_dir), "--data", str(out), "--out", str(tmp_path / "fc.csv"))
    assert code == 0, err
    code, _, err = run_cli(capsys, "allocate", str(run_dir), "--data", str(panel_dir / "plan.csv"), "--draws", "4",
                           "--out", str(tmp_path / "again.csv"), "--quiet")
    assert code == 0, err
    assert (tmp_path / "again.csv").read_bytes() == out.read_bytes()


def test_allocate_refuses_bad_problems_and_writes_nothing(run_dir, panel_dir, tmp_path, capsys):
    bounds = tmp_path / "bounds.csv"
    cases = [
        (["--budget", "-5"], "--budget"),
        (["--budget", "1e12"], "infeasible"),
        (["--risk", "1.2"], "--risk"),
        (["--bounds", str(bounds)], "unknown channel 'tv'"),
        (["--draws", "1"], "--draws"),
    ]
    bounds.write_text("channel,lower,upper\ntv,0.5,2\n")
    for flags_, needle in cases:
        code, _, err = run_cli(capsys, "allocate", str(run_dir), "--data", str(panel_dir / "plan.csv"), *flags_,
                               "--out", str(tmp_path / "x.csv"))
        assert_one_line_error(code, err, needle)
        assert not (tmp_path / "x.csv").exists()
    code, _, err = run_cli(capsys, "allocate", str(run_dir), "--data", str(panel_dir / "panel.csv"), "--out",
                           str(tmp_path / "x.csv"))
    assert_one_line_error(code, err, "no rows with an empty")
    frame = pd.read_csv(panel_dir / "plan.csv")
    last = frame[(frame["shop"] == frame["shop"].iloc[0]) & frame["gmv"].isna()].index[0]
    frame.loc[last, ["pv", "gmv"]] = 1.0  # the first shop's plan starts a day later
    frame.to_csv(tmp_path / "ragged.csv", index=False)
    code, _, err = run_cli(capsys, "allocate", str(run_dir), "--data", str(tmp_path / "ragged.csv"), "--out",
                           str(tmp_path / "x.csv"))
    assert_one_line_error(code, err, "different windows")
    assert not (tmp_path / "x.csv").exists()


def test_data_with_other_columns_than_the_run_is_refused(run_dir, panel_dir, tmp_path, capsys):
    frame = pd.read_csv(panel_dir / "panel.csv").drop(columns=["c3"])
    frame.to_csv(tmp_path / "wrong.csv", index=False)
    code, _, err = run_cli(capsys, "edges", str(run_dir), "--data", str(tmp_path / "wrong.csv"), "--out",
                           str(tmp_path / "e.csv"))
    assert_one_line_error(code, err, "c3")
    assert not (tmp_path / "e.csv").exists()


def test_empty_target_in_training_rows_is_refused(panel_dir, config, tmp_path, capsys):
    frame = pd.read_csv(panel_dir / "panel.csv")
    frame.loc[10, "gmv"] = np.nan
    frame.to_csv(tmp_path / "bad.csv", index=False)
    out = tmp_path / "run"
    code, _, err = run_cli(capsys, "fit", str(tmp_path / "bad.csv"), *flags(panel_dir), "--config", str(config),
                           "--out", str(out))
    assert_one_line_error(code, err, "gmv")
    assert not out.exists()


def test_bad_config_is_refused(panel_dir, tmp_path, capsys):
    cfg = tmp_path / "bad.json"
    cfg.write_text(json.dumps({"prior_probability": 0.3}))
    out = tmp_path / "run"
    code, _, err = run_cli(capsys, "fit", str(panel_dir / "panel.csv"), *flags(panel_dir), "--config", str(cfg),
                           "--out", str(out))
    assert_one_line_error(code, err, "prior_probability")
    assert not out.exists()


def test_a_killed_fit_resumes(panel_dir, config, tmp_path, monkeypatch, capsys):
    """Kill a fit after its first checkpoint; `--resume` finishes it from there."""
    import causalmmm_ppl.inference.svi as svi

    out = tmp_path / "run"
    real_save = svi._save_checkpoint
    calls = {"n": 0}

    def save_then_die(path, state):
        real_save(path, state)
        calls["n"] += 1
        raise KeyboardInterrupt  # the process dies right after writing the checkpoint

    monkeypatch.setattr(svi, "_save_checkpoint", save_then_die)
    argv = ["fit", str(panel_dir / "panel.csv"), *flags(panel_dir), "--config", str(config), "--out", str(out),
            "--quiet"]
    assert main(argv) == 130
    assert (out / "checkpoint" / "checkpoint.safetensors").exists() and not (out / "edges.csv").exists()
    monkeypatch.setattr(svi, "_save_checkpoint", real_save)
    code, stdout, err = run_cli(capsys, *argv, "--resume")
    assert code == 0, err
    assert (out / "edges.csv").exists() and not (out / "checkpoint").exists()
    assert "20 SVI steps" in stdout
    # a 6-shop panel is fitted with the few-shop prior on the message weights, and the summary line says so
    assert "(message weights under a Normal(0, 0.3²) prior)" in stdout


def test_compare_a_causalmmm_run_with_a_btvc_run_on_held_out_days(run_dir, panel_dir, tmp_path, capsys):
    """Both models fitted with the same --holdout forecast those 7 days and are ranked by the log predictive density
    of the observed target there; without --data, runs of different models are refused (their stored
    log-likelihoods answer different questions)."""
    cfg = tmp_path / "btvc.json"
    cfg.write_text(json.dumps({"yearly_order": 0}))  # 6 shops: SVI by default (method "auto"), with a note
    btvc = tmp_path / "btvc"
    code = main(["fit", str(panel_dir / "panel.csv"), *flags(panel_dir), "--model", "btvc", "--holdout", "7",
                 "--config", str(cfg), "--steps", "300", "--out", str(btvc), "--quiet"])
    assert code == 0
    _, err = capsys.readouterr()
    assert "note: 6 shops: BTVC's posterior by SVI" in err
    assert json.loads((btvc / "model" / "btvc.json").read_text())["inference"]["method"] == "svi"
    code, out, err = run_cli(capsys, "compare", run_dir, btvc, "--data", panel_dir / "panel.csv", "--draws", "40",
                             "--out", tmp_path / "cmp.csv", "--quiet")
    assert code == 0, err
    assert "compared on 42 held-out observations of 'gmv'" in out and "the 7 periods after" in out
    table = pd.read_csv(tmp_path / "cmp.csv")
    assert set(table["model"]) == {"causalmmm", "btvc"} and (table["n_obs"] == 6 * 7).all()
    assert np.isfinite(table[["elpd_lfo", "se", "elpd_diff", "dse"]].to_numpy()).all()
    assert table["elpd_diff"].iloc[0] == 0 and (table["elpd_diff"] >= 0).all()
    code, _, err = run_cli(capsys, "compare", run_dir, btvc)
    assert_one_line_error(code, err, "different models", "--data")
    code, _, err = run_cli(capsys, "compare", run_dir, btvc, "--data", tmp_path / "cmp.csv")
    assert code == 2 and "Traceback" not in err


def test_a_fit_with_graph_templates_writes_each_shops_membership(panel_dir, tmp_path, capsys):
    cfg = tmp_path / "templates.json"
    cfg.write_text(json.dumps({**FAST, "steps": 20, "graph_templates": 2}))
    out = tmp_path / "run"
    code, _, _ = run_cli(capsys, "fit", str(panel_dir / "panel.csv"), *flags(panel_dir), "--config", str(cfg),
                         "--out", str(out), "--quiet")
    assert code == 0
    tpl = pd.read_csv(out / "templates.csv")
    assert list(tpl.columns) == ["shop", "template", "share", "probability"]
    assert len(tpl) == 6 * 2 and set(tpl["template"]) == {0, 1}
    np.testing.assert_allclose(tpl.groupby("shop")["probability"].sum(), 1.0, rtol=1e-5)
    np.testing.assert_allclose(tpl.groupby("template")["share"].first().sum(), 1.0, rtol=1e-5)


def _ragged(panel_dir, tmp_path):
    """The panel with its second shop ending 10 days early, and one where no shop has the last 7 days."""
    frame = pd.read_csv(panel_dir / "panel.csv")
    dates = sorted(frame["date"].unique())
    early = frame["shop"].unique()[1]
    frame = frame[~((frame["shop"] == early) & frame["date"].isin(dates[-10:]))]
    frame.to_csv(tmp_path / "ragged.csv", index=False)
    # the other shops stop 3 days early and a new shop starts then: none has the last 7 days
    hopeless = frame[~frame["date"].isin(dates[-3:])]
    newcomer = frame[(frame["shop"] == frame["shop"].iloc[0]) & frame["date"].isin(dates[-3:])].assign(shop="s_new")
    pd.concat([hopeless, newcomer]).to_csv(tmp_path / "hopeless.csv", index=False)
    return early, dates


def test_a_ragged_panel_fits_with_a_holdout(panel_dir, config, tmp_path, capsys):
    """A shop that ends before the holdout is fitted on its days and left out of the holdout forecast with one
    warning (the split is shared by both models: tests/data/test_windows.py)."""
    early, dates = _ragged(panel_dir, tmp_path)
    code, _, err = run_cli(capsys, "fit", tmp_path / "ragged.csv", *flags(panel_dir), "--holdout", "7", "--config",
                           config, "--out", tmp_path / "run", "--quiet")
    assert code == 0, err
    assert f"warning: shop {early!r}" in err and "left out of the holdout forecast" in err
    assert err.count("warning: 6 shop(s): below 10 shops") == 1 and "--model btvc" in err  # few shops: said once
    fc = pd.read_csv(tmp_path / "run" / "forecast.csv")
    assert early not in set(fc["shop"]) and fc["shop"].nunique() == 5
    assert sorted(fc["date"].unique()) == dates[-7:]
    # forecast and effects of a plan over the last 5 days: the shop that ended early is left out with one warning
    frame = pd.read_csv(tmp_path / "ragged.csv")
    frame.loc[frame["date"].isin(dates[-5:]), ["gmv", "pv"]] = np.nan
    frame.to_csv(tmp_path / "ragged_plan.csv", index=False)
    for command, extra in (("forecast", []), ("effects", ["--draws", "4"])):
        code, _, err = run_cli(capsys, command, tmp_path / "run", "--data", tmp_path / "ragged_plan.csv", *extra,
                               "--out", tmp_path / f"{command}.csv", "--quiet")
        assert code == 0, err
        assert f"warning: shop {early!r} has no rows with an empty 'gmv'" in err and f"left out of the {command}" in err
        table = pd.read_csv(tmp_path / f"{command}.csv")
        assert early not in set(table["shop"]) and table["shop"].nunique() == 5 + (command == "effects")  # + "ALL"


@pytest.mark.parametrize("model", ["causalmmm", "btvc"])
def test_a_holdout_nobody_can_be_forecast_on_fails_before_training(model, panel_dir, config, tmp_path, capsys):
    _ragged(panel_dir, tmp_path)
    settings = ["--config", str(config)] if model == "causalmmm" else ["--steps", "20"]
    code, _, err = run_cli(capsys, "fit", tmp_path / "hopeless.csv", *flags(panel_dir), "--model", model, "--holdout",
                           "7", *settings, "--out", tmp_path / "run2")
    assert_one_line_error(code, err, "none can be forecast")
    assert "step" not in err.lower() and not (tmp_path / "run2").exists()


def test_a_run_reads_new_data_the_way_it_read_its_own(panel_dir, config, tmp_path, capsys):
    """A run fitted with --context-agg mean serves edges and forecast on the same kind of data without the flag;
    a flag given to them overrides the run's reading, and a damaged record is one line, exit 2."""
    frame = pd.read_csv(panel_dir / "panel.csv")
    frame["ctx0"] = frame["ctx0"] + np.random.default_rng(0).normal(0, 0.1, len(frame))  # varies within a shop
    frame.to_csv(tmp_path / "varying.csv", index=False)
    plan = frame.copy()
    last = plan.groupby("shop")["date"].transform(lambda d: d.rank(ascending=False) <= 5)
    plan.loc[last, ["pv", "gmv"]] = np.nan
    plan.to_csv(tmp_path / "plan.csv", index=False)
    run = tmp_path / "run"
    code, _, err = run_cli(capsys, "fit", tmp_path / "varying.csv", *flags(panel_dir), "--context-agg", "mean",
                           "--config", config, "--out", run, "--quiet")
    assert code == 0, err
    assert json.loads((run / "model" / "reading.json").read_text()) == {"fill_gaps": "error", "context_agg": "mean",
                                                                         "freq": ""}
    code, _, err = run_cli(capsys, "edges", run, "--data", tmp_path / "varying.csv", "--out", tmp_path / "e.csv")
    assert code == 0, err
    code, _, err = run_cli(capsys, "forecast", run, "--data", tmp_path / "plan.csv", "--out", tmp_path / "f.csv",
                           "--quiet")
    assert code == 0, err
    assert len(pd.read_csv(tmp_path / "f.csv")) == 6 * 5 * 2
    code, _, err = run_cli(capsys, "edges", run, "--data", tmp_path / "varying.csv", "--context-agg", "error",
                           "--out", tmp_path / "e2.csv")
    assert_one_line_error(code, err, "context varies within the shop")
    (run / "model" / "reading.json").write_text("{not json")
    code, _, err = run_cli(capsys, "edges", run, "--data", tmp_path / "varying.csv", "--out", tmp_path / "e3.csv")
    assert_one_line_error(code, err, "reading.json")
    assert not (tmp_path / "e3.csv").exists()


def test_a_panel_of_numbered_weeks_fits_forecasts_and_reports_in_week_numbers(panel_dir, config, tmp_path, capsys):
    """``--freq W``: the date column holds week numbers. The run remembers it: its holdout forecast, a forecast and
    the effects of a window are written and read in week numbers, and the report reads them back as its weeks."""
    frame = pd.read_csv(panel_dir / "panel.csv")
    frame["date"] = frame.groupby("shop")["date"].rank(method="first").astype(int)  # weeks 1..60
    frame.to_csv(tmp_path / "weeks.csv", index=False)
    run = tmp_path / "run"
    code, _, err = run_cli(capsys, "fit", tmp_path / "weeks.csv", *flags(panel_dir), "--freq", "W", "--holdout", "5",
                           "--config", config, "--out", run, "--quiet")
    assert code == 0, err
    assert json.loads((run / "model" / "reading.json").read_text())["freq"] == "W"
    assert sorted(pd.read_csv(run / "forecast.csv")["date"].unique()) == [56, 57, 58, 59, 60]
    plan = frame.copy()
    plan.loc[plan["date"] > 57, ["pv", "gmv"]] = np.nan
    plan.to_csv(tmp_path / "plan.csv", index=False)
    code, _, err = run_cli(capsys, "forecast", run, "--data", tmp_path / "plan.csv", "--out", tmp_path / "f.csv",
                           "--quiet")
    assert code == 0, err
    assert sorted(pd.read_csv(tmp_path / "f.csv")["date"].unique()) == [58, 59, 60]
    code, _, err = run_cli(capsys, "effects", run, "--data", tmp_path / "weeks.csv", "--window", "50:52",
                           "--series", tmp_path / "s.csv", "--out", tmp_path / "e.csv", "--draws", "4", "--quiet")
    assert code == 0, err
    assert sorted(pd.read_csv(tmp_path / "s.csv")["date"].unique()) == [50, 51, 52]
    code, _, err = run_cli(capsys, "effects", run, "--data", tmp_path / "weeks.csv",
                           "--window", "2020-01-01:2020-02-01", "--out", tmp_path / "e2.csv")
    assert_one_line_error(code, err, "two period numbers")
    contents = read_run(run)
    drawn = contents.tables["forecast"]["date"]  # what the report plots: weeks on the run's nominal calendar ...
    assert list(pd.DatetimeIndex(drawn.unique()).sort_values()) == list(period_dates([56, 57, 58, 59, 60], "W"))
    assert contents.freq == "W"  # ... labelled with their numbers (plots.number_periods)
    assert "periods 1 to 55;" in data_section(contents).parts[0]


def test_a_restarted_fit_killed_in_its_second_run_resumes_to_the_same_edges(panel_dir, tmp_path, monkeypatch,
                                                                            capsys):
    """With ``restarts = 2`` the second run checkpoints in its own folder: a fit killed there resumes (the first run
    from its last checkpoint, the second from its own) and writes the edges of a fit never killed."""
    import causalmmm_ppl.inference.svi as svi

    cfg = tmp_path / "restarts.json"
    cfg.write_text(json.dumps(FAST | {"restarts": 2}))
    base = ["fit", str(panel_dir / "panel.csv"), *flags(panel_dir), "--config", str(cfg), "--quiet"]
    assert main([*base, "--out", str(tmp_path / "whole")]) == 0
    real_save = svi._save_checkpoint
    calls = {"n": 0}

    def die_in_the_second_run(path, state):
        real_save(path, state)
        calls["n"] += 1
        if calls["n"] == 3:  # the first run saved at steps 10 and 20, the second at step 10
            raise KeyboardInterrupt

    monkeypatch.setattr(svi, "_save_checkpoint", die_in_the_second_run)
    out = tmp_path / "killed"
    assert main([*base, "--out", str(out)]) == 130
    assert (out / "checkpoint" / "restart1" / "checkpoint.safetensors").exists()
    monkeypatch.setattr(svi, "_save_checkpoint", real_save)
    code, _, err = run_cli(capsys, *base, "--out", str(out), "--resume")
    assert code == 0, err
    assert (out / "edges.csv").read_text() == (tmp_path / "whole" / "edges.csv").read_text()
    assert not (out / "checkpoint").exists()


def test_the_few_shops_warning_is_for_panels_below_the_few_shops_prior():
    """``fit`` says a panel is too small for trustworthy graphs where the default gives it the few-shops prior."""
    from causalmmm_ppl.commands._fit_causalmmm import few_shops_warning
    from causalmmm_ppl.models.spec import FEW_SHOPS

    assert few_shops_warning(FEW_SHOPS) is None and few_shops_warning(100) is None
    assert few_shops_warning(1).startswith("1 shop(s): below 10 shops") and few_shops_warning(FEW_SHOPS - 1)
