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
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.eclipse.jetty.io.ByteBufferPool;
import org.eclipse.jetty.io.Content;

/**
 * The static files of a repository directory. Per file an entry keyed by path, validated on every
 * request against the file's key, modification time and size (one {@code stat}), so a 304 never
 * reads or hashes content and a file replaced on disk (by the API, the plugin's directory mode or
 * rsync) is served fresh at once. Small files are kept in memory, large immutable ones
 * memory-mapped; anything else is streamed from the file.
 */
final class DirectoryFiles implements StaticFiles.Source {
  private static final int IN_MEMORY_MAX = 256 * 1024;
  private static final long HEAP_BUDGET = 128L << 20;
  private static final long MAP_MAX = 1L << 30;
  private static final long MAP_BUDGET = 16L << 30;
  private static final int MAX_ENTRIES = 100_000;
  private static final int STREAM_BUFFER = 128 * 1024;

  private final Path root;
  private final ConcurrentHashMap<String, Cached> cache = new ConcurrentHashMap<>();
  private final AtomicLong heapUsed = new AtomicLong();
  private final AtomicLong mapped = new AtomicLong();

  DirectoryFiles(Path root) {
    this.root = root.toAbsolutePath().normalize();
  }

  /** An entry with the file version it describes. */
  private record Cached(StaticFiles.Entry entry, Path file, Object fileKey, long modifiedNanos, long heapBytes,
      long mappedBytes) {
    boolean isCurrent(BasicFileAttributes attributes) {
      return attributes.size() == entry.size
          && attributes.lastModifiedTime().to(TimeUnit.NANOSECONDS) == modifiedNanos
          && Objects.equals(attributes.fileKey(), fileKey);
    }
  }

  @Override
  public StaticFiles.Entry cached(String relative) {
    Cached cached = cache.get(relative);
    if (cached == null) {
      return null;
    }
    BasicFileAttributes attributes;
    try {
      attributes = Files.readAttributes(cached.file, BasicFileAttributes.class);
    } catch (IOException e) {
      return StaticFiles.Entry.ABSENT;
    }
    return attributes.isRegularFile() && cached.isCurrent(attributes) ? cached.entry : null;
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
    Cached old = cache.put(relative, new Cached(entry, file, attributes.fileKey(),
        attributes.lastModifiedTime().to(TimeUnit.NANOSECONDS), heap, map));
    if (old != null) {
      heapUsed.addAndGet(-old.heapBytes);
      mapped.addAndGet(-old.mappedBytes);
    }
    return entry;
  }
}
