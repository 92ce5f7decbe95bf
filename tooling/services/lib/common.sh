# shellcheck shell=bash
# Shared helpers for tooling/services. Sourced by bin/services.sh and bin/smoke.sh (never run directly).

SERVICES_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export SERVICES_DIR

# shellcheck source=../env.sh
. "$SERVICES_DIR/env.sh"

# Pinned versions (bump here; the cache keys follow).
VERSITYGW_MODULE="github.com/versity/versitygw"
VERSITYGW_VERSION="v1.8.0"
PGVECTOR_MIN_VERSION="0.8.0"
PGVECTOR_SOURCE_SUITE="trixie" # Debian suite whose pgvector *source* package we build for PG 15
PG_MAJOR=15
PGBIN="/usr/lib/postgresql/$PG_MAJOR/bin"

# --- where things live ---------------------------------------------------------------------------
# A fixed path outside the clone, so a fresh clone on the same machine reuses what was installed.
if [ -z "${LARDER_SERVICES_HOME:-}" ]; then
  if [ "$(id -u)" = 0 ]; then
    LARDER_SERVICES_HOME=/var/cache/larder-services
  else
    LARDER_SERVICES_HOME="${XDG_CACHE_HOME:-$HOME/.cache}/larder-services"
  fi
fi
export LARDER_SERVICES_HOME
ART="$LARDER_SERVICES_HOME/artifacts" # installed/built things (kept by `clean`)
DATA="$LARDER_SERVICES_HOME/data"     # server data (removed by `clean`)
RUN="$LARDER_SERVICES_HOME/run"       # pid files, sockets
LOGS="$LARDER_SERVICES_HOME/logs"

# Readiness deadlines, seconds.
: "${LARDER_SERVICES_DEADLINE_REDIS:=20}"
: "${LARDER_SERVICES_DEADLINE_POSTGRES:=60}"
: "${LARDER_SERVICES_DEADLINE_NEO4J:=180}"
: "${LARDER_SERVICES_DEADLINE_S3:=30}"

export DEBIAN_FRONTEND=noninteractive

# --- output --------------------------------------------------------------------------------------
log() { printf '[services] %s\n' "$*" >&2; }
warn() { printf '[services] WARNING: %s\n' "$*" >&2; }
die() {
  printf '[services] ERROR: %s\n' "$*" >&2
  exit 1
}

is_ci() {
  case "${CI:-}" in '' | 0 | false | FALSE | False) return 1 ;; *) return 0 ;; esac
}

now() { date +%s.%N; }
# elapsed START -> "12.3"
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# --- parsing the connection URLs (ports, Postgres role/db come from them) -------------------------
# url_port URL -> port number (dies if none)
url_port() {
  local re='^[a-zA-Z0-9+.-]+://([^@/]*@)?(\[[^]]*\]|[^:/?]+):([0-9]+)'
  [[ $1 =~ $re ]] || die "cannot read a port from '$1'"
  printf '%s\n' "${BASH_REMATCH[3]}"
}

# Postgres URL parts: PG_USER PG_PASSWORD PG_PORT PG_DB
parse_postgres_url() {
  local re='^postgres(ql)?://([^:@/]+)(:([^@/]*))?@([^:/]+):([0-9]+)/([^?]+)'
  [[ $LARDER_POSTGRES_URL =~ $re ]] ||
    die "LARDER_POSTGRES_URL must look like postgres://user:password@127.0.0.1:port/db (got a different shape)"
  PG_USER="${BASH_REMATCH[2]}"
  PG_PASSWORD="${BASH_REMATCH[4]}"
  PG_PORT="${BASH_REMATCH[6]}"
  PG_DB="${BASH_REMATCH[7]}"
}

REDIS_PORT="$(url_port "$LARDER_REDIS_URL")"
CLUSTER_PORTS=()
IFS=',' read -r -a _nodes <<<"$LARDER_REDIS_CLUSTER_NODES"
for _n in "${_nodes[@]}"; do
  _n="${_n// /}"
  [ -n "$_n" ] && CLUSTER_PORTS+=("${_n##*:}")
