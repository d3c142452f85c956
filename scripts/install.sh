#!/usr/bin/env bash
# Install lawloop and everything it needs into ./.venv (Python >= 3.11).
#
# torch goes first and pinned: `torch==2.13.0` is the CPU build on machines
# that carry it locally, and once it is installed nothing else pulls a
# multi-GB CUDA build. A GPU user installs a CUDA build of the same version
# into .venv before running this script (see README); it is then kept.
#
# Everything else is installed with requirements.lock as constraints: the
# exact versions the tests last passed with (refresh: bash scripts/lock.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q "torch==2.13.0"
.venv/bin/python -m pip install -q -c requirements.lock -e ".[dev]"
echo "lawloop installed in .venv"
