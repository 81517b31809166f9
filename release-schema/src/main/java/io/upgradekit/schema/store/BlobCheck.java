package io.upgradekit.schema.store;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.Hashes;
import io.upgradekit.schema.UpgradeException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.security.MessageDigest;

/**
 * Copies a blob while checking it against its name: the SHA-256, and the size where it is known.
 * Used on the way in ({@link RepositoryStore#putBlob}) and on the way out (a publisher fetching a
 * base release), so that a blob is checked the same way wherever it moves.
 */
public final class BlobCheck {
  private static final int BUFFER_SIZE = 64 * 1024;

  private BlobCheck() {}

  /**
   * Copies {@code in} to {@code out} and checks what was copied. With a known size, at most {@code
   * size + 1} bytes are read: a longer stream fails at once. The caller discards {@code out}'s
   * content on failure (the store deletes its temp file).
   *
   * @param sha256 the expected SHA-256, 64 lowercase hex digits
   * @param size the expected size, or {@link RepositoryStore#UNKNOWN_SIZE}
   * @param what names the blob in the message, e.g. {@code blob <hash> from <url>}
   * @return the number of bytes copied
   * @throws UpgradeException {@link ErrorCode#HASH_MISMATCH} if the content does not match
   */
  public static long copy(InputStream in, String sha256, long size, OutputStream out, String what)
      throws IOException {
    MessageDigest digest = Hashes.newSha256();
    byte[] buffer = new byte[BUFFER_SIZE];
    long total = 0;
    boolean tooLong = false;
    for (int n; (n = in.read(buffer, 0, chunk(size, total))) > 0; ) {
      total += n;
      if (size >= 0 && total > size) {
        tooLong = true;
        break;
      }
      digest.update(buffer, 0, n);
      out.write(buffer, 0, n);
    }
    String actual = Hashes.hex(digest.digest());
    if (tooLong || (size >= 0 && total != size) || !actual.equals(sha256)) {
      String expected = size >= 0 ? size + " bytes with SHA-256 " + sha256 : "SHA-256 " + sha256;
      throw new UpgradeException(ErrorCode.HASH_MISMATCH, what + " does not match its reference (expected "
          + expected + ", got " + (tooLong ? "more bytes" : total + " bytes with SHA-256 " + actual) + ")");
    }
    return total;
  }

  /** Reads no further than one byte past a known size. */
  private static int chunk(long size, long total) {
    return size < 0 ? BUFFER_SIZE : (int) Math.min(BUFFER_SIZE, Math.max(1, size + 1 - total));
  }
}
