#!/usr/bin/env bash
# README command 2: run the test suite (creates or reuses .venv). Extra arguments go to pytest.
# Two workers (pytest-xdist), one per core, each test file on one worker and one thread per worker; set
# TEST_WORKERS=0 to run in this process (then with the 2-thread default of env.sh).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"
WORKERS="${TEST_WORKERS:-2}"
PARALLEL=()
if [ "$WORKERS" != "0" ]; then
  PARALLEL=(-n "$WORKERS" --dist loadfile)
  export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
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
