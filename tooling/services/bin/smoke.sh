#!/usr/bin/env bash
# Smoke test of every running backend, with the connection settings of env.sh:
#   redis          SET/GET/DEL of a unique key
#   redis-cluster  keys on all three masters written and read back through redirects
#   redis-search   FT.CREATE (HNSW, FLOAT32) + a TAG field, a filtered KNN query with a binary vector
#                  parameter, JSON.SET/JSON.GET (index and keys dropped)
#   redis-search-cluster  an index and its hash-tagged keys in one slot, FT.* routed by MOVED, a KNN query
#   postgres       CREATE EXTENSION vector, a vector table, an HNSW index used by a query (rolled back)
#   neo4j          a Cypher write/read over Bolt, a vector index created and queried (cleaned up)
#   s3             PUT/GET/LIST/DELETE, and a conditional PUT (If-None-Match: *) that gets 412 the 2nd time
# Usage: bash tooling/services/bin/smoke.sh [SERVICE...]   (exit 1 if any check fails)
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

ALL=(redis redis-cluster redis-search redis-search-cluster postgres neo4j s3)
[ "$#" -gt 0 ] && SERVICES=("$@") || SERVICES=("${ALL[@]}")

RUN_ID="smoke-$(date +%s)-$$-$RANDOM"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

fail() {
  printf 'smoke: FAIL %s\n' "$*" >&2
  exit 1
}
ok() { printf 'smoke: ok   %s\n' "$*"; }

smoke_redis() {
  local url_port="$REDIS_PORT" key="larder:$RUN_ID"
  [ "$(rcli "$url_port" SET "$key" "hello wörld" EX 60)" = OK ] || fail "redis SET"
  [ "$(rcli "$url_port" GET "$key")" = "hello wörld" ] || fail "redis GET"
  [ "$(rcli "$url_port" DEL "$key")" = 1 ] || fail "redis DEL"
  ok "redis: SET/GET/DEL on $LARDER_REDIS_URL ($(rcli "$url_port" INFO server | tr -d '\r' | sed -n 's/^redis_version://p'))"
}

smoke_redis_cluster() {
  cluster_healthy || fail "redis-cluster: CLUSTER INFO not ok on ${CLUSTER_PORTS[*]}"
  local i key p0="${CLUSTER_PORTS[0]}" p_last="${CLUSTER_PORTS[${#CLUSTER_PORTS[@]} - 1]}"
  for i in 1 2 3 4 5 6 7 8 9 10 11 12; do
    key="larder:$RUN_ID:$i"
    # -c follows MOVED redirects; write through the first node, read through the last one.
    [ "$(timeout 5 redis-cli -c -h 127.0.0.1 -p "$p0" SET "$key" "v$i" EX 60)" = OK ] || fail "redis-cluster SET $key"
    [ "$(timeout 5 redis-cli -c -h 127.0.0.1 -p "$p_last" GET "$key")" = "v$i" ] || fail "redis-cluster GET $key"
    [ "$(timeout 5 redis-cli -c -h 127.0.0.1 -p "$p0" DEL "$key")" = 1 ] || fail "redis-cluster DEL $key"
  done
  ok "redis-cluster: SET/GET/DEL of 12 keys through MOVED redirects, ${#CLUSTER_PORTS[@]} masters, 16384 slots"
}

