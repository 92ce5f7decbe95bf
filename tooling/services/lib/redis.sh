# shellcheck shell=bash
# Redis 7 (Debian's redis-server): one standalone server and a 3-master Redis Cluster, on loopback,
# persistence off. Sourced by bin/services.sh.

redis_install() {
  if command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1; then return 0; fi
  # The package's init script may try to start a default server on 6379; ours never use that port.
  apt_install redis-server redis-tools
  command -v redis-server >/dev/null 2>&1 || die "redis-server is not on PATH after installing it"
}

rcli() { # rcli PORT ARGS...
  local port="$1"
  shift
  timeout 5 redis-cli -h 127.0.0.1 -p "$port" "$@"
}

redis_ping() { [ "$(rcli "$1" PING 2>/dev/null)" = "PONG" ]; }

# redis_start_node PORT DIR EXTRA_ARGS...
redis_start_node() {
  local port="$1" dir="$2"
  shift 2
  if port_open "$port"; then
    die "port $port is in use by something that does not answer Redis PING"
  fi
  mkdir -p "$dir"
  redis-server --bind 127.0.0.1 --port "$port" --protected-mode yes \
    --save '' --appendonly no --daemonize yes \
    --pidfile "$RUN/redis-$port.pid" --logfile "$LOGS/redis-$port.log" --dir "$dir" \
    "$@" </dev/null >/dev/null 2>&1 9>&- || die "redis-server on port $port did not start"
}

redis_up() {
  if redis_ping "$REDIS_PORT"; then
    log "redis: already running on 127.0.0.1:$REDIS_PORT"
    return 0
  fi
  redis_start_node "$REDIS_PORT" "$DATA/redis"
  if ! wait_until "$LARDER_SERVICES_DEADLINE_REDIS" redis_ping "$REDIS_PORT"; then
    tail_log "$LOGS/redis-$REDIS_PORT.log"
    die "redis: no PONG from 127.0.0.1:$REDIS_PORT within ${LARDER_SERVICES_DEADLINE_REDIS}s"
  fi
  log "redis: up on 127.0.0.1:$REDIS_PORT"
}

redis_status() { redis_ping "$REDIS_PORT"; }

redis_down() {
  if redis_ping "$REDIS_PORT"; then rcli "$REDIS_PORT" SHUTDOWN NOSAVE >/dev/null 2>&1 || true; fi
  wait_until 10 bash -c "! (exec 3<>/dev/tcp/127.0.0.1/$REDIS_PORT) 2>/dev/null" || warn "redis on $REDIS_PORT still answers"
  rm -f "$RUN/redis-$REDIS_PORT.pid"
}

# --- cluster -------------------------------------------------------------------------------------
cluster_info_field() { # PORT FIELD
  rcli "$1" CLUSTER INFO 2>/dev/null | tr -d '\r' | awk -F: -v f="$2" '$1 == f { print $2 }'
}

cluster_healthy() {
  local p n="${#CLUSTER_PORTS[@]}"
  for p in "${CLUSTER_PORTS[@]}"; do
    [ "$(cluster_info_field "$p" cluster_state)" = ok ] || return 1
    [ "$(cluster_info_field "$p" cluster_slots_assigned)" = 16384 ] || return 1
    [ "$(cluster_info_field "$p" cluster_known_nodes)" = "$n" ] || return 1
  done
}

cluster_all_ping() {
  local p
  for p in "${CLUSTER_PORTS[@]}"; do redis_ping "$p" || return 1; done
}

redis_cluster_up() {
  [ "${#CLUSTER_PORTS[@]}" -ge 3 ] || die "redis-cluster: LARDER_REDIS_CLUSTER_NODES needs 3 nodes at least"
  if cluster_healthy; then
    log "redis-cluster: already running on ports ${CLUSTER_PORTS[*]}"
    return 0
  fi
  local p started=0
  for p in "${CLUSTER_PORTS[@]}"; do
    if ! redis_ping "$p"; then
      # A node that is not running starts from an empty directory (no stale nodes.conf).
      rm -rf "$DATA/redis-cluster/$p"
      redis_start_node "$p" "$DATA/redis-cluster/$p" \
        --cluster-enabled yes --cluster-config-file nodes.conf --cluster-node-timeout 5000 \
        --cluster-require-full-coverage yes
      started=1
    fi
  done
  if ! wait_until "$LARDER_SERVICES_DEADLINE_REDIS" cluster_all_ping; then
    for p in "${CLUSTER_PORTS[@]}"; do tail_log "$LOGS/redis-$p.log"; done
    die "redis-cluster: nodes ${CLUSTER_PORTS[*]} did not all answer PING within ${LARDER_SERVICES_DEADLINE_REDIS}s"
  fi
  # A node that knows other nodes or owns slots is from an earlier, now broken, cluster: reset all.
  local dirty=0
  for p in "${CLUSTER_PORTS[@]}"; do
    if [ "$(cluster_info_field "$p" cluster_known_nodes)" != 1 ] ||
      [ "$(cluster_info_field "$p" cluster_slots_assigned)" != 0 ]; then dirty=1; fi
  done
  if [ "$dirty" = 1 ]; then
    log "redis-cluster: resetting a partial cluster (started=$started)"
    for p in "${CLUSTER_PORTS[@]}"; do
      rcli "$p" FLUSHALL >/dev/null 2>&1 || true
      rcli "$p" CLUSTER RESET HARD >/dev/null || die "redis-cluster: CLUSTER RESET failed on $p"
    done
  fi
  local nodes=()
  for p in "${CLUSTER_PORTS[@]}"; do nodes+=("127.0.0.1:$p"); done
  if ! timeout 60 redis-cli --cluster create "${nodes[@]}" --cluster-replicas 0 --cluster-yes \
    >"$LOGS/redis-cluster-create.log" 2>&1; then
    tail_log "$LOGS/redis-cluster-create.log"
    die "redis-cluster: 'redis-cli --cluster create' failed"
  fi
  if ! wait_until 30 cluster_healthy; then
    tail_log "$LOGS/redis-cluster-create.log"
    die "redis-cluster: cluster_state did not become ok on all of ${CLUSTER_PORTS[*]} within 30s"
  fi
  log "redis-cluster: up on ports ${CLUSTER_PORTS[*]} (3 masters, 16384 slots)"
}

redis_cluster_status() { cluster_healthy; }

redis_cluster_down() {
  local p
  for p in "${CLUSTER_PORTS[@]}"; do
    if redis_ping "$p"; then rcli "$p" SHUTDOWN NOSAVE >/dev/null 2>&1 || true; fi
  done
  for p in "${CLUSTER_PORTS[@]}"; do
    wait_until 10 bash -c "! (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null" || warn "redis on $p still answers"
    rm -f "$RUN/redis-$p.pid"
  done
  rm -rf "$DATA/redis-cluster"
}
