package io.upgradekit.plugin.release;

import io.upgradekit.schema.model.PayloadTree;
import java.io.IOException;
import java.nio.file.Path;

/**
 * The release-building steps the plugin needs from the delta engine ({@code
 * io.upgradekit.schema.delta}), on trees laid out as directories. A delta from the empty tree is a
 * release's full package.
 *
 * <p>Every method reports failures of the input as {@link io.upgradekit.schema.UpgradeException}
 * (PAYLOAD_INVALID, PATCH_MALFORMED, BASE_MISMATCH, HASH_MISMATCH) and failures of the environment
 * as {@link IOException}.
 */
public interface DeltaEngine {
  /** The tree a directory holds: every file, symlink and empty directory, with hashes. */
  PayloadTree scan(Path tree) throws IOException;

  /**
   * Writes the delta that turns {@code oldTree} into {@code newTree}.
   *
   * @param oldTree a directory, or null for the empty tree (then the delta is the full package)
   */
  void diff(Path oldTree, Path newTree, Path delta) throws IOException;

  /**
   * Applies a delta to {@code oldTree}, writing the result into {@code outTree} (which must not
   * exist), checking every file it writes against the delta's hashes.
   *
   * @param oldTree a directory, or null for the empty tree
   */
  void apply(Path oldTree, Path delta, Path outTree) throws IOException;

  /**
   * Unpacks an archive payload ({@code .zip}, {@code .tar}, {@code .tar.gz}, {@code .tgz}) into
   * {@code target} (which must not exist) the way the engine reads archives: safe paths, links that
   * stay inside, bounded sizes.
   *
   * @throws io.upgradekit.schema.UpgradeException PAYLOAD_INVALID for unsafe or unsupported content
   */
  void unpack(Path archive, Path target) throws IOException;
}
