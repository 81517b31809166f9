package io.upgradekit.server.http;

import io.upgradekit.schema.Hashes;
import io.upgradekit.schema.layout.PathKind;
import io.upgradekit.schema.layout.RepositoryLayout;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import org.eclipse.jetty.io.ByteBufferPool;
import org.eclipse.jetty.io.Content;

/**
 * The static files of a repository directory. Per file an entry keyed by path, so a 304 never reads
 * or hashes content:
 *
 * <ul>
 *   <li>an entry is checked against the file's key, modification time and size (one {@code stat})
 *       when it is older than {@code refresh}: a file replaced on disk by another process (the
 *       plugin's directory mode, rsync) is served within {@code refresh}, and between checks a poll
 *       costs a map lookup and no system call. That holds for files that never change by design
 *       (blobs, release manifests, versioned trust roots) too: a damaged blob an operator restores
 *       from a backup is served as restored, not as the damaged bytes held in memory;
 *   <li>this process's own writes through the store drop the entry at once ({@link #invalidate}).
 * </ul>
 *
 * <p>Small files are kept in memory, large immutable ones memory-mapped; anything else is streamed
 * from the file.
 */
final class DirectoryFiles implements StaticFiles.Source {
  private static final int IN_MEMORY_MAX = 256 * 1024;
  private static final long HEAP_BUDGET = 128L << 20;
  private static final long MAP_MAX = 1L << 30;
  private static final long MAP_BUDGET = 16L << 30;
  private static final int MAX_ENTRIES = 100_000;
  private static final int STREAM_BUFFER = 128 * 1024;

  private final Path root;
  private final long refreshNanos;
  private final LongSupplier nanoTime;
  private final ConcurrentHashMap<String, Cached> cache = new ConcurrentHashMap<>();
  private final AtomicLong heapUsed = new AtomicLong();
  private final AtomicLong mapped = new AtomicLong();

  /**
   * @param refresh how long an entry of a file that may change is used before the file is checked
   *     again; zero checks on every request
   */
  DirectoryFiles(Path root, Duration refresh, LongSupplier nanoTime) {
    this.root = root.toAbsolutePath().normalize();
    this.refreshNanos = refresh.toNanos();
    this.nanoTime = nanoTime;
  }

  /** An entry with the file version it describes, and until when it is used without a check. */
  private static final class Cached {
    final StaticFiles.Entry entry;
    final Path file;
    final Object fileKey;
    final long modifiedNanos;
    final long heapBytes;
    final long mappedBytes;
    volatile long checkAt;

    Cached(StaticFiles.Entry entry, Path file, BasicFileAttributes attributes, long heapBytes, long mappedBytes,
        long checkAt) {
      this.entry = entry;
      this.file = file;
      this.fileKey = attributes.fileKey();
      this.modifiedNanos = attributes.lastModifiedTime().to(TimeUnit.NANOSECONDS);
      this.heapBytes = heapBytes;
      this.mappedBytes = mappedBytes;
      this.checkAt = checkAt;
    }

    boolean isCurrent(BasicFileAttributes attributes) {
      return attributes.size() == entry.size
          && attributes.lastModifiedTime().to(TimeUnit.NANOSECONDS) == modifiedNanos
          && Objects.equals(attributes.fileKey(), fileKey);
    }
  }

  /** Forgets what is known about {@code path}: this process just wrote it. */
  void invalidate(String path) {
    Cached old = cache.remove(path);
    if (old != null) {
      heapUsed.addAndGet(-old.heapBytes);
      mapped.addAndGet(-old.mappedBytes);
    }
  }

  @Override
  public StaticFiles.Entry cached(String relative) {
    Cached cached = cache.get(relative);
    if (cached == null) {
      return null;
    }
    long now = nanoTime.getAsLong();
    if (now - cached.checkAt < 0) {
      return cached.entry;
    }
    BasicFileAttributes attributes;
    try {
      attributes = Files.readAttributes(cached.file, BasicFileAttributes.class);
    } catch (IOException e) {
      return StaticFiles.Entry.ABSENT;
    }
    if (!attributes.isRegularFile() || !cached.isCurrent(attributes)) {
      return null;
    }
    cached.checkAt = now + refreshNanos;
    return cached.entry;
  }

  @Override
  public StaticFiles.Entry lookup(String relative) throws IOException {
    Cached cached = cache.get(relative);
    Path file = cached != null ? cached.file : root.resolve(relative);
    BasicFileAttributes attributes;
    try {
      attributes = Files.readAttributes(file, BasicFileAttributes.class);
    } catch (IOException e) {
      return null;
    }
    if (!attributes.isRegularFile()) {
      return null;
    }
    if (cached != null && cached.isCurrent(attributes)) {
      return cached.entry;
    }
    return load(relative, file, attributes);
  }

  private StaticFiles.Entry load(String relative, Path file, BasicFileAttributes attributes) throws IOException {
    boolean blob = RepositoryLayout.kindOf(relative) == PathKind.BLOB;
    String name = file.getFileName().toString();
    long size = attributes.size();
    ByteBuffer content = null;
    long heap = 0;
    long map = 0;
    String sha256;
    if (size <= IN_MEMORY_MAX) {
      byte[] bytes = Files.readAllBytes(file);
      size = bytes.length;
      sha256 = blob ? name : Hashes.sha256(bytes);
      if (heapUsed.addAndGet(bytes.length) <= HEAP_BUDGET) {
        content = ByteBuffer.wrap(bytes).asReadOnlyBuffer();
        heap = bytes.length;
      } else {
        heapUsed.addAndGet(-bytes.length);
      }
    } else {
      sha256 = blob ? name : Hashes.sha256(file);
      if (RepositoryLayout.isImmutable(relative) && size <= MAP_MAX && mapped.addAndGet(size) <= MAP_BUDGET) {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
          content = channel.map(FileChannel.MapMode.READ_ONLY, 0, size).asReadOnlyBuffer();
          map = size;
        }
      } else if (RepositoryLayout.isImmutable(relative) && size <= MAP_MAX) {
        mapped.addAndGet(-size);
      }
    }
    StaticFiles.Body body = content != null ? null : (request, response, callback, start, length) -> {
      ByteBufferPool.Sized pool = new ByteBufferPool.Sized(request.getComponents().getByteBufferPool(), true,
          STREAM_BUFFER);
      Content.copy(Content.Source.from(pool, file, start, length), response, callback);
    };
    StaticFiles.Entry entry = new StaticFiles.Entry(relative, size, sha256,
        attributes.lastModifiedTime().toMillis(), content, body);
    if (cache.size() >= MAX_ENTRIES) {
      cache.clear();
      heapUsed.set(0);
      mapped.set(0);
    }
    Cached old = cache.put(relative, new Cached(entry, file, attributes, heap, map,
        nanoTime.getAsLong() + refreshNanos));
    if (old != null) {
      heapUsed.addAndGet(-old.heapBytes);
      mapped.addAndGet(-old.mappedBytes);
    }
    return entry;
  }
}
