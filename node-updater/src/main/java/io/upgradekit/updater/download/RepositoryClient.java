package io.upgradekit.updater.download;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.Hashes;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.api.ApiBody;
import io.upgradekit.schema.api.ApiError;
import io.upgradekit.schema.io.DurableFiles;
import io.upgradekit.schema.layout.RepositoryLayout;
import io.upgradekit.schema.model.BlobRef;
import io.upgradekit.schema.model.DocumentType;
import io.upgradekit.updater.config.UpdaterConfig;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.LongConsumer;

/**
 * Reads the repository over HTTP with the JDK client: bounded metadata reads, conditional polls,
 * resumable size-capped blob downloads, and small JSON posts to the server's API.
 *
 * <p>The rules, for every exchange:
 *
 * <ul>
 *   <li><b>Size.</b> A document or blob whose size a signed document names is read up to that size
 *       and no further: one byte more is a refusal ({@code METADATA_INCONSISTENT} for metadata,
 *       {@code HASH_MISMATCH} for blobs), and so is a {@code Content-Length} that announces more.
 *       Only where nothing signed names a size (the channel pointer, trust roots, rollout state,
 *       API answers) does the document type's cap apply ({@code METADATA_TOO_LARGE}).
 *   <li><b>Time.</b> Connecting and the headers take at most {@code limits.requestTimeout}; a body
 *       may be silent for at most {@code limits.stallTimeout}, must deliver {@code
 *       limits.minDownloadRate} over each {@code limits.minDownloadRateWindow}, and the whole
 *       transfer (a blob download: all its attempts and the pauses between them) ends within a total
 *       deadline derived from its signed size or cap ({@link UpdaterConfig.Limits#deadlineFor}).
 *       The rate and the deadline end a transfer with {@code DOWNLOAD_TIMEOUT}.
 *   <li><b>Disk.</b> A blob download that fills the file system ({@code ENOSPC}, {@code EDQUOT})
 *       deletes its partial file before it fails with {@code DISK_FULL}, so that whoever records
 *       the failure has the space back.
 *   <li><b>Where.</b> Only URLs under the repository base are fetched; redirects are never
 *       followed.
 * </ul>
 */
public final class RepositoryClient {
  private static final int DOWNLOAD_ATTEMPTS = 3;
  /** The largest answer read from the server's API (claims, feedback): an error answer's cap, the largest of them. */
  static final int ANSWER_CAP = ApiBody.ERROR.maxBytes();

  private final URI base;
  private final UpdaterConfig.Limits limits;

  public RepositoryClient(URI base, UpdaterConfig.Limits limits) {
    String text = base.toString();
    this.base = URI.create(text.endsWith("/") ? text : text + "/");
    this.limits = limits;
  }

  public URI base() {
    return base;
  }

  /** A metadata response: 200 with a body, 304, or 404. */
  public record Fetched(int status, byte[] body, String etag) {
    public boolean notModified() {
      return status == 304;
    }

    public boolean notFound() {
      return status == 404;
    }

    /**
     * The server's error answer to an API request ({@code error}, read strictly), or empty if the
     * body is not one (a proxy's page, a cut answer).
     */
    public Optional<ApiError> error() {
      try {
        return Optional.of(ApiBody.ERROR.read(body));
      } catch (UpgradeException e) {
        return Optional.empty();
      }
    }
  }

