package io.upgradekit.schema.delta;

import io.upgradekit.schema.model.PayloadTree;
import io.upgradekit.schema.model.TreeEntry;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Finds, for each file of the new tree, the old file it should be built from: the same path; the
 * same content elsewhere (moved, renamed, duplicated); or its predecessor under a name that
 * changed with the release ({@link NameKeys}): first by whole path, then by file name alone.
 * Among several candidates, old files that no longer exist in the new tree come first, then the
 * closest in size.
 */
final class Pairing {
  private final List<TreeEntry> base;
  private final Map<String, Integer> byPath = new HashMap<>();
  private final Map<String, Integer> byHash = new HashMap<>();
  private final Map<String, List<Integer>> byKey = new HashMap<>();
  private final Map<String, List<Integer>> byFileKey = new HashMap<>();
  private final Set<Integer> gone = new HashSet<>();
  private final int onlyOldFile;
  private final boolean onlyNewFile;

  Pairing(PayloadTree oldTree, PayloadTree newTree, boolean singleFile) {
    base = oldTree.entries();
    Set<String> newFiles = new HashSet<>();
    int newFileCount = 0;
    for (TreeEntry e : newTree.entries()) {
      if (e.type() == TreeEntry.EntryType.FILE) {
        newFiles.add(e.path());
        newFileCount++;
      }
    }
    int oldFileCount = 0;
    int lastOldFile = -1;
    for (int i = 0; i < base.size(); i++) {
      TreeEntry e = base.get(i);
      if (e.type() != TreeEntry.EntryType.FILE) {
        continue;
      }
      oldFileCount++;
      lastOldFile = i;
      byPath.put(e.path(), i);
      boolean isGone = !newFiles.contains(e.path());
      if (isGone) {
        gone.add(i);
      }
      Integer before = byHash.get(e.sha256());
      if (before == null || (isGone && !gone.contains(before))) {
        byHash.put(e.sha256(), i);
      }
      byKey.computeIfAbsent(NameKeys.key(e.path()), k -> new ArrayList<>()).add(i);
      byFileKey.computeIfAbsent(NameKeys.fileKey(e.path()), k -> new ArrayList<>()).add(i);
    }
    onlyOldFile = oldFileCount == 1 ? lastOldFile : -1;
    onlyNewFile = newFileCount == 1 || singleFile;
  }

  /** The old file at the same path, or -1. */
  int samePath(TreeEntry e) {
    return byPath.getOrDefault(e.path(), -1);
  }

  /** An old file with exactly this content, or -1. */
  int sameContent(TreeEntry e) {
    return byHash.getOrDefault(e.sha256(), -1);
  }

  /** The old file to diff {@code e} against, or -1 when it has none and ships whole. */
  int predecessor(TreeEntry e) {
    int same = samePath(e);
    if (same >= 0) {
      return same;
    }
    int byName = best(byKey.get(NameKeys.key(e.path())), e);
    if (byName >= 0) {
      return byName;
    }
    int byFile = best(byFileKey.get(NameKeys.fileKey(e.path())), e);
    if (byFile >= 0) {
      return byFile;
    }
    return onlyNewFile ? onlyOldFile : -1;
  }

  private int best(List<Integer> candidates, TreeEntry e) {
    if (candidates == null) {
      return -1;
    }
    int best = -1;
    for (int c : candidates) {
      if (best < 0 || better(c, best, e)) {
        best = c;
      }
    }
    return best;
  }

  private boolean better(int a, int b, TreeEntry e) {
    boolean aGone = gone.contains(a);
    if (aGone != gone.contains(b)) {
      return aGone;
    }
    return Math.abs(base.get(a).size() - e.size()) < Math.abs(base.get(b).size() - e.size());
  }
}
