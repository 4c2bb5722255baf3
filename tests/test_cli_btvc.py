"""``causalmmm fit --model btvc``, ``effects`` and ``compare`` on BTVC runs end to end (in-process, small settings)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from causalmmm_ppl.cli import main
from causalmmm_ppl.evaluation.diagnostics import DIAGNOSTIC_COLUMNS
from causalmmm_ppl.evaluation.inference_data import read_inference_data
from tests.cli_contract import assert_one_line_error
from tests.inference.test_btvc import make_tvc_panel


@pytest.fixture(scope="module")
def data_csv(tmp_path_factory):
    panel, _ = make_tvc_panel(n_shops=2, n_days=90, seed=6, period=400.0)
    path = tmp_path_factory.mktemp("data") / "panel.csv"
    panel.to_frame().to_csv(path, index=False)
    return path


def _config(tmp_path, name, **settings):
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps({"yearly_order": 0, **settings}))
    return str(path)


def _fit(data_csv, out, config, *extra):
    return main(["fit", str(data_csv), "--target", "y", "--channels", "x", "--controls", "promo", "--model", "btvc",
                 "--config", config, "--out", str(out), "--quiet", *extra])


@pytest.fixture(scope="module")
def runs(data_csv, tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    svi = root / "svi"
    nuts = root / "nuts"
    assert _fit(data_csv, svi, _config(root, "svi", method="svi"), "--steps", "400", "--holdout", "7") == 0
    assert _fit(data_csv, nuts, _config(root, "nuts", num_chains=2, num_warmup=60), "--steps", "60",
                "--holdout", "7", "--seed", "1") == 0
    return svi, nuts


def test_fit_writes_the_contract_files(runs):
    for run in runs:
        for name in ("idata.nc", "diagnostics.csv", "contributions.csv", "forecast.csv", "model/columns.json",
                     "model/btvc.json", "model/posterior.npz", "model/scaler.json"):
            assert (run / name).is_file(), (run, name)
        fc = pd.read_csv(run / "forecast.csv")
        assert list(fc.columns) == ["shop", "date", "node", "observed", "mean", "lower", "upper"]
        assert len(fc) == 2 * 7 and (fc["lower"] <= fc["mean"]).all() and (fc["mean"] <= fc["upper"]).all()
        contrib = pd.read_csv(run / "contributions.csv")
        assert list(contrib.columns) == ["shop", "date", "channel", "mean", "lower", "upper"]
        assert len(contrib) == 2 * 83 * 2
        diag = pd.read_csv(run / "diagnostics.csv")
        assert tuple(diag.columns) == DIAGNOSTIC_COLUMNS
        assert json.loads((run / "model" / "columns.json").read_text())["target"] == "y"
    idata = read_inference_data(runs[1] / "idata.nc")
    for group in ("posterior", "posterior_predictive", "observed_data", "log_likelihood", "sample_stats"):
        assert group in idata.groups()
    assert idata.log_likelihood["obs_date"].to_index().nunique() == 83  # the holdout is not in the fit


def test_compare_prints_an_elpd_table(runs, tmp_path, capsys):
    out = tmp_path / "cmp.csv"
    assert main(["compare", str(runs[0]), str(runs[1]), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "compared on 166 observations of 'y'" in printed
    for col in ("elpd_loo", "se", "weight"):
        assert col in printed
    table = pd.read_csv(out)
    assert set(table["run"]) == {"svi", "nuts"} and {"elpd_loo", "se", "weight"} <= set(table.columns)


@pytest.mark.parametrize("case", ["column", "config", "holdout", "steps"])
def test_bad_input_exits_2_with_one_line_and_no_run(case, data_csv, tmp_path, capsys):
    out = tmp_path / "run"
    config = _config(tmp_path, "ok", method="svi")
    if case == "column":
        argv = ["fit", str(data_csv), "--target", "y", "--channels", "x,nope", "--model", "btvc", "--out", str(out)]
    elif case == "config":
        argv = ["fit", str(data_csv), "--target", "y", "--channels", "x", "--controls", "promo", "--model", "btvc",
                "--config", _config(tmp_path, "bad", num_chainz=2), "--out", str(out)]
    elif case == "holdout":
        argv = ["fit", str(data_csv), "--target", "y", "--channels", "x", "--controls", "promo", "--model", "btvc",
                "--config", config, "--holdout", "88", "--out", str(out)]
    else:
        argv = ["fit", str(data_csv), "--target", "y", "--channels", "x", "--controls", "promo", "--model", "btvc",
                "--config", config, "--steps", "0", "--out", str(out)]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("causalmmm fit: error:"), err
    expected = {"column": "nope", "config": "did you mean 'num_chains'", "holdout": "--holdout",
                "steps": "--steps"}[case]
    assert expected in err[0]
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".run")]


def test_effects_on_a_btvc_run(runs, data_csv, tmp_path, capsys):
    """`causalmmm effects` reads a BTVC run as it reads a CausalMMM one; BTVC is additive, so its kinds agree."""
    frame = pd.read_csv(data_csv)
    last = sorted(frame["date"].unique())[-7:]  # the days after the run's training end (--holdout 7)
    frame.loc[frame["date"].isin(last), "y"] = np.nan
    frame.to_csv(tmp_path / "plan.csv", index=False)
    out = tmp_path / "effects.csv"
    assert main(["effects", str(runs[0]), "--data", str(tmp_path / "plan.csv"), "--out", str(out), "--series",
                 str(tmp_path / "series.csv"), "--quiet"]) == 0
    table = pd.read_csv(out)
    assert set(table["channel"]) == {"x"} and set(table["shop"]) == {"s0", "s1", "ALL"}
    wide = table.pivot(index="shop", columns="kind", values="mean")
    np.testing.assert_allclose(wide["total"], wide["held"])
    assert (wide["total"] > 0).all()  # spend drives the target in this panel
    series = pd.read_csv(tmp_path / "series.csv")  # per day over the plan, summing to the window's effect
    assert set(series["date"]) == set(last) and len(series) == 2 * 7
    np.testing.assert_allclose(series.groupby("shop")["mean"].sum(), wide.loc[["s0", "s1"], "total"], rtol=1e-6)
    early = frame[frame["date"] < last[0]].copy()
    early.loc[early["date"].isin(sorted(early["date"].unique())[-7:]), "y"] = np.nan
    early.to_csv(tmp_path / "early.csv", index=False)
    capsys.readouterr()
    assert main(["effects", str(runs[0]), "--data", str(tmp_path / "plan.csv"), "--curves", str(tmp_path / "c.csv"),
                 "--out", str(tmp_path / "e.csv"), "--quiet"]) == 0
    curves = pd.read_csv(tmp_path / "c.csv")
    assert len(curves) == 3 * 9 and set(curves["shop"]) == {"s0", "s1", "ALL"}
    for shop, curve in curves.groupby("shop"):  # more spend, more target; at the plan the curve is the factual
        assert np.all(np.diff(curve.sort_values("multiplier")["mean"]) > 0), shop
        off = curve[curve["multiplier"] == 0.0]["mean"].iloc[0]
        at_plan = curve[curve["multiplier"] == 1.0]["mean"].iloc[0]
        np.testing.assert_allclose(at_plan - off, wide.loc[shop, "total"], rtol=1e-6)
    capsys.readouterr()
    code = main(["effects", str(runs[0]), "--data", str(tmp_path / "early.csv"), "--out", str(tmp_path / "e2.csv")])
    assert_one_line_error(code, capsys.readouterr().err, "no dates after the training end")
    assert not (tmp_path / "e2.csv").exists()
    # past days are not decomposed by a model whose history is its training data (MMMFit.fixed_history)
    window = f"{last[0]}:{last[-1]}"
    code = main(["effects", str(runs[0]), "--data", str(data_csv), "--window", window, "--out", str(tmp_path / "w.csv")])
    assert_one_line_error(code, capsys.readouterr().err, "answers only for plans after its training days")
    assert not (tmp_path / "w.csv").exists()


def test_allocate_on_a_btvc_run(runs, data_csv, tmp_path, capsys):
    """`causalmmm allocate` reads a BTVC run as it reads a CausalMMM one: the new plan holds the budget."""
    frame = pd.read_csv(data_csv)
    last = sorted(frame["date"].unique())[-7:]  # the days after the run's training end (--holdout 7)
    frame.loc[frame["date"].isin(last), "y"] = np.nan
    frame.to_csv(tmp_path / "plan.csv", index=False)
    budget = 0.8 * frame.loc[frame["date"].isin(last), "x"].sum()
    code = main(["allocate", str(runs[0]), "--data", str(tmp_path / "plan.csv"), "--budget", str(budget), "--scope",
                 "shop", "--out", str(tmp_path / "new.csv")])
    out = capsys.readouterr().out
    assert code == 0 and "expected uplift vs the plan" in out
    new = pd.read_csv(tmp_path / "new.csv")
    window = new["date"].isin(last)
    assert new.loc[window, "x"].sum() == pytest.approx(budget, rel=1e-6)
    assert new.loc[window, "y"].isna().all() and not new.loc[~window, "y"].isna().any()
    # `forecast` reads the new plan on the BTVC run: less spend, a lower forecast than the plan's
    for name in ("plan", "new"):
        assert main(["forecast", str(runs[0]), "--data", str(tmp_path / f"{name}.csv"), "--out",
                     str(tmp_path / f"fc_{name}.csv"), "--quiet"]) == 0
    fc = {name: pd.read_csv(tmp_path / f"fc_{name}.csv") for name in ("plan", "new")}
    assert len(fc["new"]) == 2 * 7 and set(fc["new"]["node"]) == {"y"}
    assert fc["new"]["mean"].sum() < fc["plan"]["mean"].sum()


def test_a_btvc_run_on_numbered_days_writes_and_reads_day_numbers(data_csv, tmp_path, capsys):
    """``--freq D``: BTVC's holdout forecast and contributions number the days as the input did, and a forecast
    from the run reads a numbered plan without the flag."""
    frame = pd.read_csv(data_csv)
    frame["date"] = frame.groupby("shop")["date"].rank(method="first").astype(int) + 100  # days 101..190
    frame.to_csv(tmp_path / "days.csv", index=False)
    run = tmp_path / "run"
    assert _fit(tmp_path / "days.csv", run, _config(tmp_path, "svi", method="svi"), "--steps", "200",
                "--holdout", "5", "--freq", "D") == 0
    assert sorted(pd.read_csv(run / "forecast.csv")["date"].unique()) == [186, 187, 188, 189, 190]
    assert pd.read_csv(run / "contributions.csv")["date"].min() == 101
    plan = frame[frame["date"] > 185].copy()
    plan["y"] = np.nan
    history = frame[frame["date"] <= 185]
    pd.concat([history, plan]).to_csv(tmp_path / "plan.csv", index=False)
    assert main(["forecast", str(run), "--data", str(tmp_path / "plan.csv"), "--out", str(tmp_path / "f.csv"),
                 "--quiet"]) == 0
    assert sorted(pd.read_csv(tmp_path / "f.csv")["date"].unique()) == [186, 187, 188, 189, 190]
