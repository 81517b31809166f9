package io.upgradekit.server.http;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.layout.RepositoryLayout;
import io.upgradekit.server.core.Etags;
import io.upgradekit.server.core.Printable;
import io.upgradekit.server.core.ServerMetrics;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.eclipse.jetty.http.DateGenerator;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpMethod;
import org.eclipse.jetty.http.PreEncodedHttpField;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

/**
 * Serves the repository read-only: strong ETags (the content's SHA-256; a blob's is its name),
 * {@code Last-Modified} where the source knows it, conditional requests answered 304, single byte
 * ranges (resumed downloads), caching by kind ({@code immutable} for what never changes: hash-named
 * blobs, release manifests and versioned trust roots; {@code no-cache} for pointers, rollout
 * state, {@code root.json} and the rest), no directory listings, and never dot files, temp files,
 * claims or feedback.
 *
 * <p>The files come from a {@link Source}: the repository directory ({@link DirectoryFiles}) or the
 * repository store ({@link StoreFiles}, an object store). Either keeps per file an {@link Entry}
 * (ETag, headers, small content in memory), so the 304 path never reads or hashes content.
 */
final class StaticFiles {
  static final HttpField IMMUTABLE =
      new PreEncodedHttpField(HttpHeader.CACHE_CONTROL, "public, max-age=31536000, immutable");
  static final HttpField NO_CACHE = new PreEncodedHttpField(HttpHeader.CACHE_CONTROL, "no-cache");
  private static final HttpField ACCEPT_RANGES = new PreEncodedHttpField(HttpHeader.ACCEPT_RANGES, "bytes");
  private static final HttpField NOSNIFF = new PreEncodedHttpField("X-Content-Type-Options", "nosniff");
  private static final HttpField ALLOW = new PreEncodedHttpField(HttpHeader.ALLOW, "GET, HEAD");

  /** Top-level directories written by the API: node data, rollout decisions and leases, inventory snapshots; not for the public. */
  private static final Set<String> PRIVATE = Set.of("claims", "feedback", "rollouts", "set-rollouts", "fleet");

  /** Largest body answered on the selector thread; larger ones are written from the pool. */
  private static final int INLINE_MAX = 64 * 1024;

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

  /** Where the served files come from, and what is known about them. */
  interface Source {
    /**
     * The entry of a file if it is known without blocking (from memory, or at most one {@code
     * stat}): {@link Entry#ABSENT} if there is known to be no such file, null if the caller must
     * ask {@link #lookup} on a thread that may block.
     */
    Entry cached(String relative);

    /** The entry of a file, loading it if needed (may block); null if there is no such file. */
    Entry lookup(String relative) throws IOException;
  }

  /** Writes part of a file that is not held in memory; runs on a thread that may block. */
  interface Body {
    void send(Request request, Response response, Callback callback, long start, long length) throws IOException;
  }

  /** What the server knows about one version of one file. */
  static final class Entry {
    /** The entry of a file that is known not to exist. */
    static final Entry ABSENT = new Entry();

    final long size;
    final String etag;
    final HttpField etagField;
    /** Null when the source knows no modification time (an object store's differs per copy). */
    final HttpField lastModified;
    /** Whole seconds, or -1 when unknown. */
    final long lastModifiedMillis;
    final HttpField contentType;
    final HttpField cacheControl;
    /** The whole content, or null: {@link #body} streams it. */
    final ByteBuffer content;
    final Body body;

    /**
     * @param relative the repository path (for the content type and the caching class)
     * @param sha256 the content's SHA-256 (a blob's name)
     * @param lastModifiedMillis the modification time, or -1 if unknown
     * @param content the content (read-only), or null
     * @param body how to stream the content when {@code content} is null
     */
    Entry(String relative, long size, String sha256, long lastModifiedMillis, ByteBuffer content, Body body) {
      if ((content == null) == (body == null)) {
        throw new IllegalArgumentException("an entry has either its content or a body");
      }
      this.size = size;
      this.etag = Etags.quote(sha256);
      this.etagField = new PreEncodedHttpField(HttpHeader.ETAG, etag);
      this.lastModifiedMillis = lastModifiedMillis < 0 ? -1 : lastModifiedMillis / 1000 * 1000;
      this.lastModified = lastModifiedMillis < 0 ? null
          : new PreEncodedHttpField(HttpHeader.LAST_MODIFIED, DateGenerator.formatDate(this.lastModifiedMillis));
      this.contentType = contentType(relative.substring(relative.lastIndexOf('/') + 1));
      this.cacheControl = RepositoryLayout.isImmutable(relative) ? IMMUTABLE : NO_CACHE;
      this.content = content;
      this.body = body;
    }

