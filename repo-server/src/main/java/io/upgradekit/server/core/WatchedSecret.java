package io.upgradekit.server.core;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.Arrays;
import java.util.Objects;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * A secret read from a file ({@code --publish-token-file}, {@code --node-secret-file}) and read
 * again when the file changes, so that replacing the file rotates the secret (and so revokes the
 * old one) on a running server: within {@code refresh} of the first request after the change, one
 * {@code stat} by one thread at most once per {@code refresh}, no restart.
 *
 * <p>A file that becomes unusable (missing, empty, too short) fails closed: {@link #get} throws
 * until the file holds a valid secret again, rather than keep accepting the old one. Replace the
 * file atomically (write a new file, then {@code mv} it over the old one), so that no request
 * sees it half-written.
 *
 * <p>Thread-safe. {@link #get} returns the same array until the secret changes, so callers may
 * cache what they derive from it by identity.
 */
public final class WatchedSecret implements Supplier<byte[]> {
  private record State(byte[] secret, Object identity, UpgradeException failure) {}

  private final Path file;
  private final String option;
  private final Duration refresh;
  private final LongSupplier nanoTime;
  private final ReentrantLock reloading = new ReentrantLock();
  private volatile State state;
  private volatile long nextCheck;

  private WatchedSecret(Path file, String option, Duration refresh, LongSupplier nanoTime) {
    this.file = Objects.requireNonNull(file, "file");
    this.option = Objects.requireNonNull(option, "option");
    this.refresh = Objects.requireNonNull(refresh, "refresh");
    this.nanoTime = Objects.requireNonNull(nanoTime, "nanoTime");
  }

  /**
   * Reads the secret now.
   *
   * @param option the option that named the file, for messages
   * @throws UpgradeException KEY_INVALID if the file does not hold a usable secret
   */
  public static WatchedSecret open(Path file, String option, Duration refresh, LongSupplier nanoTime) {
    WatchedSecret secret = new WatchedSecret(file, option, refresh, nanoTime);
    secret.state = new State(Secrets.readFile(file, option), secret.identity(), null);
    secret.nextCheck = nanoTime.getAsLong() + refresh.toNanos();
    return secret;
  }

  /**
   * The current secret, from a version of the file at most {@code refresh} old.
   *
   * @throws UpgradeException IO_ERROR if the file no longer holds a usable secret
   */
  @Override
  public byte[] get() {
    long now = nanoTime.getAsLong();
    if (now - nextCheck >= 0 && reloading.tryLock()) {
      try {
        if (now - nextCheck >= 0) {
          state = reload(state);
          nextCheck = now + refresh.toNanos();
        }
      } finally {
        reloading.unlock();
      }
    }
    State current = state;
    if (current.failure() != null) {
      throw current.failure();
    }
    return current.secret();
  }

  private State reload(State previous) {
    Object identity = identity();
    if (previous.failure() == null && identity != null && identity.equals(previous.identity())) {
      return previous;
    }
    try {
      byte[] secret = Secrets.readFile(file, option);
      return Arrays.equals(secret, previous.secret()) && previous.failure() == null
          ? new State(previous.secret(), identity, null)
          : new State(secret, identity, null);
    } catch (UpgradeException e) {
      return new State(null, null, new UpgradeException(ErrorCode.IO_ERROR, e.getMessage()
          + "; until it holds a valid secret again, requests that need it are refused (replace the file"
          + " atomically: write a new one, then mv it over)", e));
    }
  }

  private Object identity() {
    try {
      BasicFileAttributes attributes = Files.readAttributes(file, BasicFileAttributes.class);
      return Arrays.asList(attributes.fileKey(), attributes.lastModifiedTime(), attributes.size());
    } catch (IOException e) {
      return null;
    }
  }
}
