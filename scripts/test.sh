#!/usr/bin/env bash
# The test suite: set up (virtualenv, packages), meet what optional tests need where this machine
# allows it, then pytest (extra arguments go to pytest). Runs anywhere Python 3.11+ runs.
#
# Each optional requirement is one function below. It either makes the requirement available or
# adds its pytest marker to EXCLUDED (those tests are deselected) and one "what: why" to SKIPPED,
# printed as one line before the run. Rule for installing system packages: when CI is set (CI runs as root on
# Debian), or when running as root with apt-get, install them (a failure then fails the run);
# otherwise (macOS, a user without root) skip the tests that need them.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

SKIPPED=()
EXCLUDED=()

can_install_system_packages() {
  command -v apt-get >/dev/null 2>&1 && { [ -n "${CI:-}" ] || [ "$(id -u)" -eq 0 ]; }
}

need_chromium() {  # the browser test drives Debian's chromium with Playwright
  [ -x /usr/bin/chromium ] && return 0
  if can_install_system_packages; then
    echo "==> installing Debian's chromium for the browser test"
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver >/dev/null
    return 0
  fi
  EXCLUDED+=(browser)
  SKIPPED+=("the browser test (-m browser): it needs Debian's chromium at /usr/bin/chromium, and this machine"\
" has no apt-get with root to install it")
}

need_chromium

PYTEST_ARGS=()
if [ ${#EXCLUDED[@]} -gt 0 ]; then
  expression="not ${EXCLUDED[0]}"
  for marker in "${EXCLUDED[@]:1}"; do expression+=" and not $marker"; done
  PYTEST_ARGS=(-m "$expression")
  echo "==> skipped: $(IFS='|'; echo "${SKIPPED[*]}" | sed 's/|/; /g')"
fi
echo "==> ruff: lint, import order and formatting (pyproject.toml [tool.ruff])"
.venv/bin/ruff check --quiet .
.venv/bin/ruff format --check --quiet .
# PYTEST_ARGS come first so that a -m given on the command line still wins.
exec .venv/bin/python -m pytest ${PYTEST_ARGS[@]+"${PYTEST_ARGS[@]}"} "$@"
