#!/usr/bin/env bash
# Upgradekit end to end, in one command: build, release hello-service 1.0.0 and 2.0.0 with the Maven
# plugin, serve them with repo-server, and watch three node updaters upgrade by delta under load.
# --set runs the release-set example instead (examples/shop, docs/release-sets.md).
# Needs only a JDK 17+ (./mvnw fetches Maven). What runs and how to read it: docs/end-to-end.md.
set -uo pipefail

usage() {
  cat <<'EOF'
Usage: ./demo.sh [--set] [--keep] [--rate N] [--no-build]

Builds Upgradekit, then, on 127.0.0.1 with ephemeral ports and everything in a temporary directory:
  * creates a release key and trust root              (mvn upgrade:keygen)
  * releases hello-service 1.0.0                       (mvn package upgrade:release)
  * starts repo-server and three node updaters         (one restart, two overlap)
  * lets them install 1.0.0 from the full package
  * puts load on the three services, releases 2.0.0 and shows the nodes upgrading by delta
  * prints, per node, the download against the full package, the time in each state
    (from 'updater history --json') and the requests that failed during the switch
  * stops everything it started and removes the temporary directory

With --set, the release-set example instead (examples/shop: database <- cache <- api <- gateway,
each calling the one below; docs/release-sets.md, "A worked example"):
  * creates a release key, a rollout key for repo-server and the trust root naming both
  * releases the four components 1.0.0                 (mvn package upgrade:release -Dshop.firstInstall)
  * starts repo-server with its rollout controller and 8 nodes, 2 per component (overlap);
    they install 1.0.0
  * puts load on the two gateways (each request crosses the four components)
  * releases 2.0.0 of the four, each with its <rollout> plan (mvn package upgrade:release)
  * previews and publishes the set of examples/shop/release-set.yaml
                                                       (mvn -N upgrade:plan upgrade:release-set)
  * prints each node's switch as it happens, each component when all its nodes run 2.0.0, then
    per component the first STOP and last COMMIT (from 'updater history --json') and the
    requests through the gateways that failed
  * stops everything it started and removes the temporary directory

Options:
  --set        run the release-set example (above) instead of the single service
  --keep       keep the temporary directory (repository, node homes, logs) and print its path
  --rate N     requests per second of the load generator, over the three nodes (default 200),
               or with --set over the two gateways (default 20)
  --no-build   skip the build and use what the last build left in target/
  -h, --help   show this help

Logs go to <temporary directory>/logs/; when something fails the directory is kept and the
failing step's log is named. Ctrl-C stops everything and cleans up.
EOF
}

KEEP=0
RATE=
SET=0
BUILD=1
while [ $# -gt 0 ]; do
  case "$1" in
    --keep) KEEP=1 ;;
    --set) SET=1 ;;
    --rate)
      [ $# -ge 2 ] || { echo "demo.sh: --rate needs a number" >&2; exit 2; }
      RATE=$2; shift ;;
    --rate=*) RATE=${1#--rate=} ;;
    --no-build) BUILD=0 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "demo.sh: unknown option $1 (see ./demo.sh --help)" >&2; exit 2 ;;
  esac
  shift
done
case "$RATE" in
  '') ;;
  *[!0-9]*) echo "demo.sh: --rate takes a whole number of requests per second, not '$RATE'" >&2; exit 2 ;;
esac

cd "$(dirname "$0")" || exit 1
JAVA=${JAVA_HOME:+$JAVA_HOME/bin/}java
if ! command -v "$JAVA" >/dev/null 2>&1; then
  echo "demo.sh: no java found: install a JDK 17 or newer, or set JAVA_HOME" >&2
  exit 2
fi
JAVA_MAJOR=$("$JAVA" -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n 1)
if [ -z "$JAVA_MAJOR" ] || [ "$JAVA_MAJOR" -lt 17 ]; then
  echo "demo.sh: $JAVA is Java ${JAVA_MAJOR:-unknown}; Upgradekit needs 17 or newer (set JAVA_HOME)" >&2
  exit 2
fi

now_ms() { date +%s%3N 2>/dev/null || echo $(( $(date +%s) * 1000 )); }
STARTED=$(now_ms)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/upgradekit-demo.XXXXXX") || exit 1
mkdir -p "$WORK/logs"
DEMO_PID=
MVN_PID=
FAILED=0

