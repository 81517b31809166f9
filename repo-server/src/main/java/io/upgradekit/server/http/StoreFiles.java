package io.upgradekit.server.http;

import io.upgradekit.schema.Hashes;
import io.upgradekit.schema.layout.PathKind;
import io.upgradekit.schema.layout.RepositoryLayout;
import io.upgradekit.schema.store.RepositoryStore;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.file.NoSuchFileException;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import org.eclipse.jetty.io.Content;

/**
 * The static files of a repository in a {@link RepositoryStore} (a bucket): what is known about each
 * file is kept in memory, so that a poll answered 304 costs a map lookup and no request to the
 * store.
 *
 * <ul>
 *   <li>What never changes (blobs, release manifests, versioned trust roots) is looked up once;
 *       a small blob whose content does not hash to its name (damaged in the store) is not: it is
 *       looked up again like a mutable file, so a restored object is served within {@code maxAge}.
 *   <li>Everything else (channel pointers, {@code root.json}, rollout state) and every "not there"
 *       is looked up again when it is older than {@code maxAge}: the first request after that
 *       reads it from the store on a pool thread, the others are answered from the entry they
 *       have meanwhile. So a write by another process sharing the store is served within {@code
 *       maxAge} plus one read.
 *   <li>This process's own writes through the store drop the entry at once ({@link #invalidate},
 *       called by the store wrapper the services write through): what this server stored, it
 *       serves from the next request on.
 * </ul>
 *
 * <p>ETags are the content's SHA-256 (a blob's name), as from a directory: the same for every
 * server on the store and across restarts. An object store gives no modification time that is the
 * same everywhere, so there is no {@code Last-Modified} (and {@code If-Modified-Since} is not
 * honoured; nodes revalidate by ETag). Small files are held in memory; larger blobs are streamed
 * from the store on each request (ranges as ranged reads), which a CDN in front avoids.
 */
final class StoreFiles implements StaticFiles.Source {
  private static final int IN_MEMORY_MAX = 256 * 1024;
  /** Documents other than blobs larger than this are not served (the largest, a manifest, is 2 MiB). */
  private static final int DOCUMENT_MAX = 16 << 20;
  private static final long HEAP_BUDGET = 256L << 20;
  private static final int MAX_ENTRIES = 100_000;
  private static final int STREAM_BUFFER = 128 * 1024;

  private final RepositoryStore store;
  private final long maxAgeNanos;
  private final LongSupplier nanoTime;
  private final Consumer<String> warn;
  private final ConcurrentHashMap<String, Cached> cache = new ConcurrentHashMap<>();
  private final AtomicLong heapUsed = new AtomicLong();

  /**
   * @param maxAge how long a mutable file's entry (or a "not there") is served before it is looked
   *     up again: the bound on how late another process's write is seen
   * @param warn told when a lookup fails and the previous entry is served instead, and when a blob is damaged
   */
  StoreFiles(RepositoryStore store, Duration maxAge, LongSupplier nanoTime, Consumer<String> warn) {
    this.store = store;
    this.maxAgeNanos = maxAge.toNanos();
    this.nanoTime = nanoTime;
    this.warn = warn;
  }

  /** An entry, when it must be looked up again, and whether a request is doing so. */
  private static final class Cached {
    final StaticFiles.Entry entry;
    final long heapBytes;
    volatile long staleAt;
    final AtomicBoolean refreshing = new AtomicBoolean();

    Cached(StaticFiles.Entry entry, long heapBytes, long staleAt) {
      this.entry = entry;
      this.heapBytes = heapBytes;
      this.staleAt = staleAt;
    }
  }

  /** Forgets what is known about {@code path}: this process just wrote it. */
  void invalidate(String path) {
    Cached old = cache.remove(path);
    if (old != null) {
      heapUsed.addAndGet(-old.heapBytes);
    }
  }

  @Override
  public StaticFiles.Entry cached(String relative) {
    Cached cached = cache.get(relative);
    if (cached == null) {
      return null;
    }
    if (nanoTime.getAsLong() - cached.staleAt < 0 || !cached.refreshing.compareAndSet(false, true)) {
      return cached.entry; // fresh, or another request is looking it up again: the entry it replaces
    }
    return null; // this request looks it up again, on a pool thread
  }

