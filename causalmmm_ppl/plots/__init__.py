"""Matplotlib figures of runs: they take InferenceData or result tables (``edges.csv``, ``forecast.csv``,
``diagnostics.csv``, ``contribution_shares.csv``, ``effects.csv``), never a model object, and return a ``Figure``.

Save with :func:`save_figure` or turn into PNG bytes with :func:`figure_png` (both close the figure).
"""

from causalmmm_ppl.plots._common import DEFAULT_DPI, figure_png, number_periods, save_figure
from causalmmm_ppl.plots.btvc import beta_paths, contribution_shares
from causalmmm_ppl.plots.effects import channel_effects, response_curve
from causalmmm_ppl.plots.diagnostics import diagnostics_summary, rank_plot, trace_plot
from causalmmm_ppl.plots.forecast import forecast_comparison, forecast_fan, in_sample_fit
from causalmmm_ppl.plots.graphs import edge_frequency, edge_heatmaps, edge_table, graph_drawing
from causalmmm_ppl.plots.response import adstock_decay, response_curves
from causalmmm_ppl.plots.training import elbo_trace

__all__ = [
    "DEFAULT_DPI",
    "figure_png",
    "save_figure",
    "number_periods",
    "edge_table",
    "edge_heatmaps",
    "graph_drawing",
    "edge_frequency",
    "response_curves",
    "adstock_decay",
    "forecast_fan",
    "forecast_comparison",
    "in_sample_fit",
    "elbo_trace",
    "beta_paths",
    "contribution_shares",
    "channel_effects",
    "response_curve",
    "trace_plot",
    "rank_plot",
    "diagnostics_summary",
]
