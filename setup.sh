#!/usr/bin/env bash
# Set up the course on this machine, in one command:
#   a virtual environment (.venv) with the pinned packages, the course's Jupyter kernel,
#   Delta Lake's jars in the local cache, the course's data, then an environment check.
# Needs: Python 3.11+ and Java 17 or 21. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")"

PYTHON="${PYTHON:-python3}"
step() { printf '\n==> %s\n' "$*"; }

step "Checking Python"
if ! command -v "$PYTHON" >/dev/null 2>&1; then
  echo "ERROR: $PYTHON not found. Install Python 3.11 (or set PYTHON=/path/to/python3)." >&2
  exit 1
fi
# The same floor as pyproject.toml's requires-python and prodspark.envcheck.MIN_PYTHON.
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "ERROR: $("$PYTHON" --version 2>&1) is too old: the course needs Python 3.11 or newer." >&2
  exit 1
fi
"$PYTHON" --version

step "Checking Java (Spark 4.1 needs Java 17 or 21)"
"$PYTHON" -m prodspark.java

step "Creating the virtual environment .venv"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
VENV_PY=.venv/bin/python

step "Installing the pinned packages (requirements.txt, requirements-dev.txt, constraints.txt)"
"$VENV_PY" -m pip install --quiet --disable-pip-version-check \
  -r requirements.txt -r requirements-dev.txt -c constraints.txt
"$VENV_PY" -m pip install --quiet --disable-pip-version-check --no-deps -e .

step "Registering the Jupyter kernel 'production-spark'"
.venv/bin/prodspark kernel

step "Fetching Delta Lake's jars and testing Delta"
.venv/bin/prodspark fetch-jars

step "Writing the class-data archive of lesson 01's small Spark application"
.venv/bin/prodspark class-archive

step "Generating the course's data (scale 1, seed 42) into .course/data"
.venv/bin/prodspark data --if-missing

step "Checking the environment"
.venv/bin/prodspark check

printf '\nReady. Open the course with:  .venv/bin/jupyter lab\n'
