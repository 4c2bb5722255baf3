"""causalmmm_ppl: CausalMMM (Gong et al., WSDM 2024) as a probabilistic program.

Subpackages
-----------
data        panel container, loaders, validation, scaling, windows, simulators (no engine imports)
transforms  pure carryover (adstock) and Hill saturation functions, torch and jax twins
models      the Pyro CausalMMM model and the NumPyro BTVC model
inference   amortized GNN guide, SVI loop, NUTS/SVI for BTVC, forecasting
evaluation  graph and forecast metrics, ArviZ conversion, diagnostics, model comparison
plots       matplotlib figures from InferenceData or result tables
"""

__version__ = "0.1.0"
