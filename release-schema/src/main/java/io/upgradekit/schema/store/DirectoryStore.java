package io.upgradekit.schema.store;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.Hashes;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.io.BoundedFiles;
import io.upgradekit.schema.io.DurableFiles;
import io.upgradekit.schema.io.PointerSwap;
import io.upgradekit.schema.layout.RepositoryLayout;
import io.upgradekit.schema.model.DocumentType;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Clock;
import java.time.Duration;
import java.util.Arrays;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * The repository in a directory (local, or a mount that keeps POSIX rename and link semantics),
 * written only through {@link DurableFiles}: the embedded default, which any static HTTP server
 * can serve as it is.
 *
 * <ul>
 *   <li>{@link #putBlob}: the content is hashed while it streams into a temp file, which is
 *       renamed into place only if it matches ({@link DurableFiles#writeAtomically}).
 *   <li>{@link #create}: a temp file linked into place ({@link DurableFiles#createExclusively}),
 *       which the operating system refuses when the name exists, also between processes.
 *   <li>{@link #compareAndSwap}: {@link PointerSwap}'s protocol: the caller's sequence claimed in
 *       {@link RepositoryLayout#sequenceClaims} (a lease naming the process, fenced when it is
 *       taken over), then the tag compared and the document renamed (or, where there is none,
 *       linked) under the OS lock on {@link RepositoryLayout#swapLock}. Publishers that die or
 *       pause half-way block others for at most a lease and never overwrite what came after them.
 *   <li>Tags are the SHA-256 of the content (hex).
 * </ul>
 *
 * <p>Claims, locks and temp files are dot files, which this store never lists or accepts as
 * paths and which static servers must not serve ({@link RepositoryLayout#isHidden}).
 */
public final class DirectoryStore implements RepositoryStore {
  /**
   * The largest current document a compare-and-swap reads to compare its tag: the largest
   * document the repository holds.
   */
  static final int MAX_DOCUMENT_BYTES =
      Arrays.stream(DocumentType.values()).mapToInt(DocumentType::maxBytes).max().orElseThrow();

  private final Path root;
  private final Duration lease;
  private final Duration maxWait;
  private final Clock clock;
  private final Consumer<String> progress;

  /** A store whose swaps use {@link PointerSwap}'s default lease and wait, and the system clock. */
  public DirectoryStore(Path root) {
    this(root, PointerSwap.DEFAULT_LEASE, PointerSwap.DEFAULT_MAX_WAIT, Clock.systemUTC(), message -> { });
  }

  /**
   * @param root the repository directory; created on the first write if missing
   * @param lease how long this process's sequence claims keep other writers waiting
   * @param maxWait how long a swap waits in all for other writers before it fails (IO_ERROR)
   * @param clock the wall clock claims are stamped and judged with
   * @param progress told when a swap waits for another writer, and why
   */
  public DirectoryStore(Path root, Duration lease, Duration maxWait, Clock clock, Consumer<String> progress) {
    this.root = Objects.requireNonNull(root, "root").toAbsolutePath().normalize();
    this.lease = Objects.requireNonNull(lease, "lease");
    this.maxWait = Objects.requireNonNull(maxWait, "maxWait");
    this.clock = Objects.requireNonNull(clock, "clock");
    this.progress = Objects.requireNonNull(progress, "progress");
  }

  /** The repository directory. */
  public Path root() {
    return root;
  }

  @Override
  public String location() {
    return root.toString();
  }

  @Override
  public Optional<Versioned> read(String path, int maxBytes) throws IOException {
    Path file = file(path);
    byte[] bytes;
    try {
      bytes = BoundedFiles.read(file, maxBytes);
    } catch (NoSuchFileException e) {
      return Optional.empty();
    } catch (BoundedFiles.TooLargeException e) {
      throw new UpgradeException(ErrorCode.METADATA_TOO_LARGE, path + " in " + root + " is more than " + maxBytes
          + " bytes, the limit for its type; replace it with a valid document", e);
    }
    return Optional.of(new Versioned(bytes, Hashes.sha256(bytes)));
  }

  @Override
  public Optional<Entry> stat(String path) throws IOException {
    try {
      BasicFileAttributes attributes = Files.readAttributes(file(path), BasicFileAttributes.class);
      return attributes.isRegularFile() ? Optional.of(new Entry(path, attributes.size())) : Optional.empty();
    } catch (NoSuchFileException e) {
      return Optional.empty();
    }
  }

  @Override
  public Optional<InputStream> open(String path) throws IOException {
    Path file = file(path);
    if (!Files.isRegularFile(file)) {
      return Optional.empty(); // absent, or a directory or device that no one should stream
    }
    try {
      return Optional.of(Files.newInputStream(file));
    } catch (NoSuchFileException e) {
      return Optional.empty();
    }
  }

  @Override
  public boolean putBlob(String sha256, long size, InputStream content) throws IOException {
    String path = StorePaths.blob(sha256);
    if (size < UNKNOWN_SIZE) {
      throw new IllegalArgumentException("size " + size);
    }
    Path target = file(path);
    String what = "the content sent for blob " + sha256;
    try {
      Optional<Entry> existing = stat(path);
      if (existing.isPresent() && (size == UNKNOWN_SIZE || existing.get().size() == size)) {
        BlobCheck.copy(content, sha256, size, OutputStream.nullOutputStream(), what);
        return false;
      }
      DurableFiles.createDirectories(target.getParent());
      // Renaming over a blob is harmless: every writer of this name writes the same, checked bytes.
      DurableFiles.writeAtomically(target, out -> BlobCheck.copy(content, sha256, size, out, what));
      return true;
    } catch (UpgradeException e) {
      throw new UpgradeException(e.code(), e.getMessage() + "; nothing was stored", e);
    }
  }

  @Override
  public Write create(String path, byte[] content) throws IOException {
    Objects.requireNonNull(content, "content");
    Path target = file(path);
    DurableFiles.createDirectories(target.getParent());
    return DurableFiles.createExclusively(target, content) ? Write.written(Hashes.sha256(content)) : Write.conflict();
  }

  @Override
  public Write compareAndSwap(String path, String expectedTag, long sequence, byte[] content) throws IOException {
    Objects.requireNonNull(content, "content");
    Path target = file(path);
    DurableFiles.createDirectories(target.getParent());
    PointerSwap swap = new PointerSwap(target, MAX_DOCUMENT_BYTES, lease, maxWait, clock, progress);
    PointerSwap.Outcome outcome = swap.swap(sequence, content, expectedTag == null ? "none" : expectedTag,
        current -> Objects.equals(current == null ? null : Hashes.sha256(current), expectedTag));
    return outcome == PointerSwap.Outcome.SWAPPED ? Write.written(Hashes.sha256(content)) : Write.conflict();
  }

  @Override
  public Stream<Entry> list(String prefix) throws IOException {
    StorePaths.prefix(prefix);
    int slash = prefix.lastIndexOf('/');
    Path start = slash < 0 ? root : RepositoryLayout.resolve(root, prefix.substring(0, slash));
    if (!Files.isDirectory(start, LinkOption.NOFOLLOW_LINKS)) {
      return Stream.empty();
    }
    // Files.walk holds one open directory stream per level, never a whole directory's names; it
    // does not follow links. Closing the returned stream closes the walk.
    return Files.walk(start)
        .filter(file -> !file.equals(start))
        .map(this::relative)
        .filter(relative -> relative.startsWith(prefix) && !RepositoryLayout.isHidden(relative))
        .map(this::entry)
        .flatMap(Optional::stream);
  }

  @Override
  public boolean delete(String path) throws IOException {
    Path file = file(path);
    boolean deleted = Files.deleteIfExists(file);
    if (deleted) {
      DurableFiles.fsyncDirectory(file.getParent());
    }
    return deleted;
  }

  @Override
  public void close() {}

  @Override
  public String toString() {
    return "DirectoryStore[" + root + "]";
  }

  /** The file of a path; hidden paths belong to the store's bookkeeping and are refused. */
  private Path file(String path) {
    return RepositoryLayout.resolve(root, StorePaths.document(path));
  }

  private String relative(Path file) {
    return root.relativize(file).toString().replace(file.getFileSystem().getSeparator(), "/");
  }

  /** A regular file's entry; directories, links and files gone meanwhile have none. */
  private Optional<Entry> entry(String relative) {
    try {
      BasicFileAttributes attributes = Files.readAttributes(root.resolve(relative), BasicFileAttributes.class,
          LinkOption.NOFOLLOW_LINKS);
      return attributes.isRegularFile() ? Optional.of(new Entry(relative, attributes.size())) : Optional.empty();
    } catch (NoSuchFileException e) {
      return Optional.empty();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
