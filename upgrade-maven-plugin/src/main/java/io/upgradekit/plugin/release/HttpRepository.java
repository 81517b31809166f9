package io.upgradekit.plugin.release;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.Hashes;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.api.ApiBody;
import io.upgradekit.schema.api.ApiError;
import io.upgradekit.schema.api.Whoami;
import io.upgradekit.schema.layout.RepositoryLayout;
import io.upgradekit.schema.model.BlobRef;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * A repository served by repo-server: reads are plain static GETs of {@link RepositoryLayout}
 * paths; writes go through its publish API ({@code PUT /v1/blobs/<sha256>}, {@code PUT
 * /v1/apps/<app>/releases/<version>}, {@code PUT /v1/apps/<app>/channels/<channel>} with {@code
 * If-Match} / {@code If-None-Match: *}), authenticated with a bearer
 * token. The server verifies everything again; the token only lets a publisher deliver signed
 * documents.
 *
 * <p>Before its first write it checks the token with {@code GET /v1/whoami} (a cheap authenticated
 * request), so a wrong token fails at once with the fix instead of after uploading large blobs,
 * and a blob over the server's size limit is refused before it is sent. Uploads send {@code Expect:
 * 100-continue} where the JDK's client handles a refusal of it (Java 20 and later: on 17 its
 * {@code expectContinue} hangs on any answer but 100, JDK-8286171); repo-server reads and discards
 * a refused body of up to 8 MiB, so the refusal reaches the client either way.
 */
public final class HttpRepository implements Repository {
  private static final Duration TIMEOUT = Duration.ofMinutes(5);

  /** Whether this JVM's HTTP client may send {@code Expect: 100-continue} without hanging on a refusal. */
  static final boolean EXPECT_CONTINUE = expectContinueWorks(Runtime.version());

  private final URI base;
  private final String token;
  private final String tokenSource;
  private final HttpClient client;
  private volatile boolean checked;
  private volatile long maxBlobSize = Long.MAX_VALUE;

  /**
   * @param base the server's URL, e.g. {@code https://updates.example.com/}
   * @param token the publisher token, or null (then only reads work)
   */
  public HttpRepository(URI base, String token) {
    this(base, token, null);
  }

