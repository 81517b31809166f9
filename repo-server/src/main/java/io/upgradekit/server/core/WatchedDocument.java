package io.upgradekit.server.core;

import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.store.RepositoryStore;
import java.io.IOException;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Function;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * {@link WatchedFile} for a document in a {@link RepositoryStore} (an object store has no {@code
 * stat} that says a document changed): read again by one thread at most once per {@code refresh},
 * parsed again only when its tag changed; other threads meanwhile get the value they had. A
 * document that becomes unreadable or invalid fails closed: {@link #get} throws until it is usable
 * again.
 */
final class WatchedDocument<T> implements Supplier<T> {
  /** Parses the document, or gives the value for no document (bytes null); throws if it is not usable. */
  @FunctionalInterface
  interface Parser<T> {
    T parse(byte[] bytes);
  }

  private record State<T>(T value, String tag, UpgradeException failure) {}

  private final RepositoryStore store;
  private final String path;
  private final int maxBytes;
  private final Duration refresh;
  private final LongSupplier nanoTime;
  private final Parser<T> parser;
  private final Function<String, UpgradeException> failClosed;
  private final ReentrantLock reloading = new ReentrantLock();
  private volatile State<T> state;
  private volatile long nextCheck;

  /** Reads the document now; throws what {@code failClosed} makes of a failure. */
  WatchedDocument(RepositoryStore store, String path, int maxBytes, Duration refresh, LongSupplier nanoTime,
      Parser<T> parser, Function<String, UpgradeException> failClosed) {
    this.store = Objects.requireNonNull(store, "store");
    this.path = Objects.requireNonNull(path, "path");
    this.maxBytes = maxBytes;
    this.refresh = Objects.requireNonNull(refresh, "refresh");
    this.nanoTime = Objects.requireNonNull(nanoTime, "nanoTime");
    this.parser = Objects.requireNonNull(parser, "parser");
    this.failClosed = Objects.requireNonNull(failClosed, "failClosed");
    state = reload(new State<>(null, null, null));
    if (state.failure() != null) {
      throw state.failure();
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
    try {
      Optional<RepositoryStore.Versioned> read = store.read(path, maxBytes);
      String tag = read.map(RepositoryStore.Versioned::tag).orElse("absent");
      if (previous.failure() == null && tag.equals(previous.tag())) {
        return previous;
      }
      return new State<>(parser.parse(read.map(RepositoryStore.Versioned::bytes).orElse(null)), tag, null);
    } catch (IOException e) {
      return new State<>(null, null, failClosed.apply(e.toString()));
    } catch (UpgradeException e) {
      return new State<>(null, null, failClosed.apply(e.getMessage()));
    }
  }
}
