#!/usr/bin/env bash
# Where a pair's delta bytes go: the archives (jars, wars, nested jars) that hold most of the
# reference, each diffed alone by our engine and by the reference, so a pair over 1.0x its
# reference shows which archive carries the excess and whether renamed entries were paired.
#
#   bench/delta-breakdown.sh PAIR [N]     N: how many archives (default 8)
#
# PAIR is a pair of ../shared/corpus/pairs.tsv or bench/corpus.tsv, fetched already (bench/delta.sh
# or the fetch scripts do that). Per archive: the reference (bench/DeltaReference.java, per-file C
# bsdiff with renamed files paired by name with versions and content hashes blanked), the same with
# exact names only (every renamed file counted new, at zstd -19), and our `delta diff` of the two
# archives alone (-Xmx${DIFF_XMX:-2g}: this measures bytes, not memory). Ours close to the
# exact-names figure means renamed entries were not paired. Then the pair's 25 biggest leaves.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
pair=${1:?usage: bench/delta-breakdown.sh PAIR [N]}
top=${2:-8}
xmx=${DIFF_XMX:-2g}
corpus=${UPGRADE_CORPUS:-$HOME/.cache/upgradekit-corpus}
old=$(ls "$corpus/$pair"/old.* 2>/dev/null | grep -v coords | head -n 1 || true)
new=$(ls "$corpus/$pair"/new.* 2>/dev/null | grep -v coords | head -n 1 || true)
[[ -n "$old" && -n "$new" ]] || { echo "$pair is not in $corpus: run bench/delta.sh $pair first" >&2; exit 2; }
jar=$(ls "$root"/node-updater/target/node-updater-*.jar 2>/dev/null | grep -v original | head -n 1 || true)
[[ -n "$jar" ]] || { echo "build the updater jar first: ./mvnw -o -B -q -pl release-schema,node-updater -am package -DskipTests" >&2; exit 2; }
ref() { java "$root/bench/DeltaReference.java" "$@"; }
commas() { sed ':a;s/\B[0-9]\{3\}\>/,&/;ta' <<<"$1"; }
ratio() { awk "BEGIN { if ($2 > 0) printf \"%.2fx\", $1 / $2 }"; }
ours() { # OLD NEW: our delta's size, or the reason it failed
  rm -f "$work/d"
  if java -Xmx"$xmx" -jar "$jar" delta diff "$1" "$2" "$work/d" >"$work/log" 2>&1; then stat -c %s "$work/d"
  else grep -m1 -oE 'OutOfMemoryError|[A-Z_]{6,}: .{0,80}' "$work/log" || echo failed; fi
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

ref --top 25 "$old" "$new" >"$work/reference"
read -r _ total _ _ _ _ grouped < <(head -n 1 "$work/reference")
read -r _ exact _ < <(ref --exact-names "$old" "$new" | head -n 1)
whole=$(ours "$old" "$new")
echo "## $pair"
echo
echo "whole pair: ours $(commas "$whole"), reference $(commas "$total") ($(ratio "$whole" "$total")), grouped $(commas "$grouped"), exact names only $(commas "$exact")"
echo
echo "| archive (new) | paired with (old) | reference | exact names only | ours alone | ours / reference |"
echo "|---|---|---:|---:|---:|---:|"
# The reference's container table: rows after the second header; archives only (not directories).
awk '/^\| reference bytes \| changed/ { on = 1; next } on && /^\| [0-9]/' "$work/reference" \
  | awk -F' \\| ' '{ print $4 "\t" $5 }' | sed 's/ |$//' \
  | while IFS=$'\t' read -r newpath oldpath; do
      [[ "$newpath" =~ \.(jar|war|ear|zip|tar|tgz|tar\.gz)$ && -n "$oldpath" ]] || continue
      echo "$newpath"$'\t'"$oldpath"
    done >"$work/archives"
head -n "$top" "$work/archives" | while IFS=$'\t' read -r newpath oldpath; do
  ext=${newpath##*/}; ext=${ext#*.}
  ref --extract "$oldpath" "$old" "$work/o.$ext"
  ref --extract "$newpath" "$new" "$work/n.$ext"
  read -r _ r _ < <(ref "$work/o.$ext" "$work/n.$ext" | head -n 1)
  read -r _ e _ < <(ref --exact-names "$work/o.$ext" "$work/n.$ext" | head -n 1)
  o=$(ours "$work/o.$ext" "$work/n.$ext")
  echo "| $newpath | $oldpath | $(commas "$r") | $(commas "$e") | $(commas "$o") | $([[ "$o" =~ ^[0-9]+$ ]] && ratio "$o" "$r") |"
  rm -f "$work/o.$ext" "$work/n.$ext"
done
echo
echo "The reference's biggest leaves:"
awk '/^\| reference bytes \| how/ { on = 1 } on && /^$/ { exit } on' "$work/reference"
