package io.upgradekit.schema.model;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.Hashes;
import io.upgradekit.schema.UpgradeException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * A release's payload: the entries of a tree, sorted by path, unique. A single jar is a one-entry
 * tree.
 *
 * @param entries the entries in path order (sorted on construction)
 */
public record PayloadTree(List<TreeEntry> entries) {
  /** A tree cannot list more entries than this; larger manifests are refused. */
  public static final int MAX_ENTRIES = 200_000;

  public PayloadTree {
    Objects.requireNonNull(entries, "entries");
    if (entries.size() > MAX_ENTRIES) {
      throw new UpgradeException(
          ErrorCode.METADATA_TOO_LARGE, "a tree lists " + entries.size() + " entries, more than " + MAX_ENTRIES);
    }
    List<TreeEntry> sorted = new ArrayList<>(entries);
    sorted.sort(Comparator.comparing(TreeEntry::path));
    Set<String> seen = new HashSet<>();
    for (TreeEntry entry : sorted) {
      if (!seen.add(entry.path())) {
        throw new UpgradeException(ErrorCode.METADATA_MALFORMED, "tree lists '" + entry.path() + "' twice");
      }
    }
    entries = List.copyOf(sorted);
  }

  public static PayloadTree empty() {
    return new PayloadTree(List.of());
  }

  /** Sum of file sizes. */
  public long totalSize() {
    return entries.stream().mapToLong(TreeEntry::size).sum();
  }

  /**
   * A SHA-256 that names this exact tree: paths, types, sizes, hashes, executable bits and link
   * targets, in path order. A delta records the hash of the tree it applies to, so it is never
   * applied to another.
   */
  public String treeHash() {
    MessageDigest digest = Hashes.newSha256();
    for (TreeEntry e : entries) {
      String line = e.type() + "\0" + e.path() + "\0" + e.size() + "\0"
          + (e.sha256() == null ? "" : e.sha256()) + "\0" + (e.executable() ? "x" : "-") + "\0"
          + (e.target() == null ? "" : e.target()) + "\n";
      digest.update(line.getBytes(StandardCharsets.UTF_8));
    }
    return Hashes.hex(digest.digest());
  }
}
