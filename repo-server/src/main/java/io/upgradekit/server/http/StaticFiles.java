package io.upgradekit.server.http;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.Hashes;
import io.upgradekit.schema.layout.PathKind;
import io.upgradekit.schema.layout.RepositoryLayout;
import io.upgradekit.server.core.Etags;
import io.upgradekit.server.core.Printable;
import io.upgradekit.server.core.ServerMetrics;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.eclipse.jetty.http.DateGenerator;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpMethod;
import org.eclipse.jetty.http.PreEncodedHttpField;
import org.eclipse.jetty.io.ByteBufferPool;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

/**
 * Serves the repository directory read-only: strong ETags (the content's SHA-256; a blob's is its
 * name), {@code Last-Modified}, conditional requests answered 304, single byte ranges (resumed
 * downloads), caching by kind ({@code immutable} for what never changes: hash-named blobs,
 * release manifests and versioned trust roots; {@code no-cache} for pointers, rollout state,
 * {@code root.json} and the rest), no directory listings, and never dot files, temp files, claims or feedback.
 *
 * <p>Per file the server keeps an entry keyed by path and validated on every request against the
 * file's key, modification time and size (one {@code stat}), so the 304 path never reads or hashes
 * content. Small files are kept in memory, large immutable ones memory-mapped; anything else is
 * streamed.
 */
final class StaticFiles {
  static final HttpField IMMUTABLE =
      new PreEncodedHttpField(HttpHeader.CACHE_CONTROL, "public, max-age=31536000, immutable");
  static final HttpField NO_CACHE = new PreEncodedHttpField(HttpHeader.CACHE_CONTROL, "no-cache");
  private static final HttpField ACCEPT_RANGES = new PreEncodedHttpField(HttpHeader.ACCEPT_RANGES, "bytes");
  private static final HttpField NOSNIFF = new PreEncodedHttpField("X-Content-Type-Options", "nosniff");
  private static final HttpField ALLOW = new PreEncodedHttpField(HttpHeader.ALLOW, "GET, HEAD");

  /** Top-level directories written by the API: node data, rollout decisions and leases, inventory snapshots; not for the public. */
  private static final Set<String> PRIVATE = Set.of("claims", "feedback", "rollouts", "fleet");

  private static final int IN_MEMORY_MAX = 256 * 1024;
  /** Largest body answered on the selector thread; larger ones are written from the pool. */
  private static final int INLINE_MAX = 64 * 1024;
  private static final long HEAP_BUDGET = 128L << 20;
  private static final long MAP_MAX = 1L << 30;
  private static final long MAP_BUDGET = 16L << 30;
  private static final int MAX_ENTRIES = 100_000;
  private static final int STREAM_BUFFER = 128 * 1024;

  private static final Map<String, HttpField> TYPES = Map.ofEntries(
      type("json", "application/json"),
      type("html", "text/html; charset=utf-8"),
      type("txt", "text/plain; charset=utf-8"),
      type("css", "text/css; charset=utf-8"),
      type("js", "text/javascript; charset=utf-8"),
      type("svg", "image/svg+xml"),
      type("png", "image/png"),
      type("jar", "application/java-archive"),
      type("war", "application/java-archive"),
      type("zip", "application/zip"),
      type("gz", "application/gzip"),
      type("pem", "application/x-pem-file"));
  private static final HttpField OCTET_STREAM =
      new PreEncodedHttpField(HttpHeader.CONTENT_TYPE, "application/octet-stream");

  private final Path root;
  private final ServerMetrics metrics;
  private final ConcurrentHashMap<String, Entry> cache = new ConcurrentHashMap<>();
  private final AtomicLong heapUsed = new AtomicLong();
  private final AtomicLong mapped = new AtomicLong();

  StaticFiles(Path root, ServerMetrics metrics) {
    this.root = root.toAbsolutePath().normalize();
    this.metrics = metrics;
  }

