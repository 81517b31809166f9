package io.upgradekit.schema.model;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.Hashes;
import io.upgradekit.schema.UpgradeException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;

/**
 * A release's payload: the entries of a tree, sorted by path, unique. A single jar is a one-entry
 * tree.
 *
 * @param entries the entries in path order (sorted on construction)
 */
public record PayloadTree(List<TreeEntry> entries) {
  /**
   * A tree cannot list more entries than this; larger manifests are refused. Sized so that a node
   * with the distribution's 64 MiB heap can hold a tree at this cap, and a delta describing one,
   * with room to spare (a tree costs about 300 bytes of heap per entry plus its names).
   */
  public static final int MAX_ENTRIES = 100_000;

  /**
   * A tree's paths and link targets together hold at most this many bytes of UTF-8. With {@link
   * #MAX_ENTRIES} it bounds the memory a tree takes, whoever describes it (a manifest, a delta).
   */
  public static final int MAX_NAME_BYTES = 8 << 20;

  public PayloadTree {
    Objects.requireNonNull(entries, "entries");
    if (entries.size() > MAX_ENTRIES) {
      throw new UpgradeException(
          ErrorCode.METADATA_TOO_LARGE, "a tree lists " + entries.size() + " entries, more than " + MAX_ENTRIES);
    }
    List<TreeEntry> sorted = new ArrayList<>(entries);
    sorted.sort(Comparator.comparing(TreeEntry::path));
    long nameBytes = 0;
    List<String> paths = new ArrayList<>(sorted.size());
    for (int i = 0; i < sorted.size(); i++) {
      TreeEntry entry = sorted.get(i);
      if (i > 0 && entry.path().equals(sorted.get(i - 1).path())) {
        throw new UpgradeException(ErrorCode.METADATA_MALFORMED, "tree lists '" + entry.path() + "' twice");
      }
      nameBytes += TreePaths.utf8Length(entry.path()) + (entry.target() == null ? 0 : TreePaths.utf8Length(entry.target()));
      paths.add(entry.path());
    }
    if (nameBytes > MAX_NAME_BYTES) {
      throw new UpgradeException(ErrorCode.METADATA_TOO_LARGE, "a tree's paths and link targets take " + nameBytes
          + " bytes, more than " + MAX_NAME_BYTES);
    }
    TreePaths.requireDistinct(paths);
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
