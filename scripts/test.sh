#!/usr/bin/env bash
# The README's test command: installs what is missing, starts the real services, runs every test,
# then checks the packed packages (scripts/pack-check.sh).
# When something fails, the failing tasks' vitest reports are printed again at the very end, so the
# cause is in the last lines of a long, interleaved log (what CI shows first).
set -euo pipefail
cd "$(dirname "$0")/.."
export TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1
bash scripts/bootstrap.sh
log="$(mktemp "${TMPDIR:-/tmp}/larder-test.XXXXXX")"
trap 'rm -f "$log"' EXIT
set +e
pnpm test 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
# Then the packages as users install them: packed, installed with npm outside the workspace with the
# drivers from the registry, README blocks compiled, the installed CLI run (scripts/pack-check.sh).
bash scripts/pack-check.sh
pack_rc=$?
set -e
if [ "$rc" -ne 0 ]; then
  bash scripts/failure-summary.sh "$log" || true
fi
if [ "$pack_rc" -ne 0 ]; then
  echo "scripts/pack-check.sh FAILED (exit $pack_rc): see the 'pack-check FAILED' block above" >&2
  [ "$rc" -ne 0 ] || rc=$pack_rc
fi
exit "$rc"
