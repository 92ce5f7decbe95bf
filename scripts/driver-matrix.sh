#!/usr/bin/env bash
# Driver-major matrix: runs the adapter suites of @larder/storage-redis and @larder/storage-neo4j
# against other versions of their drivers than the workspace's lockfile holds:
#   oldest  the lowest version each peer range accepts (ioredis ^5.4.0 -> 5.4.0, neo4j-driver ^5.9.0 -> 5.9.0)
#   latest  the registry's latest (the current majors)
# The drivers are installed with npm into a temporary folder outside the workspace; the suites import
# them from there (LARDER_DRIVERS_DIR, read by tooling/vitest). The restart tests, which stop the
# shared servers, run only in the main test run. Needs the services:
#   bash tooling/services/bin/services.sh up redis redis-cluster neo4j
#
#   bash scripts/driver-matrix.sh [oldest|latest ...]      (default: oldest latest)
#
# With CI set, an unreachable service fails the suites (as in the main run). Any failure exits non-zero.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
export TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1 NPM_CONFIG_UPDATE_NOTIFIER=false NPM_CONFIG_FUND=false NPM_CONFIG_AUDIT=false

SETS=("$@")
[ ${#SETS[@]} -gt 0 ] || SETS=(oldest latest)
# package folder -> the driver its peer range names
declare -A DRIVER=([packages/storage-redis]=ioredis [packages/storage-neo4j]=neo4j-driver)
ORDER=(packages/storage-redis packages/storage-neo4j)

START=$SECONDS
fail() {
  printf '\n################################################################\n' >&2
  printf 'driver-matrix FAILED: %s\n' "$*" >&2
  printf '################################################################\n' >&2
  exit 1
}

WORK="$(mktemp -d "${TMPDIR:-/tmp}/larder-driver-matrix.XXXXXX")"
WORK="$(cd "$WORK" && pwd -P)"
case "$WORK/" in "$ROOT"/*) fail "the temporary folder $WORK is inside the workspace; set TMPDIR elsewhere" ;; esac
trap 'rm -rf "$WORK"' EXIT

# The lowest version of a peer range's first alternative ("^5.4.0 || ^6.0.0" -> 5.4.0).
oldest_of() {
  node -e '
    const [pkg, name] = process.argv.slice(1);
    const range = require(`./${pkg}/package.json`).peerDependencies?.[name];
    if (!range) { console.error(`${pkg} has no peer dependency on ${name}`); process.exit(1); }
    const m = /^\s*[\^~]?(\d+\.\d+\.\d+)\s*(\|\||$)/.exec(range);
    if (!m) { console.error(`cannot read the lowest version of ${name} "${range}"`); process.exit(1); }
    console.log(m[1]);
  ' "$1" "$2"
}

failed=()
for set in "${SETS[@]}"; do
  specs=()
  for pkg in "${ORDER[@]}"; do
    name="${DRIVER[$pkg]}"
    case "$set" in
      oldest) specs+=("$name@$(oldest_of "$pkg" "$name")") ;;
      latest) specs+=("$name@latest") ;;
      *) fail "unknown driver set '$set' (oldest or latest)" ;;
    esac
  done
  dir="$WORK/$set"
  mkdir -p "$dir"
  echo '{ "name": "larder-driver-matrix", "version": "0.0.0", "private": true }' >"$dir/package.json"
  printf '\ndriver-matrix [%ss]: %s: npm install %s\n' "$((SECONDS - START))" "$set" "${specs[*]}"
  (cd "$dir" && npm install --no-audit --no-fund --loglevel=warn "${specs[@]}" >"$dir/npm.log" 2>&1) || { cat "$dir/npm.log" >&2; fail "npm install ${specs[*]}"; }
  for pkg in "${ORDER[@]}"; do
    name="${DRIVER[$pkg]}"
    version="$(node -p "require('$dir/node_modules/$name/package.json').version")"
    printf '\ndriver-matrix [%ss]: %s with %s@%s (%s)\n' "$((SECONDS - START))" "$pkg" "$name" "$version" "$set"
    if ! (cd "$pkg" && LARDER_DRIVERS_DIR="$dir/node_modules" npx --no-install vitest run --exclude '**/*restart*' --reporter=dot); then
      failed+=("$pkg with $name@$version")
    fi
  done
done

if [ ${#failed[@]} -gt 0 ]; then
  fail "$(printf '%s; ' "${failed[@]}")"
fi
printf '\ndriver-matrix [%ss]: OK (%s)\n' "$((SECONDS - START))" "${SETS[*]}"
