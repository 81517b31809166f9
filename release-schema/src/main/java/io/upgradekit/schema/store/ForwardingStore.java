package io.upgradekit.schema.store;

import java.io.IOException;
import java.io.InputStream;
import java.util.Objects;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * A store that hands every call to another one: the base of stores that watch or change a few
 * calls (repo-server's observed store; tests' slow or counting stores) and pass the rest through.
 */
public abstract class ForwardingStore implements RepositoryStore {
  private final RepositoryStore store;

  protected ForwardingStore(RepositoryStore store) {
    this.store = Objects.requireNonNull(store, "store");
  }

  /** The store the calls go to. */
  protected final RepositoryStore delegate() {
    return store;
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
    return store.putBlob(sha256, size, content);
  }

  @Override
  public Write create(String path, byte[] content) throws IOException {
    return store.create(path, content);
  }

  @Override
  public Write compareAndSwap(String path, String expectedTag, long sequence, byte[] content) throws IOException {
    return store.compareAndSwap(path, expectedTag, sequence, content);
  }

  @Override
  public Stream<Entry> list(String prefix) throws IOException {
    return store.list(prefix);
  }

  @Override
  public boolean delete(String path) throws IOException {
    return store.delete(path);
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
