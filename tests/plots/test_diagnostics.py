"""Trace / rank plots and the R-hat / ESS summary."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pytest

from causalmmm_ppl.evaluation.diagnostics import diagnostics_table
from causalmmm_ppl.plots import diagnostics_summary, rank_plot, trace_plot
from causalmmm_ppl.plots.diagnostics import representative_draws
from tests.plots.test_common import btvc_idata, causalmmm_idata


def test_representative_draws_one_scalar_per_variable():
    ds = representative_draws(btvc_idata())
    assert list(ds.data_vars) == ["decay[shop=s0, channel=c0]", "hill_alpha[shop=s0, channel=c0]",
                                  "hill_gamma[shop=s0, channel=c0]", "sigma[shop=s0]"]
    assert all(ds[v].dims == ("chain", "draw") for v in ds.data_vars)


def test_rank_and_trace_plots_need_chains():
    idata = btvc_idata()
    for fn in (rank_plot, trace_plot):
        fig = fn(idata, max_vars=2)
        assert len(fig.axes) >= 2
        plt.close(fig)
    with pytest.raises(ValueError, match="two chains"):
        rank_plot(causalmmm_idata().sel(chain=[0]))


def test_diagnostics_summary_from_table():
    for idata in (btvc_idata(), causalmmm_idata()):
        fig = diagnostics_summary(diagnostics_table(idata))
        assert len(fig.axes) == 2
        plt.close(fig)
    with pytest.raises(ValueError, match="rhat_max"):
        diagnostics_summary(diagnostics_table(btvc_idata()).drop(columns="rhat_max"))
