#!/usr/bin/env bash
# The README's demo command: the main job on the embedded default (in-memory stores persisted
# to a local folder). Works offline on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh >/dev/null
pnpm --silent demo "$@"
