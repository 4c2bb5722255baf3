"""README command 1 (scripts/demo.sh) runs end to end: simulate → fit → edges → forecast → effects → allocate → score
→ report."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]


def test_demo_script_writes_edges_forecasts_and_a_report(tmp_path):
    out = tmp_path / "demo"
    env = dict(os.environ, DEMO_STEPS="30", DEMO_DAYS="90", DEMO_DRAWS="10", DEMO_HORIZON="5", DEMO_QUIET="--quiet")
    done = subprocess.run(["bash", str(REPO / "scripts" / "demo.sh"), str(out)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    edges = pd.read_csv(out / "run" / "edges.csv")
    assert len(edges) == 12 * 8 * 7
    forecast = pd.read_csv(out / "run" / "forecast.csv")
    assert {"mean", "lower", "upper"} <= set(forecast.columns)
    assert len(pd.read_csv(out / "new_shop_edges.csv")) == 2 * 8 * 7
    assert len(pd.read_csv(out / "plan_forecast.csv")) == 12 * 5 * 2
    assert "graph recovery over 12 shops" in done.stdout
    effects = pd.read_csv(out / "effects.csv")
    assert len(effects) == (12 + 1) * 6 * 3 and "total effects over 12 shops: Spearman" in done.stdout
    assert len(pd.read_csv(out / "curves.csv")) == (12 + 1) * 6 * 9
    assert "expected uplift vs the plan" in done.stdout and "allocation by the truth" in done.stdout
    plan, new = pd.read_csv(out / "data" / "plan.csv"), pd.read_csv(out / "allocated_plan.csv")
    channels = [f"c{k}" for k in range(6)]
    assert new[channels].to_numpy().sum() == pytest.approx(plan[channels].to_numpy().sum(), rel=1e-6)
    html = (out / "report.html").read_text()
    assert "<img" in html and "data:image/png;base64," in html and "<h2>Channel effects</h2>" in html
