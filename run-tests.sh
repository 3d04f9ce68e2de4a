#!/usr/bin/env bash
# Run the course's tests.
#   ./run-tests.sh           the full suite: unit tests (the pipeline's spark-submit job on a
#                            standalone cluster among them), every lesson and solution under
#                            nbval, one exercise notebook unsolved
#   ./run-tests.sh quick     the quick tier: unit tests and the orientation notebook
#   ./run-tests.sh extended  the full suite, plus every lesson again with another seed and
#                            scale (from module 02 on, on a standalone cluster)
# Extra arguments go to pytest, e.g. ./run-tests.sh quick -x -k exercises
set -euo pipefail
cd "$(dirname "$0")"

if [ ! -x .venv/bin/python ]; then
  echo "ERROR: no .venv here. Run the set-up command first: ./setup.sh" >&2
  exit 2
fi

tier="full"
case "${1:-}" in
  quick|full|extended) tier="$1"; shift ;;
esac

nbval=(--nbval --nbval-sanitize-with tests/sanitize.cfg --nbval-cell-timeout 600)
case "$tier" in
  quick)    exec .venv/bin/python -m pytest -m "not full and not extended" "${nbval[@]}" tests notebooks/00_*.ipynb "$@" ;;
  full)     exec .venv/bin/python -m pytest -m "not extended" "${nbval[@]}" tests notebooks solutions "$@" ;;
  extended) exec .venv/bin/python -m pytest "${nbval[@]}" tests notebooks solutions "$@" ;;
esac
