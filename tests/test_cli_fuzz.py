"""The command-line contract under random corruption (hypothesis): whatever is wrong with a panel (cells, headers,
encodings, dates, file format) or a config, ``causalmmm validate`` and ``causalmmm fit`` end with exit 0, or with
exit 2 and one line on stderr, never a traceback, and a failed fit leaves nothing in or beside ``--out``.

Real files and real (two-step) fits: a crash anywhere in loading, validation, configuration, SVI or writing escapes
``main`` as an exception and fails the test with its traceback.
"""

from __future__ import annotations

import contextlib
import io
import json
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from causalmmm_ppl.cli import main
from tests.cli_contract import assert_one_line_error

FLAGS = ["--target", "y", "--channels", "a,b", "--mediators", "m", "--context", "ctx"]
COLUMNS = ["shop", "date", "a", "b", "m", "y", "ctx"]
N_SHOPS, N_DAYS = 3, 24


def base_panel() -> pd.DataFrame:
    """A valid long panel: 3 shops × 24 days, two channels, a mediator, the target and one context column."""
    rng = np.random.default_rng(0)
    n = N_SHOPS * N_DAYS
    a = rng.gamma(2.0, 5.0, n).round(2)
    b = np.where(rng.random(n) < 0.3, 0.0, rng.gamma(2.0, 3.0, n)).round(2)
    m = (20 + 0.5 * a + rng.gamma(5.0, 2.0, n)).round(2)
    return pd.DataFrame({
        "shop": np.repeat([f"s{i}" for i in range(N_SHOPS)], N_DAYS),
        "date": np.tile(pd.date_range("2023-01-02", periods=N_DAYS, freq="D").strftime("%Y-%m-%d"), N_SHOPS),
        "a": a, "b": b, "m": m, "y": (100 + 2 * m + rng.normal(0, 5, n)).round(2),
        "ctx": np.repeat(np.arange(N_SHOPS) + 0.5, N_DAYS),
    })


CELL_VALUES = st.one_of(
    st.sampled_from(["", "NaN", "inf", "-inf", "-1", "1e300", "-1e300", "1e-300", "abc", "0x10", "1,5", "=1+1",
                     "∞", " 3 ", "TRUE", "None", "1e38", "12e", "0"]),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.text(max_size=4),
)
DATE_VALUES = st.sampled_from(["", "2023-13-01", "yesterday", "2023/01/05", "05.01.2023", "2023-01-05T10:00",
                               "1e9", "2022-12-31", "2023-01-02", "2023-02-30", "20230105", "Jan 5 2023", "nan"])
HEADERS = st.one_of(st.sampled_from(["", "y", "shop", "date", " a", "A", "a,b", "Unnamed: 0", "ctx", "="]),
                    st.text(max_size=3))


@st.composite
def corruptions(draw) -> tuple[list[tuple], str]:
    """A list of edits of the base table and how the file is written."""
    edits = []
    for _ in range(draw(st.sampled_from([0, 0, 0, 1, 1, 2, 3]))):
        kind = draw(st.sampled_from(["cell", "date", "shop", "header", "drop_col", "drop_row", "dup_row", "ctx"]))
        row = draw(st.integers(0, N_SHOPS * N_DAYS - 1))
        if kind == "cell":
            edits.append((kind, row, draw(st.sampled_from(["a", "b", "m", "y"])), draw(CELL_VALUES)))
        elif kind == "date":
            edits.append((kind, row, draw(DATE_VALUES)))
        elif kind == "shop":
            edits.append((kind, row, draw(st.one_of(st.sampled_from(["", "s1", "=cmd|' /C calc'!A0", "nan"]),
                                                     st.text(max_size=3)))))
        elif kind == "header":
            edits.append((kind, draw(st.integers(0, len(COLUMNS) - 1)), draw(HEADERS)))
        elif kind == "drop_col":
            edits.append((kind, draw(st.sampled_from(COLUMNS))))
        elif kind == "ctx":
            edits.append((kind, row, draw(CELL_VALUES)))
        else:
            edits.append((kind, row))
    writer = draw(st.sampled_from(["csv"] * 12 + ["utf-16", "latin-1", "utf-8-sig", "truncated", "garbage",
                                                 "parquet", "semicolon", "empty", "header-only"]))
    return edits, writer


