#!/usr/bin/env bash
# README command 2: run the test suite (creates or reuses .venv). Extra arguments go to pytest.
# Three workers (pytest-xdist) of one thread each on the 2-core machines this runs on: a worker often waits (for the
# command-line subprocesses, notebook kernels and process groups that tests start), and a third one fills part of
# that time. Each test file runs on one worker, the longest files first
# (tests/conftest.py). TEST_WORKERS=N sets the number; TEST_WORKERS=0 runs the tests in this process (then with the
# 2-thread default of env.sh).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"
WORKERS="${TEST_WORKERS:-3}"
PARALLEL=()
if [ "$WORKERS" != "0" ]; then
  PARALLEL=(-n "$WORKERS" --dist loadfile --no-loadscope-reorder)  # files in tests/conftest.py's order
  export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
fi
# One JAX compilation cache for the run's processes (test workers, command-line subprocesses, notebook kernels): a
# BTVC program compiled in one is read by the others. It starts empty and goes at the end (unless the caller set one).
if [ -z "${JAX_COMPILATION_CACHE_DIR:-}" ]; then
  JAX_COMPILATION_CACHE_DIR="$(mktemp -d "${TMPDIR:-/tmp}/causalmmm-jax-cache.XXXXXX")"
  trap 'rm -rf "$JAX_COMPILATION_CACHE_DIR"' EXIT
fi
export JAX_COMPILATION_CACHE_DIR JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS=0 JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES=0
# The tests' JAX programs are tiny and most are compiled once: XLA's backend optimisation (LLVM) costs far more than
# it saves there (a fifth to a quarter of a BTVC test's time). Tests check behaviour, not speed; benchmarks and users keep
# the default. TEST_XLA_OPT=1 tests with the default optimisation.
if [ "${TEST_XLA_OPT:-0}" = "0" ]; then
  export XLA_FLAGS="${XLA_FLAGS:+$XLA_FLAGS }--xla_backend_optimization_level=0"
fi
set +e
python -m pytest "${PARALLEL[@]}" "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
  echo "pytest collected no tests: failing on purpose" >&2
  exit 1
fi
exit "$rc"
