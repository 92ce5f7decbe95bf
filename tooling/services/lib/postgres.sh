# shellcheck shell=bash
# PostgreSQL 15 (Debian's, already on the machine) with pgvector >= 0.8 built from Debian's source
# package, one cluster in the cache dir, on 127.0.0.1. Sourced by bin/services.sh.

PGDATA_DIR="$DATA/postgres/$PG_MAJOR"
PGSOCK_DIR="$RUN/postgres"
PG_LOG="$LOGS/postgres.log"

# Postgres refuses to run as root: as root, run its programs as the `postgres` OS user.
pg_as() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

# Superuser psql over the unix socket (local connections are `trust`).
pg_admin() { # DB ARGS...
  local db="$1"
  shift
  pg_as env PGOPTIONS="-c client_min_messages=warning" \
    "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PGSOCK_DIR" -p "$PG_PORT" -U postgres -d "$db" "$@"
}

pg_sharedir() { printf '/usr/share/postgresql/%s\n' "$PG_MAJOR"; }
pg_pkglibdir() { printf '/usr/lib/postgresql/%s/lib\n' "$PG_MAJOR"; }

pgvector_installed_version() {
  local control
  control="$(pg_sharedir)/extension/vector.control"
  [ -f "$control" ] && [ -f "$(pg_pkglibdir)/vector.so" ] || return 1
  sed -n "s/^default_version *= *'\([^']*\)'.*/\1/p" "$control"
}

version_ge() { dpkg --compare-versions "$1" ge "$2"; }

# The Debian mirror this machine already uses for its own suite (no host name is written in the repo).
debian_mirror() {
  if [ -n "${LARDER_DEBIAN_MIRROR:-}" ]; then
    printf '%s\n' "$LARDER_DEBIAN_MIRROR"
    return 0
  fi
  local codename f uri
  codename="$(. /etc/os-release && printf '%s' "${VERSION_CODENAME:-bookworm}")"
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    uri="$(awk -v c="$codename" '
      BEGIN { RS = ""; FS = "\n" }
      {
        types = ""; uris = ""; suites = ""
        for (i = 1; i <= NF; i++) {
          if ($i ~ /^Types:/) types = $i
          if ($i ~ /^URIs:/) { uris = $i; sub(/^URIs:[ \t]*/, "", uris) }
          if ($i ~ /^Suites:/) suites = " " $i " "
        }
        if (types ~ /[ \t]deb([ \t]|$)/ && suites ~ (" " c " ")) { split(uris, u, /[ \t]+/); print u[1]; exit }
      }' "$f")"
    if [ -n "$uri" ]; then
      printf '%s\n' "$uri"
      return 0
    fi
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    uri="$(awk -v c="$codename" '
      $1 == "deb" {
        i = 2; if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
        if ($(i + 1) == c) { print $i; exit }
      }' "$f")"
    if [ -n "$uri" ]; then
      printf '%s\n' "$uri"
      return 0
    fi
  done
  return 1
}