def corrupted_file(directory: Path, edits: list[tuple], writer: str) -> Path:
    frame = base_panel().astype(object)
    for edit in edits:
        kind = edit[0]
        if kind in ("cell", "ctx"):
            _, row, *rest = edit
            col, value = (rest if kind == "cell" else ("ctx", rest[0]))
            if col in frame.columns and row < len(frame):
                frame.loc[frame.index[row], col] = value
        elif kind in ("date", "shop"):
            _, row, value = edit
            if kind in frame.columns and row < len(frame):
                frame.loc[frame.index[row], kind] = value
        elif kind == "header":
            _, i, name = edit
            frame.columns = [name if k == i else c for k, c in enumerate(frame.columns)]
        elif kind == "drop_col":
            frame = frame.drop(columns=[c for c in frame.columns if c == edit[1]])
        elif kind == "drop_row":
            frame = frame.drop(index=frame.index[min(edit[1], len(frame) - 1)])
        elif kind == "dup_row":
            row = min(edit[1], len(frame) - 1)
            frame = pd.concat([frame, frame.iloc[[row]]], ignore_index=True)
    path = directory / ("panel.parquet" if writer == "parquet" else "panel.csv")
    if writer == "parquet":
        frame.astype(str).to_parquet(path, index=False)
    elif writer == "empty":
        path.write_bytes(b"")
    elif writer == "header-only":
        path.write_text(",".join(map(str, frame.columns)) + "\n")
    else:
        text = frame.to_csv(index=False, sep=";" if writer == "semicolon" else ",")
        if writer == "latin-1":
            data = text.replace("s0", "sø").encode("latin-1", errors="replace")
        elif writer in ("utf-16", "utf-8-sig"):
            data = text.encode(writer)
        elif writer == "truncated":
            data = text.encode()[: len(text) // 2]
        elif writer == "garbage":
            data = text.encode()[:200] + bytes(range(256)) + text.encode()[200:]
        else:
            data = text.encode()
        path.write_bytes(data)
    return path


JSON_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 40), st.floats(allow_nan=True, allow_infinity=True, width=32),
    st.text(max_size=4), st.lists(st.integers(0, 3), max_size=3),
    st.dictionaries(st.sampled_from(["a->y", "y->a", "m->y", "a->b", "a->a", "x->y", "a-y"]),
                    st.one_of(st.floats(-0.5, 1.5), st.text(max_size=2)), max_size=2),
)
CONFIG_KEYS = ["prior_prob", "edge_priors", "forbid_target_causes", "temperature", "temperature_start", "kl_weight",
               "kl_warmup", "screen_weight", "l_max", "response_scale", "seasonality", "saturation", "adstock",
               "hidden", "likelihood", "link", "spend_model", "df", "learn_df", "lr", "batch_shops", "window",
               "num_draws", "checkpoint_every", "graph_templates", "edge_pooling", "unknown_setting"]


@st.composite
def configs(draw) -> str:
    """The text of a --config file: mostly a JSON object of settings with random values, sometimes broken JSON."""
    if draw(st.integers(0, 19)) == 0:
        return draw(st.sampled_from(['{"lr": 0.01,', "[1, 2]", "null", "", '{"steps": NaN}', "\x00\x01", '"text"']))
    keys = draw(st.lists(st.sampled_from(CONFIG_KEYS), max_size=draw(st.sampled_from([0, 0, 1, 2, 3])), unique=True))
    config = {"num_draws": 4, "window": 16}
    config.update({k: draw(JSON_VALUES) for k in keys})
    return json.dumps(config)


def run_main(argv: list[str]) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(argv)
    return code, err.getvalue()


def check_contract(code: int, err: str) -> None:
    reason = err.split(": error: ")[-1].split("panel.csv: ")[-1].split("panel.parquet: ")[-1]
    event(f"exit {code}" + (f": {reason[:30]}" if code == 2 else ""))
    assert "Traceback" not in err, err
    assert code in (0, 2), (code, err)
    if code == 2:
        assert assert_one_line_error(code, err, ": error: ").startswith("causalmmm ")


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(corruptions())
def test_validate_on_a_corrupted_panel_ends_in_exit_0_or_one_line(corruption):
    edits, writer = corruption
    with tempfile.TemporaryDirectory() as d:
        path = corrupted_file(Path(d), edits, writer)
        check_contract(*run_main(["validate", str(path), *FLAGS, "--quiet"]))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.just(([], "csv")), corruptions()), st.one_of(st.just(json.dumps({"num_draws": 4})), configs()))
def test_fit_on_a_corrupted_panel_and_config_ends_in_exit_0_or_one_line_and_leaves_nothing(corruption, config):
    edits, writer = corruption
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        path = corrupted_file(root, edits, writer)
        (root / "config.json").write_text(config)
        out = root / "runs" / "run"
        code, err = run_main(["fit", str(path), *FLAGS, "--config", str(root / "config.json"), "--out", str(out),
                              "--steps", "2", "--quiet"])
        check_contract(code, err)
        if code == 2:
            assert not out.exists(), err
            assert not (root / "runs").exists() or list((root / "runs").iterdir()) == [], err
        else:
            assert (out / "edges.csv").exists() and not (out / "checkpoint").exists()
            assert sorted(p.name for p in (root / "runs").iterdir()) == ["run"]  # no lock or temporary left
