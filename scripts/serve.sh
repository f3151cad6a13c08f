#!/usr/bin/env bash
# The main job: set up (the light install: no torch, no test tools), index the shipped entries into the embedded SQLite database, start the site.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh serve
.venv/bin/synapse index
exec .venv/bin/synapse serve --host "${HOST:-127.0.0.1}" --port "${PORT:-8000}"
