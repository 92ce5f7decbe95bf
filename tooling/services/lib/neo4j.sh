# shellcheck shell=bash
# Neo4j 5 community, embedded in a small launcher (tooling/services/neo4j-launcher) that Maven builds
# from Maven Central artifacts; Bolt on 127.0.0.1 with auth. Sourced by bin/services.sh.

NEO4J_HOME_DIR="$DATA/neo4j"
NEO4J_PIDFILE="$RUN/neo4j.pid"
NEO4J_LOG="$LOGS/neo4j.log"
NEO4J_MAIN=dev.larder.services.neo4j.Main
: "${LARDER_NEO4J_HEAP:=1g}"
: "${LARDER_NEO4J_PAGECACHE_MB:=256}"
export LARDER_NEO4J_PAGECACHE_MB

# A Java that Neo4j 5.26 supports (17 or 21): JAVA_HOME, then `java` on PATH, then /usr/lib/jvm.
java_major() { "$1" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p'; }
find_java() {
  local c m
  for c in ${JAVA_HOME:+"$JAVA_HOME/bin/java"} "$(command -v java 2>/dev/null || true)" \
    /usr/lib/jvm/*17*/bin/java /usr/lib/jvm/*21*/bin/java; do
    [ -n "$c" ] && [ -x "$c" ] || continue
    m="$(java_major "$c")"
    case "$m" in 17 | 21)
      printf '%s\n' "$c"
      return 0
      ;;
    esac
  done
  return 1
}

neo4j_launcher_key() {
  # Content hash of the launcher sources: a change rebuilds, a fresh clone of the same sources reuses.
  (cd "$SERVICES_DIR/neo4j-launcher" && find . -path '*/target' -prune -o -type f -print | LC_ALL=C sort |
    xargs sha256sum) | sha256sum | cut -c1-16
}

NEO4J_ART=""
neo4j_artifacts() {
  [ -n "$NEO4J_ART" ] || NEO4J_ART="$ART/neo4j-launcher/$(neo4j_launcher_key)"
  printf '%s\n' "$NEO4J_ART"
}

