# shellcheck shell=bash
# S3-compatible server: Versity S3 Gateway (versitygw, Apache-2.0) built from its Go module, posix
# backend (objects are plain files under the cache dir), on 127.0.0.1. Sourced by bin/services.sh.
# Why not MinIO: it is AGPL-3.0, and the project's package notes say to use something else for AGPL
# Go modules (see README.md).

S3_PIDFILE="$RUN/s3.pid"
S3_LOG="$LOGS/s3.log"
S3_DATA_DIR="$DATA/s3"
S3_BIN="$ART/versitygw/$VERSITYGW_VERSION/versitygw"
EMPTY_SHA256=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855

s3_install() {
  command -v curl >/dev/null 2>&1 || apt_install curl ca-certificates
  [ -x "$S3_BIN" ] && [ -f "$S3_BIN.ok" ] && return 0
  command -v go >/dev/null 2>&1 || die "s3: Go is needed to build versitygw (not on PATH)"
  local tmp
  tmp="$(mktemp -d "$ART/versitygw-build.XXXXXX")"
  log "s3: building versitygw $VERSITYGW_VERSION with Go (first run only)"
  # Private module and build caches (removed afterwards: only the binary is kept).
  if ! (cd "$tmp" && GOMODCACHE="$tmp/mod" GOCACHE="$tmp/cache" GOBIN="$tmp/bin" \
    GOFLAGS="-modcacherw -trimpath -buildvcs=false" CGO_ENABLED=0 \
    go install "$VERSITYGW_MODULE/cmd/versitygw@$VERSITYGW_VERSION") >"$LOGS/s3-build.log" 2>&1; then
    tail_log "$LOGS/s3-build.log"
    chmod -R u+w "$tmp" 2>/dev/null || true
    rm -rf "$tmp"
    die "s3: go install $VERSITYGW_MODULE/cmd/versitygw@$VERSITYGW_VERSION failed"
  fi
  mkdir -p "$(dirname "$S3_BIN")"
  mv "$tmp/bin/versitygw" "$S3_BIN"
  chmod -R u+w "$tmp" 2>/dev/null || true
  rm -rf "$tmp"
  touch "$S3_BIN.ok"
}

# s3_curl METHOD PATH [BODY_FILE] [CURL_ARGS...] : SigV4-signed request (curl >= 7.75); prints the
# HTTP status on stdout, the response body goes to $S3_OUT (default /dev/null).
s3_curl() {
  local method="$1" path="$2" body="${3:-}" hash
  shift 2
  [ "$#" -gt 0 ] && shift
  if [ -n "$body" ]; then
    hash="$(sha256sum "$body" | cut -d' ' -f1)"
    set -- --data-binary "@$body" -H 'Content-Type: application/octet-stream' "$@"
  else
    hash="$EMPTY_SHA256"
  fi
  if [ "$method" = HEAD ]; then set -- --head "$@"; else set -- -X "$method" "$@"; fi
  curl -sS --max-time 10 -o "${S3_OUT:-/dev/null}" -w '%{http_code}' \
    --aws-sigv4 "aws:amz:$LARDER_S3_REGION:s3" --user "$LARDER_S3_ACCESS_KEY:$LARDER_S3_SECRET_KEY" \
    -H "x-amz-content-sha256: $hash" "$@" "${LARDER_S3_ENDPOINT%/}$path" || true # status 000 on failure
}

# Real check: an authenticated ListBuckets.
s3_list_buckets_ok() { [ "$(S3_OUT=/dev/null s3_curl GET / 2>/dev/null)" = 200 ]; }

s3_ensure_bucket() {
  local code
  code="$(s3_curl HEAD "/$LARDER_S3_BUCKET" 2>/dev/null || true)"
  [ "$code" = 200 ] && return 0
  code="$(s3_curl PUT "/$LARDER_S3_BUCKET" 2>/dev/null || true)"
  case "$code" in
  200 | 409) return 0 ;;
  *) die "s3: creating bucket $LARDER_S3_BUCKET failed (HTTP $code)" ;;
  esac
}

s3_up() {
  if pid_alive "$S3_PIDFILE" versitygw && s3_list_buckets_ok; then
    s3_ensure_bucket
    log "s3: already running on $LARDER_S3_ENDPOINT (bucket $LARDER_S3_BUCKET)"
    return 0
  fi
  if ! pid_alive "$S3_PIDFILE" versitygw; then
    if port_open "$S3_PORT"; then
      die "s3: port $S3_PORT is in use by another process"
    fi
    mkdir -p "$S3_DATA_DIR"
    # Credentials through the environment (versitygw reads ROOT_ACCESS_KEY/ROOT_SECRET_KEY), not argv.
    ROOT_ACCESS_KEY="$LARDER_S3_ACCESS_KEY" ROOT_SECRET_KEY="$LARDER_S3_SECRET_KEY" \
      start_background s3 "$S3_PIDFILE" "$S3_LOG" \
      "$S3_BIN" --port "127.0.0.1:$S3_PORT" --region "$LARDER_S3_REGION" --health /health --quiet \
      posix "$S3_DATA_DIR"
  fi
  if ! wait_until "$LARDER_SERVICES_DEADLINE_S3" s3_list_buckets_ok; then
    tail_log "$S3_LOG"
    die "s3: no answer to an authenticated ListBuckets on $LARDER_S3_ENDPOINT within ${LARDER_SERVICES_DEADLINE_S3}s"
  fi
  s3_ensure_bucket
  log "s3: up on $LARDER_S3_ENDPOINT (versitygw $VERSITYGW_VERSION, bucket $LARDER_S3_BUCKET)"
}

s3_status() { s3_list_buckets_ok; }

s3_down() { stop_pidfile s3 "$S3_PIDFILE" 20 versitygw || true; }
