"""Baselines run side by side with CausalMMM (benchmarks/).

Graph recovery, each ``scores(panel, ...) -> (shop, cause, effect)`` (larger: stronger evidence of cause → effect,
zero diagonal): :mod:`.pcmci` (tigramite PCMCI + ParCorr), :mod:`.varlingam` (lingam VARLiNGAM), :mod:`.cmlp`
(neural Granger, cMLP with group lasso, Tank et al.); the linear Granger baseline is
:func:`causalmmm_ppl.evaluation.granger.granger_scores`.

Forecasting, each ``forecast(history, plan, ...) -> (draw, shop, horizon, node)`` in original units:
:mod:`.seasonal_naive`, :mod:`.recurrent` (graph-free GRU).

tigramite and lingam are optional (``pip install causalmmm_ppl[bench]``); they are imported when used.
"""
