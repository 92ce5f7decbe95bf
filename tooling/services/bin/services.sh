#!/usr/bin/env bash
# Larder's test backends on loopback: Redis (+ a 3-master Redis Cluster), PostgreSQL 15 + pgvector,
# Neo4j 5 community, an S3-compatible server (versitygw), and a Redis Stack with the query engine
# (RediSearch + RedisJSON), standalone and a cluster. Installs what is missing, starts what
# is not running, and checks each with a real request before it says "up". See ../README.md.
#
#   bash tooling/services/bin/services.sh up [--strict] [SERVICE...]
#   bash tooling/services/bin/services.sh down|status [SERVICE...]
#   bash tooling/services/bin/services.sh smoke|env [--json]|clean
#
# SERVICE: redis redis-cluster redis-search redis-search-cluster postgres neo4j s3 (default: all).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../lib/common.sh
. "$HERE/../lib/common.sh"
# shellcheck source=../lib/redis.sh
. "$HERE/../lib/redis.sh"
# shellcheck source=../lib/postgres.sh
. "$HERE/../lib/postgres.sh"
# shellcheck source=../lib/neo4j.sh
. "$HERE/../lib/neo4j.sh"
# shellcheck source=../lib/s3.sh
. "$HERE/../lib/s3.sh"
# shellcheck source=../lib/redis-search.sh
. "$HERE/../lib/redis-search.sh"

ALL_SERVICES=(redis redis-cluster redis-search redis-search-cluster postgres neo4j s3)

usage() {
  sed -n '2,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

SELECTED=()
STRICT=0
parse_args() {
  local a s ok
  for a in "$@"; do
    case "$a" in
    --strict) STRICT=1 ;;
    -h | --help)
      usage
      exit 0
      ;;
    *)
      ok=0
      for s in "${ALL_SERVICES[@]}"; do [ "$a" = "$s" ] && ok=1; done
      [ "$ok" = 1 ] || die "unknown service '$a' (known: ${ALL_SERVICES[*]})"
      SELECTED+=("$a")
      ;;
    esac
  done
  [ "${#SELECTED[@]}" -gt 0 ] || SELECTED=("${ALL_SERVICES[@]}")
}
selected() {
  local s
  for s in "${SELECTED[@]}"; do [ "$s" = "$1" ] && return 0; done
  return 1
}

lock() {
  ensure_dirs
  # Serializes concurrent up/down (e.g. several test runs starting at once). Daemons never inherit fd 9.
  exec 9>"$LARDER_SERVICES_HOME/services.lock"
  if ! flock -w 900 9; then die "another services.sh held $LARDER_SERVICES_HOME/services.lock for 15 minutes"; fi
}

FAILED=()
TIMES=()
failed() {
  local f
  for f in "${FAILED[@]+"${FAILED[@]}"}"; do [ "$f" = "$1" ] && return 0; done
  return 1
}
# step SERVICE LABEL FUNCTION : run FUNCTION in a subshell with errexit on; record time and failure.
step() {
  local service="$1" label="$2" fn="$3" t0 rc
  failed "$service" && return 0
  t0="$(now)"
  set +e
  (
    set -e
    "$fn"
  )
  rc=$?
  set -e
  TIMES+=("$label $(elapsed "$t0")s")
  if [ "$rc" != 0 ]; then FAILED+=("$service"); fi
}

cmd_up() {
  lock
  local t0
  t0="$(now)"
  log "up: ${SELECTED[*]} (cache: $LARDER_SERVICES_HOME)"
  # 1. install (apt, pgvector build, Maven, Go) - each only when missing. The Go build of the S3
  #    server (CPU-bound, the longest) runs in the background meanwhile.
  local s3_job="" s3_t0 rc
  if selected s3; then
    s3_t0="$(now)"
    (
      set -e
      s3_install
    ) &
    s3_job=$!
  fi
  if selected redis || selected redis-cluster; then
    step redis install:redis redis_install
    failed redis && FAILED+=(redis-cluster)
  fi
  if selected redis-search || selected redis-search-cluster; then
    step redis-search install:redis-search redis_search_install
    failed redis-search && FAILED+=(redis-search-cluster)
  fi
  selected postgres && step postgres install:postgres postgres_install
  selected neo4j && step neo4j install:neo4j neo4j_install
  if [ -n "$s3_job" ]; then
    set +e
    wait "$s3_job"
    rc=$?
    set -e
    TIMES+=("install:s3(parallel) $(elapsed "$s3_t0")s")
    [ "$rc" = 0 ] || FAILED+=(s3)
  fi
  # 2. start: the JVM first, so Neo4j boots while the others start
  NEO4J_LAUNCHED=0
  if selected neo4j && ! failed neo4j; then
    # shellcheck disable=SC2034 # read by neo4j_wait (in the step's subshell)
    neo4j_ready_file_ok || NEO4J_LAUNCHED=1
    step neo4j start:neo4j neo4j_launch
  fi
  selected redis && step redis up:redis redis_up
  selected redis-cluster && step redis-cluster up:redis-cluster redis_cluster_up
  selected redis-search && step redis-search up:redis-search redis_search_up
  selected redis-search-cluster && step redis-search-cluster up:redis-search-cluster redis_search_cluster_up
  selected postgres && step postgres up:postgres postgres_up
  selected s3 && step s3 up:s3 s3_up
  selected neo4j && step neo4j up:neo4j neo4j_wait
  local total
  total="$(elapsed "$t0")"
  log "times: ${TIMES[*]}; total ${total}s"
  printf '%s up %s: %s; total %ss\n' "$(date -u +%FT%TZ)" "${SELECTED[*]}" "${TIMES[*]}" "$total" >>"$LOGS/times.log"
  if [ "${#FAILED[@]}" -gt 0 ]; then
    printf '[services] FAILED to start: %s (logs in %s)\n' "${FAILED[*]}" "$LOGS" >&2
    if is_ci || [ "$STRICT" = 1 ]; then exit 1; fi
    warn "not CI: carrying on; integration tests of ${FAILED[*]} will skip (CI fails instead)"
    return 0
  fi
  log "all up (${SELECTED[*]}); connection settings: . tooling/services/env.sh"
}

