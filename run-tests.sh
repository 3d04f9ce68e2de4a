#!/usr/bin/env bash
# Run the course's tests.
#   ./run-tests.sh          the full suite: unit tests, every notebook under nbval,
#                           a second parameter set under papermill (on a standalone cluster
#                           from module 02 on), one exercise notebook unsolved
#   ./run-tests.sh quick    the quick tier: unit tests and the orientation notebook
# Extra arguments go to pytest, e.g. ./run-tests.sh quick -x -k exercises
set -euo pipefail
cd "$(dirname "$0")"

if [ ! -x .venv/bin/python ]; then
  echo "ERROR: no .venv here. Run the set-up command first: ./setup.sh" >&2
  exit 2
fi

tier="full"
if [ "${1:-}" = "quick" ] || [ "${1:-}" = "full" ]; then
  tier="$1"
  shift
fi

nbval=(--nbval --nbval-sanitize-with tests/sanitize.cfg --nbval-cell-timeout 600)
if [ "$tier" = "quick" ]; then
  exec .venv/bin/python -m pytest -m "not full" "${nbval[@]}" tests notebooks/00_*.ipynb "$@"
fi
exec .venv/bin/python -m pytest "${nbval[@]}" tests notebooks solutions "$@"