# Build pgvector from the Debian source package of $PGVECTOR_SOURCE_SUITE into a cached staging tree.
# Only source indexes of that suite are read, through a private apt state dir: nothing from it can be
# installed as a binary package, and the machine's own apt configuration is not touched.
pgvector_build() {
  apt_install "postgresql-server-dev-$PG_MAJOR" dpkg-dev make gcc
  local mirror aptdir work o
  mirror="$(debian_mirror)" || die "pgvector: cannot find this machine's Debian mirror in /etc/apt (set LARDER_DEBIAN_MIRROR)"
  aptdir="$ART/apt-$PGVECTOR_SOURCE_SUITE-src"
  mkdir -p "$aptdir/sources.list.d" "$aptdir/lists/partial" "$aptdir/cache/archives/partial"
  cat >"$aptdir/sources.list.d/$PGVECTOR_SOURCE_SUITE-src.sources" <<EOF
Types: deb-src
URIs: $mirror
Suites: $PGVECTOR_SOURCE_SUITE
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  o=(-o "Dir::Etc::SourceList=/dev/null" -o "Dir::Etc::SourceParts=$aptdir/sources.list.d"
    -o "Dir::State::Lists=$aptdir/lists" -o "Dir::Cache=$aptdir/cache"
    -o "APT::Sandbox::User=root" -o "Debug::NoLocking=1")
  log "pgvector: fetching the $PGVECTOR_SOURCE_SUITE source package"
  apt-get "${o[@]}" -qq update >>"$LOGS/pgvector-build.log" 2>&1 || {
    tail_log "$LOGS/pgvector-build.log"
    die "pgvector: apt-get update of the $PGVECTOR_SOURCE_SUITE source index failed"
  }
  work="$(mktemp -d "$ART/pgvector-build.XXXXXX")"
  (cd "$work" && apt-get "${o[@]}" source --download-only pgvector) >>"$LOGS/pgvector-build.log" 2>&1 || {
    rm -rf "$work"
    tail_log "$LOGS/pgvector-build.log"
    die "pgvector: apt-get source pgvector failed"
  }
  (cd "$work" && dpkg-source -x ./*.dsc src) >>"$LOGS/pgvector-build.log" 2>&1 || {
    rm -rf "$work"
    die "pgvector: dpkg-source -x failed"
  }
  local version
  version="$(sed -n "s/^default_version *= *'\([^']*\)'.*/\1/p" "$work/src/vector.control")"
  version_ge "$version" "$PGVECTOR_MIN_VERSION" || {
    rm -rf "$work"
    die "pgvector: the $PGVECTOR_SOURCE_SUITE source is $version, need >= $PGVECTOR_MIN_VERSION"
  }
  log "pgvector: building $version for PostgreSQL $PG_MAJOR"
  {
    make -C "$work/src" -j"$(nproc)" PG_CONFIG="$PGBIN/pg_config" &&
      make -C "$work/src" install PG_CONFIG="$PGBIN/pg_config" DESTDIR="$work/stage"
  } >>"$LOGS/pgvector-build.log" 2>&1 || {
    tail_log "$LOGS/pgvector-build.log"
    rm -rf "$work"
    die "pgvector: make failed"
  }
  local dest="$ART/pgvector/pg$PG_MAJOR-$version"
  rm -rf "$dest"
  mkdir -p "$dest"
  mv "$work/stage" "$dest/stage"
  printf '%s\n' "$version" >"$dest/.ok"
  rm -rf "$work" "$aptdir/lists" "$aptdir/cache" # the 10 MB source index is not needed any more
}

pgvector_cached_dir() { # newest cached build with a version >= the minimum
  local d best="" bestv=""
  for d in "$ART/pgvector/pg$PG_MAJOR-"*; do
    [ -f "$d/.ok" ] || continue
    local v
    v="$(cat "$d/.ok")"
    version_ge "$v" "$PGVECTOR_MIN_VERSION" || continue
    if [ -z "$bestv" ] || version_ge "$v" "$bestv"; then
      best="$d"
      bestv="$v"
    fi
  done
  [ -n "$best" ] && printf '%s\n' "$best"
}

pgvector_install() {
  local v
  if v="$(pgvector_installed_version)" && [ -n "$v" ] && version_ge "$v" "$PGVECTOR_MIN_VERSION"; then
    return 0
  fi
  local cached
  cached="$(pgvector_cached_dir || true)"
  if [ -z "$cached" ]; then
    pgvector_build
    cached="$(pgvector_cached_dir)" || die "pgvector: build left no cached files"
  fi
  log "pgvector: installing $(cat "$cached/.ok") into PostgreSQL $PG_MAJOR (from $cached)"
  as_root cp -a "$cached/stage/." / || die "pgvector: copying into the PostgreSQL directories failed"
}

postgres_install() {
  if [ ! -x "$PGBIN/postgres" ]; then
    apt_install "postgresql-$PG_MAJOR"
  fi
  [ -x "$PGBIN/postgres" ] || die "postgres: $PGBIN/postgres missing"
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || die "postgres: the 'postgres' OS user is missing (install postgresql-$PG_MAJOR)"
  fi
  pgvector_install
}

postgres_ready() { "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -t 2; }

postgres_select1() {
  PGPASSWORD="$PG_PASSWORD" PGCONNECT_TIMEOUT=3 "$PGBIN/psql" -X -q -At \
    -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" -d "$PG_DB" -c 'SELECT 1' 2>/dev/null | grep -qx 1
}

postgres_initdb() {
  log "postgres: initdb $PGDATA_DIR"
  rm -rf "$PGDATA_DIR"
  mkdir -p "$PGDATA_DIR"
  if [ "$(id -u)" = 0 ]; then chown -R postgres:postgres "$DATA/postgres"; fi
  chmod 700 "$PGDATA_DIR"
  local pw
  pw="$(mktemp)"
  # initdb's own superuser `postgres` gets a random password; local (unix socket) access is trust.
  head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$pw"
  if [ "$(id -u)" = 0 ]; then chown postgres "$pw"; fi
  pg_as "$PGBIN/initdb" -D "$PGDATA_DIR" -U postgres --pwfile="$pw" \
    --auth-local=trust --auth-host=scram-sha-256 -E UTF8 \
    --lc-collate=C --lc-ctype=C.UTF-8 --lc-messages=C --lc-monetary=C --lc-numeric=C --lc-time=C \
    >"$LOGS/postgres-initdb.log" 2>&1 || {
    rm -f "$pw"
    tail_log "$LOGS/postgres-initdb.log"
    die "postgres: initdb failed"
  }
  rm -f "$pw"
  # Test server: durability off (data is disposable), room for parallel test workers.
  pg_as tee -a "$PGDATA_DIR/postgresql.conf" >/dev/null <<'EOF'

# --- larder tooling/services (test-only settings) ---
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
shared_buffers = 256MB
max_wal_size = 1GB
log_min_messages = warning
log_min_error_statement = error
EOF
}

postgres_setup_db() {
  # Role, database and the extension (created by the superuser in the test database and in
  # template1, so databases created by tests have it too; `larder` itself is not a superuser).
  pg_admin postgres -v user="$PG_USER" -v pass="$PG_PASSWORD" <<'EOF' || die "postgres: creating the role failed"
SELECT format('CREATE ROLE %I LOGIN CREATEDB', :'user')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'user') \gexec
ALTER ROLE :"user" WITH LOGIN CREATEDB PASSWORD :'pass';
EOF
  pg_admin postgres -v db="$PG_DB" -v user="$PG_USER" <<'EOF' || die "postgres: creating the database failed"
SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'user')
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'db') \gexec
EOF
  local db
  for db in template1 "$PG_DB"; do
    pg_admin "$db" -v user="$PG_USER" <<'EOF' || die "postgres: CREATE EXTENSION vector failed in $db"
