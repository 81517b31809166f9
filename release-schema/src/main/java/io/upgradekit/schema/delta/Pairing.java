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
 * changed with the release ({@link NameKeys}): first by whole path, then by file name alone, then
 * with letter-only bundler hashes blanked too. Names that differ only by versions pair as they are:
 * among several candidates, old files that no longer exist in the new tree come first, then the
 * closest in size. Where a name's hash is blanked, the most similar candidate by content
 * ({@link Similarity}) wins if it is similar enough; for a part that is surely a hash, the rule above
 * decides otherwise (measured on Artemis's rebuilt web console: minified chunks whose identifiers
 * all changed share little by the sketch yet patch well against each other, 0.85 MB of its delta).
 * A letter-only part, which may be a word, pairs only by content.
 */
final class Pairing {
  /** How much of their content an old file and a new one share (a {@link Sketch} estimate), or -1 if unknown. */
  @FunctionalInterface
  interface Similarity {
    double of(int oldIndex, TreeEntry newEntry);
  }

  private final List<TreeEntry> base;
  private final Map<String, Integer> byPath = new HashMap<>();
  private final Map<String, Integer> byHash = new HashMap<>();
  private final Map<String, List<Integer>> byKey = new HashMap<>();
  private final Map<String, List<Integer>> byFileKey = new HashMap<>();
  private final Map<String, List<Integer>> byLooseKey = new HashMap<>();
  private final Similarity similarity;
  private final Set<Integer> gone = new HashSet<>();
  private final int onlyOldFile;
  private final boolean onlyNewFile;

  Pairing(PayloadTree oldTree, PayloadTree newTree, boolean singleFile, Similarity similarity) {
    this.similarity = similarity;
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
      byLooseKey.computeIfAbsent(NameKeys.looseKey(e.path()), k -> new ArrayList<>()).add(i);
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
    String key = NameKeys.key(e.path());
    int byName = best(byKey.get(key), e, key.indexOf('*') >= 0, false);
    if (byName >= 0) {
      return byName;
    }
    String fileKey = NameKeys.fileKey(e.path());
    int byFile = best(byFileKey.get(fileKey), e, fileKey.indexOf('*') >= 0, false);
    if (byFile >= 0) {
      return byFile;
    }
    String loose = NameKeys.looseKey(e.path());
    int byLoose = loose.equals(key) ? -1 : best(byLooseKey.get(loose), e, true, true);
    if (byLoose >= 0) {
      return byLoose;
    }
    return onlyNewFile ? onlyOldFile : -1;
  }

  /** The best candidate: by content first if {@code byContent}, which alone decides if {@code onlyByContent}. */
  private int best(List<Integer> candidates, TreeEntry e, boolean byContent, boolean onlyByContent) {
    if (candidates == null) {
      return -1;
    }
    if (byContent) {
      int best = -1;
      double bestScore = Sketch.PAIRING_THRESHOLD;
      for (int c : candidates) {
        double score = similarity.of(c, e);
        if (score > bestScore || score == bestScore && best >= 0 && better(c, best, e)) {
          best = c;
          bestScore = score;
        }
      }
      if (best >= 0 || onlyByContent) {
        return best;
      }
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
