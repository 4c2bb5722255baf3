"""What the benchmarks share: a panel's split into history and its last periods (as a window, or as a holdout with a
blinded plan), a holdout's score, and one fit per fresh process."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any


def split_last(panel: Any, horizon: int) -> tuple[Any, Any]:
    """``(history, window)``: a panel without its last ``horizon`` periods, and those periods as they are."""
    split = panel.n_time - horizon
    return panel.select_time(0, split), panel.select_time(split, panel.n_time)


def holdout(panel: Any, horizon: int) -> tuple[Any, Any, Any]:
    """``(history, plan, truth)`` of a panel whose last ``horizon`` periods are held out: the plan holds their
    actual spend with the target blanked (:func:`causalmmm_ppl.evaluation.backtest.blind_plan`)."""
    from causalmmm_ppl.evaluation.backtest import blind_plan

    history, truth = split_last(panel, horizon)
    return history, blind_plan(panel, panel.n_time - horizon, panel.n_time), truth


def score_holdout(fit: Any, history: Any, plan: Any, truth: Any, seed: int) -> dict[str, float]:
    """WAPE, scaled CRPS and 90% coverage of ``fit``'s target forecast over the holdout
    (:func:`causalmmm_ppl.evaluation.backtest.score_origin`; forecast draws seeded ``seed``)."""
    from benchmarks.forecasting import _target_only
    from causalmmm_ppl.evaluation.backtest import score_origin

    draws = _target_only(history, plan, fit.forecast_samples(plan, seed=seed))
    scores = score_origin(draws, truth, history, (plan.n_time,), [history.n_nodes - 1])[0]
    return {"wape": scores["wape"], "crps": scores["crps_scaled"], "coverage": scores["coverage"]}


def each_in_fresh_process(fit_one: Callable[..., dict], tasks: Sequence[tuple], quick: bool) -> list[dict]:
    """``fit_one(*task)`` for every task, one after another: each in a fresh spawned process, replaced after every
    fit, so that each compiles from scratch as a user's first fit does; ``quick``: in this process (the test
    suite's quick mode, without worker start-up)."""
    import concurrent.futures as cf
    import multiprocessing as mp

    args = list(zip(*tasks)) if tasks else []
    if quick:
        return list(map(fit_one, *args))
    with cf.ProcessPoolExecutor(max_workers=1, mp_context=mp.get_context("spawn"), max_tasks_per_child=1) as pool:
        return list(pool.map(fit_one, *args))
