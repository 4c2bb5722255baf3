"""``causalmmm report RUN --out report.html`` on a CausalMMM and a BTVC run (tiny fits), its failure mode, and the page
rendered in a real headless browser (skipped with a reason where no chromium is installed)."""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
from html.parser import HTMLParser

import numpy as np
import pytest

from causalmmm_ppl.cli import main
from causalmmm_ppl.data.simulate import simulate
from causalmmm_ppl.reporting import build_report
from causalmmm_ppl.reporting.sections import forecast_metrics

BROWSERS = ("chromium", "chromium-browser", "google-chrome")


class _Images(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.srcs: list[str] = []
        self.external: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img":
            self.srcs.append(a.get("src", ""))
        if tag in ("script", "link") or (tag == "img" and not a.get("src", "").startswith("data:")):
            self.external.append(tag)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("report_runs")
    sim = simulate("sim1", n_shops=3, n_days=45, seed=3)
    sim.write(root / "sim", horizon=5)
    flags = (root / "sim" / "fit_flags.txt").read_text().split()
    data = str(root / "sim" / "panel.csv")
    (root / "c.json").write_text(json.dumps({"window": 24, "num_draws": 20}))
    assert main(["fit", data, *flags, "--holdout", "5", "--steps", "15", "--config", str(root / "c.json"),
                 "--out", str(root / "cmmm"), "--quiet"]) == 0
    (root / "b.json").write_text(json.dumps({"method": "svi", "svi_draws": 40, "yearly_order": 0}))
    channels = ",".join(n for n, k in zip(sim.panel.nodes, sim.panel.node_kinds) if k == "channel")
    assert main(["fit", data, "--target", "gmv", "--channels", channels, "--shop-col", "shop", "--date-col", "date",
                 "--model", "btvc", "--holdout", "5", "--steps", "150", "--config", str(root / "b.json"),
                 "--out", str(root / "btvc"), "--quiet"]) == 0
    return {"causalmmm": root / "cmmm", "btvc": root / "btvc"}


@pytest.mark.parametrize("kind", ["causalmmm", "btvc"])
def test_report_is_one_self_contained_page(runs, kind, tmp_path):
    out = tmp_path / "report.html"
    assert main(["report", str(runs[kind]), "--out", str(out), "--quiet"]) == 0
    page = out.read_text(encoding="utf-8")
    parser = _Images()
    parser.feed(page)
    assert parser.external == [], "the page must not load anything from outside"
    assert len(parser.srcs) >= 5
    for src in parser.srcs:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    for title in ("Data", "Response curves", "Forecasts", "Diagnostics", "Fit settings"):
        assert f"<h2>{title}</h2>" in page
    assert ("<h2>Causal graph</h2>" in page) == (kind == "causalmmm")
    assert ("<h2>Media effects</h2>" in page) == (kind == "btvc")
    assert "Held-out accuracy" in page  # fitted with --holdout
    assert "not shown" not in page, re.findall(r"[^>]*not shown[^<]*", page)
    assert out.stat().st_size < 3_000_000


def test_report_shows_the_channel_effects_it_is_given(runs, tmp_path, capsys):
    sim = runs["causalmmm"].parent / "sim"
    effects = tmp_path / "effects.csv"
    curves = tmp_path / "curves.csv"
    assert main(["effects", str(runs["causalmmm"]), "--data", str(sim / "plan.csv"), "--draws", "4", "--out",
                 str(effects), "--curves", str(curves), "--quiet"]) == 0
    out = tmp_path / "report.html"
    assert main(["report", str(runs["causalmmm"]), "--effects", str(effects), "--curves", str(curves), "--out",
                 str(out), "--quiet"]) == 0
    page = out.read_text(encoding="utf-8")
    assert "<h2>Channel effects</h2>" in page and "mroas" in page and "not shown" not in page
    assert "fall short of the true effects" in page  # the benchmark's caveat beside the figures a user acts on
    assert 'alt="response curves over the plan"' in page
    bad = tmp_path / "bad.csv"
    bad.write_text("shop,channel\na,b\n")
    assert main(["report", str(runs["causalmmm"]), "--effects", str(bad), "--out", str(tmp_path / "r2.html")]) == 2
    assert "not an effects table" in capsys.readouterr().err and not (tmp_path / "r2.html").exists()


def test_report_of_a_directory_that_is_not_a_run(tmp_path, capsys):
    (tmp_path / "notarun").mkdir()
    (tmp_path / "notarun" / "panel.csv").write_text("a,b\n1,2\n")
    out = tmp_path / "r.html"
    assert main(["report", str(tmp_path / "notarun"), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "notarun" in err and "not a run directory" in err
    assert not out.exists() and list(tmp_path.iterdir()) == [tmp_path / "notarun"]
    assert main(["report", str(tmp_path / "missing"), "--out", str(out)]) == 2
    assert "no such run directory" in capsys.readouterr().err and not out.exists()


def test_forecast_metrics_coverage():
    import pandas as pd

    f = pd.DataFrame({"shop": "a", "date": "2022-01-01", "node": ["y"] * 4, "observed": [1.0, 2.0, 3.0, np.nan],
                      "mean": [1.0, 2.5, 2.0, 1.0], "lower": [0.5, 2.1, 0.0, 0.0], "upper": [1.5, 3.0, 2.5, 2.0]})
    m = forecast_metrics(f).iloc[0]
    assert m["rows"] == 3 and m["coverage"] == pytest.approx(1 / 3) and m["MAE"] == pytest.approx(0.5)


def _browser() -> str | None:
    return next((shutil.which(b) for b in BROWSERS if shutil.which(b)), None)


def test_report_renders_in_a_headless_browser(runs, tmp_path):
    browser = _browser()
    if browser is None:
        pytest.skip("no chromium installed (apt-get install chromium; .ci/run installs it): cannot render the page")
    page = tmp_path / "report.html"
    page.write_text(build_report(runs["causalmmm"]), encoding="utf-8")
    shot = tmp_path / "shot.png"
    cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}", "--window-size=1200,3000",
           page.resolve().as_uri()]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=90)
    assert proc.returncode == 0 and shot.is_file(), proc.stderr[-2000:]
    import matplotlib.image as mpimg

    img = mpimg.imread(shot)  # (height, width, channel) floats in [0, 1]
    assert img.shape[:2] == (3000, 1200)
    # The header band is dark blue, and the figures below it make the page far from blank: many distinct colours.
    assert img[20, 600, 2] > img[20, 600, 0] and img[20, 600, :3].mean() < 0.5
    body = img[150:, :, :3].reshape(-1, 3)
    assert len(np.unique((body * 255).astype(np.uint8), axis=0)) > 200
    assert (body.mean(axis=1) < 0.9).mean() > 0.02


def test_the_diagnostics_say_what_the_chains_of_mixed_runs_are(runs, tmp_path):
    """A 3-shop run mixes its SVI runs by default: its idata.nc holds one chain per kept run, and the report's
    diagnostics say that R-hat compares the runs (a fit left with one run: the note on independent draws)."""
    from causalmmm_ppl.evaluation.inference_data import read_inference_data

    saved = json.loads((runs["causalmmm"] / "model" / "fit.json").read_text())
    assert saved["settings"]["inference"]["restarts"] == 3 and saved["settings"]["inference"]["keep_runs"] == "all"
    kept = sum(run["kept"] for run in saved["svi_runs"])
    idata = read_inference_data(runs["causalmmm"] / "idata.nc")
    assert int(idata.posterior.attrs["svi_runs_mixed"]) == kept
    if kept > 1:
        assert idata.posterior.sizes["chain"] == kept
    out = tmp_path / "report.html"
    assert main(["report", str(runs["causalmmm"]), "--out", str(out), "--quiet"]) == 0
    page = out.read_text(encoding="utf-8")
    assert (f"one of the {kept} SVI runs" in page) == (kept > 1)
    assert ("stored as chains of consecutive draws" in page) == (kept == 1)
