package io.upgradekit.updater.engine;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Builds a version's tree from a downloaded blob: a delta from the installed tree, or the full
 * package (a delta from the empty tree). The delta engine of {@code release-schema} is the
 * production implementation; the stager verifies every file of the result against the signed
 * manifest whatever the applier did.
 */
@FunctionalInterface
public interface PayloadApplier {
  /**
   * @param blob the verified blob
   * @param baseDir the installed version's tree, or null when {@code blob} is the full package
   * @param outDir the directory to create (it does not exist yet; its parent does) and fill
   * @param expectedTreeHash the signed manifest's tree hash, which the result must have
   * @throws io.upgradekit.schema.UpgradeException PATCH_MALFORMED, BASE_MISMATCH, HASH_MISMATCH, PAYLOAD_INVALID
   */
  void apply(Path blob, Path baseDir, Path outDir, String expectedTreeHash) throws IOException;
}
