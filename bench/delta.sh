#!/usr/bin/env bash
# Delta benchmark: our tree delta against whole-archive tools on the corpus (../shared/corpus).
#
#   bench/delta.sh [pair ...]        (default: every pair; RUNS=3 takes the fastest of 3 runs;
#                                     TOOLS="zstd xdelta3" limits the other tools, default all three)
#
# For every pair it prints one row per tool: delta size, diff and apply wall time, and peak RSS
# (from /usr/bin/time -v). Ours runs as `java -Xmx2g -jar updater.jar delta diff` and
# `java -Xmx256m -jar updater.jar delta apply`; the others on the raw archives: bsdiff/bspatch,
# xdelta3 -9 -S djw, zstd -19 --long=31 --patch-from. A missing tool is skipped and said so.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
runs=${RUNS:-1}

# Reference sizes from issue 3: C bsdiff over the changed files of the recursively unpacked trees.
declare -A reference=([maven-tgz]=90737 [maven-zip]=92107 [jetty-tgz]=337410 [guava-jar]=8229)

say() { printf '%s\n' "$*" >&2; }

[[ -x /usr/bin/time ]] || { say "GNU time (/usr/bin/time) is required: apt-get install -y time"; exit 2; }
command -v java >/dev/null || { say "java is required"; exit 2; }
tools=()
for t in ${TOOLS:-bsdiff xdelta3 zstd}; do
  if command -v "$t" >/dev/null; then tools+=("$t"); else say "skipping $t: not installed (apt-get install -y $t)"; fi
done
if [[ " ${tools[*]} " == *" bsdiff "* ]] && ! command -v bspatch >/dev/null; then
  say "skipping bsdiff: bspatch is missing"; tools=("${tools[@]/bsdiff}")
fi

# The corpus, fetched (and cached) by the shared script; its last line is the cache directory.
# Maven may leave terminal escape codes on that line: strip them.
corpus=$("$root/../shared/corpus/fetch.sh" "$@" | tail -n 1 | sed 's/\x1b\[[0-9;]*m//g')

jar=$(ls "$root"/node-updater/target/node-updater-*.jar 2>/dev/null | grep -v original | head -n 1 || true)
if [[ -z "$jar" ]]; then
  say "building the updater jar"
  ./mvnw -B -q -pl release-schema,node-updater -am package -DskipTests >&2
  jar=$(ls "$root"/node-updater/target/node-updater-*.jar | grep -v original | head -n 1)
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# measure CMD...: runs the command $runs times; sets secs (fastest wall time) and rss (its peak RSS, MiB).
measure() {
  secs=""; rss=""
  for ((r = 0; r < runs; r++)); do
    /usr/bin/time -v -o "$work/time" "$@" >"$work/out" 2>&1 || { say "failed: $*"; cat "$work/out" >&2; return 1; }
    local wall kb s
    wall=$(sed -n 's/.*Elapsed (wall clock) time.*: //p' "$work/time")
    kb=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$work/time")
    s=$(awk -F: '{ if (NF == 3) print $1 * 3600 + $2 * 60 + $3; else print $1 * 60 + $2 }' <<<"$wall")
    if [[ -z "$secs" ]] || awk "BEGIN { exit !($s < $secs) }"; then secs=$s; rss=$((kb / 1024)); fi
  done
  secs=$(awk "BEGIN { printf \"%.2f\", $secs }")
}

commas() { sed ':a;s/\B[0-9]\{3\}\>/,&/;ta' <<<"$1"; }

row() { # tool size diffsecs diffrss applysecs applyrss
  local ratio vsref
  ratio=$(awk "BEGIN { printf \"%.2f%%\", 100 * $2 / $newsize }")
  vsref=$(awk "BEGIN { printf \"%.2fx\", $2 / ${reference[$pair]} }")
  printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$pair" "$1" "$(commas "$2")" "$ratio" "$vsref" \
    "$3" "$4" "$5" "$6"
}

pairs=("$@")
((${#pairs[@]})) || pairs=(maven-tgz maven-zip jetty-tgz guava-jar)

echo "machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), $(free -g | awk '/^Mem:/ { print $2 }') GiB RAM; $(java -version 2>&1 | head -n 1); load $(cut -d' ' -f1-3 /proc/loadavg); $(date -u +%Y-%m-%dT%H:%MZ); runs=$runs"
echo
echo "| pair | tool | delta bytes | of new | of reference | diff s | diff MiB | apply s | apply MiB |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|"
for pair in "${pairs[@]}"; do
  old=$(ls "$corpus/$pair"/old.* | grep -v coords | head -n 1)
  new=$(ls "$corpus/$pair"/new.* | grep -v coords | head -n 1)
  newsize=$(stat -c %s "$new")
  echo "| $pair | new archive | $(commas "$newsize") | | | | | | |"

  measure java -Xmx2g -jar "$jar" delta diff "$old" "$new" "$work/ours.delta"
  ds=$secs; dr=$rss
  rm -rf "$work/ours.out"
  measure bash -c 'rm -rf "$3"; exec java -Xmx256m -jar "$0" delta apply "$1" "$2" "$3"' \
    "$jar" "$old" "$work/ours.delta" "$work/ours.out"
  row "ours" "$(stat -c %s "$work/ours.delta")" "$ds" "$dr" "$secs" "$rss"
  rm -rf "$work/ours.out"

  # What a node does: apply to the installed (unpacked) old version, not to the archive.
  rm -rf "$work/installed" && mkdir -p "$work/installed"
  installed=$work/installed
  case $old in
    *.tar.gz | *.tgz) tar -xzf "$old" -C "$installed" ;;
    *.zip) if command -v unzip >/dev/null; then unzip -q "$old" -d "$installed"; else installed=""; fi ;;
    *) cp "$old" "$installed/" && installed=$installed/$(basename "$old") ;;
  esac
  if [[ -n "$installed" ]]; then
    measure bash -c 'rm -rf "$3"; exec java -Xmx256m -jar "$0" delta apply "$1" "$2" "$3"' \
      "$jar" "$installed" "$work/ours.delta" "$work/ours.out"
    row "ours, applied to the unpacked old tree" "$(stat -c %s "$work/ours.delta")" "" "" "$secs" "$rss"
  else
    say "skipping the unpacked-tree apply of $pair: unzip is not installed"
  fi
  rm -rf "$work/ours.out" "$work/installed"

  for t in "${tools[@]}"; do
    [[ -n "$t" ]] || continue
    case $t in
      bsdiff)
        measure bsdiff "$old" "$new" "$work/p"; ds=$secs; dr=$rss
        measure bspatch "$old" "$work/o" "$work/p"; name="bsdiff" ;;
      xdelta3)
        # -D: the raw archive bytes (xdelta3 would otherwise gunzip .tar.gz inputs itself).
        measure xdelta3 -9 -S djw -D -f -e -s "$old" "$new" "$work/p"; ds=$secs; dr=$rss
        measure xdelta3 -D -R -f -d -s "$old" "$work/p" "$work/o"; name="xdelta3 -9 -S djw" ;;
      zstd)
        measure zstd -q -f -19 --long=31 --patch-from="$old" "$new" -o "$work/p"; ds=$secs; dr=$rss
        measure zstd -q -f -d --long=31 --patch-from="$old" "$work/p" -o "$work/o"; name="zstd -19 --long=31 --patch-from" ;;
    esac
    cmp -s "$work/o" "$new" || { say "$t did not reproduce $pair"; exit 1; }
    row "$name" "$(stat -c %s "$work/p")" "$ds" "$dr" "$secs" "$rss"
    rm -f "$work/p" "$work/o"
  done
done
