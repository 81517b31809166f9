#!/usr/bin/env bash
# node-updater benchmark with the real distribution: bin/updater from the dist tarball (the shaded
# jar, the real delta engine) updating examples/hello-service's distribution tree, releases built
# by the plugin's release library (signed packages and deltas) and served by the repo-server jar.
# Measures the daemon's idle RSS (bin/updater's JVM flags, and the JVM's defaults as reference)
# and the time from "release visible" to "new version healthy" for restart and overlap, split by
# state, with failed requests under a light load. Results go to docs/performance.md (## node-updater).
#
# Usage: bench/updater.sh [ROUNDS]     (default 5; SKIP_BUILD=1 uses the artifacts already built;
#        BENCH_STRATEGIES="restart overlap", BENCH_REFERENCE_ROUNDS=2, BENCH_LONG_IDLE=300 (seconds of
#        idle sampling after the overlap rounds) override the defaults; KEEP_WORK=1 keeps the files)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  echo "building node-updater, repo-server, upgrade-maven-plugin, hello-service ..." >&2
  ./mvnw -B -q -pl node-updater,repo-server,upgrade-maven-plugin,examples/hello-service -am package -DskipTests
fi
./mvnw -B -q -pl upgrade-maven-plugin dependency:build-classpath -Dmdep.outputFile=target/bench.classpath \
  -Dmdep.includeScope=runtime >/dev/null
tarball=$(ls node-updater/target/node-updater-*-dist.tar.gz | head -1)
server=$(ls repo-server/target/repo-server-*.jar | grep -v original- | head -1)
hello=examples/hello-service/target/hello-service
cp="upgrade-maven-plugin/target/classes:$(cat upgrade-maven-plugin/target/bench.classpath)"
work=$(mktemp -d "${TMPDIR:-/tmp}/updater-bench.XXXXXX")
[ "${KEEP_WORK:-0}" = 1 ] && echo "work directory: $work" >&2 || trap 'rm -rf "$work"' EXIT
echo "# $(date -u +%FT%TZ), $(nproc) cores, $(java -version 2>&1 | head -1), rounds=$rounds," \
  "load average $(cut -d' ' -f1-3 /proc/loadavg)"
java -XX:+UseSerialGC -Xmx512m -Djdk.httpclient.allowRestrictedHeaders=connection -cp "$cp" \
  bench/UpdaterBench.java "$work" "$rounds" "$tarball" "$server" "$hello"
echo "# done $(date -u +%FT%TZ), load average $(cut -d' ' -f1-3 /proc/loadavg)"
