package io.upgradekit.server.core;

import io.upgradekit.schema.UpgradeException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.Arrays;
import java.util.Objects;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Function;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * A value read from a file and read again when the file changes, so that a running server picks
 * a change up without a restart: within {@code refresh} of the first {@link #get} after it, with
 * one {@code stat} by one thread at most once per {@code refresh} (other threads meanwhile get the
 * value they had). A file that becomes unusable fails closed: {@link #get} throws until it is
 * usable again, rather than keep serving the old value.
 *
 * <p>Thread-safe. {@link #get} returns the same instance until the file changes.
 */
final class WatchedFile<T> implements Supplier<T> {
  /** Reads the file; throws {@link UpgradeException} (or {@link IOException}) if it is not usable. */
  @FunctionalInterface
  interface Reader<T> {
    T read(Path file) throws IOException;
  }

  private record State<T>(T value, Object identity, UpgradeException failure) {}

  private final Path file;
  private final Duration refresh;
  private final LongSupplier nanoTime;
  private final Reader<T> reader;
  private final Function<String, UpgradeException> failClosed;
  private final ReentrantLock reloading = new ReentrantLock();
  private volatile State<T> state;
  private volatile long nextCheck;

  /**
   * Reads the file now.
   *
   * @param failClosed the exception {@link #get} throws once the file became unusable, from why
   * @throws UpgradeException whatever {@code reader} throws now (an {@link IOException} is given to
   *     {@code failClosed})
   */
  WatchedFile(Path file, Duration refresh, LongSupplier nanoTime, Reader<T> reader,
      Function<String, UpgradeException> failClosed) {
    this.file = Objects.requireNonNull(file, "file");
    if (refresh.isNegative()) {
      throw new IllegalArgumentException("refresh must not be negative: " + refresh);
    }
    this.refresh = refresh;
    this.nanoTime = Objects.requireNonNull(nanoTime, "nanoTime");
    this.reader = Objects.requireNonNull(reader, "reader");
    this.failClosed = Objects.requireNonNull(failClosed, "failClosed");
    Object identity = identity();
    try {
      state = new State<>(reader.read(file), identity, null);
    } catch (IOException e) {
      throw failClosed.apply(e.toString());
    }
    nextCheck = nanoTime.getAsLong() + refresh.toNanos();
  }

  @Override
  public T get() {
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
    State<T> current = state;
    if (current.failure() != null) {
      throw current.failure();
    }
    return current.value();
  }

  private State<T> reload(State<T> previous) {
    Object identity = identity();
    if (previous.failure() == null && identity.equals(previous.identity())) {
      return previous;
    }
    try {
      return new State<>(reader.read(file), identity, null);
    } catch (IOException e) {
      return new State<>(null, null, failClosed.apply(e.toString()));
    } catch (UpgradeException e) {
      return new State<>(null, null, failClosed.apply(e.getMessage()));
    }
  }

  /** Which version of the file is there: a new inode (atomic replace), time or size differ. */
  private Object identity() {
    try {
      BasicFileAttributes attributes = Files.readAttributes(file, BasicFileAttributes.class);
      return Arrays.asList(attributes.fileKey(), attributes.lastModifiedTime(), attributes.size());
    } catch (NoSuchFileException e) {
      return "absent";
    } catch (IOException e) {
      return "unreadable " + System.nanoTime(); // never equal: read again, and fail if it still cannot be read
    }
  }
}