smoke_redis_search() {
  local p="$REDIS_SEARCH_PORT" idx="larder-$RUN_ID" pre="larder:$RUN_ID:" out
  # little-endian float32 vectors: x = (1, 0), y = (0, 1)
  local x='\x00\x00\x80\x3f\x00\x00\x00\x00' y='\x00\x00\x00\x00\x00\x00\x80\x3f'
  [ "$(rcli "$p" FT.CREATE "$idx" ON HASH PREFIX 1 "$pre" SCHEMA tag TAG \
    v VECTOR HNSW 6 TYPE FLOAT32 DIM 2 DISTANCE_METRIC COSINE)" = OK ] || fail "redis-search: FT.CREATE"
  # shellcheck disable=SC2059 # the vectors are printf escapes on purpose
  {
    printf "$x" | rcli "$p" -x HSET "${pre}a" tag near v >/dev/null &&
      printf "$y" | rcli "$p" -x HSET "${pre}b" tag far v >/dev/null &&
      printf "$x" | rcli "$p" -x HSET "${pre}c" tag far v >/dev/null
  } || fail "redis-search: HSET"
  # nearest to x among tag=far is c (b is orthogonal); a (nearer) is filtered out
  # shellcheck disable=SC2059
  out="$(printf "$x" | rcli "$p" -x FT.SEARCH "$idx" '(@tag:{far})=>[KNN 1 @v $B AS score]' \
    RETURN 1 score DIALECT 2 PARAMS 2 B | tr -d '\r')"
  [ "$(sed -n 2p <<<"$out")" = "${pre}c" ] || fail "redis-search: filtered KNN returned: $out"
  [ "$(rcli "$p" JSON.SET "${pre}j" '$' '{"a":[1,"é"]}')" = OK ] || fail "redis-search: JSON.SET"
  [ "$(rcli "$p" JSON.GET "${pre}j" '$.a[1]')" = '["é"]' ] || fail "redis-search: JSON.GET"
  [ "$(rcli "$p" FT.DROPINDEX "$idx" DD)" = OK ] || fail "redis-search: FT.DROPINDEX"
  rcli "$p" DEL "${pre}j" >/dev/null
  [ "$(rcli "$p" EXISTS "${pre}a" "${pre}b" "${pre}c" "${pre}j")" = 0 ] || fail "redis-search: keys left behind"
  ok "redis-search: HNSW index, filtered KNN with a binary vector, JSON on $LARDER_REDIS_SEARCH_URL ($(rcli "$p" INFO server | tr -d '\r' | sed -n 's/^redis_version://p'))"
}

smoke_redis_search_cluster() {
  redis_search_cluster_healthy || fail "redis-search-cluster: not healthy on ${SEARCH_CLUSTER_PORTS[*]}"
  # The index name is the hash tag of its keys: FT.* and the keys go to the same shard (redis-cli -c
  # follows the MOVED the engine answers on the other shards, like a cluster client does).
  local p0="${SEARCH_CLUSTER_PORTS[0]}" tag="larder-$RUN_ID" out i
  local c=(timeout 5 redis-cli -c -h 127.0.0.1 -p "$p0")
  local x='\x00\x00\x80\x3f\x00\x00\x00\x00' y='\x00\x00\x00\x00\x00\x00\x80\x3f'
  [ "$("${c[@]}" FT.CREATE "$tag" ON HASH PREFIX 1 "k:{$tag}:" SCHEMA \
    v VECTOR FLAT 6 TYPE FLOAT32 DIM 2 DISTANCE_METRIC L2)" = OK ] || fail "redis-search-cluster: FT.CREATE"
  # shellcheck disable=SC2059
  {
    printf "$y" | "${c[@]}" -x HSET "k:{$tag}:far" v >/dev/null &&
      printf "$x" | "${c[@]}" -x HSET "k:{$tag}:near" v >/dev/null
  } || fail "redis-search-cluster: HSET"
  for i in "${SEARCH_CLUSTER_PORTS[@]}"; do
    # shellcheck disable=SC2059
    out="$(printf "$x" | timeout 5 redis-cli -c -h 127.0.0.1 -p "$i" -x FT.SEARCH "$tag" '*=>[KNN 1 @v $B]' \
      NOCONTENT DIALECT 2 PARAMS 2 B | tr -d '\r')"
    [ "$(sed -n 2p <<<"$out")" = "k:{$tag}:near" ] || fail "redis-search-cluster: KNN through port $i returned: $out"
  done
  [ "$("${c[@]}" FT.DROPINDEX "$tag" DD)" = OK ] || fail "redis-search-cluster: FT.DROPINDEX"
  ok "redis-search-cluster: index + keys in one slot, KNN through every node (MOVED), ${#SEARCH_CLUSTER_PORTS[@]} masters"
}

