"""Diagnostics per parameter group and the warnings they raise."""

from __future__ import annotations

import numpy as np

from causalmmm_ppl.evaluation.diagnostics import DIAGNOSTIC_COLUMNS, diagnostic_warnings, diagnostics_table
from causalmmm_ppl.evaluation.inference_data import build_inference_data, panel_coords


def _idata(shift: float = 0.0, diverging: int = 0, chains: int = 4):
    rng = np.random.default_rng(0)
    a = rng.normal(size=(chains, 500, 3))
    a[0] += shift
    b = rng.normal(size=(chains, 500))
    div = np.zeros((chains, 500), bool)
    div.flat[:diverging] = True
    coords = panel_coords(["s"], np.array(["2024-01-01"], dtype="datetime64[D]"))
    return build_inference_data(posterior={"a": a, "b": b, "path": rng.normal(size=(chains, 500, 50))},
                                dims={"a": ["k"], "path": ["t"]}, coords=coords, model="btvc", target_name="y",
                                inference="nuts", sample_stats={"diverging": div}, latent=["a", "b"])


def test_table_has_one_row_per_latent_group_and_a_total():
    table = diagnostics_table(_idata())
    assert tuple(table.columns) == DIAGNOSTIC_COLUMNS
    assert list(table["group"]) == ["a", "b", "all"]
    assert table.set_index("group").loc["a", "parameters"] == 3
    assert (table["rhat_max"] < 1.01).all() and (table["ess_bulk_min"] > 1000).all()
    assert (table["divergences"] == 0).all()
    assert diagnostic_warnings(table) == []


def test_unmixed_chains_and_divergences_are_reported():
    table = diagnostics_table(_idata(shift=2.0, diverging=7))
    lines = diagnostic_warnings(table)
    assert len(lines) == 2
    assert "R-hat" in lines[0] and "a (" in lines[0] and "b (" not in lines[0]
    assert "7 divergent transitions" in lines[1]


def test_one_chain_has_no_rhat_and_no_warning():
    table = diagnostics_table(_idata(chains=1))
    assert table["rhat_max"].isna().all()
    assert diagnostic_warnings(table) == []
