package io.upgradekit.server.core;

import io.upgradekit.schema.layout.RepositoryLayout;
import io.upgradekit.schema.store.RepositoryStore;
import java.io.IOException;
import java.io.InputStream;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * The repository store the server's services write through, telling listeners the path of every
 * write this process makes (whatever its outcome: after a lost race, too, the stored version is not
 * the one known before), so that what the server caches about a file is dropped the moment this
 * process changes it. Reads pass straight through.
 */
public final class ObservedStore implements RepositoryStore {
  private final RepositoryStore store;
  private final CopyOnWriteArrayList<Consumer<String>> listeners = new CopyOnWriteArrayList<>();

  public ObservedStore(RepositoryStore store) {
    this.store = Objects.requireNonNull(store, "store");
  }

  /** Calls {@code listener} with the path of each write, after the write (also a failed one). */
  public void onWrite(Consumer<String> listener) {
    listeners.add(Objects.requireNonNull(listener, "listener"));
  }

  private void written(String path) {
    for (Consumer<String> listener : listeners) {
      listener.accept(path);
    }
  }

  @Override
  public String location() {
    return store.location();
  }

  @Override
  public Optional<Versioned> read(String path, int maxBytes) throws IOException {
    return store.read(path, maxBytes);
  }

  @Override
  public Optional<Entry> stat(String path) throws IOException {
    return store.stat(path);
  }

  @Override
  public Optional<InputStream> open(String path) throws IOException {
    return store.open(path);
  }

  @Override
  public Optional<InputStream> open(String path, long offset) throws IOException {
    return store.open(path, offset);
  }

  @Override
  public boolean putBlob(String sha256, long size, InputStream content) throws IOException {
    String path = RepositoryLayout.blob(sha256); // NAME_INVALID for a malformed hash, as from the store
    try {
      return store.putBlob(sha256, size, content);
    } finally {
      written(path);
    }
  }

  @Override
  public Write create(String path, byte[] content) throws IOException {
    try {
      return store.create(path, content);
    } finally {
      written(path);
    }
  }

  @Override
  public Write compareAndSwap(String path, String expectedTag, long sequence, byte[] content) throws IOException {
    try {
      return store.compareAndSwap(path, expectedTag, sequence, content);
    } finally {
      written(path);
    }
  }

  @Override
  public Stream<Entry> list(String prefix) throws IOException {
    return store.list(prefix);
  }

  @Override
  public boolean delete(String path) throws IOException {
    try {
      return store.delete(path);
    } finally {
      written(path);
    }
  }

  @Override
  public void close() throws IOException {
    store.close();
  }

  @Override
  public String toString() {
    return store.toString();
  }
}