  /** What the server knows about one file version. */
  private static final class Entry {
    final Path file;
    final Object fileKey;
    final long modifiedNanos;
    final long size;
    final String etag;
    final HttpField etagField;
    final HttpField lastModified;
    final long lastModifiedMillis;
    final HttpField contentType;
    final HttpField cacheControl;
    final ByteBuffer content;
    final long heapBytes;
    final long mappedBytes;

    Entry(Path file, BasicFileAttributes attributes, long size, String sha256, HttpField contentType,
        HttpField cacheControl, ByteBuffer content, long heapBytes, long mappedBytes) {
      this.file = file;
      this.fileKey = attributes.fileKey();
      this.modifiedNanos = attributes.lastModifiedTime().to(TimeUnit.NANOSECONDS);
      this.size = size;
      this.etag = Etags.quote(sha256);
      this.etagField = new PreEncodedHttpField(HttpHeader.ETAG, etag);
      this.lastModifiedMillis = attributes.lastModifiedTime().toMillis() / 1000 * 1000;
      this.lastModified = new PreEncodedHttpField(HttpHeader.LAST_MODIFIED, DateGenerator.formatDate(lastModifiedMillis));
      this.contentType = contentType;
      this.cacheControl = cacheControl;
      this.content = content;
      this.heapBytes = heapBytes;
      this.mappedBytes = mappedBytes;
    }

    boolean isCurrent(BasicFileAttributes attributes) {
      return attributes.size() == size
          && attributes.lastModifiedTime().to(TimeUnit.NANOSECONDS) == modifiedNanos
          && Objects.equals(attributes.fileKey(), fileKey);
    }
  }

  /**
   * Answers a request without blocking if it can: a method other than GET and HEAD, a path that is
   * never served, or a file whose cache entry is current. Otherwise returns false, and the caller
   * runs {@link #handle} on a thread that may block (to read and hash the file).
   */
  boolean handleCached(Request request, Response response, Callback callback, String path) {
    String method = request.getMethod();
    if (!HttpMethod.HEAD.is(method) && !HttpMethod.GET.is(method)) {
      response.getHeaders().put(ALLOW);
      HttpErrors.write(request, response, callback, 405, ErrorCode.REQUEST_INVALID,
          method + " is not allowed on repository files; they are read-only (GET, HEAD); publish through /v1/");
      return true;
    }
    String relative = relative(path);
    if (relative == null) {
      notFound(request, response, callback, path);
      return true;
    }
    Entry entry = cache.get(relative);
    if (entry == null) {
      return false;
    }
    BasicFileAttributes attributes;
    try {
      attributes = Files.readAttributes(entry.file, BasicFileAttributes.class);
    } catch (IOException e) {
      notFound(request, response, callback, path);
      return true;
    }
    if (!attributes.isRegularFile() || !entry.isCurrent(attributes)) {
      return false;
    }
    boolean head = HttpMethod.HEAD.is(method);
    if (!head && entry.size > INLINE_MAX && !isConditional(request)) {
      return false; // a large body: write it from a pool thread, the selector serves the small ones
    }
    serve(request, response, callback, entry, head);
    return true;
  }

  private static boolean isConditional(Request request) {
    HttpFields headers = request.getHeaders();
    return headers.contains(HttpHeader.IF_NONE_MATCH) || headers.contains(HttpHeader.IF_MODIFIED_SINCE);
  }

  /**
   * Answers a request for a repository path, loading the file into the cache if needed (may block).
   *
   * @param path the decoded request path, starting with '/'
   */
  void handle(Request request, Response response, Callback callback, String path) throws IOException {
    String method = request.getMethod();
    boolean head = HttpMethod.HEAD.is(method);
    if (!head && !HttpMethod.GET.is(method)) {
      response.getHeaders().put(ALLOW);
      HttpErrors.write(request, response, callback, 405, ErrorCode.REQUEST_INVALID,
          method + " is not allowed on repository files; they are read-only (GET, HEAD); publish through /v1/");
      return;
    }
    String relative = relative(path);
    if (relative == null) {
      notFound(request, response, callback, path);
      return;
    }
    Entry entry = cache.get(relative);
    Path file = entry != null ? entry.file : root.resolve(relative);
    BasicFileAttributes attributes;
    try {
      attributes = Files.readAttributes(file, BasicFileAttributes.class);
    } catch (IOException e) {
      notFound(request, response, callback, path);
      return;
    }
    if (!attributes.isRegularFile()) {
      notFound(request, response, callback, path);
      return;
    }
    if (entry == null || !entry.isCurrent(attributes)) {
      entry = load(relative, file, attributes);
    }
    serve(request, response, callback, entry, head);
  }

