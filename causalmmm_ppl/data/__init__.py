"""Panel data: the container, loaders (CSV, Parquet, DataFrame), validation, scaling and windows.

No engine is imported here (numpy and pandas only). The simulators live in :mod:`causalmmm_ppl.data.simulate`,
which is imported on first use, not by this package.
"""

from causalmmm_ppl.data.load import load_panel, panel_from_args, read_table, spec_from_args
from causalmmm_ppl.data.panel import NODE_KINDS, ColumnSpec, Panel
from causalmmm_ppl.data.scaling import SCALING_METHODS, PanelScaler
from causalmmm_ppl.data.windows import gather_windows, sliding_windows, window_starts

__all__ = [
    "NODE_KINDS",
    "ColumnSpec",
    "Panel",
    "PanelScaler",
    "SCALING_METHODS",
    "gather_windows",
    "load_panel",
    "panel_from_args",
    "read_table",
    "sliding_windows",
    "spec_from_args",
    "window_starts",
]