  /**
   * @param base the server's URL, e.g. {@code https://updates.example.com/}
   * @param token the publisher token, or null (then only reads work)
   * @param tokenSource where the token came from, for error messages (e.g. {@code the UPGRADE_TOKEN
   *     environment variable}), or null
   */
  public HttpRepository(URI base, String token, String tokenSource) {
    String text = Objects.requireNonNull(base, "base").toString();
    this.base = URI.create(text.endsWith("/") ? text : text + "/");
    this.token = token;
    this.tokenSource = tokenSource == null ? "the configured publisher token" : tokenSource;
    this.client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(20))
        .followRedirects(HttpClient.Redirect.NORMAL).build();
  }

  /** JDK-8286171: before Java 20 the client waits for ever after any answer to Expect but 100. */
  static boolean expectContinueWorks(Runtime.Version version) {
    return version.feature() >= 20;
  }

  @Override
  public String location() {
    return base.toString();
  }

  @Override
  public Stored read(String path, int maxBytes) throws IOException {
    HttpResponse<InputStream> response = send(HttpRequest.newBuilder(base.resolve(path)).GET(), false);
    try (InputStream body = response.body()) {
      if (response.statusCode() == 404) {
        return null;
      }
      requireSuccess(response, body, "GET " + path);
      byte[] bytes = body.readNBytes(maxBytes + 1);
      if (bytes.length > maxBytes) {
        throw new UpgradeException(ErrorCode.METADATA_TOO_LARGE, path + " is more than " + maxBytes + " bytes");
      }
      String etag = response.headers().firstValue("ETag").orElse('"' + Hashes.sha256(bytes) + '"');
      return new Stored(bytes, etag);
    }
  }

  @Override
  public boolean fetchBlob(BlobRef blob, Path target) throws IOException {
    String path = RepositoryLayout.blob(blob.sha256());
    HttpResponse<InputStream> response = send(HttpRequest.newBuilder(base.resolve(path)).GET(), false);
    try (InputStream body = response.body()) {
      if (response.statusCode() == 404) {
        return false;
      }
      requireSuccess(response, body, "GET " + path);
      Blobs.copyChecked(body, blob, target, "blob " + blob.sha256() + " from " + base);
      return true;
    }
  }

  @Override
  public boolean putBlob(BlobRef blob, Path file) throws IOException {
    String path = RepositoryLayout.blob(blob.sha256());
    HttpResponse<InputStream> head = send(HttpRequest.newBuilder(base.resolve(path))
        .method("HEAD", HttpRequest.BodyPublishers.noBody()), false);
    try (InputStream body = head.body()) {
      Optional<Long> length = head.headers().firstValueAsLong("Content-Length").stream().boxed().findFirst();
      if (head.statusCode() == 200 && length.isPresent() && length.get() == blob.size()) {
        return false;
      }
    }
    checkCredentials();
    if (blob.size() > maxBlobSize) {
      throw new ConfigurationException(ErrorCode.BODY_TOO_LARGE, "blob " + blob.sha256() + " is " + blob.size()
          + " bytes, more than the " + maxBlobSize + "-byte limit of repo-server at " + base + ": raise its"
          + " --max-blob-size, or make the payload smaller");
    }
    HttpResponse<InputStream> response = send(HttpRequest.newBuilder(base.resolve("v1/blobs/" + blob.sha256()))
        .header("Content-Type", "application/octet-stream")
        .PUT(HttpRequest.BodyPublishers.ofFile(file)), true);
    try (InputStream body = response.body()) {
      requireSuccess(response, body, "PUT /v1/blobs/" + blob.sha256());
      return response.statusCode() == 201;
    }
  }

  @Override
  public byte[] createManifest(String app, String version, byte[] envelope) throws IOException {
    String path = RepositoryLayout.releaseManifest(app, version);
    HttpResponse<InputStream> response = send(HttpRequest.newBuilder(base.resolve("v1/apps/" + app + "/releases/"
        + version)).header("Content-Type", "application/json").PUT(HttpRequest.BodyPublishers.ofByteArray(envelope)),
        true);
    try (InputStream body = response.body()) {
      if (response.statusCode() == 201) {
        return null;
      }
      if (response.statusCode() == 200) {
        return envelope; // the server had these exact bytes
      }
      if (response.statusCode() == 409 && "VERSION_EXISTS".equals(errorCode(readError(body)))) {
        Stored existing = read(path, io.upgradekit.schema.model.DocumentType.RELEASE.maxBytes());
        if (existing != null) {
          return existing.bytes();
        }
      }
      requireSuccess(response, body, "PUT /v1/apps/" + app + "/releases/" + version);
      return null;
    }
  }

  @Override
  public byte[] createReleaseSet(String name, String version, byte[] envelope) throws IOException {
    String path = RepositoryLayout.releaseSet(name, version);
    String api = "v1/sets/" + name + "/" + version;
    HttpResponse<InputStream> response = send(HttpRequest.newBuilder(base.resolve(api))
        .header("Content-Type", "application/json").PUT(HttpRequest.BodyPublishers.ofByteArray(envelope)), true);
    try (InputStream body = response.body()) {
      if (response.statusCode() == 201) {
        return null;
      }
      if (response.statusCode() == 200) {
        return envelope; // the server had these exact bytes
      }
      if (response.statusCode() == 409 && "VERSION_EXISTS".equals(errorCode(readError(body)))) {
        Stored existing = read(path, io.upgradekit.schema.model.DocumentType.RELEASE_SET.maxBytes());
        if (existing != null) {
          return existing.bytes();
        }
      }
      requireSuccess(response, body, "PUT /" + api);
      return null;
    }
  }

  @Override
  public boolean replacePointer(String app, String channel, Stored expected, long expectedSequence, byte[] envelope,
      long newSequence) throws IOException {
    HttpRequest.Builder request = HttpRequest.newBuilder(base.resolve("v1/apps/" + app + "/channels/" + channel))
        .header("Content-Type", "application/json").PUT(HttpRequest.BodyPublishers.ofByteArray(envelope));
    if (expected == null) {
      request.header("If-None-Match", "*");
    } else {
      request.header("If-Match", expected.tag());
    }
    HttpResponse<InputStream> response = send(request, true);
    try (InputStream body = response.body()) {
      if (response.statusCode() == 412) {
        return false; // another publisher's pointer is there now
      }
      if (response.statusCode() == 409) {
        byte[] text = readError(body);
        if ("ROLLBACK_REFUSED".equals(errorCode(text))) {
          return false; // a pointer with a higher sequence arrived between our read and write
        }
        throw failure(response, text, "PUT /v1/apps/" + app + "/channels/" + channel);
      }
      requireSuccess(response, body, "PUT /v1/apps/" + app + "/channels/" + channel);
      return true;
    }
  }

  @Override
  public List<String> listFiles() {
    throw new UnsupportedOperationException("an HTTP repository cannot be listed");
  }

  /**
   * Checks the token with one small authenticated request before the first write, and learns the
   * server's blob size limit. A server without {@code /v1/whoami} (older than this check) is taken
   * at its word later.
   */
  private void checkCredentials() throws IOException {
    if (checked) {
      return;
    }
    HttpResponse<InputStream> response = send(HttpRequest.newBuilder(base.resolve("v1/whoami")).GET(), true, false);
    try (InputStream body = response.body()) {
      int status = response.statusCode();
      byte[] text = body.readNBytes(ApiBody.ERROR.maxBytes());
      if (status == 200) {
        Whoami whoami = ApiBody.WHOAMI.read(text);
        if (!Whoami.PUBLISHER.equals(whoami.caller())) {
          throw new ConfigurationException(ErrorCode.AUTH_REQUIRED, "repo-server at " + base + " takes the token"
              + " from " + tokenSource + " for a " + whoami.caller() + "'s credential, not the publisher token");
        }
        if (whoami.maxBlobSize() != null) {
          maxBlobSize = whoami.maxBlobSize();
        }
      } else if (status == 401 || status == 403) {
        throw new ConfigurationException(ErrorCode.AUTH_REQUIRED, "repo-server at " + base + " refused the publisher"
            + " token from " + tokenSource + " (" + status + describe(errorBody(text)) + "); nothing was uploaded."
            + " Put the token the server was started with (the content of its --publish-token-file, or its"
            + " UPGRADEKIT_PUBLISH_TOKEN) into " + tokenSource);
      } else if (status != 404) {
        throw failure(response, text, "GET /v1/whoami");
      }
    }
    checked = true;
  }

  private HttpResponse<InputStream> send(HttpRequest.Builder request, boolean publish) throws IOException {
    if (publish) {
      checkCredentials();
    }
    return send(request, publish, publish && EXPECT_CONTINUE);
  }

  private HttpResponse<InputStream> send(HttpRequest.Builder request, boolean publish, boolean expectContinue)
      throws IOException {
    request.timeout(TIMEOUT);
    if (publish) {
      if (token == null || token.isBlank()) {
        throw new ConfigurationException(ErrorCode.AUTH_REQUIRED, "publishing to " + base + " needs the publisher"
            + " token: set the UPGRADE_TOKEN environment variable, or <serverId> to a settings.xml <server> whose"
            + " <password> is the token");
      }
      request.header("Authorization", "Bearer " + token);
      // Refusals (a wrong token, a full disk) then come before the body is sent.
      request.expectContinue(expectContinue);
    }
    try {
      return client.send(request.build(), HttpResponse.BodyHandlers.ofInputStream());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    }
  }

  private void requireSuccess(HttpResponse<InputStream> response, InputStream body, String what) throws IOException {
    if (response.statusCode() / 100 != 2) {
      throw failure(response, readError(body), what);
    }
  }

  private UpgradeException failure(HttpResponse<?> response, byte[] body, String what) {
    Optional<ApiError> error = errorBody(body);
    String text = what + " at " + base + " answered " + response.statusCode() + describe(error);
    int status = response.statusCode();
    if (status == 401 || status == 403) {
      return new ConfigurationException(ErrorCode.AUTH_REQUIRED, text + ". Check the publisher token from "
          + tokenSource);
    }
    // A code this release does not know yet is reported as text, as an I/O failure.
    return new UpgradeException(error.flatMap(ApiError::knownCode).orElse(ErrorCode.IO_ERROR), text);
  }

  /** At most an error body's worth of an answer (more is not an error body of repo-server's). */
  private static byte[] readError(InputStream body) throws IOException {
    return body.readNBytes(ApiBody.ERROR.maxBytes());
  }

  private static String errorCode(byte[] body) {
    return errorBody(body).map(ApiError::code).orElse(null);
  }

  /** repo-server's error body, or empty for anything else (a proxy's page, ...). */
  private static Optional<ApiError> errorBody(byte[] body) {
    try {
      return Optional.of(ApiBody.ERROR.read(body));
    } catch (UpgradeException e) {
      return Optional.empty();
    }
  }

  /** {@code " CODE: message"}, or nothing without an error body. */
  private static String describe(Optional<ApiError> error) {
    return error.map(e -> " " + e.code() + ": " + e.message()).orElse("");
  }

  @Override
  public void close() {
    // HttpClient has no close() before Java 21; its threads end with it.
  }

  @Override
  public String toString() {
    return "HttpRepository[" + base + "]"; // never the token
  }
}
