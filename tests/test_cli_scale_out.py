"""Scaling out through the command line: `fit --nproc N` (a data-parallel fit over N real local processes, torch's
elastic launcher, gloo: the run's files, determinism, one-line errors before and after the launch), `fit --device`,
and `edges`/`forecast`/`effects --shops-per-chunk` (tables written chunk by chunk from a Parquet panel)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from causalmmm_ppl.cli import main
from tests.cli_contract import assert_one_line_error
from tests.test_cli_causalmmm import config, panel_dir  # noqa: F401  (the same 6-shop panel and fast settings)


def fit_argv(panel_dir: Path, config: Path, out: Path, *extra: str) -> list[str]:
    flags = (panel_dir / "fit_flags.txt").read_text().split()
    return ["fit", str(panel_dir / "panel.csv"), *flags, "--config", str(config), "--out", str(out), "--quiet",
            "--seed", "2", *extra]


def test_two_processes_write_a_run_and_the_same_seed_gives_the_same_edges(panel_dir, config, tmp_path, capfd):
    runs = [tmp_path / "a", tmp_path / "b"]
    for out in runs:
        assert main(fit_argv(panel_dir, config, out, "--nproc", "2", "--holdout", "7")) == 0
        stdout, err = capfd.readouterr()
        assert stdout.count("causalmmm: 6 shop(s)") == 1 and "20 SVI steps" in stdout, stdout + err
        assert "Traceback" not in err
        assert sorted(p.name for p in out.iterdir()) == [".causalmmm-run", "edges.csv", "forecast.csv", "idata.nc",
                                                         "model"]
    a, b = (pd.read_csv(r / "edges.csv") for r in runs)
    assert len(a) == 6 * 8 * 7 and a["probability"].between(0, 1).all()
    pd.testing.assert_frame_equal(a, b)
    # a two-process run is an ordinary run: reloaded, it gives the edges of its training rows again
    frame = pd.read_csv(panel_dir / "panel.csv")
    frame[frame["date"] < sorted(frame["date"].unique())[-7]].to_csv(tmp_path / "train.csv", index=False)
    code = main(["edges", str(runs[0]), "--data", str(tmp_path / "train.csv"), "--out", str(tmp_path / "e.csv")])
    assert code == 0
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "e.csv"), a)


@pytest.mark.parametrize("extra, needle", [
    (["--nproc", "7"], "more processes than the panel's 6 shop(s)"),
    (["--nproc", "0"], "must be >= 1"),
    (["--nproc", "2", "--model", "btvc"], "--model causalmmm only"),
])
def test_bad_process_counts_fail_before_any_process_starts(panel_dir, config, tmp_path, capfd, extra, needle):
    out = tmp_path / "run"
    code = main(fit_argv(panel_dir, config, out, *extra))
    _, err = capfd.readouterr()
    assert_one_line_error(code, err, "--nproc", needle)
    assert not out.exists()


def test_a_failure_inside_the_processes_is_one_line(panel_dir, config, tmp_path, monkeypatch, capfd):
    """A checkpoint of a one-process fit is not resumed by two processes: each process finds it, process 0 says so
    in one line, and the launch exits 2."""
    import causalmmm_ppl.inference.svi as svi

    out = tmp_path / "run"
    real_save = svi._save_checkpoint

    def save_then_die(path, state):
        real_save(path, state)
        raise KeyboardInterrupt

    monkeypatch.setattr(svi, "_save_checkpoint", save_then_die)
    assert main(fit_argv(panel_dir, config, out)) == 130
    assert (out / "checkpoint" / "checkpoint.safetensors").exists()
    capfd.readouterr()
    code = main(fit_argv(panel_dir, config, out, "--nproc", "2", "--resume"))
    _, err = capfd.readouterr()
    assert_one_line_error(code, err, "checkpoint belongs to other data or settings")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message of a machine without a GPU")
def test_a_gpu_fit_without_a_gpu_is_one_line(panel_dir, config, tmp_path, capfd):
    out = tmp_path / "run"
    code = main(fit_argv(panel_dir, config, out, "--device", "cuda"))
    _, err = capfd.readouterr()
    assert_one_line_error(code, err, "--device cuda: no CUDA device")
    assert not out.exists()


def test_processes_reading_their_own_shops_fit_as_processes_reading_the_whole_panel(panel_dir, config, tmp_path,
                                                                                      capfd):
    """``--shops-per-chunk``: each of 2 processes reads and holds only its own shops of a Parquet panel, 2 at a time;
    the same seed gives the edges of the fit whose processes read the whole panel, and a run that reloads."""
    pd.read_csv(panel_dir / "panel.csv").to_parquet(tmp_path / "panel.parquet", index=False)
    argv = fit_argv(panel_dir, config, tmp_path / "whole", "--nproc", "2")
    argv[1] = str(tmp_path / "panel.parquet")
    assert main(argv) == 0
    argv[argv.index("--out") + 1] = str(tmp_path / "shards")
    assert main([*argv, "--shops-per-chunk", "2"]) == 0
    stdout, err = capfd.readouterr()
    assert "causalmmm: 6 shop(s) read 2 at a time by 2 process(es), 20 SVI steps" in stdout, stdout + err
    assert err.count("writes no idata.nc") == 1 and "Traceback" not in err
    assert sorted(p.name for p in (tmp_path / "shards").iterdir()) == [".causalmmm-run", "edges.csv", "model"]
    a, b = (pd.read_csv(tmp_path / r / "edges.csv") for r in ("whole", "shards"))
    pd.testing.assert_frame_equal(a, b)
    # the run is an ordinary run: `edges` with its model gives its table again
    assert main(["edges", str(tmp_path / "shards"), "--data", str(tmp_path / "panel.parquet"), "--out",
                 str(tmp_path / "e.csv"), "--quiet", "--shops-per-chunk", "4"]) == 0
    assert (pd.read_csv(tmp_path / "e.csv")["probability"] - b["probability"]).abs().max() < 1e-6


@pytest.mark.parametrize("extra, needle", [
    (["--nproc", "2", "--holdout", "7"], "--holdout 7"),
    (["--model", "btvc"], "only --model causalmmm reads"),
    (["--nproc", "2", "--shops-per-chunk", "0"], "must be >= 1"),
])
def test_a_fit_read_shard_by_shard_refuses_what_it_cannot_serve(panel_dir, config, tmp_path, capfd, extra, needle):
    out = tmp_path / "run"
    code = main([*fit_argv(panel_dir, config, out), "--shops-per-chunk", "2", *extra])
    assert_one_line_error(code, capfd.readouterr()[1], needle)
    assert not out.exists()


def test_an_empty_target_in_one_process_shops_stops_every_process_in_one_line(panel_dir, config, tmp_path, capfd):
    """Shop s003 (read by process 1 of 2) has plan rows: every process stops before training and process 0 names
    the shop."""
    frame = pd.read_csv(panel_dir / "panel.csv")
    frame.loc[frame.index[frame["shop"] == "s003"][-2:], "gmv"] = np.nan
    frame.to_parquet(tmp_path / "plan.parquet", index=False)
    argv = [*fit_argv(panel_dir, config, tmp_path / "run", "--nproc", "2"), "--shops-per-chunk", "2"]
    argv[1] = str(tmp_path / "plan.parquet")
    code = main(argv)
    assert_one_line_error(code, capfd.readouterr()[1], "shop 's003'")
    assert not (tmp_path / "run").exists()


def test_a_fit_read_shard_by_shard_resumes_where_it_stopped(panel_dir, config, tmp_path, monkeypatch, capfd):
    """Killed after its first checkpoint and resumed, a one-process fit read 2 shops at a time ends with the edges
    of the fit that was never stopped; its checkpoint is refused by a fit that reads the panel whole."""
    import causalmmm_ppl.inference.svi as svi

    argv = [*fit_argv(panel_dir, config, tmp_path / "once"), "--shops-per-chunk", "2"]
    assert main(argv) == 0
    real_save = svi._save_checkpoint

    def save_then_die(path, state):
        real_save(path, state)
        raise KeyboardInterrupt

    monkeypatch.setattr(svi, "_save_checkpoint", save_then_die)
    argv[argv.index("--out") + 1] = str(tmp_path / "twice")
    assert main(argv) == 130
    monkeypatch.setattr(svi, "_save_checkpoint", real_save)
    capfd.readouterr()
    whole = argv[:-2]  # the same fit, reading the panel whole
    assert_one_line_error(main([*whole, "--resume"]), capfd.readouterr()[1], "checkpoint belongs to other data")
    assert main([*argv, "--resume"]) == 0
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "once" / "edges.csv"),
                                  pd.read_csv(tmp_path / "twice" / "edges.csv"))


@pytest.fixture(scope="module")
def one_process_run(panel_dir, config, tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("runs") / "run"
    assert main(fit_argv(panel_dir, config, run)) == 0
    return run


def test_edges_chunk_by_chunk_from_parquet_equal_the_whole_table(panel_dir, one_process_run, tmp_path, capfd):
    run = one_process_run
    capfd.readouterr()
    frame = pd.read_csv(panel_dir / "panel.csv")
    frame.to_parquet(tmp_path / "panel.parquet", index=False)
    whole, parts = tmp_path / "whole.csv", tmp_path / "parts.csv"
    assert main(["edges", str(run), "--data", str(tmp_path / "panel.parquet"), "--out", str(whole), "--quiet"]) == 0
    assert main(["edges", str(run), "--data", str(tmp_path / "panel.parquet"), "--shops-per-chunk", "4", "--out",
                 str(parts)]) == 0
    stdout, _ = capfd.readouterr()
    assert "edges: 6 shop(s), 336 ordered pairs" in stdout
    a, b = pd.read_csv(whole), pd.read_csv(parts)
    pd.testing.assert_frame_equal(a.drop(columns="probability"), b.drop(columns="probability"))
    assert (a["probability"] - b["probability"]).abs().max() < 1e-6
    # a bad value in the second chunk is named by its row in the file, as without chunks
    frame.loc[frame["shop"] == "s005", "c1"] = -1.0
    frame.to_parquet(tmp_path / "bad.parquet", index=False)
    errors = []
    for extra in ([], ["--shops-per-chunk", "4"]):
        code = main(["edges", str(run), "--data", str(tmp_path / "bad.parquet"), *extra, "--out",
                     str(tmp_path / "bad.csv"), "--quiet"])
        errors.append(assert_one_line_error(code, capfd.readouterr()[1], "s005", "row "))
    assert errors[0] == errors[1]
    assert not (tmp_path / "bad.csv").exists()


def test_forecasts_chunk_by_chunk_cover_every_planned_shop_once(panel_dir, one_process_run, tmp_path, capfd):
    """Chunks of 2 shops: the first chunk has no plan (its shops' data end early) and is left out with one warning;
    the others are forecast as the whole panel is (same rows; their means inside the whole run's intervals)."""
    run = one_process_run
    plan = pd.read_csv(panel_dir / "plan.csv")
    early = plan["shop"].isin(["s000", "s001"]) & plan["gmv"].isna()
    plan[~early].to_parquet(tmp_path / "plan.parquet", index=False)
    capfd.readouterr()
    outs = {}
    for chunk in (None, 2):
        out = tmp_path / f"fc_{chunk}.csv"
        extra = ["--shops-per-chunk", str(chunk)] if chunk else []
        assert main(["forecast", str(run), "--data", str(tmp_path / "plan.parquet"), *extra, "--out", str(out)]) == 0
        stdout, err = capfd.readouterr()
        assert "forecast: 6 shop(s), 112 rows" in stdout  # 4 shops x 14 days x (pv, gmv)
        assert err.count("warning:") == 1 and "'s000', 's001'" in err
        outs[chunk] = pd.read_csv(out)
    whole, parts = outs[None], outs[2]
    key = ["shop", "date", "node"]
    merged = whole.merge(parts, on=key, suffixes=("", "_chunk"))
    assert len(merged) == len(whole) == len(parts) == 112 and set(whole["shop"]) == {"s002", "s003", "s004", "s005"}
    inside = merged["mean_chunk"].between(merged["lower"], merged["upper"])
    assert inside.mean() >= 0.9
    # no plan anywhere: one line, nothing written
    plan[plan["gmv"].notna()].to_parquet(tmp_path / "none.parquet", index=False)
    code = main(["forecast", str(run), "--data", str(tmp_path / "none.parquet"), "--shops-per-chunk", "2", "--out",
                 str(tmp_path / "none.csv"), "--quiet"])
    assert_one_line_error(code, capfd.readouterr()[1], "no rows with an empty 'gmv' to forecast")
    assert not (tmp_path / "none.csv").exists()


def test_effects_chunk_by_chunk_sum_the_portfolio_over_every_chunk(panel_dir, one_process_run, tmp_path, capfd):
    """Chunks of 4 shops (4 + 2): every shop's rows once, in the whole table's order, with its spend and intervals
    that overlap the whole run's; the portfolio rows come last and sum every chunk's draws (their means are the sums
    of the shops' means, their spend the total spend); one chunk of every shop writes the whole table byte for byte."""
    run = one_process_run
    plan = pd.read_csv(panel_dir / "plan.csv")
    plan.to_parquet(tmp_path / "plan.parquet", index=False)
    capfd.readouterr()
    paths = {}
    for chunk in (None, 4, 6):
        paths[chunk] = tmp_path / f"eff_{chunk}.csv"
        extra = ["--shops-per-chunk", str(chunk)] if chunk else []
        assert main(["effects", str(run), "--data", str(tmp_path / "plan.parquet"), "--draws", "30", *extra,
                     "--out", str(paths[chunk])]) == 0
        assert "effects: 6 shop(s) x 6 channel(s), 126 rows" in capfd.readouterr()[0]
    assert paths[6].read_bytes() == paths[None].read_bytes()
    whole, parts = pd.read_csv(paths[None]), pd.read_csv(paths[4])
    key = ["shop", "channel", "kind"]
    pd.testing.assert_frame_equal(whole[key], parts[key])
    assert list(parts["shop"].unique()) == [f"s00{k}" for k in range(6)] + ["ALL"]
    shops, portfolio = parts[parts["shop"] != "ALL"], parts[parts["shop"] == "ALL"].set_index(["channel", "kind"])
    summed = shops.groupby(["channel", "kind"])[["mean", "spend"]].sum()
    assert np.allclose(portfolio.loc[summed.index, "mean"], summed["mean"], rtol=1e-6, atol=1e-6)
    assert np.allclose(portfolio.loc[summed.index, "spend"], summed["spend"], rtol=1e-9)
    one = whole[whole["shop"] != "ALL"]
    np.testing.assert_array_equal(shops["spend"].to_numpy(), one["spend"].to_numpy())  # each row its own shop's
    # two samples of one posterior: their 90% intervals overlap (an effect's draws have a point mass at 0 where the
    # draws' graphs leave the channel no path, so one sample's mean can lie outside the other's interval)
    assert ((shops["lower"].to_numpy() <= one["upper"].to_numpy() + 1e-9)
            & (one["lower"].to_numpy() <= shops["upper"].to_numpy() + 1e-9)).all()
    # the whole-panel outputs stay whole-panel: one line, nothing written
    code = main(["effects", str(run), "--data", str(tmp_path / "plan.parquet"), "--shops-per-chunk", "4", "--curves",
                 str(tmp_path / "curves.csv"), "--out", str(tmp_path / "x.csv"), "--quiet"])
    assert_one_line_error(code, capfd.readouterr()[1], "--shops-per-chunk")
    assert not (tmp_path / "x.csv").exists() and not (tmp_path / "curves.csv").exists()


def test_chunks_draw_with_seeds_of_their_own():
    from causalmmm_ppl.commands.effects import chunk_seed

    assert chunk_seed(None, 0) is None and chunk_seed(3, 0) == 3  # a panel read whole draws as it always did
    later = [chunk_seed(3, k) for k in range(1, 5)] + [chunk_seed(None, k) for k in range(1, 5)]
    assert len(set(later)) == len(later) and 3 not in later
    assert later == [chunk_seed(3, k) for k in range(1, 5)] + [chunk_seed(None, k) for k in range(1, 5)]


def test_launched_processes_run_with_the_fault_handler_and_leave_the_environment_as_it_was(tmp_path, monkeypatch):
    """Every process of a launch runs with Python's fault handler on, so that one killed by a fatal signal (an abort
    in a native library's thread) prints its Python tracebacks; the launching process's environment is restored."""
    import os

    from causalmmm_ppl.commands._launch import run_processes

    monkeypatch.delenv("PYTHONFAULTHANDLER", raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    run_processes(["tests._launch_probe", str(tmp_path)], 2, 1)
    assert sorted((p.name, p.read_text()) for p in tmp_path.iterdir()) == [("rank0", "True"), ("rank1", "True")]
    assert "PYTHONFAULTHANDLER" not in os.environ and os.environ["OMP_NUM_THREADS"] == "2"
