package io.upgradekit.plugin.release;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.Hashes;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.model.BlobRef;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;

/** Blob helpers: hashing a file into a {@link BlobRef}, and size-capped, hash-checked copies. */
final class Blobs {
  private Blobs() {}

  static BlobRef of(Path file) throws IOException {
    return new BlobRef(Hashes.sha256(file), Files.size(file));
  }

  /**
   * Copies at most {@code expected.size()} bytes from {@code in} into {@code target} and checks
   * size and SHA-256; a mismatch deletes the target.
   *
   * @throws UpgradeException HASH_MISMATCH naming {@code what}
   */
  static void copyChecked(InputStream in, BlobRef expected, Path target, String what) throws IOException {
    MessageDigest digest = Hashes.newSha256();
    long total = 0;
    boolean tooLong = false;
    try (OutputStream out = Files.newOutputStream(target, StandardOpenOption.CREATE,
        StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
      byte[] buffer = new byte[64 * 1024];
      for (int n; (n = in.read(buffer)) > 0; ) {
        total += n;
        if (total > expected.size()) {
          tooLong = true;
          break;
        }
        digest.update(buffer, 0, n);
        out.write(buffer, 0, n);
      }
    }
    String actual = Hashes.hex(digest.digest());
    if (tooLong || total != expected.size() || !actual.equals(expected.sha256())) {
      Files.deleteIfExists(target);
      throw new UpgradeException(ErrorCode.HASH_MISMATCH, what + " does not match its reference (expected "
          + expected.size() + " bytes with SHA-256 " + expected.sha256() + ", got "
          + (tooLong ? "more bytes" : total + " bytes with SHA-256 " + actual) + ")");
    }
  }
}
