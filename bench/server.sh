#!/usr/bin/env bash
# Benchmarks repo-server against nginx serving the same directory, with wrk on loopback:
#   - conditional GET of a channel pointer answered 304 (throughput and p99), both servers;
#   - 1 MB blob GET (throughput), both servers;
#   - durable feedback POSTs and claims (repo-server only), then checks every claim file:
#     each slot given once, each node holding at most one slot, as many slots as 201 answers.
# Prints a table. Needs wrk and nginx (apt-get install -y wrk nginx) and a built jar (built if missing).
#
# Usage: bench/server.sh            (DURATION=10s CONNECTIONS=64 THREADS=2 override the defaults)
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-3s}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}

NGINX=$(command -v nginx || true)
[ -z "$NGINX" ] && [ -x /usr/sbin/nginx ] && NGINX=/usr/sbin/nginx
if ! command -v wrk >/dev/null || [ -z "$NGINX" ]; then
  echo "bench/server.sh: needs wrk and nginx; install them with: apt-get install -y wrk nginx" >&2
  exit 2
fi
JAR=$(ls repo-server/target/repo-server-*.jar 2>/dev/null | grep -v original- | head -1 || true)
if [ -z "$JAR" ]; then
  echo "building repo-server ..." >&2
  ./mvnw -B -q -pl repo-server -am package -DskipTests
  JAR=$(ls repo-server/target/repo-server-*.jar | grep -v original- | head -1)
fi

WORK=$(mktemp -d /tmp/repo-server-bench.XXXXXX)
chmod 755 "$WORK"
SERVER_PID=""
NGINX_PID=""
cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null || true
  [ -n "$NGINX_PID" ] && kill "$NGINX_PID" 2>/dev/null && wait "$NGINX_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'echo "bench/server.sh: failed at line $LINENO" >&2' ERR

free_port() {
  local port
  for port in $(seq "$1" $(($1 + 100))); do
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "$port"; return; fi
  done
  echo "no free port near $1" >&2; exit 1
}

# --- the repository ---------------------------------------------------------------------------
ROOT=$WORK/repo
mkdir -p "$ROOT/apps/bench/channels" "$ROOT/apps/bench/releases/1.0.0"
head -c 450 /dev/urandom | base64 -w0 | sed 's/.*/{"type":"channel","payload":"&"}/' > "$ROOT/apps/bench/channels/stable.json"
echo '{}' > "$ROOT/apps/bench/releases/1.0.0/release.json"   # claims need the release to exist
head -c 1048576 /dev/urandom > "$WORK/blob"
HASH=$(sha256sum "$WORK/blob" | cut -c1-64)
mkdir -p "$ROOT/blobs/sha256/${HASH:0:2}"
mv "$WORK/blob" "$ROOT/blobs/sha256/${HASH:0:2}/$HASH"
chmod -R a+rX "$ROOT"
POINTER=/apps/bench/channels/stable.json
BLOB=/blobs/sha256/${HASH:0:2}/$HASH

TOKEN=$(head -c 32 /dev/urandom | base64 -w0)
printf '%s\n' "$TOKEN" > "$WORK/token"
head -c 32 /dev/urandom | base64 -w0 > "$WORK/node-secret"
chmod 600 "$WORK/token" "$WORK/node-secret"
NODE=bench-node
CREDENTIAL=$(java -jar "$JAR" node-credential --node-secret-file "$WORK/node-secret" "$NODE")
NODE_AUTH="Basic $(printf '%s:%s' "$NODE" "$CREDENTIAL" | base64 -w0)"

# --- the servers -------------------------------------------------------------------------------
PORT=$(free_port 18080)
java -Xms1g -Xmx1g -jar "$JAR" --root "$ROOT" --port "$PORT" --rate-limit 0 --access-log off \
  --publish-token-file "$WORK/token" --node-secret-file "$WORK/node-secret" \
  --claim-capacity 1000000 --feedback-quota 4g > "$WORK/server.log" 2>&1 &