  @Override
  public StaticFiles.Entry lookup(String relative) throws IOException {
    Cached cached = cache.get(relative);
    long now = nanoTime.getAsLong();
    if (cached != null && now - cached.staleAt < 0) {
      return present(cached.entry);
    }
    try {
      return present(load(relative, now));
    } catch (IOException | RuntimeException e) {
      if (cached == null) {
        throw e;
      }
      // The store is unreachable: serve what was known (signed documents carry their own expiry),
      // and try again after maxAge rather than on every request.
      warn.accept("cannot look up " + relative + " in " + store.location() + " (" + e.getMessage()
          + "); serving the version known before");
      cached.staleAt = now + maxAgeNanos;
      cached.refreshing.set(false);
      return present(cached.entry);
    }
  }

  private static StaticFiles.Entry present(StaticFiles.Entry entry) {
    return entry == StaticFiles.Entry.ABSENT ? null : entry;
  }

  private StaticFiles.Entry load(String relative, long now) throws IOException {
    StaticFiles.Entry entry;
    long heap = 0;
    boolean damaged = false; // a blob whose content is not what its name says is kept like a mutable file
    if (RepositoryLayout.kindOf(relative) == PathKind.BLOB) {
      String sha256 = relative.substring(relative.lastIndexOf('/') + 1);
      Optional<RepositoryStore.Entry> stat = store.stat(relative);
      if (stat.isEmpty()) {
        entry = StaticFiles.Entry.ABSENT;
      } else if (stat.get().size() <= IN_MEMORY_MAX && heapUsed.get() + stat.get().size() <= HEAP_BUDGET) {
        byte[] bytes;
        try (InputStream in = store.open(relative).orElseThrow(() -> new NoSuchFileException(relative))) {
          bytes = in.readNBytes(IN_MEMORY_MAX + 1);
        }
        entry = new StaticFiles.Entry(relative, bytes.length, sha256, -1,
            ByteBuffer.wrap(bytes).asReadOnlyBuffer(), null);
        heap = bytes.length;
        damaged = !Hashes.sha256(bytes).equals(sha256);
        if (damaged) {
          warn.accept(relative + " in " + store.location() + " does not hash to its name: serving it as it is (nodes"
              + " refuse it with HASH_MISMATCH) and reading it again after the refresh interval; restore the object"
              + " from a copy");
        }
      } else {
        entry = new StaticFiles.Entry(relative, stat.get().size(), sha256, -1, null,
            (request, response, callback, start, length) -> stream(relative, response, callback, start, length));
      }
    } else {
      Optional<RepositoryStore.Versioned> read = store.read(relative, DOCUMENT_MAX);
      if (read.isEmpty()) {
        entry = StaticFiles.Entry.ABSENT;
      } else {
        byte[] bytes = read.get().bytes();
        entry = new StaticFiles.Entry(relative, bytes.length, Hashes.sha256(bytes), -1,
            ByteBuffer.wrap(bytes).asReadOnlyBuffer(), null);
        heap = bytes.length;
      }
    }
    boolean forever = entry != StaticFiles.Entry.ABSENT && !damaged && RepositoryLayout.isImmutable(relative);
    Cached fresh = new Cached(entry, heap, now + (forever ? Long.MAX_VALUE / 2 : maxAgeNanos));
    if (cache.size() >= MAX_ENTRIES || heapUsed.get() + heap > HEAP_BUDGET) {
      cache.clear();
      heapUsed.set(0);
    }
    heapUsed.addAndGet(heap);
    Cached old = cache.put(relative, fresh);
    if (old != null) {
      heapUsed.addAndGet(-old.heapBytes);
    }
    return entry;
  }

  /** Copies a range of a blob from the store to the response, blocking (this runs on a pool thread). */
  private void stream(String relative, org.eclipse.jetty.server.Response response, org.eclipse.jetty.util.Callback callback,
      long start, long length) throws IOException {
    try (InputStream in = store.open(relative, start).orElseThrow(() -> new NoSuchFileException(relative));
        OutputStream out = Content.Sink.asOutputStream(response)) {
      byte[] buffer = new byte[STREAM_BUFFER];
      long left = length;
      while (left > 0) {
        int n = in.read(buffer, 0, (int) Math.min(buffer.length, left));
        if (n < 0) {
          throw new IOException(relative + " in " + store.location() + " ended " + left + " bytes early");
        }
        out.write(buffer, 0, n);
        left -= n;
      }
    } catch (IOException | RuntimeException e) {
      callback.failed(e);
      return;
    }
    callback.succeeded();
  }
}
