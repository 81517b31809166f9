package io.upgradekit.plugin.release;

import io.upgradekit.schema.io.PointerSwap;
import io.upgradekit.schema.layout.RepositoryLayout;
import io.upgradekit.schema.model.BlobRef;
import io.upgradekit.schema.model.DocumentType;
import io.upgradekit.schema.store.DirectoryStore;
import io.upgradekit.schema.store.RepositoryStore;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * A repository in a directory (local, or a mount that keeps POSIX rename and link semantics): the
 * publisher's view of release-schema's {@link DirectoryStore}, which repo-server writes through
 * too, so both may publish into one directory.
 *
 * <p>Blobs are checked against their hash and size as they are stored, manifests are created once
 * (never replaced), and channel pointers are replaced by the store's compare-and-swap: the
 * publisher claims the pointer's sequence in a hidden claim directory (a lease naming the
 * process; a claim whose publisher died or whose lease ran out is taken over, which fences the
 * old publisher), then compares and renames under an OS lock. Claim directories and lock files
 * are dot files, which static servers never serve.
 */
public final class DirectoryRepository implements Repository {
  private final DirectoryStore store;

  public DirectoryRepository(Path root) {
    this(root, s -> { });
  }

  /** @param progress told when a pointer swap waits for another publisher, and why */
  public DirectoryRepository(Path root, Consumer<String> progress) {
    this(root, PointerSwap.DEFAULT_LEASE, PointerSwap.DEFAULT_MAX_WAIT, Clock.systemUTC(), progress);
  }

  DirectoryRepository(Path root, Duration lease, Duration maxWait, Clock clock, Consumer<String> progress) {
    this.store = new DirectoryStore(root, lease, maxWait, clock, progress);
  }

  public Path root() {
    return store.root();
  }

  /** The store this repository writes through. */
  public DirectoryStore store() {
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
      Blobs.copyChecked(in, blob, target, "blob " + blob.sha256() + " in " + root());
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

  @Override
  public List<String> listFiles() throws IOException {
    if (!Files.isDirectory(root())) {
      throw new NoSuchFileException(root().toString(), null, "the repository directory does not exist");
    }
    try (Stream<RepositoryStore.Entry> entries = store.list("")) {
      return entries.map(RepositoryStore.Entry::path).sorted().toList();
    }
  }

  @Override
  public void close() {}

  @Override
  public String toString() {
    return "DirectoryRepository[" + root() + "]";
  }
}