smoke_postgres() {
  local out
  out="$(PGPASSWORD="$PG_PASSWORD" "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 \
    -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" -d "$PG_DB" 2>&1 <<'EOF'
BEGIN;
CREATE EXTENSION IF NOT EXISTS vector;
SELECT 'version=' || extversion FROM pg_extension WHERE extname = 'vector';
CREATE TEMP TABLE larder_smoke (id int PRIMARY KEY, embedding vector(3));
INSERT INTO larder_smoke SELECT g, ARRAY[cos(g), sin(g), g % 7]::real[]::vector FROM generate_series(1, 2000) g;
CREATE INDEX ON larder_smoke USING hnsw (embedding vector_cosine_ops) WITH (m = 8, ef_construction = 32);
ANALYZE larder_smoke;
SET LOCAL enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM larder_smoke ORDER BY embedding <=> '[1,0,0]' LIMIT 3;
SELECT 'top=' || id FROM larder_smoke ORDER BY embedding <=> '[0.5403,0.8415,1]' LIMIT 1;
ROLLBACK;
EOF
  )" || fail "postgres: $out"
  local version
  version="$(sed -n 's/^version=//p' <<<"$out")"
  version_ge "$version" "$PGVECTOR_MIN_VERSION" || fail "postgres: pgvector $version < $PGVECTOR_MIN_VERSION"
  grep -q 'Index Scan using .*larder_smoke_embedding_idx' <<<"$out" || fail "postgres: the HNSW index was not used: $out"
  grep -qx 'top=1' <<<"$out" || fail "postgres: nearest neighbour of row 1's vector is not row 1: $out"
  ok "postgres: pgvector $version, HNSW index built and used on $PG_DB as $PG_USER"
}

smoke_neo4j() {
  JAVA_BIN="$(find_java)" || fail "neo4j: no Java"
  local out
  out="$(neo4j_probe smoke 2>&1)" || fail "neo4j: $out"
  ok "neo4j: $(tr '\n' ';' <<<"$out" | sed 's/neo4j: //g; s/;$//')"
}

smoke_s3() {
  local b="/$LARDER_S3_BUCKET" p="$RUN_ID" code
  printf 'hello larder %s\n' "$RUN_ID" >"$TMP/a"
  printf 'second\n' >"$TMP/b"
  code="$(s3_curl GET / )" && [ "$code" = 200 ] || fail "s3: ListBuckets -> $code"
  code="$(s3_curl PUT "$b/$p/a.txt" "$TMP/a")" && [ "$code" = 200 ] || fail "s3: PUT -> $code"
  code="$(S3_OUT="$TMP/got" s3_curl GET "$b/$p/a.txt")" && [ "$code" = 200 ] || fail "s3: GET -> $code"
  cmp -s "$TMP/a" "$TMP/got" || fail "s3: GET returned different bytes"
  code="$(s3_curl PUT "$b/$p/once.txt" "$TMP/a" -H 'If-None-Match: *')" && [ "$code" = 200 ] ||
    fail "s3: first conditional PUT (If-None-Match: *) -> $code, want 200"
  code="$(s3_curl PUT "$b/$p/once.txt" "$TMP/b" -H 'If-None-Match: *')" && [ "$code" = 412 ] ||
    fail "s3: second conditional PUT (If-None-Match: *) -> $code, want 412"
  S3_OUT="$TMP/got" s3_curl GET "$b/$p/once.txt" >/dev/null
  cmp -s "$TMP/a" "$TMP/got" || fail "s3: the refused conditional PUT changed the object"
  code="$(S3_OUT="$TMP/list" s3_curl GET "$b?list-type=2&prefix=$p%2F")" && [ "$code" = 200 ] || fail "s3: LIST -> $code"
  grep -q "<Key>$p/a.txt</Key>" "$TMP/list" && grep -q "<Key>$p/once.txt</Key>" "$TMP/list" ||
    fail "s3: LIST is missing keys: $(cat "$TMP/list")"
  code="$(s3_curl DELETE "$b/$p/a.txt")" && [ "$code" = 204 ] || fail "s3: DELETE -> $code"
  code="$(s3_curl DELETE "$b/$p/once.txt")" && [ "$code" = 204 ] || fail "s3: DELETE -> $code"
  code="$(s3_curl HEAD "$b/$p/a.txt")" && [ "$code" = 404 ] || fail "s3: HEAD after DELETE -> $code, want 404"
  S3_OUT="$TMP/list" s3_curl GET "$b?list-type=2&prefix=$p%2F" >/dev/null
  ! grep -q '<Key>' "$TMP/list" || fail "s3: LIST after DELETE still has keys"
  ok "s3: PUT/GET/LIST/DELETE and If-None-Match: * (200 then 412) on $LARDER_S3_ENDPOINT$b"
}

passed=0
failed_n=0
for s in "${SERVICES[@]}"; do
  fn="smoke_${s//-/_}"
  declare -F "$fn" >/dev/null || die "unknown service '$s' (known: ${ALL[*]})"
  set +e
  (
    set -e
    "$fn"
  )
  rc=$?
  set -e
  if [ "$rc" = 0 ]; then passed=$((passed + 1)); else failed_n=$((failed_n + 1)); fi
done
echo "smoke: $passed passed, $failed_n failed"
[ "$failed_n" = 0 ]