done
unset _nodes _n
parse_postgres_url
NEO4J_PORT="$(url_port "$LARDER_NEO4J_URL")"
S3_PORT="$(url_port "$LARDER_S3_ENDPOINT")"

# --- process helpers -----------------------------------------------------------------------------
# Is anything accepting TCP connections on 127.0.0.1:PORT?
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# pid_alive PIDFILE [PATTERN] -> 0 if the pid in the file is a live process (whose command line
# contains PATTERN, when given: a pid file that outlived a reboot may name someone else's process)
pid_alive() {
  local pid
  [ -s "$1" ] || return 1
  pid="$(cat "$1" 2>/dev/null)" || return 1
  [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
  if [ -n "${2:-}" ] && [ -r "/proc/$pid/cmdline" ]; then
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$2" || return 1
  fi
  return 0
}

# wait_until DEADLINE_SECONDS CMD... : poll CMD (quietly) every 0.2 s until it succeeds.
wait_until() {
  local deadline="$1"
  shift
  local end
  end="$(awk -v n="$(now)" -v d="$deadline" 'BEGIN { printf "%.3f", n + d }')"
  while true; do
    if "$@" >/dev/null 2>&1; then return 0; fi
    if awk -v n="$(now)" -v e="$end" 'BEGIN { exit !(n >= e) }'; then return 1; fi
    sleep 0.2
  done
}

# start_background NAME PIDFILE LOGFILE CMD... : detach (own session, no inherited stdio), record pid.
start_background() {
  local name="$1" pidfile="$2" logfile="$3"
  shift 3
  if [ -f "$logfile" ]; then mv -f "$logfile" "$logfile.1"; fi
  printf '=== %s started %s: %s\n' "$name" "$(date -u +%FT%TZ)" "$1" >"$logfile"
  # 9>&-: the daemon must not inherit services.sh's lock (fd 9), or it would hold it forever.
  setsid "$@" </dev/null >>"$logfile" 2>&1 9>&- &
  echo $! >"$pidfile"
}

# stop_pidfile NAME PIDFILE DEADLINE [PATTERN] : SIGTERM, wait, SIGKILL after the deadline
# (returns 1 when it had to kill).
stop_pidfile() {
  local name="$1" pidfile="$2" deadline="$3" pid
  if ! pid_alive "$pidfile" "${4:-}"; then
    rm -f "$pidfile"
    return 0
  fi
  pid="$(cat "$pidfile")"
  kill -TERM "$pid" 2>/dev/null || true
  if ! wait_until "$deadline" bash -c "! kill -0 $pid"; then
    warn "$name (pid $pid) did not stop within ${deadline}s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
    wait_until 5 bash -c "! kill -0 $pid" || true
    rm -f "$pidfile"
    return 1
  fi
  rm -f "$pidfile"
}

# tail_log FILE : last lines of a log, indented, for error messages
tail_log() {
  if [ -f "$1" ]; then
    printf '[services]   --- last lines of %s ---\n' "$1" >&2
    tail -n 25 "$1" | sed 's/^/[services]   | /' >&2
  fi
}

# --- privileges and packages ---------------------------------------------------------------------
as_root() {
  if [ "$(id -u)" = 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo -n "$@"
  else
    die "need root (or sudo) for: $*"
  fi
}

_APT_UPDATED=0
# apt_install PKG... : install the Debian packages that are missing (bookworm's own suites only).
apt_install() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  if [ "$_APT_UPDATED" = 0 ]; then
    log "apt-get update"
    as_root apt-get -o DPkg::Lock::Timeout=600 update -qq >>"$LOGS/apt.log" 2>&1 || {
      tail_log "$LOGS/apt.log"
      die "apt-get update failed"
    }
    _APT_UPDATED=1
  fi
  log "apt-get install ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    -o DPkg::Lock::Timeout=600 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
    "${missing[@]}" >>"$LOGS/apt.log" 2>&1 || {
    tail_log "$LOGS/apt.log"
    die "apt-get install ${missing[*]} failed"
  }
}

ensure_dirs() {
  mkdir -p "$ART" "$DATA" "$RUN" "$LOGS"
  chmod 755 "$LARDER_SERVICES_HOME" "$ART" "$DATA" "$RUN" "$LOGS" 2>/dev/null || true
}