CREATE EXTENSION IF NOT EXISTS vector;
ALTER EXTENSION vector UPDATE;
GRANT ALL ON SCHEMA public TO :"user";
EOF
  done
}

# After a crash or a killed session, postmaster.pid can name a pid that now belongs to an
# unrelated process, and postgres would then refuse to start. Remove it when that pid is not a
# postgres process (nothing answers on our port at this point).
postgres_clear_stale_pidfile() {
  local f="$PGDATA_DIR/postmaster.pid" pid
  [ -f "$f" ] || return 0
  pid="$(head -n 1 "$f" 2>/dev/null || true)"
  if [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null &&
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "postgres"; then
    return 0 # a live postgres: let pg_ctl report it
  fi
  log "postgres: removing stale $f (pid $pid)"
  rm -f "$f"
}

postgres_up() {
  if [ -f "$PGDATA_DIR/PG_VERSION" ] && postgres_ready && pg_admin postgres -c 'SELECT 1' >/dev/null 2>&1; then
    log "postgres: already running on 127.0.0.1:$PG_PORT"
  else
    if port_open "$PG_PORT"; then
      die "postgres: port $PG_PORT is in use by another server (not the one in $PGDATA_DIR)"
    fi
    [ -f "$PGDATA_DIR/PG_VERSION" ] || postgres_initdb
    postgres_clear_stale_pidfile
    mkdir -p "$PGSOCK_DIR"
    touch "$PG_LOG"
    if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$PGSOCK_DIR" "$PG_LOG"; fi
    pg_as "$PGBIN/pg_ctl" -D "$PGDATA_DIR" -l "$PG_LOG" -w -t "$LARDER_SERVICES_DEADLINE_POSTGRES" \
      -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $PGSOCK_DIR" start >>"$LOGS/postgres-ctl.log" 2>&1 9>&- || {
      tail_log "$PG_LOG"
      die "postgres: pg_ctl start failed"
    }
    if ! wait_until "$LARDER_SERVICES_DEADLINE_POSTGRES" postgres_ready; then
      tail_log "$PG_LOG"
      die "postgres: pg_isready failed on 127.0.0.1:$PG_PORT within ${LARDER_SERVICES_DEADLINE_POSTGRES}s"
    fi
  fi
  postgres_setup_db
  if ! wait_until 10 postgres_select1; then
    die "postgres: 'SELECT 1' as $PG_USER on 127.0.0.1:$PG_PORT/$PG_DB failed"
  fi
  log "postgres: up on 127.0.0.1:$PG_PORT (db $PG_DB, pgvector $(pgvector_installed_version))"
}

postgres_status() { postgres_select1; }

postgres_down() {
  if [ -f "$PGDATA_DIR/postmaster.pid" ]; then
    pg_as "$PGBIN/pg_ctl" -D "$PGDATA_DIR" -m fast -w -t 30 stop >>"$LOGS/postgres-ctl.log" 2>&1 ||
      warn "postgres: pg_ctl stop failed (see $LOGS/postgres-ctl.log)"
  fi
}