  private void serve(Request request, Response response, Callback callback, Entry entry, boolean head) {
    HttpFields requestHeaders = request.getHeaders();
    HttpFields.Mutable headers = response.getHeaders();
    headers.put(entry.etagField);
    headers.put(entry.lastModified);
    headers.put(entry.cacheControl);
    headers.put(ACCEPT_RANGES);

    String ifMatch = requestHeaders.get(HttpHeader.IF_MATCH);
    long unmodifiedSince = ifMatch != null ? -1 : requestHeaders.getDateField(HttpHeader.IF_UNMODIFIED_SINCE.asString());
    if (ifMatch != null ? !Etags.listMatches(ifMatch, entry.etag, false)
        : unmodifiedSince >= 0 && entry.lastModifiedMillis > unmodifiedSince) {
      metrics.staticRequest(false);
      HttpErrors.write(request, response, callback, 412, ErrorCode.PRECONDITION_FAILED, "the file's ETag is " + entry.etag);
      return;
    }
    String ifNoneMatch = requestHeaders.get(HttpHeader.IF_NONE_MATCH);
    boolean notModified;
    if (ifNoneMatch != null) {
      notModified = Etags.listMatches(ifNoneMatch, entry.etag, true);
    } else {
      long modifiedSince = requestHeaders.getDateField(HttpHeader.IF_MODIFIED_SINCE.asString());
      notModified = modifiedSince >= 0 && entry.lastModifiedMillis <= modifiedSince;
    }
    metrics.staticRequest(notModified);
    if (notModified) {
      response.setStatus(304);
      // No Content-Length of the 200 here: some clients (wrk's parser among them) would wait for
      // that many body bytes after a 304. Jetty sends "Content-Length: 0", as for a bodiless answer.
      response.write(true, null, callback);
      return;
    }

    headers.put(entry.contentType);
    headers.put(NOSNIFF);
    long start = 0;
    long length = entry.size;
    String range = head ? null : requestHeaders.get(HttpHeader.RANGE);
    if (range != null && ifRangeHolds(requestHeaders.get(HttpHeader.IF_RANGE), entry)) {
      long[] span = ByteRanges.parse(range, entry.size);
      if (span == ByteRanges.UNSATISFIABLE) {
        headers.put(HttpHeader.CONTENT_RANGE, "bytes */" + entry.size);
        HttpErrors.write(request, response, callback, 416, ErrorCode.REQUEST_INVALID, "range " + range
            + " is outside the file's " + entry.size + " bytes");
        return;
      }
      if (span != null) {
        start = span[0];
        length = span[1] - span[0] + 1;
        response.setStatus(206);
        headers.put(HttpHeader.CONTENT_RANGE, "bytes " + span[0] + "-" + span[1] + "/" + entry.size);
      }
    }
    headers.put(HttpHeader.CONTENT_LENGTH, length);
    if (head || length == 0) {
      response.write(true, null, callback);
    } else if (entry.content != null) {
      response.write(true, entry.content.slice((int) start, (int) length), callback);
    } else {
      ByteBufferPool.Sized pool = new ByteBufferPool.Sized(request.getComponents().getByteBufferPool(), true,
          STREAM_BUFFER);
      Content.copy(Content.Source.from(pool, entry.file, start, length), response, callback);
    }
  }

  private static boolean ifRangeHolds(String ifRange, Entry entry) {
    if (ifRange == null) {
      return true;
    }
    String value = ifRange.trim();
    if (value.startsWith("\"")) {
      return value.equals(entry.etag);
    }
    if (value.startsWith("W/")) {
      return false;
    }
    long date = DateParsing.parse(value);
    return date >= 0 && date == entry.lastModifiedMillis;
  }

