"""causalmmm_ppl: CausalMMM (Gong et al., WSDM 2024) as a probabilistic program.

The names most users need are importable from the package itself; each is loaded on first use, so
``import causalmmm_ppl`` stays light (no torch or JAX until a model is touched):

>>> import causalmmm_ppl as cm                                        # doctest: +SKIP
>>> panel = cm.simulate("sim1", n_shops=12, n_days=240, seed=0).panel
>>> fit = cm.fit_causalmmm(panel, cm.CausalMMMSettings.of(steps=800), seed=0)
>>> fit, columns = cm.load_run("run")

Subpackages
-----------
data        panel container, loaders, validation, scaling, windows, simulators (no engine imports)
transforms  pure carryover (adstock) and Hill saturation functions, torch and jax twins
models      the Pyro CausalMMM model and the NumPyro BTVC model
inference   amortized GNN guide, SVI loop, NUTS/SVI for BTVC, forecasting, effects, allocation
evaluation  graph and forecast metrics, ArviZ conversion, diagnostics, model comparison
plots       matplotlib figures from InferenceData or result tables
reporting   the HTML report of a run directory
commands    the ``causalmmm`` command line
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

#: public name → the module that defines it
_EXPORTS = {
    "Panel": "causalmmm_ppl.data.panel",
    "ColumnSpec": "causalmmm_ppl.data.panel",
    "load_panel": "causalmmm_ppl.data.load",
    "simulate": "causalmmm_ppl.data.simulate",
    "CausalMMMSpec": "causalmmm_ppl.models.spec",
    "CausalMMMInference": "causalmmm_ppl.models.settings",
    "CausalMMMOutputs": "causalmmm_ppl.models.settings",
    "CausalMMMSettings": "causalmmm_ppl.models.settings",
    "BTVCSpec": "causalmmm_ppl.models.btvc_spec",
    "BTVCInference": "causalmmm_ppl.models.btvc_spec",
    "fit_causalmmm": "causalmmm_ppl.inference.causalmmm_fit",
    "CausalMMMFit": "causalmmm_ppl.inference.causalmmm_fit",
    "fit_btvc": "causalmmm_ppl.inference.btvc",
    "BTVCFit": "causalmmm_ppl.inference.btvc",
    "MMMFit": "causalmmm_ppl.inference.mmm_fit",
    "load_run": "causalmmm_ppl.inference.mmm_fit",
    "contribution_series": "causalmmm_ppl.inference.effects",
    "allocate": "causalmmm_ppl.inference.allocate",
    "write_report": "causalmmm_ppl.reporting",
    "InputError": "causalmmm_ppl.errors",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    """Load a public name from its module on first use (PEP 562)."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'causalmmm_ppl' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
