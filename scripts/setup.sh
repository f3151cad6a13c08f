#!/usr/bin/env bash
# Create .venv and install the project with its test tools (the `test` extra: sentence-transformers
# as the reference for the numpy model, torch pinned to 2.13.0, the CPU build these machines hold).
# Safe to run repeatedly: it reinstalls only when pyproject.toml changed. Works without root.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv"
  "$PY" -m venv .venv
fi
stamp=.venv/.synapse-installed
# sha256 of pyproject.toml, by Python (macOS has no sha256sum)
want=$(.venv/bin/python -c 'import hashlib; print(hashlib.sha256(open("pyproject.toml", "rb").read()).hexdigest())')
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "==> installing SynapseAI and its dependencies into .venv (first run takes a few minutes)"
  quiet() {  # pip warns about every missing local mirror folder on these machines; keep real errors
    "$@" 2>&1 | { grep -v "is ignored: it is neither a file nor a directory" || true; }
    return "${PIPESTATUS[0]}"
  }
  quiet .venv/bin/python -m pip install --quiet --upgrade pip
  quiet .venv/bin/python -m pip install --quiet -e ".[test,bench]"
  echo "$want" > "$stamp"
fi
