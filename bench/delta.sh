#!/usr/bin/env bash
# Delta benchmark: our tree delta against its reference and against whole-archive tools, on the
# shared corpus (../shared/corpus/pairs.tsv) and the project's own (bench/corpus.tsv).
#
#   bench/delta.sh [pair ...]     default: every pair of both lists
#
# Environment:
#   RUNS=3            fastest of 3 runs per timed cell (default 1)
#   TOOLS="zstd"      whole-archive tools to run (default "bsdiff xdelta3 zstd"); zstd's diff time
#                     is the target ours is held to, so leave it in
#   WHOLE_MAX_MB=40   bsdiff and xdelta3 on whole archives only up to this new-archive size (C
#                     bsdiff needs ~17x the archive in memory and minutes per 10 MB); zstd always
#   DETAILS=DIR       also write DIR/<pair>.reference.md: the reference's biggest contributors
#   TIMEOUT=3600      seconds before one command is stopped and reported as timed out
#
# Per pair: the reference, computed here in the same run by bench/DeltaReference.java (the new
# archive's changed files, recursively unpacked, each C-bsdiffed against its predecessor found by
# name with versions and content hashes blanked; new files at their zstd -19 size), then ours:
# `java -Xmx1g -jar updater.jar delta diff` (a failure such as OutOfMemoryError is reported in
# the table, not hidden) and `java -Xmx256m ... delta apply` to the raw old archive and to the
# unpacked old tree (what a node does), then the whole-archive tools: bsdiff/bspatch,
# xdelta3 -9 -S djw, zstd -19 --long=31 --patch-from. Times and peak RSS from /usr/bin/time -v.
# A missing tool is skipped and said so. Prints a summary table at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
runs=${RUNS:-1}
whole_max=$((${WHOLE_MAX_MB:-40} * 1024 * 1024))
limit=${TIMEOUT:-3600}

say() { printf '%s\n' "$*" >&2; }

[[ -x /usr/bin/time ]] || { say "GNU time (/usr/bin/time) is required: apt-get install -y time"; exit 2; }
command -v java >/dev/null || { say "java is required"; exit 2; }
for t in bsdiff zstd; do
  command -v "$t" >/dev/null || { say "$t is required for the reference: apt-get install -y $t"; exit 2; }
done
tools=()
for t in ${TOOLS:-bsdiff xdelta3 zstd}; do
  if command -v "$t" >/dev/null; then tools+=("$t"); else say "skipping $t: not installed (apt-get install -y $t)"; fi
done
if [[ " ${tools[*]} " == *" bsdiff "* ]] && ! command -v bspatch >/dev/null; then
  say "skipping bsdiff: bspatch is missing"; tools=("${tools[@]/bsdiff}")
fi

