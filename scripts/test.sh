#!/usr/bin/env bash
# The README's test command: installs what is missing, starts the real services, runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
export TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1
bash scripts/bootstrap.sh
pnpm test
