#!/usr/bin/env bash
# Downloads the pairs of bench/corpus.tsv (the project's own benchmark corpus) exactly as
# ../shared/corpus/fetch.sh does for the shared pairs: Maven's dependency plugin, into the same
# cache outside the repository, ~/.cache/upgradekit-corpus/<pair>/{old,new}.<type> (or
# $UPGRADE_CORPUS), with the coordinates beside each file in {old,new}.coords.
#
#   bench/fetch-corpus.sh [pair ...]     (default: every pair of bench/corpus.tsv)
#
# Prints the cache directory on its last line. Maven's own output goes to stderr with its
# terminal escape codes removed (-Dstyle.color=never does not remove them all).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cache="${UPGRADE_CORPUS:-$HOME/.cache/upgradekit-corpus}"
plugin=org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy
mkdir -p "$cache"
want=("$@")
while IFS=$'\t' read -r name old new; do
  [[ -z "$name" || "$name" == \#* ]] && continue
  if ((${#want[@]})) && [[ " ${want[*]} " != *" $name "* ]]; then continue; fi
  ext=$(echo "$old" | cut -d: -f4)
  mkdir -p "$cache/$name"
  for side in old new; do
    coords=${!side}
    f="$cache/$name/$side.$ext"
    # A file fetched for other coordinates (the list changed) is fetched again.
    if [[ -s "$f" && "$(cat "$cache/$name/$side.coords" 2>/dev/null)" == "$coords" ]]; then continue; fi
    tmp=$(mktemp -d)
    echo "fetching $coords" >&2
    mvn -B -q -Dstyle.color=never "$plugin" -Dartifact="$coords" -DoutputDirectory="$tmp" 2>&1 \
      | sed 's/\x1b\[[0-9;]*[A-Za-z]//g' >&2
    mv "$tmp"/* "$f" && rmdir "$tmp"
    echo "$coords" > "$cache/$name/$side.coords"
  done
done < "$here/corpus.tsv"
echo "$cache"
