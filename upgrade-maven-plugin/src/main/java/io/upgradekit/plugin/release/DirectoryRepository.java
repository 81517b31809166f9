package io.upgradekit.plugin.release;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.Hashes;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.io.DurableFiles;
import io.upgradekit.schema.json.Json;
import io.upgradekit.schema.layout.RepositoryLayout;
import io.upgradekit.schema.model.BlobRef;
import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import java.util.stream.Stream;

/**
 * A repository in a directory (local, or a mount that keeps POSIX rename and link semantics), written
 * only through {@link DurableFiles}.
 *
 * <p>Channel pointers are replaced by compare-and-swap on their sequence: a publisher first claims
 * sequence {@code n} by creating {@code apps/<app>/channels/.<channel>.sequence/<n>} exclusively
 * (hard link; exactly one publisher wins, even across processes and machines sharing the
 * directory), and only the winner renames its pointer into place. The claim file holds the signed
 * pointer, so a publish that died between claim and rename can be finished by hand. The winner
 * compares and renames while holding the OS lock on {@code .<channel>.json.lock} that repo-server's
 * publish API takes for the same swap, so both may publish into one directory. Claim directories
 * and lock files are dot files, which {@link RepositoryLayout#isHidden} static servers never serve.
 */
public final class DirectoryRepository implements Repository {
  /** How long a losing publisher waits for the winner's pointer to appear before giving up. */
  static final Duration DEFAULT_CLAIM_WAIT = Duration.ofSeconds(30);

  /** File locks are per process; threads of this process queue here first. */
  private static final ConcurrentHashMap<Path, ReentrantLock> POINTER_LOCKS = new ConcurrentHashMap<>();

  private final Path root;
  private final Duration claimWait;

  public DirectoryRepository(Path root) {
    this(root, DEFAULT_CLAIM_WAIT);
  }

  DirectoryRepository(Path root, Duration claimWait) {
    this.root = Objects.requireNonNull(root, "root").toAbsolutePath().normalize();
    this.claimWait = Objects.requireNonNull(claimWait, "claimWait");
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
    String pointerPath = RepositoryLayout.channelPointer(app, channel);
    Path pointer = RepositoryLayout.resolve(root, pointerPath);
    Path claims = pointer.resolveSibling("." + channel + ".sequence");
    Path claim = claims.resolve(Long.toString(newSequence));
    DurableFiles.createDirectories(claims);
    if (!DurableFiles.createExclusively(claim, envelope)) {
      awaitOtherPublisher(pointerPath, expected, claim);
      return false;
    }
    // We own newSequence. Another plugin that wrote the pointer since we read it owned a claim too;
    // repo-server's publish API, which may share this directory, swaps under an OS lock on
    // .<channel>.json.lock instead, so compare and write under that lock as well.
    ReentrantLock inProcess = POINTER_LOCKS.computeIfAbsent(pointer, p -> new ReentrantLock());
    inProcess.lock();
    try (FileChannel lockFile = FileChannel.open(pointer.resolveSibling("." + pointer.getFileName() + ".lock"),
            StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        FileLock ignored = lockFile.lock()) {
      if (!sameTag(read(pointerPath, Integer.MAX_VALUE), expected)) {
        return false;
      }
      DurableFiles.writeAtomically(pointer, envelope);
      return true;
    } finally {
      inProcess.unlock();
    }
  }

  /** Waits, bounded, until the publisher holding the claim has renamed its pointer into place. */
  private void awaitOtherPublisher(String pointerPath, Stored expected, Path claim) throws IOException {
    long deadline = System.nanoTime() + claimWait.toNanos();
    while (true) {
      if (!sameTag(read(pointerPath, Integer.MAX_VALUE), expected)) {
        return;
      }
      if (System.nanoTime() - deadline > 0) {
        throw new UpgradeException(ErrorCode.IO_ERROR, "channel pointer " + pointerPath + " in " + root
            + " is held by another publisher: " + claim + " claims its next sequence, but the pointer has not"
            + " changed for " + claimWait.toSeconds() + " s. If no other publish is running, that publish died"
            + " half-way: copy the claim file over the pointer to finish it, or delete the claim file, then"
            + " run the release again");
      }
      try {
        Thread.sleep(100);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new UpgradeException(ErrorCode.IO_ERROR, "interrupted while waiting for " + pointerPath, e);
      }
    }
  }

  private static boolean sameTag(Stored a, Stored b) {
    return a == null ? b == null : b != null && a.tag().equals(b.tag());
  }

  @Override
  public boolean addTrustRoot(long version, byte[] envelope) throws IOException {
    Json.requireWithinCap(envelope.length, io.upgradekit.schema.model.DocumentType.ROOT);
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