neo4j_install() {
  JAVA_BIN="$(find_java)" || {
    apt_install openjdk-17-jre-headless
    JAVA_BIN="$(find_java)" || die "neo4j: no Java 17 or 21 found"
  }
  local art
  art="$(neo4j_artifacts)"
  [ -f "$art/.ok" ] && return 0
  command -v mvn >/dev/null 2>&1 || apt_install maven openjdk-17-jdk-headless
  local build
  build="$(mktemp -d "$ART/neo4j-launcher-build.XXXXXX")"
  cp -r "$SERVICES_DIR/neo4j-launcher/." "$build/"
  rm -rf "$build"/*/target
  log "neo4j: building the launcher with Maven (first run downloads Neo4j from Maven Central)"
  local jh
  jh="$(dirname "$(dirname "$(readlink -f "$JAVA_BIN")")")"
  if ! (cd "$build" && JAVA_HOME="$jh" mvn -B -q -e package) >"$LOGS/neo4j-build.log" 2>&1; then
    tail_log "$LOGS/neo4j-build.log"
    rm -rf "$build"
    die "neo4j: 'mvn package' of tooling/services/neo4j-launcher failed"
  fi
  rm -rf "$art"
  mkdir -p "$art/server" "$art/probe"
  cp "$build"/server/target/lib/*.jar "$build"/server/target/neo4j-launcher-server-*.jar "$art/server/"
  cp "$build"/probe/target/lib/*.jar "$build"/probe/target/neo4j-launcher-probe-*.jar "$art/probe/"
  rm -rf "$build"
  touch "$art/.ok"
  # Older launcher builds are not needed any more.
  local d
  for d in "$ART/neo4j-launcher"/*; do [ "$d" = "$art" ] || rm -rf "$d"; done
}

neo4j_probe() { # ARGS... (ping DEADLINE | smoke)
  if [ -z "${JAVA_BIN:-}" ]; then JAVA_BIN="$(find_java)" || die "neo4j: no Java 17 or 21 found"; fi
  "$JAVA_BIN" -Xmx128m -XX:TieredStopAtLevel=1 -cp "$(neo4j_artifacts)/probe/*" dev.larder.services.neo4j.Probe "$@"
}

# Ours and past the password setup: the launcher writes larder-ready with its pid when it is.
neo4j_ready_file_ok() {
  pid_alive "$NEO4J_PIDFILE" "$NEO4J_MAIN" && [ -f "$NEO4J_HOME_DIR/larder-ready" ] &&
    [ "$(cat "$NEO4J_HOME_DIR/larder-ready" 2>/dev/null)" = "$(cat "$NEO4J_PIDFILE")" ]
}

NEO4J_LAUNCHED=0
# Starts the JVM and returns at once (neo4j_wait does the waiting), so other services start meanwhile.
neo4j_launch() {
  JAVA_BIN="${JAVA_BIN:-$(find_java)}" || die "neo4j: no Java 17 or 21 found"
  if pid_alive "$NEO4J_PIDFILE" "$NEO4J_MAIN"; then return 0; fi
  if port_open "$NEO4J_PORT"; then
    die "neo4j: port $NEO4J_PORT is in use by another process (not the launcher in $NEO4J_PIDFILE)"
  fi
  mkdir -p "$NEO4J_HOME_DIR"
  # Class-data sharing: the first run dumps the classes it loaded when it exits (at `down`), later
  # starts map that archive and boot with ~30% less CPU. Keyed by the exact Java runtime.
  local jsa cds
  jsa="$(neo4j_artifacts)/cds-$("$JAVA_BIN" -XshowSettings:properties -version 2>&1 |
    sed -n 's/^ *java.runtime.version = //p' | tr -c 'A-Za-z0-9.\n_-' '_').jsa"
  # Written under a temporary name; `down` renames it once the JVM has exited cleanly.
  if [ -s "$jsa" ]; then cds="-XX:SharedArchiveFile=$jsa"; else cds="-XX:ArchiveClassesAtExit=$jsa.partial"; fi
  # shellcheck disable=SC2086 # LARDER_NEO4J_JAVA_OPTS: extra JVM options, space-separated
  start_background neo4j "$NEO4J_PIDFILE" "$NEO4J_LOG" \
    "$JAVA_BIN" -Xms512m "-Xmx$LARDER_NEO4J_HEAP" -XX:+UseG1GC -XX:+ExitOnOutOfMemoryError \
    -XX:-OmitStackTraceInFastThrow -Dfile.encoding=UTF-8 -Dlog4j2.disable.jmx=true "$cds" \
    --add-opens=java.base/java.nio=ALL-UNNAMED --add-opens=java.base/java.io=ALL-UNNAMED \
    --add-opens=java.base/sun.nio.ch=ALL-UNNAMED --add-opens=java.base/java.lang=ALL-UNNAMED \
    ${LARDER_NEO4J_JAVA_OPTS:-} -cp "$(neo4j_artifacts)/server/*" "$NEO4J_MAIN" \
    "$NEO4J_HOME_DIR" 127.0.0.1 "$NEO4J_PORT"
  NEO4J_LAUNCHED=1
}

neo4j_wait() {
  local t0
  t0="$(now)"
  if ! wait_until "$LARDER_SERVICES_DEADLINE_NEO4J" bash -c "
      [ -f '$NEO4J_HOME_DIR/larder-ready' ] && [ \"\$(cat '$NEO4J_HOME_DIR/larder-ready')\" = \"\$(cat '$NEO4J_PIDFILE')\" ] && exit 0
      kill -0 \"\$(cat '$NEO4J_PIDFILE')\" 2>/dev/null || exit 0
      exit 1"; then
    tail_log "$NEO4J_LOG"
    die "neo4j: not ready within ${LARDER_SERVICES_DEADLINE_NEO4J}s (log: $NEO4J_LOG)"
  fi
  if ! neo4j_ready_file_ok; then
    tail_log "$NEO4J_LOG"
    die "neo4j: the launcher exited during startup (log: $NEO4J_LOG)"
  fi
  # The real check: RETURN 1 over Bolt with the test credentials.
  if ! neo4j_probe ping 30 >>"$LOGS/neo4j-probe.log" 2>&1; then
    tail_log "$LOGS/neo4j-probe.log"
    die "neo4j: Bolt check 'RETURN 1' on $LARDER_NEO4J_URL failed"
  fi
  if [ "$NEO4J_LAUNCHED" = 1 ]; then
    log "neo4j: up on $LARDER_NEO4J_URL (ready after $(elapsed "$t0")s of waiting)"
  else
    log "neo4j: already running on $LARDER_NEO4J_URL"
  fi
}

neo4j_up() {
  neo4j_launch
  neo4j_wait
}

neo4j_status() {
  JAVA_BIN="${JAVA_BIN:-$(find_java)}" || return 1
  [ -f "$(neo4j_artifacts)/.ok" ] || return 1
  neo4j_probe ping 0 >/dev/null 2>&1
}

# Sends SIGTERM only (neo4j_down_wait waits): Neo4j takes a moment to checkpoint and stop.
neo4j_down_begin() {
  if pid_alive "$NEO4J_PIDFILE" "$NEO4J_MAIN"; then kill -TERM "$(cat "$NEO4J_PIDFILE")" 2>/dev/null || true; fi
}
neo4j_down_wait() {
  local f
  if ! pid_alive "$NEO4J_PIDFILE" "$NEO4J_MAIN"; then
    rm -f "$NEO4J_PIDFILE" "$(neo4j_artifacts)"/cds-*.jsa.partial
    return 0
  fi
  # The class archive is promoted only when the JVM we started exited cleanly (it writes it then).
  if stop_pidfile neo4j "$NEO4J_PIDFILE" 60 "$NEO4J_MAIN"; then
    for f in "$(neo4j_artifacts)"/cds-*.jsa.partial; do
      if [ -s "$f" ]; then mv -f "$f" "${f%.partial}"; fi
    done
  else
    rm -f "$(neo4j_artifacts)"/cds-*.jsa.partial
  fi
}
neo4j_down() {
  neo4j_down_begin
  neo4j_down_wait
}