# Which list each pair comes from; the fetch scripts print the cache directory on their last line
# (with Maven's terminal escape codes removed).
shared_pairs=$(grep -v '^#' "$root/../shared/corpus/pairs.tsv" | cut -f1 | grep . || true)
own_pairs=$(grep -v '^#' "$root/bench/corpus.tsv" | cut -f1 | grep . || true)
pairs=("$@")
((${#pairs[@]})) || mapfile -t pairs < <(printf '%s\n' $shared_pairs $own_pairs)
want_shared=() want_own=()
for p in "${pairs[@]}"; do
  if grep -qx "$p" <<<"$shared_pairs"; then want_shared+=("$p")
  elif grep -qx "$p" <<<"$own_pairs"; then want_own+=("$p")
  else say "unknown pair $p: not in ../shared/corpus/pairs.tsv nor bench/corpus.tsv"; exit 2; fi
done
strip() { tail -n 1 | sed 's/\x1b\[[0-9;]*[A-Za-z]//g'; }
corpus=""
((${#want_shared[@]})) && corpus=$("$root/../shared/corpus/fetch.sh" "${want_shared[@]}" | strip)
((${#want_own[@]})) && corpus=$("$root/bench/fetch-corpus.sh" "${want_own[@]}" | strip)

jar=$(ls "$root"/node-updater/target/node-updater-*.jar 2>/dev/null | grep -v original | head -n 1 || true)
if [[ -z "$jar" ]]; then
  say "building the updater jar"
  ./mvnw -B -q -pl release-schema,node-updater -am package -DskipTests >&2
  jar=$(ls "$root"/node-updater/target/node-updater-*.jar | grep -v original | head -n 1)
fi
[[ -z "${DETAILS:-}" ]] || mkdir -p "$DETAILS"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# measure CMD...: runs the command $runs times; sets secs (fastest wall time) and rss (its peak
# RSS, MiB), or failed (a short reason) if it fails; its output stays in $work/out. For our apply,
# own is the fastest time the command itself reports for the apply ("verified; 0.41 s, after 0.22 s
# of JVM and command-line start"): the part a node pays, since it applies inside its running updater.
measure() {
  secs=""; rss=""; failed=""; own=""
  for ((r = 0; r < runs; r++)); do
    if ! /usr/bin/time -v -o "$work/time" timeout "$limit" "$@" >"$work/out" 2>&1; then
      if grep -q OutOfMemoryError "$work/out"; then failed="OutOfMemoryError"
      elif grep -q 'status 124' "$work/time"; then failed="timed out after ${limit} s"
      else failed="failed: $(grep -m1 -E 'Error|error|ERROR|[A-Z_]{6,}:' "$work/out" | cut -c1-120)"; fi
      say "$failed: $*"; tail -n 5 "$work/out" >&2
      local kb; kb=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$work/time")
      secs=""; rss=$((${kb:-0} / 1024))
      return 0
    fi
    local wall kb s
    wall=$(sed -n 's/.*Elapsed (wall clock) time.*: //p' "$work/time")
    kb=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$work/time")
    s=$(awk -F: '{ if (NF == 3) print $1 * 3600 + $2 * 60 + $3; else print $1 * 60 + $2 }' <<<"$wall")
    if [[ -z "$secs" ]] || awk "BEGIN { exit !($s < $secs) }"; then secs=$s; rss=$((kb / 1024)); fi
    local o; o=$(sed -n 's/.*verified; \([0-9.]*\) s.*/\1/p' "$work/out")
    if [[ -n "$o" ]] && { [[ -z "$own" ]] || awk "BEGIN { exit !($o < $own) }"; }; then own=$o; fi
  done
  secs=$(awk "BEGIN { printf \"%.2f\", $secs }")
}

commas() { sed ':a;s/\B[0-9]\{3\}\>/,&/;ta' <<<"$1"; }
ratio() { awk "BEGIN { if ($2 > 0) printf \"%.2fx\", $1 / $2 }"; }

row() { # tool size diffsecs diffrss applysecs applyrss
  local of_new=""
  [[ "$2" =~ ^[0-9]+$ ]] && of_new=$(awk "BEGIN { printf \"%.2f%%\", 100 * $2 / $newsize }")
  printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$pair" "$1" "$(commas "$2")" "$of_new" \
    "$([[ "$2" =~ ^[0-9]+$ ]] && ratio "$2" "$ref")" "$3" "$4" "$5" "$6"
}

echo "machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), $(free -g | awk '/^Mem:/ { print $2 }') GiB RAM; $(java -version 2>&1 | head -n 1); load $(cut -d' ' -f1-3 /proc/loadavg); $(date -u +%Y-%m-%dT%H:%MZ); runs=$runs"
echo
echo "| pair | tool | delta bytes | of new | of reference | diff s | diff MiB | apply s | apply MiB |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|"
summary=()
for pair in "${pairs[@]}"; do
  old=$(ls "$corpus/$pair"/old.* | grep -v coords | head -n 1)
  new=$(ls "$corpus/$pair"/new.* | grep -v coords | head -n 1)
  newsize=$(stat -c %s "$new")
  echo "| $pair | new archive | $(commas "$newsize") | | | | | | |"

  # The reference, from the same archives in the same run.
  java "$root/bench/DeltaReference.java" --top 25 "$old" "$new" >"$work/reference"
  read -r _ ref _ changed newbytes added grouped < <(head -n 1 "$work/reference")
  [[ -z "${DETAILS:-}" ]] || { echo "# $pair: $(sed -n 2p "$work/reference")"; tail -n +3 "$work/reference"; } \
    >"$DETAILS/$pair.reference.md"
  echo "| $pair | reference: C bsdiff per changed file ($changed) + new files at zstd -19 ($added) | $(commas "$ref") | | 1.00x | | | | |"
  echo "| $pair | (grouped: one C bsdiff over all changed files concatenated + the same new files) | $(commas "$grouped") | | $(ratio "$grouped" "$ref") | | | | |"

  measure java -Xmx1g -jar "$jar" delta diff "$old" "$new" "$work/ours.delta"
  if [[ -n "$failed" ]]; then
    row "ours: $failed (-Xmx1g)" "-" "" "$rss" "" ""
    summary+=("| $pair | $(commas "$newsize") | $(commas "$ref") | $(commas "$grouped") | $failed (-Xmx1g) | | | | ZSTD | $rss | | | | |")
  else
    ds=$secs; dr=$rss; ours=$(stat -c %s "$work/ours.delta")
    rm -rf "$work/ours.out"
    measure bash -c 'rm -rf "$3"; exec java -Xmx256m -jar "$0" delta apply "$1" "$2" "$3"' \
      "$jar" "$old" "$work/ours.delta" "$work/ours.out"
    as=${secs:-$failed}; ar=$rss; ao=$own
    row "ours" "$ours" "$ds" "$dr" "$as" "$ar"
    rm -rf "$work/ours.out"

    # What a node does: apply to the installed (unpacked) old version, not to the archive.
    rm -rf "$work/installed" && mkdir -p "$work/installed"
    installed=$work/installed
    case $old in
      *.tar.gz | *.tgz) tar -xzf "$old" -C "$installed" ;;
      *.zip) if command -v unzip >/dev/null; then unzip -q "$old" -d "$installed"; else installed=""; fi ;;
      *) cp "$old" "$installed/" && installed=$installed/$(basename "$old") ;;
    esac
    ts=""; tr=""; to=""
    if [[ -n "$installed" ]]; then
      measure bash -c 'rm -rf "$3"; exec java -Xmx256m -jar "$0" delta apply "$1" "$2" "$3"' \
        "$jar" "$installed" "$work/ours.delta" "$work/ours.out"
      ts=${secs:-$failed}; tr=$rss; to=$own
      row "ours, applied to the unpacked old tree" "$ours" "" "" "$ts" "$tr"
    else
      say "skipping the unpacked-tree apply of $pair: unzip is not installed"
    fi
    rm -rf "$work/ours.out" "$work/installed"
    summary+=("| $pair | $(commas "$newsize") | $(commas "$ref") | $(commas "$grouped") | $(commas "$ours") | **$(ratio "$ours" "$ref")** | $(ratio "$ours" "$grouped") | $ds | ZSTD | $dr | $as | $ts | ${to:-$ao} | $(( ar > tr ? ar : tr )) |")
  fi
  rm -f "$work/ours.delta"

  zs=""
  for t in "${tools[@]}"; do
    [[ -n "$t" ]] || continue
    if [[ $t != zstd ]] && ((newsize > whole_max)); then
      say "skipping $t on $pair: the archive is over WHOLE_MAX_MB=${WHOLE_MAX_MB:-40}"
      continue
    fi
    case $t in
      bsdiff)
        measure bsdiff "$old" "$new" "$work/p"; ds=$secs; dr=$rss; df=$failed
        [[ -n "$df" ]] || measure bspatch "$old" "$work/o" "$work/p"; name="bsdiff" ;;
      xdelta3)
        # -D: the raw archive bytes (xdelta3 would otherwise gunzip .tar.gz inputs itself).
        measure xdelta3 -9 -S djw -D -f -e -s "$old" "$new" "$work/p"; ds=$secs; dr=$rss; df=$failed
        [[ -n "$df" ]] || measure xdelta3 -D -R -f -d -s "$old" "$work/p" "$work/o"; name="xdelta3 -9 -S djw" ;;
      zstd)
        measure zstd -q -f -19 --long=31 --patch-from="$old" "$new" -o "$work/p"; ds=$secs; dr=$rss; df=$failed
        [[ -n "$df" ]] || measure zstd -q -f -d --long=31 --patch-from="$old" "$work/p" -o "$work/o"
        name="zstd -19 --long=31 --patch-from"; zs=${ds:-$df} ;;
    esac
    if [[ -n "$df" ]]; then
      row "$name: $df" "-" "" "$dr" "" ""
    else
      cmp -s "$work/o" "$new" || { say "$t did not reproduce $pair"; exit 1; }
      row "$name" "$(stat -c %s "$work/p")" "$ds" "$dr" "$secs" "$rss"
    fi
    rm -f "$work/p" "$work/o"
  done
  summary[-1]=${summary[-1]/ZSTD/${zs:-not run}}
done

echo
echo "Summary: ours against the reference computed in this run (per-file C bsdiff + new files at zstd -19) and"
echo "its grouped variant; diff with -Xmx1g, apply with -Xmx256m (to the raw archive / to the unpacked old tree;"
echo "wall times of the command, JVM start included; 'in the process': the apply's own time as the command reports it,"
echo "reading and hashing the old tree included, which is what a node's running updater spends)."
echo
echo "| pair | new archive | reference | grouped | ours | ours / reference | ours / grouped | diff s | zstd patch-from diff s | diff MiB | apply s (archive) | apply s (tree) | apply s (tree, in the process) | apply MiB |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${summary[@]}"
