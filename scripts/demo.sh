#!/usr/bin/env bash
# README command 1: the main job on a bundled default (creates or reuses .venv).
# Simulates a small multi-shop panel with a known graph, validates it and prints its summary.
# OUT (default demo_out/) receives the panel, the truth and the summary.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"
OUT="${1:-demo_out}"
causalmmm simulate --scenario sim1 --shops 12 --days 240 --seed 0 --out "$OUT/data" --quiet
# shellcheck disable=SC2046
causalmmm validate "$OUT/data/panel.csv" $(cat "$OUT/data/fit_flags.txt")
