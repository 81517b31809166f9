package io.upgradekit.schema.delta;

import io.upgradekit.schema.io.FileTrees;
import io.upgradekit.schema.model.PayloadTree;
import java.nio.file.Path;
import java.util.Objects;

/**
 * A payload opened for diffing or patching: its {@link PayloadTree} and where each entry's bytes
 * are on disk. An archive is unpacked into a private directory that {@link #close()} deletes; a
 * directory or single file is used in place and left alone.
 *
 * <p>Obtain one with {@link PayloadReader}.
 */
public final class Payload implements AutoCloseable {
  private final PayloadTree tree;
  private final Path root;
  private final Path singleFile;
  private final Path owned;

  Payload(PayloadTree tree, Path root, Path singleFile, Path owned) {
    this.tree = Objects.requireNonNull(tree, "tree");
    this.root = root;
    this.singleFile = singleFile;
    this.owned = owned;
  }

  /** The payload with nothing in it: what a release's full package is diffed against. */
  public static Payload empty() {
    return new Payload(PayloadTree.empty(), null, null, null);
  }

  public PayloadTree tree() {
    return tree;
  }

  /** True for a one-file payload read from a single file (a jar, a war, ...). */
  public boolean isSingleFile() {
    return singleFile != null;
  }

  /** The directory that holds the tree; null for a single file or the empty payload. */
  public Path root() {
    return root;
  }

  /** Where the bytes of the entry at {@code treePath} are. */
  public Path file(String treePath) {
    if (singleFile != null) {
      return singleFile;
    }
    return root.resolve(treePath);
  }

  /** Deletes the unpacked copy of an archive; leaves directories and files it did not create. */
  @Override
  public void close() {
    FileTrees.deleteQuietly(owned);
  }
}
