#!/usr/bin/env bash
# Fleet benchmark: N simulated nodes speaking the real wire protocol (channel pointer and rollout
# state polled with ETags, heartbeats, slot leases asked, confirmed and given back, feedback) against
# real repo-server processes on one repository, through one rollout of a release with a plan.
# Prints Markdown tables: publication → every node healthy beside the ideal (waves × (update + bake)),
# budget violations and double grants seen by the simulator, server CPU (from /proc), requests per
# node per minute, p99 latency per endpoint, and the waves as the nodes lived them.
# The driver is io.upgradekit.it.bench.fleet.FleetBench (it/). Results: docs/performance.md
# ("Fleet rollouts") and docs/scaling.md.
#
# Usage: bench/fleet.sh [--no-build] [--nodes 1000] [--servers 1] [--store dir|URL]
#                       [--min-available 90] [--bake 10s] [--update 5s] [--poll 30s] [--jitter 3s]
#                       [--heartbeat 30s] [--steady 30s] [--timeout 10m] [--verify-every 10]
#                       [--server-jvm "-Xms256m -Xmx1g"] [--work DIR] [--keep] [--no-calls]
#   --nodes N        simulated nodes (issue 14: 1000; issue 17: 10000)
#   --servers N      repo-server processes on the one repository; nodes are spread over them
#   --store S        dir (default: a directory, --root); s3proxy (an s3proxy from Maven Central, in-memory
#                    backend, started by this script on 127.0.0.1 as its own process on the same
#                    cores, bucket created, keys in the environment); or a store URL handed to
#                    repo-server's --store (s3://bucket/prefix?endpoint=...; keys from the environment)
#   --verify-every N every N-th node verifies its grant's signature (signed states and pointers are
#                    verified once per distinct content); 1 verifies all
#   --keep           keep the work directory (repository, secrets, server logs)
#   --no-calls       nodes do not hold GET /v1/calls between polls (they learn of the rollout at
#                    their polls only, as updaters with poll.calls: false)
# Runs of 10,000 nodes take about five minutes and most of two cores: not part of any test suite.
set -euo pipefail
cd "$(dirname "$0")/.."

build=auto
args=()
store=dir
prev=
for arg in "$@"; do
  case "$arg" in
    --no-build) build=never ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) args+=("$arg") ;;
  esac
  [ "$prev" = --store ] && store=$arg
  prev=$arg
done

JAVA=${JAVA_HOME:+$JAVA_HOME/bin/java}
JAVA=${JAVA:-java}
cp_file=it/target/classpath.txt
jar() { ls repo-server/target/repo-server-*.jar 2>/dev/null | grep -v original- | head -1 || true; }
if [ "$build" = auto ]; then
  if [ ! -f "$cp_file" ] || [ -z "$(jar)" ] \
     || [ -n "$(find release-schema repo-server it -path '*/target' -prune -o \( -path '*/src/main/*' -o -name pom.xml \) \
                -newer "$cp_file" -type f -print -quit)" ]; then
    echo "building (./mvnw -B -q -pl repo-server,it -am package -DskipTests -Dinvoker.skip -DskipITs) ..." >&2
    ./mvnw -B -q -o -pl repo-server,it -am package -DskipTests -Dinvoker.skip -DskipITs
    touch "$cp_file"
  fi
fi
JAR=$(jar)
if [ ! -f "$cp_file" ] || [ -z "$JAR" ]; then
  echo "bench/fleet.sh: repo-server or it/ is not built; run without --no-build" >&2
  exit 1
fi
if [ "$store" != dir ] && ! "$JAVA" -jar "$JAR" --help 2>&1 | grep -q -- '--store'; then
  echo "bench/fleet.sh: --store $store needs a repo-server with the --store option; this one ($JAR) has none" >&2
  exit 2
fi