SERVER_PID=$!
NGINX_PORT=$(free_port $((PORT + 1)))
mkdir -p "$WORK/nginx"
cat > "$WORK/nginx/nginx.conf" <<CONF
worker_processes auto;
daemon off;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
user root root;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  open_file_cache max=1000 inactive=60s;
  client_body_temp_path $WORK/nginx/body;
  proxy_temp_path $WORK/nginx/proxy;
  fastcgi_temp_path $WORK/nginx/fastcgi;
  uwsgi_temp_path $WORK/nginx/uwsgi;
  scgi_temp_path $WORK/nginx/scgi;
  types { application/json json; }
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    root $ROOT;
    location ~ /\\. { return 404; }
  }
}
CONF
"$NGINX" -c "$WORK/nginx/nginx.conf" -p "$WORK/nginx" > "$WORK/nginx/out.log" 2>&1 &
NGINX_PID=$!
for _ in $(seq 100); do
  curl -fs -o /dev/null "http://127.0.0.1:$PORT$POINTER" && curl -fs -o /dev/null "http://127.0.0.1:$NGINX_PORT$POINTER" && break
  sleep 0.2
done
curl -fs -o /dev/null "http://127.0.0.1:$PORT$POINTER" || { cat "$WORK/server.log"; exit 1; }

