#!/usr/bin/env bash
# End-to-end upgrade benchmark: hello-service upgraded by real node updaters under load, per switch
# strategy (restart, overlap), several rounds; downtime (the longest gap without a successful
# answer), failed requests by kind and publish → all nodes on the new version, each beside its
# reference. The driver is io.upgradekit.it.bench.UpgradeBench (it/, reusing the end-to-end harness).
# Results and how to read them: docs/performance.md, "End to end (bench/upgrade.sh)".
#
# Usage: bench/upgrade.sh [--no-build] [--rounds N] [--rate N] [--nodes N]
#                         [--strategies restart,restart-held-socket,restart-gated-held-socket,overlap,overlap-held-socket[,overlap-shared-port]] [--keep]
#   --no-build     use what the last build left in target/ (default: build when a source is newer)
#   --rounds N     upgrades per strategy (default 3)
#   --rate N       requests per second per node during each round (default 500)
#   --nodes N      nodes per strategy (default 1)
#   --strategies   which to run (default: the first five); *-held-socket: the updater's launcher holds the
#                  service's socket (service.socket); restart-gated-*: restart with service.startGate (the new
#                  version starts while the old one serves, accepts once it stopped); overlap-shared-port:
#                  health checked on the shared port
#   --keep         keep the work directory (repository, node homes, every log)
set -euo pipefail
cd "$(dirname "$0")/.."

build=auto
args=()
for arg in "$@"; do
  case "$arg" in
    --no-build) build=never ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) args+=("$arg") ;;
  esac
done

JAVA=${JAVA_HOME:+$JAVA_HOME/bin/java}
JAVA=${JAVA:-java}
stamp=it/target/classpath.txt
if [ "$build" = auto ]; then
  if [ ! -f "$stamp" ] || [ ! -d examples/hello-service/target/hello-service ] \
     || [ -n "$(find . -path ./.git -prune -o -path '*/target' -prune -o \( -path '*/src/*' -o -name pom.xml \) \
                -newer "$stamp" -type f -print -quit)" ]; then
    echo "building (./mvnw -B -q install -DskipTests -Dinvoker.skip) ..." >&2
    ./mvnw -B -q install -DskipTests -Dinvoker.skip
  fi
fi
if [ ! -f "$stamp" ]; then
  echo "bench/upgrade.sh: it/target is not built; run without --no-build" >&2
  exit 1
fi

exec "$JAVA" -Xmx512m -cp "it/target/classes:$(cat "$stamp")" io.upgradekit.it.bench.UpgradeBench ${args[@]+"${args[@]}"}