s3proxy_pid=
scratch=
cleanup() {
  if [ -n "$s3proxy_pid" ]; then kill "$s3proxy_pid" 2>/dev/null || true; wait "$s3proxy_pid" 2>/dev/null || true; fi
  if [ -n "$scratch" ] && [[ " ${args[*]-} " != *" --keep "* ]]; then rm -rf "$scratch"; fi
}
trap cleanup EXIT
if [ "$store" = s3proxy ]; then
  S3PROXY_JAR=${S3PROXY_JAR:-it/target/s3proxy/s3proxy.jar}
  if [ ! -f "$S3PROXY_JAR" ]; then
    echo "bench/fleet.sh: $S3PROXY_JAR is missing: ./mvnw -B -pl it -am test-compile -DskipTests copies it there" >&2
    exit 1
  fi
  scratch=$(mktemp -d)
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench-secret-key AWS_REGION=us-east-1
  cat > "$scratch/s3proxy.conf" <<CONF
s3proxy.endpoint=http://127.0.0.1:$port
s3proxy.authorization=aws-v2-or-v4
s3proxy.identity=$AWS_ACCESS_KEY_ID
s3proxy.credential=$AWS_SECRET_ACCESS_KEY
jclouds.provider=transient
jclouds.identity=$AWS_ACCESS_KEY_ID
jclouds.credential=$AWS_SECRET_ACCESS_KEY
CONF
  LOG_LEVEL=warn "$JAVA" -Xmx2g -jar "$S3PROXY_JAR" --properties "$scratch/s3proxy.conf" > "$scratch/s3proxy.log" 2>&1 &
  s3proxy_pid=$!
  # The bucket, once s3proxy answers (SigV4 needs the empty body's SHA-256 named).
  created=
  for _ in $(seq 1 300); do
    if curl -fsS -o /dev/null -X PUT --aws-sigv4 "aws:amz:us-east-1:s3" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
        -H "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" \
        "http://127.0.0.1:$port/fleet" 2>/dev/null; then
      created=yes
      break
    fi
    sleep 0.1
  done
  if [ -z "$created" ]; then
    echo "bench/fleet.sh: could not create the bucket in s3proxy within 30 s; its log:" >&2
    tail -n 20 "$scratch/s3proxy.log" >&2
    exit 1
  fi
  echo "s3proxy (pid $s3proxy_pid, in-memory backend) on 127.0.0.1:$port, bucket fleet; log $scratch/s3proxy.log" >&2
  url="s3://fleet/bench?endpoint=http://127.0.0.1:$port&pathStyle=true"
  for i in "${!args[@]}"; do [ "${args[$i]}" = s3proxy ] && args[$i]=$url; done
fi

# Each node keeps two connections open (one held for calls, one for the rest; one with --no-calls):
# the server and the simulator each need that many descriptors, plus files and spare.
nodes=1000
per_node=2
for i in "${!args[@]}"; do
  [ "${args[$i]}" = --nodes ] && nodes=${args[$((i + 1))]:-1000}
  [ "${args[$i]}" = --no-calls ] && per_node=1
done
want=$(( nodes * per_node + 4096 ))
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt "$want" ]; then
  if ! { ulimit -Hn "$want" 2>/dev/null; ulimit -n "$want" 2>/dev/null; }; then
    echo "bench/fleet.sh: $(ulimit -n) open files allowed, $want wanted for $nodes nodes (raise the hard limit," \
      "or run with --no-calls: one connection per node)" >&2
    exit 1
  fi
fi

# The simulator: a small heap, the serial collector (its threads would take the cores the servers measure
# on). On two cores the common fork-join pool has a parallelism of 1, and then CompletableFuture runs
# asynchronous stages (the JDK HTTP client completes answers through them) on a new thread each:
# thousands of threads a second at 10,000 nodes, which starved the simulator, not the server.
"$JAVA" -Xms512m -Xmx1g -XX:+UseSerialGC -Djdk.httpclient.keepalive.timeout=20 \
  -Djava.util.concurrent.ForkJoinPool.common.parallelism=2 \
  -cp "it/target/classes:$(cat "$cp_file")" io.upgradekit.it.bench.fleet.FleetBench \
  --server-jar "$JAR" ${args[@]+"${args[@]}"}
