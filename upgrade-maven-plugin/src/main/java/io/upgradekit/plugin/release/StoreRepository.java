package io.upgradekit.plugin.release;

import io.upgradekit.schema.layout.RepositoryLayout;
import io.upgradekit.schema.model.BlobRef;
import io.upgradekit.schema.model.DocumentType;
import io.upgradekit.schema.store.RepositoryStore;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * A repository written straight through one of release-schema's {@link RepositoryStore}s: a
 * directory ({@link DirectoryRepository}) or a bucket of an S3-compatible object store (the {@code
 * repository-s3} library's {@code S3Store}). repo-server writes through the same stores, so the
 * plugin and any number of servers may publish into one repository at the same time.
 *
 * <p>The rules are the store's: blobs are checked against their hash and size as they are stored,
 * manifests are created once ({@link RepositoryStore#createOrRead}: of concurrent publishers of one
 * version exactly one creates it, the others read what it stored), and a channel pointer is
 * replaced only by {@link RepositoryStore#compareAndSwap} from the version this publisher read.
 */
public class StoreRepository implements Repository {
  private final RepositoryStore store;

  /** @param store the store; closed with this repository */
  public StoreRepository(RepositoryStore store) {
    this.store = Objects.requireNonNull(store, "store");
  }

  /** The store this repository writes through. */
  public RepositoryStore store() {
    return store;
  }

  @Override
  public String location() {
    return store.location();
  }

  @Override
  public Stored read(String path, int maxBytes) throws IOException {
    return store.read(path, maxBytes).map(found -> new Stored(found.bytes(), found.tag())).orElse(null);
  }

  @Override
  public boolean fetchBlob(BlobRef blob, Path target) throws IOException {
    Optional<InputStream> opened = store.open(RepositoryLayout.blob(blob.sha256()));
    if (opened.isEmpty()) {
      return false;
    }
    try (InputStream in = opened.get()) {
      Blobs.copyChecked(in, blob, target, "blob " + blob.sha256() + " in " + location());
      return true;
    }
  }

  @Override
  public boolean putBlob(BlobRef blob, Path file) throws IOException {
    Optional<RepositoryStore.Entry> existing = store.stat(RepositoryLayout.blob(blob.sha256()));
    if (existing.isPresent() && existing.get().size() == blob.size()) {
      return false; // named by its hash: same name, same content (verify checks the hash)
    }
    try (InputStream in = Files.newInputStream(file)) {
      return store.putBlob(blob.sha256(), blob.size(), in);
    }
  }

  @Override
  public byte[] createManifest(String app, String version, byte[] envelope) throws IOException {
    RepositoryStore.Created created = store.createOrRead(RepositoryLayout.releaseManifest(app, version), envelope,
        DocumentType.RELEASE.maxBytes());
    return created.created() ? null : created.stored();
  }

  @Override
  public byte[] createReleaseSet(String name, String version, byte[] envelope) throws IOException {
    RepositoryStore.Created created = store.createOrRead(RepositoryLayout.releaseSet(name, version), envelope,
        DocumentType.RELEASE_SET.maxBytes());
    return created.created() ? null : created.stored();
  }

  @Override
  public boolean replacePointer(String app, String channel, Stored expected, long expectedSequence,
      byte[] envelope, long newSequence) throws IOException {
    return store.compareAndSwap(RepositoryLayout.channelPointer(app, channel), expected == null ? null : expected.tag(),
        newSequence, envelope).written();
  }

  /** The size of a stored file, or empty if there is none (for {@code verify}, which reads each blob once). */
  public Optional<Long> sizeOf(String path) throws IOException {
    return store.stat(path).map(RepositoryStore.Entry::size);
  }

  @Override
  public List<String> listFiles() throws IOException {
    try (Stream<RepositoryStore.Entry> entries = store.list("")) {
      return entries.map(RepositoryStore.Entry::path).sorted().toList();
    }
  }

  @Override
  public void close() throws IOException {
    store.close();
  }

  @Override
  public String toString() {
    return getClass().getSimpleName() + "[" + location() + "]";
  }
}