  /**
   * GETs a document that no signed document references by size (a channel pointer, a trust root,
   * a rollout state), reading at most {@code cap} bytes.
   *
   * @param etag sent as If-None-Match, or null
   * @throws UpgradeException METADATA_TOO_LARGE past the cap; DOWNLOAD_TIMEOUT too slow; {@link
   *     HttpFailure} DOWNLOAD_FAILED otherwise
   */
  public Fetched fetch(String relativePath, int cap, String etag) {
    URI uri = under(relativePath);
    Transfer transfer = new Transfer(uri, cap);
    HttpRequest.Builder request = transfer.request().GET();
    if (etag != null) {
      request.header("If-None-Match", etag);
    }
    HttpResponse<Flow.Publisher<List<ByteBuffer>>> response = transfer.send(request);
    BodyReader reader = BodyReader.subscribe(response.body());
    int status = response.statusCode();
    if (status == 304 || status == 404) {
      drainQuietly(reader, transfer);
      return new Fetched(status, null, null);
    }
    if (status != 200) {
      drainQuietly(reader, transfer);
      throw failure(uri, response);
    }
    OptionalLong announced = contentLength(response);
    if (announced.isPresent() && announced.getAsLong() > cap) {
      reader.cancel();
      throw tooLarge(uri, cap);
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try {
      reader.drain(transfer.bounds(), chunk -> {
        if (out.size() + (long) chunk.remaining() > cap) {
          throw new CapExceeded();
        }
        byte[] bytes = new byte[chunk.remaining()];
        chunk.get(bytes);
        out.writeBytes(bytes);
      });
    } catch (CapExceeded e) {
      throw tooLarge(uri, cap);
    } catch (IOException e) {
      throw transfer.broken(e);
    }
    return new Fetched(200, out.toByteArray(), response.headers().firstValue("ETag").orElse(null));
  }

  private static UpgradeException tooLarge(URI uri, int cap) {
    return new UpgradeException(ErrorCode.METADATA_TOO_LARGE, uri + " is larger than " + cap
        + " bytes, the limit for this document; the node stopped reading it");
  }

  /**
   * GETs a document whose size and hash a signed document names (the release manifest a channel
   * pointer names): reads at most {@code expected.size()} bytes. The caller checks the hash
   * ({@code MetadataVerifier}); a shorter body fails that check.
   *
   * @param type the document's type, whose cap the signed size must respect
   * @param what names the reference in messages, e.g. "the channel pointer"
   * @return a 200 or 404 answer
   * @throws UpgradeException METADATA_TOO_LARGE when the signed size is over the type's cap (before
   *     any request); METADATA_INCONSISTENT when the server announces or sends more bytes than the
   *     signed size; DOWNLOAD_TIMEOUT too slow; {@link HttpFailure} DOWNLOAD_FAILED otherwise
   */
  public Fetched fetchReferenced(String relativePath, BlobRef expected, DocumentType type, String what) {
    URI uri = under(relativePath);
    if (expected.size() > type.maxBytes()) {
      throw new UpgradeException(ErrorCode.METADATA_TOO_LARGE, what + " names " + uri + " with " + expected.size()
          + " bytes, more than the " + type.maxBytes() + "-byte limit for a " + type.typeName() + " document");
    }
    int size = (int) expected.size();
    Transfer transfer = new Transfer(uri, size);
    HttpResponse<Flow.Publisher<List<ByteBuffer>>> response = transfer.send(transfer.request().GET());
    BodyReader reader = BodyReader.subscribe(response.body());
    int status = response.statusCode();
    if (status == 404) {
      drainQuietly(reader, transfer);
      return new Fetched(status, null, null);
    }
    if (status != 200) {
      drainQuietly(reader, transfer);
      throw failure(uri, response);
    }
    OptionalLong announced = contentLength(response);
    if (announced.isPresent() && announced.getAsLong() > size) {
      reader.cancel();
      throw longerThanSigned(uri, size, what, "announces " + announced.getAsLong() + " bytes (Content-Length)");
    }
    byte[] body = new byte[size]; // the signed size, within the type's cap: never a length the server chose
    int[] filled = {0};
    try {
      reader.drain(transfer.bounds(), chunk -> {
        if (chunk.remaining() > size - filled[0]) {
          throw new CapExceeded();
        }
        int n = chunk.remaining();
        chunk.get(body, filled[0], n);
        filled[0] += n;
      });
    } catch (CapExceeded e) {
      throw longerThanSigned(uri, size, what, "sent more; the node stopped reading at byte " + (size + 1));
    } catch (IOException e) {
      throw transfer.broken(e);
    }
    return new Fetched(200, filled[0] == size ? body : Arrays.copyOf(body, filled[0]), null);
  }

  private static UpgradeException longerThanSigned(URI uri, int size, String what, String how) {
    return new UpgradeException(ErrorCode.METADATA_INCONSISTENT, uri + " " + how + ", but " + what + " names "
        + size + " bytes: the repository serves another document than the signed one (mix-and-match)");
  }

  /**
   * GETs a small body from any URL (the service's own metrics endpoint): at most {@code cap}
   * bytes, and the whole exchange, headers and body, within {@code timeout}.
   *
   * @return the body of a 200 answer, or null for any other status, a failure, more than {@code
   *     cap} bytes, or more time than {@code timeout}
   */
  public static byte[] getSmall(URI uri, int cap, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    CompletableFuture<HttpResponse<Flow.Publisher<List<ByteBuffer>>>> future = SharedHttp.client(uri)
        .sendAsync(HttpRequest.newBuilder(uri).timeout(timeout).GET().build(), HttpResponse.BodyHandlers.ofPublisher());
    try {
      HttpResponse<Flow.Publisher<List<ByteBuffer>>> response = future.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
      BodyReader reader = BodyReader.subscribe(response.body());
      if (response.statusCode() != 200) {
        reader.cancel();
        return null;
      }
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      reader.drain(new BodyReader.Bounds(timeout, 0, timeout, deadline, timeout.toMillis() + " ms"), chunk -> {
        if (out.size() + (long) chunk.remaining() > cap) {
          throw new CapExceeded();
        }
        byte[] bytes = new byte[chunk.remaining()];
        chunk.get(bytes);
        out.writeBytes(bytes);
      });
      return out.toByteArray();
    } catch (IOException | ExecutionException | TimeoutException e) {
      future.cancel(true);
      return null;
    } catch (InterruptedException e) {
      future.cancel(true);
      Thread.currentThread().interrupt();
      return null;
    }
  }

  /**
   * Makes sure {@code cacheDir/<sha256>} holds the blob: resumes a {@code .part} file with a Range
   * request, never reads past the signed size, checks the SHA-256, then renames into place. Up to
   * {@value #DOWNLOAD_ATTEMPTS} attempts, all within one total deadline derived from the signed
   * size.
   *
   * @param progress receives the number of bytes on disk so far
   * @return the complete blob file
   * @throws UpgradeException HASH_MISMATCH (the .part is deleted so the next try starts afresh);
   *     DOWNLOAD_TIMEOUT below the minimum rate or past the deadline (the .part is kept: the next
   *     run resumes it); DISK_FULL when the file system filled up (the .part is deleted to give the
   *     space back); DOWNLOAD_FAILED after the last attempt
   */
  public Path downloadBlob(BlobRef blob, Path cacheDir, LongConsumer progress) {
    Path done = cacheDir.resolve(blob.sha256());
    Path part = cacheDir.resolve(blob.sha256() + ".part");
    try {
      Files.createDirectories(cacheDir);
      if (Files.exists(done)) {
        if (Files.size(done) == blob.size() && Hashes.sha256(done).equals(blob.sha256())) {
          return done;
        }
        Files.delete(done);
      }
    } catch (IOException e) {
      throw new UpgradeException(ErrorCode.IO_ERROR, "cannot use the download cache " + cacheDir + ": " + e, e);
    }
    URI uri = under(RepositoryLayout.blob(blob.sha256()));
    Transfer transfer = new Transfer(uri, blob.size()).resumable();
    HttpFailure last = null;
    for (int attempt = 1; attempt <= DOWNLOAD_ATTEMPTS; attempt++) {
      try {
        transfer(transfer, blob, part, progress);
        last = null;
        break;
      } catch (HttpFailure e) {
        last = e;
        if (e.code() == ErrorCode.DOWNLOAD_TIMEOUT) {
          break; // the deadline is spent, or the server is too slow: the next run resumes
        }
        if (e.status() >= 400 && e.status() < 500 && e.status() != 408 && e.status() != 429) {
          break; // a client error will not cure itself
        }
        if (attempt < DOWNLOAD_ATTEMPTS && !transfer.pause(Duration.ofMillis(250L << attempt))) {
          break; // no time left for another attempt
        }
      }
    }
    if (last != null) {
      throw last;
    }
    try {
      String actual = Hashes.sha256(part);
      if (!actual.equals(blob.sha256())) {
        Files.deleteIfExists(part);
        throw new UpgradeException(ErrorCode.HASH_MISMATCH, uri + " has SHA-256 " + actual + ", but the signed "
            + "manifest says " + blob.sha256() + ": the repository holds a damaged or tampered blob");
      }
      DurableFiles.renameAtomically(part, done);
      return done;
    } catch (IOException e) {
      throw new UpgradeException(ErrorCode.IO_ERROR, "cannot finish " + done + ": " + e, e);
    }
  }

  private void transfer(Transfer transfer, BlobRef blob, Path part, LongConsumer progress) {
    URI uri = transfer.uri;
    long have;
    try {
      have = Files.exists(part) ? Files.size(part) : 0;
      if (have > blob.size()) {
        Files.delete(part);
        have = 0;
      }
    } catch (IOException e) {
      throw new UpgradeException(ErrorCode.IO_ERROR, "cannot use " + part + ": " + e, e);
    }
    if (have == blob.size()) {
      return; // complete; the caller checks the hash
    }
    HttpRequest.Builder request = transfer.request().GET();
    if (have > 0) {
      request.header("Range", "bytes=" + have + "-");
    }
    HttpResponse<Flow.Publisher<List<ByteBuffer>>> response = transfer.send(request);
    BodyReader reader = BodyReader.subscribe(response.body());
    int status = response.statusCode();
    boolean append;
    if (status == 206 && have > 0) {
      String range = response.headers().firstValue("Content-Range").orElse("");
      if (!range.startsWith("bytes " + have + "-")) {
        drainQuietly(reader, transfer);
        throw new HttpFailure(ErrorCode.DOWNLOAD_FAILED, uri + " answered the range request from byte " + have
            + " with '" + range + "'", status, null, null);
      }
      append = true;
    } else if (status == 200) {
      append = false;
    } else if (status == 416) {
      drainQuietly(reader, transfer);
      deletePart(part);
      throw new HttpFailure(ErrorCode.DOWNLOAD_FAILED, uri + " refused the resume range; starting over", status,
          null, null);
    } else {
      drainQuietly(reader, transfer);
      throw failure(uri, response);
    }
    long start = append ? have : 0;
    OptionalLong announced = contentLength(response);
    if (announced.isPresent() && start + announced.getAsLong() > blob.size()) {
      reader.cancel();
      deletePart(part);
      throw new UpgradeException(ErrorCode.HASH_MISMATCH, uri + " announces " + announced.getAsLong()
          + " bytes from byte " + start + " (Content-Length), more than its signed size of " + blob.size()
          + " bytes; the node read none of them");
    }
    long[] written = {start};
    FileChannel file;
    try {
      file = FileChannel.open(part, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
    } catch (IOException e) {
      reader.cancel();
      throw writeFailure(e, part, uri, start, blob.size());
    }
    try (FileChannel out = file) {
      try {
        if (!append) {
          out.truncate(0);
        }
        out.position(start);
      } catch (IOException e) {
        throw new WriteFailed(e);
      }
      reader.drain(transfer.bounds(), chunk -> {
        if (written[0] + chunk.remaining() > blob.size()) {
          throw new CapExceeded();
        }
        try {
          while (chunk.hasRemaining()) {
            written[0] += out.write(chunk);
          }
        } catch (IOException e) {
          throw new WriteFailed(e);
        }
        progress.accept(written[0]);
      });
      try {
        out.force(true);
      } catch (IOException e) {
        throw new WriteFailed(e);
      }
      if (written[0] != blob.size()) {
        throw new HttpFailure(ErrorCode.DOWNLOAD_FAILED, uri + " ended after " + written[0] + " of " + blob.size()
            + " bytes", status, null, null);
      }
    } catch (CapExceeded e) {
      deletePart(part);
      throw new UpgradeException(ErrorCode.HASH_MISMATCH, uri + " is longer than its signed size of " + blob.size()
          + " bytes; the node stopped reading it");
    } catch (WriteFailed e) {
      reader.cancel();
      throw writeFailure(e.getCause(), part, uri, written[0], blob.size());
    } catch (IOException e) {
      throw transfer.broken(e); // the network, not the disk: the .part is kept for resuming
    }
  }

  /**
   * A write to the partial file failed. A full file system (or quota) is {@code DISK_FULL}, and the
   * partial file goes first: keeping it for a resume would keep the disk full, and then the
   * journal, the history and the report of this very failure could not be written.
   */
  private static UpgradeException writeFailure(IOException e, Path part, URI uri, long written, long size) {
    if (!isDiskFull(e, part)) {
      return new UpgradeException(ErrorCode.IO_ERROR, "cannot write " + part + ": " + e.getMessage(), e);
    }
    String freed;
    try {
      Files.deleteIfExists(part);
      freed = "the partial download was deleted to give the space back";
    } catch (IOException d) {
      freed = "the partial download " + part + " could not be deleted (" + d.getMessage() + ")";
    }
    return new UpgradeException(ErrorCode.DISK_FULL, "the file system of " + part.getParent() + " is full ("
        + e.getMessage() + ") after " + written + " of " + size + " bytes of " + uri + "; " + freed + ". Something "
        + "else filled it after the free-space check: free space there (old versions, logs) and run again", e);
  }

  /** ENOSPC or EDQUOT, by the JDK's message (strerror), or a write that failed with no space left. */
  static boolean isDiskFull(IOException e, Path file) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      String message = t.getMessage() == null ? "" : t.getMessage().toLowerCase(Locale.ROOT);
      if (message.contains("no space left on device") || message.contains("disk quota exceeded")) {
        return true;
      }
    }
    try {
      Path dir = file.toAbsolutePath().getParent();
      return Files.getFileStore(dir).getUsableSpace() < 64 * 1024;
    } catch (IOException | RuntimeException ignored) {
      return false;
    }
  }

