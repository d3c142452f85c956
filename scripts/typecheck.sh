#!/usr/bin/env bash
# mypy --strict over the package as it is installed: `lawloop.agent`, `lawloop.tools`, ...
#
# The folders sit at the top of the repository and setuptools maps them
# under `lawloop` (pyproject.toml, package-dir). mypy cannot follow that
# mapping (an editable install's import hook is invisible to it), so this
# builds the installed shape from symlinks in build/typecheck and checks it
# there. Error paths read lawloop/agent/... for agent/...
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
tree=build/typecheck
rm -rf "$tree/lawloop"
mkdir -p "$tree/lawloop"
for entry in lawloop/*; do
  ln -s "$root/$entry" "$tree/lawloop/"
done
for package in agent tools experiments storage prompts; do
  ln -s "$root/$package" "$tree/lawloop/$package"
done
cd "$tree"
exec "$root/.venv/bin/mypy" --config-file "$root/pyproject.toml" lawloop "$root/run.py" "$@"
