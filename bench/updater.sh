#!/usr/bin/env bash
# node-updater benchmark: idle RSS of `updater run` and time from "release visible" to "new version
# healthy" for a small service, with the restart and the overlap strategy, split by state.
# Results go to docs/performance.md (## node-updater). Usage: bench/updater.sh [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
./mvnw -B -q -pl node-updater -am test-compile dependency:build-classpath -DskipTests \
  -Dmdep.outputFile=target/bench.classpath -Dmdep.includeScope=test
cp="node-updater/target/test-classes:node-updater/target/classes:$(cat node-updater/target/bench.classpath)"
work=$(mktemp -d "${TMPDIR:-/tmp}/updater-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
echo "# $(date -u +%FT%TZ), $(nproc) cores, $(java -version 2>&1 | head -1), rounds=$rounds"
java -XX:+UseSerialGC -Xmx256m -cp "$cp" io.upgradekit.updater.bench.UpdaterBench "$work" "$rounds"
