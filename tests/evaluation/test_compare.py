"""ELPD-LOO comparison of runs: same target, same observations, clear refusals."""

from __future__ import annotations

import numpy as np
import pytest

from causalmmm_ppl.evaluation.compare import TABLE_COLUMNS, compare_inference_data, compare_runs
from causalmmm_ppl.evaluation.inference_data import TARGET_VAR, write_inference_data
from causalmmm_ppl.inference.btvc import fit_btvc
from causalmmm_ppl.models.btvc_spec import BTVCSpec
from tests.inference.test_btvc import make_tvc_panel


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """Two BTVC runs of the same data with different specs (weekly seasonality or not), fitted by SVI (what is
    compared is the runs' pointwise log-likelihood draws, whatever drew them)."""
    panel, _ = make_tvc_panel(n_shops=1, n_days=100, seed=5, period=400.0)
    root = tmp_path_factory.mktemp("runs")
    runs = []
    for name, weekly in (("weekly", 3), ("noweekly", 0)):
        fit = fit_btvc(panel, BTVCSpec(yearly_order=0, weekly_order=weekly), method="svi", svi_steps=2000,
                       svi_draws=300, seed=0, progress=False)
        (root / name).mkdir()
        write_inference_data(fit.to_inference_data(include_paths=False), root / name / "idata.nc")
        runs.append(root / name)
    return runs


def test_compare_returns_elpd_table(two_runs):
    result = compare_runs(two_runs)
    table = result.table
    assert tuple(table.columns) == TABLE_COLUMNS
    assert {"elpd_loo", "se", "weight"} <= set(table.columns)
    assert list(table["run"]) == ["weekly", "noweekly"]  # the truth has a weekly pattern
    assert np.isclose(table["weight"].sum(), 1.0)
    assert (table["n_obs"] == 100).all() and (table["target"] == "y").all()
    assert "compared on 100 observations of 'y'" in result.summary


def test_compare_uses_the_common_observations_and_says_so(two_runs):
    from causalmmm_ppl.evaluation.compare import load_run_idata

    a, b = (load_run_idata(r) for r in two_runs)
    ll = b.log_likelihood[TARGET_VAR]
    first = ll["obs_date"].values == ll["obs_date"].values.min()
    ll.values[..., first] = np.nan  # e.g. a model whose likelihood starts on the second day
    result = compare_inference_data({"a": a, "b": b})
    assert (result.table["n_obs"] == 99).all()
    assert "99 observations" in result.summary and "2022-01-04" in result.summary
    assert any("run a: 1 observations" in line for line in result.warnings)


def test_compare_refuses_different_targets_and_different_data(two_runs):
    from causalmmm_ppl.evaluation.compare import load_run_idata

    a, b = (load_run_idata(r) for r in two_runs)
    b.log_likelihood.attrs["target_name"] = "gmv"
    with pytest.raises(ValueError, match="different targets"):
        compare_inference_data({"a": a, "b": b})
    a, b = (load_run_idata(r) for r in two_runs)
    b.observed_data[TARGET_VAR].values[0, 3] += 1.0
    with pytest.raises(ValueError, match="different values"):
        compare_inference_data({"a": a, "b": b})
    with pytest.raises(ValueError, match="at least two"):
        compare_runs(two_runs[:1])
    with pytest.raises(FileNotFoundError, match="no idata.nc"):
        compare_runs([two_runs[0], two_runs[0].parent / "nothing"])


def test_compare_reads_the_cell_layout_of_earlier_runs(two_runs):
    """Runs written before the log-likelihood was stored per observation hold it on the (shop, date) grid, NaN where
    not modelled; compare reads both layouts and finds the same table."""
    import xarray as xr

    from causalmmm_ppl.evaluation.compare import load_run_idata

    new = {n: load_run_idata(r) for n, r in zip("ab", two_runs)}
    old = {n: load_run_idata(r) for n, r in zip("ab", two_runs)}
    for d in old.values():
        ll = d.log_likelihood[TARGET_VAR]
        grid = d.observed_data[TARGET_VAR]
        full = np.full(ll.shape[:2] + grid.shape, np.nan)
        shops, dates = list(grid["shop"].values), list(grid["date"].values)
        for k, (s_, t_) in enumerate(zip(ll["obs_shop"].values, ll["obs_date"].values)):
            full[:, :, shops.index(s_), dates.index(t_)] = ll.values[:, :, k]
        attrs = d.log_likelihood.attrs
        d.log_likelihood = xr.Dataset({TARGET_VAR: (("chain", "draw", "shop", "date"), full)},
                                      coords={"chain": ll["chain"].values, "draw": ll["draw"].values,
                                              "shop": shops, "date": dates}, attrs=attrs)
    a, b = compare_inference_data(new).table, compare_inference_data(old).table
    np.testing.assert_allclose(a["elpd_loo"], b["elpd_loo"])
    assert (a["n_obs"] == b["n_obs"]).all()