  private Entry load(String relative, Path file, BasicFileAttributes attributes) throws IOException {
    PathKind kind = RepositoryLayout.kindOf(relative);
    String name = file.getFileName().toString();
    HttpField cacheControl = RepositoryLayout.isImmutable(relative) ? IMMUTABLE : NO_CACHE;
    HttpField contentType = contentType(name);
    long size = attributes.size();
    ByteBuffer content = null;
    long heap = 0;
    long map = 0;
    String sha256;
    if (size <= IN_MEMORY_MAX) {
      byte[] bytes = Files.readAllBytes(file);
      size = bytes.length;
      sha256 = kind == PathKind.BLOB ? name : Hashes.sha256(bytes);
      if (heapUsed.addAndGet(bytes.length) <= HEAP_BUDGET) {
        content = ByteBuffer.wrap(bytes).asReadOnlyBuffer();
        heap = bytes.length;
      } else {
        heapUsed.addAndGet(-bytes.length);
      }
    } else {
      sha256 = kind == PathKind.BLOB ? name : Hashes.sha256(file);
      if (RepositoryLayout.isImmutable(relative) && size <= MAP_MAX && mapped.addAndGet(size) <= MAP_BUDGET) {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
          content = channel.map(FileChannel.MapMode.READ_ONLY, 0, size).asReadOnlyBuffer();
          map = size;
        }
      } else if (RepositoryLayout.isImmutable(relative) && size <= MAP_MAX) {
        mapped.addAndGet(-size);
      }
    }
    Entry entry = new Entry(file, attributes, size, sha256, contentType, cacheControl, content, heap, map);
    if (cache.size() >= MAX_ENTRIES) {
      cache.clear();
      heapUsed.set(0);
      mapped.set(0);
    }
    Entry old = cache.put(relative, entry);
    if (old != null) {
      heapUsed.addAndGet(-old.heapBytes);
      mapped.addAndGet(-old.mappedBytes);
    }
    return entry;
  }

  private static HttpField contentType(String name) {
    int dot = name.lastIndexOf('.');
    if (dot < 0) {
      return OCTET_STREAM;
    }
    return TYPES.getOrDefault(name.substring(dot + 1).toLowerCase(Locale.ROOT), OCTET_STREAM);
  }

  private static void notFound(Request request, Response response, Callback callback, String path) {
    HttpErrors.write(request, response, callback, 404, ErrorCode.NOT_FOUND, "no file at " + printable(path));
  }

  /**
   * The repository-relative path for a request path, or null if the path may not be served: the
   * root or a directory (no listings), empty, '.'-prefixed (hidden and temp files), backup or
   * temp names, control characters or backslashes, or the API's private directories.
   */
  static String relative(String path) {
    if (path == null || path.length() < 2 || path.length() > 1024 || path.charAt(0) != '/'
        || path.charAt(path.length() - 1) == '/') {
      return null;
    }
    String relative = path.substring(1);
    int segmentStart = 0;
    for (int i = 0; i <= relative.length(); i++) {
      char c = i < relative.length() ? relative.charAt(i) : '/';
      if (c == '/') {
        if (i == segmentStart || relative.charAt(segmentStart) == '.' || i - segmentStart > 255) {
          return null;
        }
        if (segmentStart == 0 && PRIVATE.contains(relative.substring(0, i))) {
          return null;
        }
        segmentStart = i + 1;
      } else if (c < 0x20 || c == 0x7f || c == '\\') {
        return null;
      }
    }
    if (relative.endsWith("~") || relative.endsWith(".tmp") || relative.endsWith(".part")) {
      return null;
    }
    return relative;
  }

  private static Map.Entry<String, HttpField> type(String extension, String mediaType) {
    return Map.entry(extension, new PreEncodedHttpField(HttpHeader.CONTENT_TYPE, mediaType));
  }

  static String printable(String value) {
    return Printable.of(value);
  }
}
