package io.upgradekit.plugin.release;

import io.upgradekit.schema.Hashes;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.model.BlobRef;
import io.upgradekit.schema.store.BlobCheck;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** Blob helpers: hashing a file into a {@link BlobRef}, and size-capped, hash-checked copies. */
final class Blobs {
  private Blobs() {}

  static BlobRef of(Path file) throws IOException {
    return new BlobRef(Hashes.sha256(file), Files.size(file));
  }

  /**
   * Copies at most {@code expected.size() + 1} bytes from {@code in} into {@code target} and checks
   * size and SHA-256 ({@link BlobCheck}); a mismatch deletes the target.
   *
   * @throws UpgradeException HASH_MISMATCH naming {@code what}
   */
  static void copyChecked(InputStream in, BlobRef expected, Path target, String what) throws IOException {
    try (OutputStream out = Files.newOutputStream(target, StandardOpenOption.CREATE,
        StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
      BlobCheck.copy(in, expected.sha256(), expected.size(), out, what);
    } catch (UpgradeException e) {
      Files.deleteIfExists(target);
      throw e;
    }
  }
}
