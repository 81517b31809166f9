package io.upgradekit.server.core;

import io.upgradekit.schema.layout.RepositoryLayout;
import io.upgradekit.schema.store.ForwardingStore;
import io.upgradekit.schema.store.RepositoryStore;
import java.io.IOException;
import java.io.InputStream;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * The repository store the server's services write through, telling listeners the path of every
 * write this process makes (whatever its outcome: after a lost race, too, the stored version is not
 * the one known before), so that what the server caches about a file is dropped the moment this
 * process changes it. Reads pass straight through.
 */
public final class ObservedStore extends ForwardingStore {
  private final CopyOnWriteArrayList<Consumer<String>> listeners = new CopyOnWriteArrayList<>();

  public ObservedStore(RepositoryStore store) {
    super(store);
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
  public boolean putBlob(String sha256, long size, InputStream content) throws IOException {
    String path = RepositoryLayout.blob(sha256); // NAME_INVALID for a malformed hash, as from the store
    try {
      return delegate().putBlob(sha256, size, content);
    } finally {
      written(path);
    }
  }

  @Override
  public Write create(String path, byte[] content) throws IOException {
    try {
      return delegate().create(path, content);
    } finally {
      written(path);
    }
  }

  @Override
  public Write compareAndSwap(String path, String expectedTag, long sequence, byte[] content) throws IOException {
    try {
      return delegate().compareAndSwap(path, expectedTag, sequence, content);
    } finally {
      written(path);
    }
  }

  @Override
  public boolean delete(String path) throws IOException {
    try {
      return delegate().delete(path);
    } finally {
      written(path);
    }
  }
}
