#!/usr/bin/env bash
# Larder as users install it. Builds and packs every published package (`pnpm pack`), checks each
# tarball (no tests or test support, LICENSE, publint, are-the-types-wrong), installs the tarballs with
# npm into a temporary project OUTSIDE the workspace together with the real drivers and the frameworks
# the adapters plug into (LangChain.js, LlamaIndexTS) from the registry
# (--strict-peer-deps: a peer range that excludes them fails), compiles every TypeScript block of the
# installed READMEs verbatim with tsc, and runs the installed `larder` command end to end.
#
# Environment:
#   LARDER_PACK_DRIVERS   "latest" (default) or "oldest": the ioredis / neo4j-driver / pg versions
#                         installed next to the tarballs (oldest = lowest version of each peer range).
#   LARDER_PACK_KEEP=1    keep the temporary folder (printed) instead of removing it.
#   LARDER_PACK_NO_BUILD=1  use the existing dist/ folders (they must be current).
#   LARDER_PACK_KIT=0     skip the driver matrix (the kit's Redis and Neo4j suites, run by default
#                         with the latest and the oldest supported ioredis / neo4j-driver).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
export TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1 NPM_CONFIG_UPDATE_NOTIFIER=false NPM_CONFIG_FUND=false NPM_CONFIG_AUDIT=false

PACKAGES=(packages/core packages/conformance packages/indexing packages/storage-redis packages/storage-postgres packages/storage-neo4j packages/fs-s3 packages/langchain packages/llamaindex apps/cli)
# The frameworks the adapter packages plug into (their peers), installed next to the tarballs with
# the same strict checks, at the range the adapter is developed against (<package dir>:<dependency
# name>, the range read from that package's devDependencies).
FRAMEWORK_DEPS=(packages/langchain:@langchain/core packages/llamaindex:@llamaindex/core packages/llamaindex:llamaindex)
# Packages only README blocks import (compiled, not run, here), installed in a second step where an
# engine warning about THEIR dependencies is tolerated: @langchain/classic 1.0 depends on
# @langchain/openai, which declares Node >= 22 (the README says so); peer conflicts and an engine
# warning about a @larder package still fail.
README_DEPS=(packages/langchain:@langchain/classic)
dep_specs() {
  local entry dir name
  for entry in "$@"; do
    dir="${entry%%:*}"; name="${entry#*:}"
    node -e '
      const [dir, name] = process.argv.slice(1);
      const p = require(`./${dir}/package.json`);
      const range = p.devDependencies?.[name] ?? p.peerDependencies?.[name];
      if (!range) { console.error(`pack-check: ${dir} does not depend on ${name}`); process.exit(1); }
      console.log(`${name}@${range}`);
    ' "$dir" "$name"
  done
}
# The lowest version each adapter's peer range accepts ("^5.4.0 || ^6.0.0" -> 5.4.0), as name@version.
oldest_drivers() {
  node -e '
    const peers = {};
    for (const p of ["storage-redis", "storage-postgres", "storage-neo4j"]) Object.assign(peers, require(`./packages/${p}/package.json`).peerDependencies);
    console.log(process.argv.slice(1).map((n) => {
      const first = peers[n].split("||")[0].trim().replace(/^[\^~>=]+/, "").split(".");
      while (first.length < 3) first.push("0");
      return `${n}@${first.join(".")}`;
    }).join(" "));
  ' "$@"
}
DRIVERS="${LARDER_PACK_DRIVERS:-latest}"
case "$DRIVERS" in
  latest) DRIVER_SPECS=(ioredis@latest neo4j-driver@latest pg@latest) ;;
  oldest) read -r -a DRIVER_SPECS <<<"$(oldest_drivers ioredis neo4j-driver pg)" ;;
  *) echo "pack-check: LARDER_PACK_DRIVERS must be latest or oldest, not '$DRIVERS'" >&2; exit 2 ;;