cmd_down() {
  lock
  selected neo4j && neo4j_down_begin
  selected s3 && s3_down
  selected redis-cluster && redis_cluster_down
  selected redis && redis_down
  selected redis-search && redis_search_down
  selected redis-search-cluster && redis_search_cluster_down
  selected postgres && postgres_down
  selected neo4j && neo4j_down_wait
  log "down: ${SELECTED[*]}"
}

cmd_status() {
  local s fn where bad=0
  for s in "${SELECTED[@]}"; do
    case "$s" in
    redis) fn=redis_status where="$LARDER_REDIS_URL" ;;
    redis-cluster) fn=redis_cluster_status where="$LARDER_REDIS_CLUSTER_NODES" ;;
    redis-search) fn=redis_search_status where="$LARDER_REDIS_SEARCH_URL" ;;
    redis-search-cluster) fn=redis_search_cluster_status where="$LARDER_REDIS_SEARCH_CLUSTER_NODES" ;;
    postgres) fn=postgres_status where="${LARDER_POSTGRES_URL/:$PG_PASSWORD@/:***@}" ;;
    neo4j) fn=neo4j_status where="$LARDER_NEO4J_URL (user $LARDER_NEO4J_USER)" ;;
    s3) fn=s3_status where="$LARDER_S3_ENDPOINT (bucket $LARDER_S3_BUCKET)" ;;
    esac
    if (set -e; "$fn") >/dev/null 2>&1; then
      printf '%-21s up    %s\n' "$s" "$where"
    else
      printf '%-21s DOWN  %s\n' "$s" "$where"
      bad=1
    fi
  done
  return "$bad"
}

cmd_env() {
  local k
  # (keys are LARDER_[A-Z0-9_]+: no word splitting issue)
  # shellcheck disable=SC2046,SC2013
  if [ "${1:-}" = --json ]; then
    node -e 'const o={};for(const k of process.argv.slice(1))o[k]=process.env[k];console.log(JSON.stringify(o,null,2))' \
      $(sed -n 's/^\(LARDER_[A-Z0-9_]*\)=.*/\1/p' "$SERVICES_DIR/env.defaults")
    return
  fi
  # shellcheck disable=SC2013
  for k in $(sed -n 's/^\(LARDER_[A-Z0-9_]*\)=.*/\1/p' "$SERVICES_DIR/env.defaults"); do
    printf 'export %s=%q\n' "$k" "${!k}"
  done
}

cmd_clean() {
  SELECTED=("${ALL_SERVICES[@]}")
  cmd_down
  rm -rf "$DATA" "$RUN"
  log "clean: removed server data ($DATA); installed artifacts in $ART kept"
}

main() {
  local cmd="${1:-}"
  [ "$#" -gt 0 ] && shift
  case "$cmd" in
  up)
    parse_args "$@"
    cmd_up
    ;;
  down | stop)
    parse_args "$@"
    cmd_down
    ;;
  status)
    parse_args "$@"
    cmd_status
    ;;
  restart)
    parse_args "$@"
    cmd_down
    cmd_up
    ;;
  smoke) exec bash "$HERE/smoke.sh" "$@" ;;
  env) cmd_env "$@" ;;
  clean) cmd_clean ;;
  -h | --help | help | "") usage ;;
  *)
    usage >&2
    exit 2
    ;;
  esac
}

main "$@"
