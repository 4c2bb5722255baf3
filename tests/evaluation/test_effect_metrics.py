"""Effect recovery metrics on hand-made tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from causalmmm_ppl.evaluation.effect_metrics import effect_report, effect_size_ratio


def _truth():
    rows = [(s, c, k, e, 10.0) for s, base in (("a", 1.0), ("b", 3.0)) for c, scale in (("x", 1.0), ("y", 2.0))
            for k in ("total", "held") for e in [base * scale]]
    return pd.DataFrame(rows, columns=["shop", "channel", "kind", "effect", "spend"])


def _estimate(truth, factor=1.0, width=0.5):
    e = truth.rename(columns={"effect": "mean"}).drop(columns="spend")
    e["mean"] = e["mean"] * factor
    e["lower"], e["upper"] = e["mean"] - width, e["mean"] + width
    port = e.groupby(["channel", "kind"], as_index=False)[["mean", "lower", "upper"]].sum().assign(shop="ALL")
    return pd.concat([e, port], ignore_index=True)


def test_a_perfect_estimate_scores_perfectly():
    t = _truth()
    r = effect_report(_estimate(t), t, "total")
    assert r == {"spearman": pytest.approx(1.0), "roas_rel_error": 0.0, "coverage": 1.0, "error_share": 0.0}


def test_a_scaled_estimate_keeps_its_ranks_but_misses_roas_and_coverage():
    t = _truth()
    r = effect_report(_estimate(t, factor=1.5, width=0.1), t, "held")
    assert r["spearman"] == pytest.approx(1.0)
    assert r["roas_rel_error"] == pytest.approx(0.5) and r["error_share"] == pytest.approx(0.5)
    assert r["coverage"] == 0.0


def test_a_constant_estimate_has_no_rank_correlation_and_missing_rows_are_named():
    t = _truth()
    e = _estimate(t)
    e["mean"] = 0.0
    assert np.isnan(effect_report(e, t)["spearman"])
    with pytest.raises(ValueError, match="shop 'b'"):
        effect_report(_estimate(t)[lambda d: d["shop"] != "b"], t)


def test_the_size_ratio_is_the_estimates_total_over_the_truths_without_the_portfolio_rows():
    t = _truth()
    assert effect_size_ratio(_estimate(t, factor=0.7), t, "total") == pytest.approx(0.7)  # "ALL" rows not counted
    assert effect_size_ratio(_estimate(t), t, "held") == pytest.approx(1.0)
    with pytest.raises(ValueError, match="shop 'b'"):
        effect_size_ratio(_estimate(t)[lambda d: d["shop"] != "b"], t)