  private static void deletePart(Path part) {
    try {
      Files.deleteIfExists(part);
    } catch (IOException e) {
      throw new UpgradeException(ErrorCode.IO_ERROR, "cannot delete " + part + ": " + e, e);
    }
  }

  /**
   * POSTs a JSON body to the server's API and returns the status and (capped, {@value
   * #ANSWER_CAP} bytes) body, all within the deadline of a transfer of that size.
   *
   * @throws HttpFailure when no response arrives, or for 429 and 5xx (with the server's Retry-After)
   */
  public Fetched post(URI uri, byte[] json, Map<String, String> headers) {
    Transfer transfer = new Transfer(uri, ANSWER_CAP + (long) json.length);
    HttpRequest.Builder request = transfer.request()
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofByteArray(json));
    return answer(uri, transfer, request, headers);
  }

  /**
   * GETs an answer of the server's API: the status and (capped, {@value #ANSWER_CAP} bytes) body,
   * all within the deadline of a transfer of that size.
   *
   * @throws HttpFailure when no response arrives, or for 429 and 5xx (with the server's Retry-After)
   */
  public Fetched get(URI uri, Map<String, String> headers) {
    Transfer transfer = new Transfer(uri, ANSWER_CAP);
    return answer(uri, transfer, transfer.request().GET(), headers);
  }

  private Fetched answer(URI uri, Transfer transfer, HttpRequest.Builder request, Map<String, String> headers) {
    headers.forEach(request::header);
    HttpResponse<Flow.Publisher<List<ByteBuffer>>> response = transfer.send(request);
    BodyReader reader = BodyReader.subscribe(response.body());
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try {
      reader.drain(transfer.bounds(), chunk -> {
        if (out.size() + (long) chunk.remaining() > ANSWER_CAP) {
          throw new CapExceeded();
        }
        byte[] bytes = new byte[chunk.remaining()];
        chunk.get(bytes);
        out.writeBytes(bytes);
      });
    } catch (IOException e) {
      // The status is what matters for an API answer; the body read stopped at its bounds.
    }
    int status = response.statusCode();
    if (status == 429 || status >= 500) {
      throw failure(uri, response);
    }
    return new Fetched(status, out.toByteArray(), null);
  }

  /** The Retry-After of a response in seconds (HTTP dates are rare from our server; ignored). */
  static Duration retryAfter(HttpResponse<?> response) {
    Optional<String> value = response.headers().firstValue("Retry-After");
    if (value.isEmpty()) {
      return null;
    }
    try {
      long seconds = Long.parseLong(value.get().strip());
      return seconds < 0 ? null : Duration.ofSeconds(Math.min(seconds, 24 * 3600));
    } catch (NumberFormatException e) {
      return null;
    }
  }

  private static OptionalLong contentLength(HttpResponse<?> response) {
    Optional<String> value = response.headers().firstValue("Content-Length");
    if (value.isEmpty()) {
      return OptionalLong.empty();
    }
    try {
      return OptionalLong.of(Long.parseLong(value.get().strip()));
    } catch (NumberFormatException e) {
      return OptionalLong.empty(); // the JDK client refuses such a response itself
    }
  }

  private HttpFailure failure(URI uri, HttpResponse<?> response) {
    int status = response.statusCode();
    String why = status >= 300 && status < 400
        ? " (a redirect" + response.headers().firstValue("Location").map(l -> " to " + l).orElse("")
            + "; the updater follows none: configure repository.url as the final address)"
        : "";
    return new HttpFailure(ErrorCode.DOWNLOAD_FAILED, uri + " answered HTTP " + status + why, status,
        retryAfter(response), null);
  }

  /** Error and empty bodies are not read: the first byte of one ends the exchange. */
  private void drainQuietly(BodyReader reader, Transfer transfer) {
    long soon = System.nanoTime() + limits.requestTimeout().toNanos();
    BodyReader.Bounds bounds = transfer.bounds();
    try {
      reader.drain(new BodyReader.Bounds(bounds.stall(), 0, bounds.window(),
          soon - bounds.deadlineNanos() < 0 ? soon : bounds.deadlineNanos(), bounds.deadlineText()), chunk -> {
            if (chunk.remaining() > 0) {
              throw new CapExceeded();
            }
          });
    } catch (IOException e) {
      // nothing to keep
    }
  }

  /** Resolves a repository path and refuses anything that would leave the base. */
  URI under(String relativePath) {
    URI uri = base.resolve(relativePath);
    if (!uri.toString().startsWith(base.toString()) || relativePath.contains("..") || relativePath.startsWith("/")) {
      throw new UpgradeException(ErrorCode.DOWNLOAD_FAILED, "refusing to fetch " + uri + ": it is not under the "
          + "repository base " + base);
    }
    return uri;
  }

  /**
   * One transfer's clock: its total deadline, fixed when it starts from the size it may move, and
   * the bounds of each exchange within it.
   */
  private final class Transfer {
    final URI uri;
    final Duration total;
    final long deadline;
    private boolean resumable;

    Transfer(URI uri, long bytes) {
      this.uri = uri;
      this.total = limits.deadlineFor(bytes);
      this.deadline = System.nanoTime() + total.toNanos();
    }

    /** A blob download: what arrived stays in the partial file, which the next attempt or run resumes. */
    Transfer resumable() {
      resumable = true;
      return this;
    }

    long remainingNanos() {
      return deadline - System.nanoTime();
    }

    BodyReader.Bounds bounds() {
      return new BodyReader.Bounds(limits.stallTimeout(), limits.minDownloadRate(), limits.minDownloadRateWindow(),
          deadline, total.toSeconds() + " s (limits.requestTimeout + limits.minDownloadRateWindow + its size at "
              + "limits.minDownloadRate)");
    }

    /** A request whose header timeout is the request timeout, or what is left of the deadline. */
    HttpRequest.Builder request() {
      return HttpRequest.newBuilder(uri).timeout(headerWait());
    }

    private Duration headerWait() {
      long left = Math.max(1, remainingNanos());
      return left < limits.requestTimeout().toNanos() ? Duration.ofNanos(left) : limits.requestTimeout();
    }

    /** Sends a request; returns when the headers are in (the body is read through a {@link BodyReader}). */
    HttpResponse<Flow.Publisher<List<ByteBuffer>>> send(HttpRequest.Builder builder) {
      HttpRequest request = builder.build();
      if (remainingNanos() <= 0) {
        throw timeout("did not end within its total deadline of " + total.toSeconds() + " s", null);
      }
      Duration wait = headerWait();
      CompletableFuture<HttpResponse<Flow.Publisher<List<ByteBuffer>>>> future = SharedHttp.client(uri)
          .sendAsync(request, HttpResponse.BodyHandlers.ofPublisher());
      try {
        // The connect timeout is the shared client's; this bounds connect and headers together.
        return future.get(wait.toNanos(), TimeUnit.NANOSECONDS);
      } catch (ExecutionException e) {
        Throwable cause = e.getCause() == null ? e : e.getCause();
        if (cause instanceof java.net.http.HttpTimeoutException && remainingNanos() <= 0) {
          throw timeout("did not end within its total deadline of " + total.toSeconds() + " s", cause);
        }
        throw new HttpFailure(ErrorCode.DOWNLOAD_FAILED, "cannot reach " + uri + ": " + cause, 0, null, cause);
      } catch (TimeoutException e) {
        future.cancel(true);
        if (remainingNanos() <= 0) {
          throw timeout("did not end within its total deadline of " + total.toSeconds() + " s", e);
        }
        throw new HttpFailure(ErrorCode.DOWNLOAD_FAILED, uri + " did not answer within "
            + limits.requestTimeout().toMillis() + " ms (limits.requestTimeout)", 0, null, e);
      } catch (InterruptedException e) {
        future.cancel(true);
        Thread.currentThread().interrupt();
        throw new HttpFailure(ErrorCode.DOWNLOAD_FAILED, "interrupted while fetching " + uri, 0, null, e);
      }
    }

    /** A body read that failed: too slow is DOWNLOAD_TIMEOUT, anything else DOWNLOAD_FAILED. */
    HttpFailure broken(IOException e) {
      if (e instanceof BodyReader.TooSlow) {
        return timeout(e.getMessage(), e);
      }
      return new HttpFailure(ErrorCode.DOWNLOAD_FAILED, "cannot read " + uri + ": " + e.getMessage()
          + (resumable ? " (the download resumes from the partial file)" : ""), 0, null, e);
    }

    HttpFailure timeout(String why, Throwable cause) {
      return new HttpFailure(ErrorCode.DOWNLOAD_TIMEOUT, uri + ": " + why + (resumable ? "; the partial download "
          + "is kept and the next run resumes it" : "") + ". Check the network path to the repository, or lower "
          + "limits.minDownloadRate for a slow link", 0, null, cause);
    }

    /** Sleeps before a retry; false when the pause would not leave time for the retry. */
    boolean pause(Duration d) {
      if (remainingNanos() - d.toNanos() < limits.requestTimeout().toNanos()) {
        return false;
      }
      try {
        Thread.sleep(d.toMillis());
        return true;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      }
    }
  }

  /** Thrown inside a sink to stop reading at a cap. */
  private static final class CapExceeded extends IOException {
    private static final long serialVersionUID = 1L;

    CapExceeded() {
      super("cap exceeded");
    }
  }

  /** Thrown inside a sink when the partial file cannot be written. */
  private static final class WriteFailed extends IOException {
    private static final long serialVersionUID = 1L;

    WriteFailed(IOException cause) {
      super(cause.getMessage(), cause);
    }

    @Override
    public synchronized IOException getCause() {
      return (IOException) super.getCause();
    }
  }
}