    private Entry() {
      size = 0;
      etag = null;
      etagField = null;
      lastModified = null;
      lastModifiedMillis = -1;
      contentType = null;
      cacheControl = null;
      content = null;
      body = null;
    }
  }

  private final Source source;
  private final ServerMetrics metrics;

  StaticFiles(Source source, ServerMetrics metrics) {
    this.source = source;
    this.metrics = metrics;
  }

  /**
   * Answers a request without blocking if it can: a method other than GET and HEAD, a path that is
   * never served, or a file whose entry is known. Otherwise returns false, and the caller runs
   * {@link #handle} on a thread that may block (to load the file, or to stream it).
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
    Entry entry = source.cached(relative);
    if (entry == null) {
      return false;
    }
    if (entry == Entry.ABSENT) {
      notFound(request, response, callback, path);
      return true;
    }
    boolean head = HttpMethod.HEAD.is(method);
    if (!head && !notModified(request.getHeaders(), entry) && (entry.content == null || entry.size > INLINE_MAX)) {
      return false; // a body that is large or streamed: write it from a pool thread, the selector serves the rest
    }
    try {
      serve(request, response, callback, entry, head);
    } catch (IOException e) {
      callback.failed(e); // not reached: a body that is streamed is never sent from here
    }
    return true;
  }

  /**
   * Answers a request for a repository path, loading the file if needed (may block).
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
    Entry entry = source.lookup(relative);
    if (entry == null || entry == Entry.ABSENT) {
      notFound(request, response, callback, path);
      return;
    }
    serve(request, response, callback, entry, head);
  }

  /** Whether {@code If-None-Match} (or, without it, {@code If-Modified-Since}) holds for the entry: a 304. */
  private static boolean notModified(HttpFields requestHeaders, Entry entry) {
    String ifNoneMatch = requestHeaders.get(HttpHeader.IF_NONE_MATCH);
    if (ifNoneMatch != null) {
      return Etags.listMatches(ifNoneMatch, entry.etag, true);
    }
    if (entry.lastModifiedMillis < 0) {
      return false;
    }
    long modifiedSince = requestHeaders.getDateField(HttpHeader.IF_MODIFIED_SINCE.asString());
    return modifiedSince >= 0 && entry.lastModifiedMillis <= modifiedSince;
  }

  private void serve(Request request, Response response, Callback callback, Entry entry, boolean head)
      throws IOException {
    HttpFields requestHeaders = request.getHeaders();
    HttpFields.Mutable headers = response.getHeaders();
    headers.put(entry.etagField);
    if (entry.lastModified != null) {
      headers.put(entry.lastModified);
    }
    headers.put(entry.cacheControl);
    headers.put(ACCEPT_RANGES);

    String ifMatch = requestHeaders.get(HttpHeader.IF_MATCH);
    long unmodifiedSince = ifMatch != null ? -1 : requestHeaders.getDateField(HttpHeader.IF_UNMODIFIED_SINCE.asString());
    if (ifMatch != null ? !Etags.listMatches(ifMatch, entry.etag, false)
        : unmodifiedSince >= 0 && (entry.lastModifiedMillis < 0 || entry.lastModifiedMillis > unmodifiedSince)) {
      metrics.staticRequest(false);
      HttpErrors.write(request, response, callback, 412, ErrorCode.PRECONDITION_FAILED, "the file's ETag is " + entry.etag);
      return;
    }
    boolean notModified = notModified(requestHeaders, entry);
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
      entry.body.send(request, response, callback, start, length);
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
    if (value.startsWith("W/") || entry.lastModifiedMillis < 0) {
      return false;
    }
    long date = DateParsing.parse(value);
    return date >= 0 && date == entry.lastModifiedMillis;
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
