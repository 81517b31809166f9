package io.upgradekit.plugin.release;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.Hashes;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.io.DurableFiles;
import io.upgradekit.schema.io.PointerSwap;
import io.upgradekit.schema.json.Json;
import io.upgradekit.schema.layout.RepositoryLayout;
import io.upgradekit.schema.model.BlobRef;
import io.upgradekit.schema.model.DocumentType;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * A repository in a directory (local, or a mount that keeps POSIX rename and link semantics), written
 * only through {@link DurableFiles}.
 *
 * <p>Channel pointers are replaced by compare-and-swap on their sequence with release-schema's
 * {@link PointerSwap}, the protocol repo-server's publish API uses too, so both may publish into one
 * directory: a publisher claims sequence {@code n} by creating {@code
 * apps/<app>/channels/.<channel>.sequence/<n>} exclusively (a claim with a lease, naming the
 * process), then compares and renames under the OS lock on {@code .<channel>.json.lock}. A claim
 * whose publisher died (or whose lease ran out) is taken over by the next publisher, which fences
 * the old one: a publisher that was only slow finds its claim superseded and writes nothing. Claim
 * directories and lock files are dot files, which {@link RepositoryLayout#isHidden} static servers
 * never serve.
 */
public final class DirectoryRepository implements Repository {
  private final Path root;
  private final Duration lease;
  private final Duration maxWait;
  private final Clock clock;
  private final Consumer<String> progress;

  public DirectoryRepository(Path root) {
    this(root, s -> { });
  }

  /** @param progress told when a pointer swap waits for another publisher, and why */
  public DirectoryRepository(Path root, Consumer<String> progress) {
    this(root, PointerSwap.DEFAULT_LEASE, PointerSwap.DEFAULT_MAX_WAIT, Clock.systemUTC(), progress);
  }

  DirectoryRepository(Path root, Duration lease, Duration maxWait, Clock clock, Consumer<String> progress) {
    this.root = Objects.requireNonNull(root, "root").toAbsolutePath().normalize();
    this.lease = Objects.requireNonNull(lease, "lease");
    this.maxWait = Objects.requireNonNull(maxWait, "maxWait");
    this.clock = Objects.requireNonNull(clock, "clock");
    this.progress = Objects.requireNonNull(progress, "progress");
  }

  public Path root() {
    return root;
  }

  @Override
  public String location() {
    return root.toString();
  }

  @Override
  public Stored read(String path, int maxBytes) throws IOException {
    Path file = RepositoryLayout.resolve(root, path);
    byte[] bytes;
    try {
      long size = Files.size(file);
      if (size > maxBytes) {
        throw new UpgradeException(ErrorCode.METADATA_TOO_LARGE, path + " is " + size
            + " bytes, more than the " + maxBytes + "-byte limit for its type");
      }
      bytes = Files.readAllBytes(file);
    } catch (NoSuchFileException e) {
      return null;
    }
    return new Stored(bytes, Hashes.sha256(bytes));
  }

  @Override
  public boolean fetchBlob(BlobRef blob, Path target) throws IOException {
    Path file = RepositoryLayout.resolve(root, RepositoryLayout.blob(blob.sha256()));
    try (InputStream in = Files.newInputStream(file)) {
      Blobs.copyChecked(in, blob, target, "blob " + blob.sha256() + " in " + root);
      return true;
    } catch (NoSuchFileException e) {
      return false;
    }
  }

  @Override
  public boolean putBlob(BlobRef blob, Path file) throws IOException {
    Path target = RepositoryLayout.resolve(root, RepositoryLayout.blob(blob.sha256()));
    if (Files.isRegularFile(target) && Files.size(target) == blob.size()) {
      return false; // named by its hash: same name, same content (verify checks the hash)
    }
    DurableFiles.createDirectories(target.getParent());
    // Replacing is harmless here: every writer of this name writes the same bytes.
    DurableFiles.writeAtomically(target, out -> Files.copy(file, out));
    return true;
  }

  @Override
  public byte[] createManifest(String app, String version, byte[] envelope) throws IOException {
    Path target = RepositoryLayout.resolve(root, RepositoryLayout.releaseManifest(app, version));
    DurableFiles.createDirectories(target.getParent());
    if (DurableFiles.createExclusively(target, envelope)) {
      return null;
    }
    return Files.readAllBytes(target);
  }

  @Override
  public boolean replacePointer(String app, String channel, Stored expected, long expectedSequence,
      byte[] envelope, long newSequence) throws IOException {
    Path pointer = RepositoryLayout.resolve(root, RepositoryLayout.channelPointer(app, channel));
    DurableFiles.createDirectories(pointer.getParent());
    String expectedTag = expected == null ? null : expected.tag();
    PointerSwap swap = new PointerSwap(pointer, DocumentType.CHANNEL.maxBytes(), lease, maxWait, clock, progress);
    PointerSwap.Outcome outcome = swap.swap(newSequence, envelope, expectedTag == null ? "none" : expectedTag,
        current -> Objects.equals(current == null ? null : Hashes.sha256(current), expectedTag));
    return outcome == PointerSwap.Outcome.SWAPPED;
  }

  @Override
  public boolean addTrustRoot(long version, byte[] envelope) throws IOException {
    Json.requireWithinCap(envelope.length, DocumentType.ROOT);
    Path current = RepositoryLayout.resolve(root, RepositoryLayout.trustRoot());
    if (version == 1 && Files.exists(current)) {
      return false;
    }
    Path numbered = RepositoryLayout.resolve(root, RepositoryLayout.trustRoot(version));
    DurableFiles.createDirectories(numbered.getParent());
    if (!DurableFiles.createExclusively(numbered, envelope)) {
      return false;
    }
    // The numbered version first: a node that finds root.json can always walk the chain to it.
    DurableFiles.writeAtomically(current, envelope);
    return true;
  }

  @Override
  public List<String> listFiles() throws IOException {
    List<String> files = new ArrayList<>();
    if (!Files.isDirectory(root)) {
      throw new NoSuchFileException(root.toString(), null, "the repository directory does not exist");
    }
    try (Stream<Path> walk = Files.walk(root)) {
      walk.filter(Files::isRegularFile).forEach(file -> {
        String relative = root.relativize(file).toString().replace(file.getFileSystem().getSeparator(), "/");
        if (!RepositoryLayout.isHidden(relative)) {
          files.add(relative);
        }
      });
    }
    files.sort(null);
    return files;
  }

  @Override
  public void close() {}

  @Override
  public String toString() {
    return "DirectoryRepository[" + root + "]";
  }
}
