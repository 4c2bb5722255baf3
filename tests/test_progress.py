"""Progress reporting: plain lines off a terminal, nothing under --quiet, the tqdm calls the package makes."""

from __future__ import annotations

import io
import sys

from causalmmm_ppl import _progress


def test_off_a_terminal_progress_is_one_plain_line_per_tenth(monkeypatch):
    err = io.StringIO()  # not a terminal
    monkeypatch.setattr(sys, "stderr", err)
    assert list(_progress.progress(range(50), desc="forecast")) == list(range(50))
    lines = err.getvalue().splitlines()
    assert "\r" not in err.getvalue()
    assert lines[0] == "forecast: 5/50 (10%)" and len(lines) == 10  # 10%, ..., 90%, and the end with its time
    assert lines[-1].startswith("forecast: 50/50 (100%), ") and lines[-1].endswith(" s")
    err.truncate(0), err.seek(0)
    with _progress.progress(total=1500, initial=300, desc="SVI") as bar:  # a resumed fit starts at its step
        for _ in range(1200):
            bar.set_postfix(loss="1.234")
            bar.update(1)
    lines = err.getvalue().splitlines()
    assert lines[0] == "SVI: 450/1500 (30%), loss=1.234" and lines[-1].startswith("SVI: 1500/1500 (100%)")
    err.truncate(0), err.seek(0)
    assert list(_progress.progress(iter(range(3)), desc="x", disable=True)) == [0, 1, 2]
    assert err.getvalue() == ""  # --quiet


def test_a_fit_off_a_terminal_logs_lines_not_carriage_returns(tmp_path, capfd):
    from causalmmm_ppl.cli import main

    assert main(["simulate", "--out", str(tmp_path / "sim"), "--shops", "3", "--days", "40", "--quiet"]) == 0
    flags = (tmp_path / "sim" / "fit_flags.txt").read_text().split()
    capfd.readouterr()
    assert main(["fit", str(tmp_path / "sim" / "panel.csv"), *flags, "--steps", "20", "--holdout", "5",
                 "--out", str(tmp_path / "run")]) == 0
    err = capfd.readouterr().err
    assert "\r" not in err
    for phase in ("SVI: 20/20", "posterior draws:", "forecast:"):
        assert phase in err, phase
