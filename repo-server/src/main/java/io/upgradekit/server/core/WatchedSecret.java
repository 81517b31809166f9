package io.upgradekit.server.core;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * A secret read from a file ({@code --publish-token-file}, {@code --node-secret-file}) and read
 * again when the file changes (a {@link WatchedFile}), so that replacing the file rotates the
 * secret, and so revokes the old one, on a running server within {@code refresh}, no restart.
 *
 * <p>A file that becomes unusable (missing, empty, too short) fails closed: {@link #get} throws
 * IO_ERROR until the file holds a valid secret again, rather than keep accepting the old one.
 * Replace the file atomically (write a new file, then {@code mv} it over the old one), so that no
 * request sees it half-written.
 *
 * <p>Thread-safe. {@link #get} returns the same array until the file changes, so callers may
 * cache what they derive from it by identity.
 */
public final class WatchedSecret implements Supplier<byte[]> {
  private final WatchedFile<byte[]> file;

  private WatchedSecret(WatchedFile<byte[]> file) {
    this.file = file;
  }

  /**
   * Reads the secret now.
   *
   * @param option the option that named the file, for messages
   * @throws UpgradeException CONFIG_INVALID if the file does not hold a usable secret
   */
  public static WatchedSecret open(Path file, String option, Duration refresh, LongSupplier nanoTime) {
    return new WatchedSecret(new WatchedFile<>(file, refresh, nanoTime, f -> Secrets.readFile(f, option),
        why -> new UpgradeException(ErrorCode.IO_ERROR, why + "; until it holds a valid secret again, requests"
            + " that need it are refused (replace the file atomically: write a new one, then mv it over)")));
  }

  /**
   * The current secret, from a version of the file at most {@code refresh} old.
   *
   * @throws UpgradeException IO_ERROR if the file no longer holds a usable secret
   */
  @Override
  public byte[] get() {
    return file.get();
  }
}
