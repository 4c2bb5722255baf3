#!/usr/bin/env bash
# README command 1: the main job on a bundled default (creates or reuses .venv).
# Simulates a 12-shop panel with a known graph, fits CausalMMM on all but the last 14 days, writes edge
# probabilities, forecasts with 90% intervals, edges of unseen shops, a spend-plan forecast, every channel's effect
# on the target over the plan (checked against the simulator's true effects), a budget allocation (scored by the
# simulator against its own optimum) and a report.
# OUT (default demo_out/) receives everything.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"
OUT="${1:-demo_out}"
QUIET="${DEMO_QUIET:-}"        # --quiet to silence progress bars
STEPS="${DEMO_STEPS:-}"        # SVI steps (default: the model's tuned default); the test suite uses a few
DAYS="${DEMO_DAYS:-240}"       # days of the simulated panel; the test suite uses fewer
DRAWS="${DEMO_DRAWS:-}"        # posterior draws of effects and allocation (default: the run's); the test suite uses few
HORIZON="${DEMO_HORIZON:-14}"  # days of the plan (and of the fit's holdout); the test suite uses fewer
mkdir -p "$OUT"
echo "== simulate a 12-shop panel with known graphs" >&2
causalmmm simulate --scenario sim1 --shops 12 --days "$DAYS" --horizon "$HORIZON" --seed 0 --out "$OUT/data" --quiet
read -r -a FLAGS < "$OUT/data/fit_flags.txt"
causalmmm validate "$OUT/data/panel.csv" "${FLAGS[@]}"
echo "== fit CausalMMM (holding out the last $HORIZON days)" >&2
causalmmm fit "$OUT/data/panel.csv" "${FLAGS[@]}" --holdout "$HORIZON" --seed 0 --out "$OUT/run" $QUIET ${STEPS:+--steps "$STEPS"}
echo "== edges of two shops the model never saw (amortized, no retraining)" >&2
causalmmm simulate --scenario sim1 --shops 2 --days "$DAYS" --seed 1 --out "$OUT/new_shops" --quiet
python scripts/rename_shops.py "$OUT/new_shops/panel.csv" new_ "$OUT/new_shops/panel_renamed.csv"
causalmmm edges "$OUT/run" --data "$OUT/new_shops/panel_renamed.csv" --out "$OUT/new_shop_edges.csv"
echo "== forecast a spend plan (the last $HORIZON days' spend, their target left empty)" >&2
causalmmm forecast "$OUT/run" --data "$OUT/data/plan.csv" --out "$OUT/plan_forecast.csv"
echo "== each channel's effect on the target over the plan (total, held, direct; ROAS, mROAS)" >&2
causalmmm effects "$OUT/run" --data "$OUT/data/plan.csv" --curves "$OUT/curves.csv" --out "$OUT/effects.csv" $QUIET \
  ${DRAWS:+--draws "$DRAWS"}
python scripts/score_effects.py "$OUT/effects.csv" "$OUT/data/effects.csv"
echo "== redistribute the plan's budget across channels (0.5-2x each, same total), scored by the simulator" >&2
causalmmm allocate "$OUT/run" --data "$OUT/data/plan.csv" --out "$OUT/allocated_plan.csv" $QUIET \
  ${DRAWS:+--draws "$DRAWS"}
python scripts/score_allocation.py "$OUT/allocated_plan.csv" "$OUT/data/plan.csv" --scenario sim1 --shops 12 --days "$DAYS" --seed 0 \
  --horizon "$HORIZON"
echo "== score the learned graphs against the simulation's truth" >&2
python scripts/score_edges.py "$OUT/run/edges.csv" "$OUT/data/truth.csv"
if causalmmm report --help >/dev/null 2>&1 && causalmmm report "$OUT/run" --effects "$OUT/effects.csv" \
    --curves "$OUT/curves.csv" --out "$OUT/report.html"; then
  echo "report: $OUT/report.html" >&2
fi
echo "done: $OUT" >&2