cleanup() {
  if [ -n "$MVN_PID" ] && kill -0 "$MVN_PID" 2>/dev/null; then
    kill -TERM "$MVN_PID" 2>/dev/null
    wait "$MVN_PID" 2>/dev/null
  fi
  if [ -n "$DEMO_PID" ] && kill -0 "$DEMO_PID" 2>/dev/null; then
    kill -TERM "$DEMO_PID" 2>/dev/null   # its shutdown hook stops every process it started
    wait "$DEMO_PID" 2>/dev/null
  fi
  if [ "$KEEP" = 1 ] || [ "$FAILED" = 1 ]; then
    echo "The work directory stays: $WORK (logs in logs/)"
  else
    chmod -R u+w "$WORK" 2>/dev/null   # installed versions are read-only
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT
trap 'echo; echo "Interrupted: stopping everything."; FAILED=0; exit 130' INT TERM

if [ "$SET" = 1 ]; then
  echo "Upgradekit demo: a release set, database -> cache -> api -> gateway on 2 nodes each, 1.0.0 -> 2.0.0"
else
  echo "Upgradekit demo: hello-service on three nodes, 1.0.0 -> 2.0.0 by delta, under load"
fi
if [ "$KEEP" = 1 ]; then echo "Work directory $WORK (kept: --keep)"; else echo "Work directory $WORK (removed at the end; --keep keeps it)"; fi
echo

dots() { # title, result: pads with dots to column 78
  local text="$1" time="$2" width=78
  local n=$(( width - ${#text} - ${#time} - 2 ))
  [ $n -lt 3 ] && n=3
  printf '%s %s %s\n' "$text" "$(printf '%*s' "$n" '' | tr ' ' '.')" "$time"
}

if [ "$BUILD" = 1 ]; then
  BUILD_LOG="$WORK/logs/build.log"
  echo " 1. Build: ./mvnw -B install -DskipTests -Dinvoker.skip"
  build_start=$(now_ms)
  ./mvnw -B install -DskipTests -Dinvoker.skip >"$BUILD_LOG" 2>&1 &
  MVN_PID=$!
  # Progress: one line per module as Maven starts it (redrawn in place on a terminal).
  shown=0
  while kill -0 "$MVN_PID" 2>/dev/null; do
    count=$(grep -c '^\[INFO\] Building .*\[[0-9]*/[0-9]*\]$' "$BUILD_LOG" 2>/dev/null)
    while [ "${count:-0}" -gt "$shown" ]; do
      shown=$((shown + 1))
      line=$(grep '^\[INFO\] Building .*\[[0-9]*/[0-9]*\]$' "$BUILD_LOG" | sed -n "${shown}p" \
        | sed 's/^\[INFO\] Building \(.*\) [0-9][^ ]* *\[\([0-9]*\/[0-9]*\)\]$/[\2] \1/')
      if [ -t 1 ]; then printf '\r\033[K      %s' "$line"; else echo "      $line"; fi
    done
    sleep 0.3
  done
  wait "$MVN_PID"; status=$?
  MVN_PID=
  [ -t 1 ] && printf '\r\033[K'
  secs=$(awk -v ms=$(( $(now_ms) - build_start )) 'BEGIN { printf "%.1f s", ms / 1000 }')
  if [ "$status" -ne 0 ]; then
    FAILED=1
    echo "      FAILED (status $status); the end of $BUILD_LOG:"
    grep -E '^\[ERROR\]' "$BUILD_LOG" | head -n 20 | sed 's/^/      /'
    tail -n 5 "$BUILD_LOG" | sed 's/^/      /'
    exit 1
  fi
  dots "      $shown modules built and installed" "$secs"
  FIRST_PHASE=2
else
  FIRST_PHASE=1
fi

if [ ! -f it/target/classpath.txt ] || [ ! -d it/target/classes ]; then
  FAILED=1
  echo "demo.sh: it/target is not built; run without --no-build" >&2
  exit 1
fi

"$JAVA" -Xmx512m -cp "it/target/classes:$(cat it/target/classpath.txt)" io.upgradekit.it.demo.Demo \
  --work "$WORK" ${RATE:+--rate "$RATE"} $([ "$SET" = 1 ] && echo --set) --first-phase "$FIRST_PHASE" \
  --started-at "$STARTED" &
DEMO_PID=$!
wait "$DEMO_PID"; status=$?
DEMO_PID=
if [ "$status" -ne 0 ]; then
  FAILED=1
  exit "$status"
fi
