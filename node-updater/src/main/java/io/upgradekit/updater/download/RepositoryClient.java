package io.upgradekit.updater.download;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.Hashes;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.model.BlobRef;
import io.upgradekit.schema.layout.RepositoryLayout;
import io.upgradekit.updater.journal.StateFiles;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.LongConsumer;

/**
 * Reads the repository over HTTP with the JDK client: bounded metadata reads, conditional polls,
 * resumable size-capped blob downloads, and small JSON posts to the server's API.
 *
 * <p>Every body is read through a stall watchdog ({@link BodyReader}); every read is capped (a
 * server cannot make the node read more than the signed size or the document type's cap); only
 * URLs under the repository base are fetched and redirects are never followed.
 */
public final class RepositoryClient {
  private static final int DOWNLOAD_ATTEMPTS = 3;

  private final URI base;
  private final Duration requestTimeout;
  private final Duration stallTimeout;

  public RepositoryClient(URI base, Duration requestTimeout, Duration stallTimeout) {
    String text = base.toString();
    this.base = URI.create(text.endsWith("/") ? text : text + "/");
    this.requestTimeout = requestTimeout;
    this.stallTimeout = stallTimeout;
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
  }

  /**
   * GETs a small document under the base, reading at most {@code cap} bytes.
   *
   * @param etag sent as If-None-Match, or null
   * @throws UpgradeException METADATA_TOO_LARGE past the cap; {@link HttpFailure} DOWNLOAD_FAILED otherwise
   */
  public Fetched fetch(String relativePath, int cap, String etag) {
    URI uri = under(relativePath);
    HttpRequest.Builder request = HttpRequest.newBuilder(uri).timeout(requestTimeout).GET();
    if (etag != null) {
      request.header("If-None-Match", etag);
    }
    HttpResponse<Flow.Publisher<List<ByteBuffer>>> response = send(request.build());
    BodyReader reader = BodyReader.subscribe(response.body());
    int status = response.statusCode();
    if (status == 304 || status == 404) {
      drainQuietly(reader);
      return new Fetched(status, null, null);
    }
    if (status != 200) {
      drainQuietly(reader);
      throw failure(uri, response);
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try {
      reader.drain(stallTimeout, chunk -> {
        if (out.size() + (long) chunk.remaining() > cap) {
          throw new CapExceeded();
        }
        byte[] bytes = new byte[chunk.remaining()];
        chunk.get(bytes);
        out.writeBytes(bytes);
      });
    } catch (CapExceeded e) {
      throw new UpgradeException(ErrorCode.METADATA_TOO_LARGE, uri + " is larger than " + cap
          + " bytes, the limit for this document; the node stopped reading it");
    } catch (IOException e) {
      throw new HttpFailure(ErrorCode.DOWNLOAD_FAILED, "cannot read " + uri + ": " + e.getMessage(), 0, null, e);
    }
    return new Fetched(200, out.toByteArray(), response.headers().firstValue("ETag").orElse(null));
  }

  /**
   * GETs a small body from any URL (the service's own metrics endpoint) with the same bounds as
   * repository reads: request timeout, stall watchdog, size cap.
   *
   * @return the body of a 200 answer, or null for any other status, a failure or more than {@code cap} bytes
   */
  public static byte[] getSmall(URI uri, int cap, Duration timeout) {
    try {
      HttpResponse<Flow.Publisher<List<ByteBuffer>>> response = SharedHttp.client(uri)
          .sendAsync(HttpRequest.newBuilder(uri).timeout(timeout).GET().build(), HttpResponse.BodyHandlers.ofPublisher())
          .get(timeout.toMillis() + 1000, TimeUnit.MILLISECONDS);
      BodyReader reader = BodyReader.subscribe(response.body());
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      reader.drain(timeout, chunk -> {
        if (response.statusCode() != 200 || out.size() + (long) chunk.remaining() > cap) {
          throw new CapExceeded();
        }
        byte[] bytes = new byte[chunk.remaining()];
        chunk.get(bytes);
        out.writeBytes(bytes);
      });
      return response.statusCode() == 200 ? out.toByteArray() : null;
    } catch (IOException | ExecutionException | TimeoutException e) {
      return null;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    }
  }

  /**
   * Makes sure {@code cacheDir/<sha256>} holds the blob: resumes a {@code .part} file with a Range
   * request, never reads past the signed size, checks the SHA-256, then renames into place.
   *
   * @param progress receives the number of bytes on disk so far
   * @return the complete blob file
   * @throws UpgradeException HASH_MISMATCH (the .part is deleted so the next try starts afresh),
   *     DOWNLOAD_FAILED after {@value #DOWNLOAD_ATTEMPTS} attempts
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
    HttpFailure last = null;
    for (int attempt = 1; attempt <= DOWNLOAD_ATTEMPTS; attempt++) {
      try {
        transfer(uri, blob, part, progress);
        last = null;
        break;
      } catch (HttpFailure e) {
        last = e;
        if (e.status() >= 400 && e.status() < 500 && e.status() != 408 && e.status() != 429) {
          break; // a client error will not cure itself
        }
        sleepQuietly(Duration.ofMillis(250L << attempt));
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
      Files.move(part, done, StandardCopyOption.ATOMIC_MOVE);
      StateFiles.fsyncDirectory(cacheDir);
      return done;
    } catch (IOException e) {
      throw new UpgradeException(ErrorCode.IO_ERROR, "cannot finish " + done + ": " + e, e);
    }
  }

  private void transfer(URI uri, BlobRef blob, Path part, LongConsumer progress) {
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
    HttpRequest.Builder request = HttpRequest.newBuilder(uri).timeout(requestTimeout).GET();
    if (have > 0) {
      request.header("Range", "bytes=" + have + "-");
    }
    HttpResponse<Flow.Publisher<List<ByteBuffer>>> response = send(request.build());
    BodyReader reader = BodyReader.subscribe(response.body());
    int status = response.statusCode();
    boolean append;
    if (status == 206 && have > 0) {
      String range = response.headers().firstValue("Content-Range").orElse("");
      if (!range.startsWith("bytes " + have + "-")) {
        drainQuietly(reader);
        throw new HttpFailure(ErrorCode.DOWNLOAD_FAILED, uri + " answered the range request from byte " + have
            + " with '" + range + "'", status, null, null);
      }
      append = true;
    } else if (status == 200) {
      append = false;
    } else if (status == 416) {
      drainQuietly(reader);
      try {
        Files.deleteIfExists(part);
      } catch (IOException e) {
        throw new UpgradeException(ErrorCode.IO_ERROR, "cannot delete " + part + ": " + e, e);
      }
      throw new HttpFailure(ErrorCode.DOWNLOAD_FAILED, uri + " refused the resume range; starting over", status,
          null, null);
    } else {
      drainQuietly(reader);
      throw failure(uri, response);
    }
    long start = append ? have : 0;
    try (FileChannel out = FileChannel.open(part, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
      if (!append) {
        out.truncate(0);
      }
      out.position(start);
      long[] written = {start};
      reader.drain(stallTimeout, chunk -> {
        if (written[0] + chunk.remaining() > blob.size()) {
          throw new CapExceeded();
        }
        while (chunk.hasRemaining()) {
          written[0] += out.write(chunk);
        }
        progress.accept(written[0]);
      });
      out.force(true);
      if (written[0] != blob.size()) {
        throw new HttpFailure(ErrorCode.DOWNLOAD_FAILED, uri + " ended after " + written[0] + " of " + blob.size()
            + " bytes", status, null, null);
      }
    } catch (CapExceeded e) {
      try {
        Files.deleteIfExists(part);
      } catch (IOException ignored) {
        // the hash check would refuse it anyway
      }
      throw new UpgradeException(ErrorCode.HASH_MISMATCH, uri + " is longer than its signed size of " + blob.size()
          + " bytes; the node stopped reading it");
    } catch (IOException e) {
      throw new HttpFailure(ErrorCode.DOWNLOAD_FAILED, "download of " + uri + " broke off: " + e.getMessage()
          + " (it resumes from the partial file)", 0, null, e);
    }
  }

  /**
   * POSTs a JSON body to the server's API and returns the status and (capped) body.
   *
   * @throws HttpFailure when no response arrives
   */
  public Fetched post(URI uri, byte[] json, Map<String, String> headers) {
    HttpRequest.Builder request = HttpRequest.newBuilder(uri).timeout(requestTimeout)
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofByteArray(json));
    headers.forEach(request::header);
    HttpResponse<Flow.Publisher<List<ByteBuffer>>> response = send(request.build());
    BodyReader reader = BodyReader.subscribe(response.body());
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try {
      reader.drain(stallTimeout, chunk -> {
        if (out.size() + (long) chunk.remaining() > 64 * 1024) {
          throw new CapExceeded();
        }
        byte[] bytes = new byte[chunk.remaining()];
        chunk.get(bytes);
        out.writeBytes(bytes);
      });
    } catch (IOException e) {
      // The status is what matters for an API answer.
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

  private HttpFailure failure(URI uri, HttpResponse<?> response) {
    int status = response.statusCode();
    String why = status >= 300 && status < 400
        ? " (a redirect" + response.headers().firstValue("Location").map(l -> " to " + l).orElse("")
            + "; the updater follows none: configure repository.url as the final address)"
        : "";
    return new HttpFailure(ErrorCode.DOWNLOAD_FAILED, uri + " answered HTTP " + status + why, status,
        retryAfter(response), null);
  }

  /** Sends a request; returns when the headers are in (the body is read through a {@link BodyReader}). */
  private HttpResponse<Flow.Publisher<List<ByteBuffer>>> send(HttpRequest request) {
    try {
      return SharedHttp.client(request.uri()).sendAsync(request, HttpResponse.BodyHandlers.ofPublisher())
          .get(requestTimeout.toMillis() + 1000, TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      Throwable cause = e.getCause() == null ? e : e.getCause();
      throw new HttpFailure(ErrorCode.DOWNLOAD_FAILED, "cannot reach " + request.uri() + ": " + cause, 0, null, cause);
    } catch (TimeoutException e) {
      throw new HttpFailure(ErrorCode.DOWNLOAD_FAILED, request.uri() + " did not answer within "
          + requestTimeout.toMillis() + " ms", 0, null, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new HttpFailure(ErrorCode.DOWNLOAD_FAILED, "interrupted while fetching " + request.uri(), 0, null, e);
    }
  }

  private void drainQuietly(BodyReader reader) {
    try {
      reader.drain(stallTimeout, chunk -> {
        if (chunk.remaining() > 0) {
          throw new CapExceeded(); // error bodies are not read
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

  private static void sleepQuietly(Duration d) {
    try {
      Thread.sleep(d.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Thrown inside a sink to stop reading at a cap. */
  private static final class CapExceeded extends IOException {
    private static final long serialVersionUID = 1L;

    CapExceeded() {
      super("cap exceeded");
    }
  }

}