esac
FRAMEWORK_LIST="$(dep_specs "${FRAMEWORK_DEPS[@]}")" || { echo "pack-check: FRAMEWORK_DEPS names a dependency a package does not have" >&2; exit 2; }
read -r -a FRAMEWORK_SPECS <<<"$(echo $FRAMEWORK_LIST)"
README_LIST="$(dep_specs "${README_DEPS[@]}")" || { echo "pack-check: README_DEPS names a dependency a package does not have" >&2; exit 2; }
read -r -a README_SPECS <<<"$(echo $README_LIST)"
# The compiler users of this repository's packages are known to build with (the workspace's range).
TS_SPEC="typescript@$(node -p "require('./package.json').devDependencies.typescript")"
VITEST_SPEC="vitest@$(node -p "require('./packages/conformance/package.json').devDependencies.vitest")"

START=$SECONDS
step() { printf '\npack-check [%ss]: %s\n' "$((SECONDS - START))" "$*"; }
fail() {
  printf '\n################################################################\n' >&2
  printf 'pack-check FAILED: %s\n' "$*" >&2
  printf '################################################################\n' >&2
  exit 1
}

WORK="$(mktemp -d "${TMPDIR:-/tmp}/larder-pack-check.XXXXXX")"
WORK="$(cd "$WORK" && pwd -P)"
case "$WORK/" in "$ROOT"/*) fail "the temporary folder $WORK is inside the workspace; set TMPDIR elsewhere" ;; esac
cleanup() {
  # Background jobs of this script (packs, checks, installs, kit runs) still running after a failure.
  local j
  for j in $(jobs -p); do kill "$j" 2>/dev/null || true; done
  if [ "${LARDER_PACK_KEEP:-}" = 1 ]; then echo "pack-check: kept $WORK"; else rm -rf "$WORK" 2>/dev/null || true; fi
}
trap cleanup EXIT

# 1. Build (turbo builds the dependencies first) and pack.
if [ "${LARDER_PACK_NO_BUILD:-}" != 1 ]; then
  step "building ${#PACKAGES[@]} packages"
  filters=()
  for p in "${PACKAGES[@]}"; do filters+=("--filter=./$p"); done
  pnpm exec turbo run build "${filters[@]}" --output-logs=errors-only || fail "build"
fi
step "packing"
mkdir -p "$WORK/tarballs" "$WORK/extracted" "$WORK/pack"
pids=()
for p in "${PACKAGES[@]}"; do
  [ -f "$p/dist/index.js" ] || [ -f "$p/dist/main.js" ] || fail "$p has no dist/ (build it, or unset LARDER_PACK_NO_BUILD)"
  log="$WORK/pack/$(echo "$p" | tr / -).log"
  (cd "$p" && pnpm pack --pack-destination "$WORK/tarballs" >"$log" 2>&1) &
  pids+=($!)
done
TARBALLS=()
for i in "${!PACKAGES[@]}"; do
  p="${PACKAGES[$i]}"
  log="$WORK/pack/$(echo "$p" | tr / -).log"
  wait "${pids[$i]}" || { cat "$log" >&2; fail "pnpm pack in $p"; }
  tgz="$(grep -E '\.tgz$' "$log" | tail -1)"
  [ -f "$tgz" ] || { cat "$log" >&2; fail "pnpm pack in $p wrote no tarball"; }
  TARBALLS+=("$tgz")
done
[ ! -e apps/cli/corpus ] || fail "apps/cli/corpus was left behind by the CLI's prepack/postpack"

# 2. What each tarball holds, publint, are-the-types-wrong.
step "checking the tarballs (contents, publint, attw) in the background"
check_tarballs() {
for tgz in "${TARBALLS[@]}"; do
  name="$(basename "$tgz" .tgz)"
  dir="$WORK/extracted/$name"
  mkdir -p "$dir" && tar xzf "$tgz" -C "$dir"
  bad="$(tar tzf "$tgz" | grep -E '(\.test\.|/test-support/|/testing/|\.tsbuildinfo$|(^|/)(test|tests)/)' || true)"
  [ -z "$bad" ] || { echo "$bad" >&2; fail "$name ships test files"; }
  for f in LICENSE README.md package.json; do [ -f "$dir/package/$f" ] || fail "$name has no $f"; done
  node -e '
    const p = require(process.argv[1]);
    const missing = ["name", "version", "description", "license", "author", "engines", "keywords", "files"].filter((k) => !p[k]);
    const ws = JSON.stringify({ ...p.dependencies, ...p.peerDependencies }).includes("workspace:");
    if (missing.length || ws) { console.error(`${p.name}: missing ${missing.join(", ")}${ws ? "; workspace: ranges left" : ""}`); process.exit(1); }
  ' "$dir/package/package.json" || fail "$name package.json metadata"
  pnpm exec publint run "$dir/package" --pack false --strict >"$WORK/publint.log" 2>&1 || { cat "$WORK/publint.log" >&2; fail "publint $name"; }
  # ESM only: CommonJS and node10 resolution are not supported (README Install: require(esm)).
  # (A command-only package, without "exports", has no types to check.)
  if node -e 'process.exit(require(process.argv[1]).exports ? 0 : 1)' "$dir/package/package.json"; then
    pnpm exec attw "$tgz" --profile esm-only --format ascii --no-emoji >"$WORK/attw.log" 2>&1 || { cat "$WORK/attw.log" >&2; fail "are-the-types-wrong $name"; }
  fi
done
echo "pack-check: tarball checks passed"
}
check_tarballs >"$WORK/checks.log" 2>&1 &
CHECKS_PID=$!

# 3. A user's project outside the workspace, installed with npm.
step "npm install of the tarballs + ${DRIVER_SPECS[*]} ${FRAMEWORK_SPECS[*]} in $WORK/app"
APP="$WORK/app"
mkdir -p "$APP"
cat >"$APP/package.json" <<'JSON'
{ "name": "larder-pack-check-app", "version": "0.0.0", "private": true, "type": "module" }
JSON
(cd "$APP" && npm install --strict-peer-deps --no-audit --no-fund --loglevel=warn \
  "${TARBALLS[@]}" "${DRIVER_SPECS[@]}" "${FRAMEWORK_SPECS[@]}" @aws-sdk/client-s3@latest @aws-sdk/lib-storage@latest \
  "$VITEST_SPEC" "$TS_SPEC" "@types/node@20" >"$WORK/npm.log" 2>&1) || { cat "$WORK/npm.log" >&2; fail "npm install"; }
if grep -E 'ERESOLVE|peer dep|EBADENGINE' "$WORK/npm.log" >&2; then fail "npm install warned about peer dependencies or engines"; fi
if [ "${#README_SPECS[@]}" -gt 0 ]; then
  step "npm install of what README blocks import: ${README_SPECS[*]}"
  (cd "$APP" && npm install --strict-peer-deps --no-audit --no-fund --loglevel=warn "${README_SPECS[@]}" >"$WORK/npm-readme.log" 2>&1) ||
    { cat "$WORK/npm-readme.log" >&2; fail "npm install of ${README_SPECS[*]}"; }
  if grep -E 'ERESOLVE|peer dep' "$WORK/npm-readme.log" >&2; then fail "npm install of ${README_SPECS[*]} warned about peer dependencies"; fi
  if grep -E "package: '@larder/" "$WORK/npm-readme.log" >&2; then fail "npm install of ${README_SPECS[*]} warned about a @larder package's engines"; fi
fi
(cd "$APP" && node -e '
  for (const n of ["ioredis", "neo4j-driver", "pg"]) process.stdout.write(`${n}@${require(`${n}/package.json`).version} `);
  console.log("");
')

# The driver matrix's second project (the other driver set), installed in the background meanwhile.
if [ "${LARDER_PACK_KIT:-1}" = 1 ]; then
  if [ "$DRIVERS" = latest ]; then OTHER_DRIVERS=oldest; read -r -a specs <<<"$(oldest_drivers ioredis neo4j-driver)"; else OTHER_DRIVERS=latest; specs=(ioredis@latest neo4j-driver@latest); fi
  step "npm install of the adapters + ${specs[*]} in $WORK/app-$OTHER_DRIVERS (in the background)"
  mkdir -p "$WORK/app-$OTHER_DRIVERS"
  cp "$APP/package.json" "$WORK/app-$OTHER_DRIVERS/package.json"
  kit_tgz=()
  for t in "${TARBALLS[@]}"; do case "$(basename "$t")" in larder-core-*|larder-conformance-*|larder-storage-redis-*|larder-storage-neo4j-*) kit_tgz+=("$t") ;; esac; done
  (cd "$WORK/app-$OTHER_DRIVERS" && npm install --strict-peer-deps --no-audit --no-fund --loglevel=warn \
    "${kit_tgz[@]}" "${specs[@]}" "$VITEST_SPEC" "$TS_SPEC" "@types/node@20" >"$WORK/npm-kit.log" 2>&1) &
  KIT_INSTALL_PID=$!
fi

wait "$CHECKS_PID" || { cat "$WORK/checks.log" >&2; fail "tarball checks"; }
cat "$WORK/checks.log"

# 4. Every TypeScript block of the installed READMEs, verbatim, compiled with tsc.
step "compiling the README code blocks"
readmes=("$APP"/node_modules/@larder/*/README.md)
node scripts/readme-blocks.mjs "$APP/readme" "${readmes[@]}" || fail "extracting README blocks"
mkdir -p "$APP/decl"
# Plus every entry point of every package, so their .d.ts are checked as a strict user project would
# (skipLibCheck off).
for d in "$APP"/node_modules/@larder/*/; do
  node -e '
    const p = require(process.argv[1] + "/package.json");
    const id = p.name.replace(/[^a-z0-9]+/gi, "_");
    for (const k of Object.keys(p.exports ?? {})) if (k !== "./package.json") console.log(`export * as ${id}${k.slice(1).replace(/[^a-z0-9]+/gi, "_")} from "${p.name}${k.slice(1)}";`);
  ' "$d"
done >"$APP/decl/entry-points.ts"
cat >"$APP/tsconfig.json" <<'JSON'
{
  "compilerOptions": {
    "target": "ES2022",
    "lib": ["ES2023"],
    "module": "NodeNext",
    "moduleResolution": "NodeNext",
    "moduleDetection": "force",
    "strict": true,
    "noEmit": true,
    "skipLibCheck": false,
    "types": ["node"]
  },
  "include": ["readme/*.ts", "decl/*.ts"]
}
JSON
# Declaration errors INSIDE these third-party packages are reported but do not fail the check:
# llamaindex 0.12 / @llamaindex/* ship .d.ts that no strict project compiles with skipLibCheck off
# (they import `ajv`, which they do not depend on, and the DOM's `MediaStream`). Every error in the
# README blocks, in our declarations or in any other package still fails.
TOLERATED_DTS_RE='^node_modules/(llamaindex|@llamaindex/[^/]+)/'
if ! (cd "$APP" && npx --no-install tsc -p tsconfig.json) >"$WORK/tsc.log" 2>&1; then
  errors="$(grep -E '^[^ ].*\([0-9]+,[0-9]+\): error TS' "$WORK/tsc.log" || true)"
  ours="$(printf '%s\n' "$errors" | grep -vE "$TOLERATED_DTS_RE" | grep -v '^$' || true)"
  if [ -n "$ours" ] || [ -z "$errors" ]; then
    cat "$WORK/tsc.log" >&2
    fail "README code blocks or the packages' declarations do not compile against the installed packages (files in $APP/readme and $APP/decl; LARDER_PACK_KEEP=1 keeps them)"
  fi
  echo "pack-check: $(printf '%s\n' "$errors" | wc -l) declaration error(s) inside llamaindex / @llamaindex/* themselves (tolerated, see TOLERATED_DTS_RE); none in the README blocks or in ours"
fi

# Every entry point loads at run time: imported from ESM, and required from CommonJS (require(esm)).
step "importing every entry point (ESM import and CommonJS require)"
(cd "$APP" && node --input-type=module -e '
  import { readFileSync, readdirSync } from "node:fs";
  import { createRequire } from "node:module";
  const require = createRequire(`${process.cwd()}/`);
  let n = 0;
  for (const d of readdirSync("node_modules/@larder")) {
    const p = JSON.parse(readFileSync(`node_modules/@larder/${d}/package.json`, "utf8"));
    for (const k of Object.keys(p.exports ?? {})) {
      if (k === "./package.json") continue;
      const spec = `${p.name}${k.slice(1)}`;
      const esm = await import(spec);
      const cjs = require(spec);
      if (Object.keys(esm).length === 0 || Object.keys(cjs).length === 0) throw new Error(`${spec} exports nothing`);
      n++;
    }
  }
  console.log(`${n} entry points imported and required`);
') || fail "an entry point does not load (ESM import or CommonJS require)"

# 5. The installed CLI, end to end, on local folders.
step "running the installed larder command"
export PATH="$APP/node_modules/.bin:$PATH"
cd "$APP"
run() {
  echo "\$ larder $*"
  larder "$@" >"$WORK/cli.log" 2>&1 || { cat "$WORK/cli.log" >&2; fail "larder $*"; }
  tail -n 3 "$WORK/cli.log"
}
[ "$(command -v larder)" = "$APP/node_modules/.bin/larder" ] || fail "larder is not the installed bin"
run --version
run demo --dir demo-store
grep -q "Q: " "$WORK/cli.log" || fail "larder demo printed no query"
mkdir -p notes
printf '# Manifest\n\nThe manifest larder.json is written last, atomically.\n' >notes/manifest.md
printf '# Buckets\n\nPersist the storage context to an S3 bucket and load it back.\n' >notes/buckets.md
run ingest ./notes --to ./store
run --json query "how is the manifest written?" --from ./store --top-k 1
grep -q "manifest" "$WORK/cli.log" || fail "larder query did not find the manifest note"
run inspect ./store
run verify ./store
run migrate ./store ./store-copy
run verify ./store-copy
run --json query "which bucket?" --from ./store-copy --top-k 1
grep -q "Buckets" "$WORK/cli.log" || fail "the migrated store did not answer"
[ ! -e "$APP/node_modules/tsx" ] || fail "tsx was installed: the CLI must run from its compiled output"
cd "$ROOT"

# 6. Driver matrix: the kit's suites (KV and chat on Redis, property graph on Neo4j) against the
# installed adapters, with the latest driver majors and with the oldest versions the peer ranges
# accept, on the real services (with CI set an unreachable service fails; else the suites are skipped).
KIT_RESULT="driver matrix not run (LARDER_PACK_KIT=0)"
if [ "${LARDER_PACK_KIT:-1}" = 1 ]; then
  KIT_RESULT="driver matrix:"
  KIT_APPS=(); KIT_VERSIONS=()
  if [ -n "${KIT_INSTALL_PID:-}" ]; then
    wait "$KIT_INSTALL_PID" || { cat "$WORK/npm-kit.log" >&2; fail "npm install of the second driver set ($OTHER_DRIVERS)"; }
  fi
  for drivers in latest oldest; do
    if [ "$drivers" = "$DRIVERS" ]; then KIT_APP="$APP"; else KIT_APP="$WORK/app-$drivers"; fi
    versions="$(cd "$KIT_APP" && node -p '["ioredis", "neo4j-driver"].map((n) => `${n}@${require(`${n}/package.json`).version}`).join(" ")')"
    mkdir -p "$KIT_APP/kit"
    cp scripts/pack-kit/*.ts "$KIT_APP/kit/"
    KIT_APPS+=("$KIT_APP"); KIT_VERSIONS+=("$versions")
  done
  # One driver set after the other (at once, two graph suites on one Neo4j time out on a busy machine).
  for i in "${!KIT_APPS[@]}"; do
    step "kit suites against the installed adapters with ${KIT_VERSIONS[$i]}"
    (cd "${KIT_APPS[$i]}" && LARDER_SERVICES_ENV_MODULE="$ROOT/tooling/services/env.mjs" npx --no-install vitest run kit \
      --reporter=dot --testTimeout=60000 --hookTimeout=60000 >"$WORK/kit-$i.log" 2>&1) || { cat "$WORK/kit-$i.log" >&2; fail "kit suites with ${KIT_VERSIONS[$i]}"; }
    grep -E "Test Files|Tests " "$WORK/kit-$i.log" || true
    grep -q "pack-kit SKIPPED" "$WORK/kit-$i.log" && KIT_RESULT="$KIT_RESULT ${KIT_VERSIONS[$i]} SKIPPED (services unreachable);" || KIT_RESULT="$KIT_RESULT ${KIT_VERSIONS[$i]} passed;"
  done
fi

step "OK: ${#TARBALLS[@]} tarballs packed, linted, installed with npm (drivers: $DRIVERS), README blocks compiled, CLI run; $KIT_RESULT"
