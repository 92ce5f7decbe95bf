#!/usr/bin/env bash
# Prints, for each task turbo reports as failed, that task's vitest failure report (from "Failed
# Tests" to the summary), or its last lines when it has none (a crash, a typecheck error).
# Usage: scripts/failure-summary.sh <turbo log>
set -euo pipefail
log="$1"
plain="$(mktemp "${TMPDIR:-/tmp}/larder-plain.XXXXXX")"
trap 'rm -f "$plain"' EXIT
sed 's/\x1b\[[0-9;]*[A-Za-z]//g' "$log" > "$plain"
failed="$(grep -oE '^Failed: +.*' "$plain" | sed -E 's/^Failed: +//' | tr ',' '\n' | sed -E 's/^ +| +$//g' | grep -v '^$' || true)"
[ -n "$failed" ] || failed="$(grep -oE '@larder/[a-z0-9-]+#[a-z:]+' "$plain" | sort -u || true)"
echo
echo "==================== what failed (repeated from above) ===================="
for task in $failed; do
  prefix="${task/\#/:}:"
  lines="$(grep -F -- "$prefix" "$plain" | sed "s|^$prefix ||" || true)"
  report="$(printf '%s\n' "$lines" | awk '/Failed Tests|Unhandled Errors?/ { on = 1 } on { print } /Test Files/ && on { exit }' | head -n 200)"
  echo "---- $task"
  if [ -n "$report" ]; then printf '%s\n' "$report"; else printf '%s\n' "$lines" | tail -n 60; fi
done