etag() { curl -fsI "$1" | tr -d '\r' | awk -F': ' 'tolower($1)=="etag"{print $2}'; }
OUR_ETAG=$(etag "http://127.0.0.1:$PORT$POINTER")
NGINX_ETAG=$(etag "http://127.0.0.1:$NGINX_PORT$POINTER")
[ "$(curl -s -o /dev/null -w '%{http_code}' -H "If-None-Match: $OUR_ETAG" "http://127.0.0.1:$PORT$POINTER")" = 304 ]
[ "$(curl -s -o /dev/null -w '%{http_code}' -H "If-None-Match: $NGINX_ETAG" "http://127.0.0.1:$NGINX_PORT$POINTER")" = 304 ]

# --- wrk helpers ---------------------------------------------------------------------------------
# run NAME wrk-args... : runs wrk, keeps its output in $WORK/NAME.out
run() {
  local name=$1; shift
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "$@" > "$WORK/$name.out" 2>&1
}
warm() { wrk -t"$THREADS" -c"$CONNECTIONS" -d"$WARMUP" "$@" > /dev/null 2>&1 || true; }
rps() { awk '/^Requests\/sec:/{printf "%.0f", $2}' "$WORK/$1.out"; }
p99() { awk '$1=="99%"{print $2}' "$WORK/$1.out"; }
transfer() { awk '/^Transfer\/sec:/{print $2}' "$WORK/$1.out"; }
status_count() { awk -v c="$2" '$1=="STATUS" && $2==c {n+=$3} END{print n+0}' "$WORK/$1.out"; }
non2xx() { awk '/Non-2xx or 3xx responses/{print $NF}' "$WORK/$1.out"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b > 0) printf "%.0f%%", 100*a/b; else print "-" }'; }

echo "benchmarking on $(nproc) cores, $DURATION per run, $CONNECTIONS connections, $THREADS wrk threads ..." >&2

warm -H "If-None-Match: $OUR_ETAG" "http://127.0.0.1:$PORT$POINTER"
run ours-304 -H "If-None-Match: $OUR_ETAG" "http://127.0.0.1:$PORT$POINTER"
warm -H "If-None-Match: $NGINX_ETAG" "http://127.0.0.1:$NGINX_PORT$POINTER"
run nginx-304 -H "If-None-Match: $NGINX_ETAG" "http://127.0.0.1:$NGINX_PORT$POINTER"

BLOB_CONNECTIONS=${BLOB_CONNECTIONS:-16}
CONNECTIONS_SAVED=$CONNECTIONS
CONNECTIONS=$BLOB_CONNECTIONS
warm "http://127.0.0.1:$PORT$BLOB"
run ours-blob "http://127.0.0.1:$PORT$BLOB"
warm "http://127.0.0.1:$NGINX_PORT$BLOB"
run nginx-blob "http://127.0.0.1:$NGINX_PORT$BLOB"
CONNECTIONS=$CONNECTIONS_SAVED

WRITE_CONNECTIONS=${WRITE_CONNECTIONS:-128}
export RUN_ID=$$
CONNECTIONS=$WRITE_CONNECTIONS
NODE=$NODE NODE_AUTH=$NODE_AUTH run feedback -s bench/feedback.lua "http://127.0.0.1:$PORT/v1/feedback"
RUN_ID=$$-new REPORTS_PER_EVENT=1 NODE=$NODE NODE_AUTH=$NODE_AUTH run feedback-new -s bench/feedback.lua \
  "http://127.0.0.1:$PORT/v1/feedback"
PUBLISH_TOKEN=$TOKEN run claims -s bench/claims.lua "http://127.0.0.1:$PORT/v1/claims"
CONNECTIONS=$CONNECTIONS_SAVED

# --- check the claims on disk (after a graceful stop, so no request is still in flight) ---------------
kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""
CLAIMS_201=$(status_count claims 201)
FEEDBACK_201=$(( $(status_count feedback 201) + $(status_count feedback-new 201) ))
statuses() { awk '$1=="STATUS"{printf "%s%s x%s", sep, $2, $3; sep=", "}' "$WORK/$1.out"; }
FEEDBACK_FILES=$( (find "$ROOT/feedback" -name '*.json' | wc -l) || true)
VERIFY=$(java -cp "$JAR" bench/VerifyClaims.java "$ROOT/claims/bench/1.0.0/wave-1")
SLOT_FILES=$(echo "$VERIFY" | sed -E 's/.*slots=([0-9]+).*/\1/')
DOUBLE=$(echo "$VERIFY" | sed -E 's/.*double=([0-9]+).*/\1/')
# wrk stops counting at its deadline; up to one request per connection completes after it.
if [ "$SLOT_FILES" -lt "$CLAIMS_201" ] || [ "$SLOT_FILES" -gt $((CLAIMS_201 + WRITE_CONNECTIONS)) ]; then
  DOUBLE=$((DOUBLE + 1))
fi

# --- the table ----------------------------------------------------------------------------------
O304=$(rps ours-304); N304=$(rps nginx-304)
OBLOB=$(rps ours-blob); NBLOB=$(rps nginx-blob)
printf '\n'
printf '| %-40s | %-16s | %-16s | %-9s |\n' "benchmark (wrk -t$THREADS, $DURATION)" "repo-server" "nginx" "ours/nginx"
printf '|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..42})" "$(printf -- '-%.0s' {1..18})" "$(printf -- '-%.0s' {1..18})" "$(printf -- '-%.0s' {1..11})"
printf '| %-40s | %-16s | %-16s | %-9s |\n' "304 conditional GET, req/s (c=$CONNECTIONS)" "$O304" "$N304" "$(ratio "$O304" "$N304")"
printf '| %-40s | %-16s | %-16s | %-9s |\n' "304 conditional GET, p99 latency" "$(p99 ours-304)" "$(p99 nginx-304)" ""
printf '| %-40s | %-16s | %-16s | %-9s |\n' "1 MB blob GET, req/s (c=$BLOB_CONNECTIONS)" "$OBLOB" "$NBLOB" "$(ratio "$OBLOB" "$NBLOB")"
printf '| %-40s | %-16s | %-16s | %-9s |\n' "1 MB blob GET, transfer/s" "$(transfer ours-blob)" "$(transfer nginx-blob)" ""
printf '| %-40s | %-16s | %-16s | %-9s |\n' "feedback POST (durable), req/s (c=$WRITE_CONNECTIONS)" "$(rps feedback)" "-" ""
printf '| %-40s | %-16s | %-16s | %-9s |\n' "feedback POST, p99 latency" "$(p99 feedback)" "-" ""
printf '| %-40s | %-16s | %-16s | %-9s |\n' "feedback POST, each a new event, req/s" "$(rps feedback-new)" "-" ""
printf '| %-40s | %-16s | %-16s | %-9s |\n' "claims POST (durable), req/s (c=$WRITE_CONNECTIONS)" "$(rps claims)" "-" ""
printf '| %-40s | %-16s | %-16s | %-9s |\n' "claims POST, p99 latency" "$(p99 claims)" "-" ""
printf '\n'
echo "feedback: statuses $(statuses feedback) (4 reports per event), $(statuses feedback-new) (new event each);" \
  "$FEEDBACK_201 answered 201 before wrk's deadline, $FEEDBACK_FILES report files on disk"
echo "claims: statuses $(statuses claims)"
echo "claims: $CLAIMS_201 answered 201 before wrk's deadline; on disk: $VERIFY (double allocations: $DOUBLE)"
echo "machine: $(nproc) cores, $(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo)," \
  "$(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo) RAM, $(date -u +%Y-%m-%dT%H:%MZ)," \
  "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
[ "$DOUBLE" -eq 0 ] || { echo "DOUBLE ALLOCATIONS FOUND" >&2; exit 1; }
if grep -q '^STATUS 5' "$WORK"/feedback*.out "$WORK"/claims.out; then echo "SERVER ERRORS (5xx) FOUND" >&2; exit 1; fi
