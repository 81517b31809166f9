package io.upgradekit.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.upgradekit.schema.Hashes;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.Arrays;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StaticFilesTest {
  @TempDir static Path root;
  static ServerFixture server;
  static byte[] blob = TestRepository.randomBytes(700_000, 1);
  static String blobHash = Hashes.sha256(blob);
  static String blobPath = "/blobs/sha256/" + blobHash.substring(0, 2) + "/" + blobHash;
  static byte[] small = TestRepository.randomBytes(1000, 2);
  static String smallHash = Hashes.sha256(small);
  static String smallPath = "/blobs/sha256/" + smallHash.substring(0, 2) + "/" + smallHash;
  static byte[] pointer = "{\"pointer\":1}".getBytes();
  static final java.time.Duration REFRESH = java.time.Duration.ofMillis(400);

  @BeforeAll
  static void start() throws Exception {
    write(blobPath, blob);
    write(smallPath, small);
    write("/apps/demo/channels/stable.json", pointer);
    write("/apps/demo/rollout/1.0.json", pointer);
    write("/apps/demo/.secret", pointer);
    write("/apps/demo/channels/.stable.json.0123456789abcdef.tmp", pointer);
    write("/apps/demo/channels/stable.json.tmp", pointer);
    write("/claims/demo/1.0/wave/slot-0.json", pointer);
    write("/feedback/demo/n1/e1/0.json", pointer);
    write("/.git/config", pointer);
    write("/docs/index.html", "<p>hi</p>".getBytes());
    write("/apps/demo/releases/1.0/release.json", pointer);
    write("/roots/1.root.json", pointer);
    write("/root.json", new TestRepository().rootBytes);
    server = new ServerFixture(root, b -> b.storeRefresh(REFRESH));
  }

  @AfterAll
  static void stop() throws Exception {
    server.close();
  }

  static void write(String path, byte[] content) throws Exception {
    Path file = root.resolve(path.substring(1));
    Files.createDirectories(file.getParent());
    Files.write(file, content);
  }

  static HttpResponse<byte[]> get(String path, String... headers) throws Exception {
    HttpRequest.Builder b = server.request(path).GET();
    for (int i = 0; i < headers.length; i += 2) {
      b.header(headers[i], headers[i + 1]);
    }
    return server.client.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
  }

  static String header(HttpResponse<?> response, String name) {
    return response.headers().firstValue(name).orElse(null);
  }

  @Test
  void blobsAreImmutableWithTheirHashAsStrongEtag() throws Exception {
    HttpResponse<byte[]> response = get(blobPath);
    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(response.body()).isEqualTo(blob);
    assertThat(header(response, "ETag")).isEqualTo("\"" + blobHash + "\"");
    assertThat(header(response, "Cache-Control")).isEqualTo("public, max-age=31536000, immutable");
    assertThat(header(response, "Content-Type")).isEqualTo("application/octet-stream");
    assertThat(header(response, "Content-Encoding")).isNull();
    assertThat(header(response, "Accept-Ranges")).isEqualTo("bytes");
    assertThat(header(response, "Last-Modified")).isNotNull();
    assertThat(get(smallPath).body()).isEqualTo(small);
  }

  @Test
  void pointersAreRevalidatedAndAnswer304() throws Exception {
    HttpResponse<byte[]> first = get("/apps/demo/channels/stable.json");
    assertThat(first.statusCode()).isEqualTo(200);
    assertThat(header(first, "Cache-Control")).isEqualTo("no-cache");
    assertThat(header(first, "Content-Type")).isEqualTo("application/json");
    String etag = header(first, "ETag");
    assertThat(etag).isEqualTo("\"" + Hashes.sha256(pointer) + "\"");
    assertThat(header(get("/apps/demo/rollout/1.0.json"), "Cache-Control")).isEqualTo("no-cache");
    assertThat(header(get("/root.json"), "Cache-Control")).isEqualTo("no-cache");
    assertThat(header(get("/roots/1.root.json"), "Cache-Control")).isEqualTo("public, max-age=31536000, immutable");
    assertThat(header(get("/apps/demo/releases/1.0/release.json"), "Cache-Control"))
        .isEqualTo("public, max-age=31536000, immutable");

    HttpResponse<byte[]> byEtag = get("/apps/demo/channels/stable.json", "If-None-Match", etag);
    assertThat(byEtag.statusCode()).isEqualTo(304);
    assertThat(byEtag.body()).isEmpty();
    assertThat(header(byEtag, "ETag")).isEqualTo(etag);
    assertThat(get("/apps/demo/channels/stable.json", "If-None-Match", "\"x\", W/" + etag).statusCode()).isEqualTo(304);
    assertThat(get("/apps/demo/channels/stable.json", "If-None-Match", "\"other\"").statusCode()).isEqualTo(200);

    String lastModified = header(first, "Last-Modified");
    assertThat(get("/apps/demo/channels/stable.json", "If-Modified-Since", lastModified).statusCode()).isEqualTo(304);
    assertThat(get("/apps/demo/channels/stable.json", "If-Modified-Since", "Thu, 01 Jan 1970 00:00:00 GMT")
        .statusCode()).isEqualTo(200);
    assertThat(get(blobPath, "If-None-Match", "\"" + blobHash + "\"").statusCode()).isEqualTo(304);
  }

  @Test
  void aFileReplacedByAnotherProcessGetsANewEtagWithinTheRefresh() throws Exception {
    write("/apps/demo/channels/beta.json", "{\"v\":1}".getBytes());
    String before = header(get("/apps/demo/channels/beta.json"), "ETag");
    Path file = root.resolve("apps/demo/channels/beta.json");
    Path temp = file.resolveSibling(".beta.tmp");
    Files.write(temp, "{\"v\":2}".getBytes());
    Files.setLastModifiedTime(temp, FileTime.from(Instant.now().plusSeconds(5)));
    Files.move(temp, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    long replaced = System.nanoTime();
    HttpResponse<byte[]> after;
    do {
      after = get("/apps/demo/channels/beta.json", "If-None-Match", before);
    } while (after.statusCode() == 304 && System.nanoTime() - replaced < REFRESH.plusSeconds(5).toNanos());
    assertThat(java.time.Duration.ofNanos(System.nanoTime() - replaced)).isLessThan(REFRESH.plusSeconds(1));
    assertThat(after.statusCode()).isEqualTo(200);
    assertThat(new String(after.body())).isEqualTo("{\"v\":2}");
    assertThat(header(after, "ETag")).isEqualTo("\"" + Hashes.sha256("{\"v\":2}".getBytes()) + "\"");
  }

  @Test
  void rangesResumeDownloads() throws Exception {
    HttpResponse<byte[]> middle = get(blobPath, "Range", "bytes=1000-1999");
    assertThat(middle.statusCode()).isEqualTo(206);
    assertThat(header(middle, "Content-Range")).isEqualTo("bytes 1000-1999/" + blob.length);
    assertThat(middle.body()).isEqualTo(Arrays.copyOfRange(blob, 1000, 2000));

    HttpResponse<byte[]> tail = get(blobPath, "Range", "bytes=699000-");
    assertThat(tail.statusCode()).isEqualTo(206);
    assertThat(tail.body()).isEqualTo(Arrays.copyOfRange(blob, 699_000, blob.length));

    HttpResponse<byte[]> suffix = get(smallPath, "Range", "bytes=-10");
    assertThat(suffix.body()).isEqualTo(Arrays.copyOfRange(small, 990, 1000));

    HttpResponse<byte[]> beyond = get(blobPath, "Range", "bytes=800000-");
    assertThat(beyond.statusCode()).isEqualTo(416);
    assertThat(header(beyond, "Content-Range")).isEqualTo("bytes */" + blob.length);

    HttpResponse<byte[]> stale = get(blobPath, "Range", "bytes=0-9", "If-Range", "\"not-the-etag\"");
    assertThat(stale.statusCode()).isEqualTo(200);
    assertThat(stale.body()).isEqualTo(blob);
    HttpResponse<byte[]> fresh = get(blobPath, "Range", "bytes=0-9", "If-Range", "\"" + blobHash + "\"");
    assertThat(fresh.statusCode()).isEqualTo(206);
    assertThat(get(blobPath, "Range", "bytes=0-1,5-6").statusCode()).isEqualTo(200);
  }

  @Test
  void hiddenTempPrivateFilesAndDirectoriesAreNeverServed() throws Exception {
    for (String path : new String[] {"/apps/demo/.secret", "/apps/demo/channels/.stable.json.0123456789abcdef.tmp",
        "/apps/demo/channels/stable.json.tmp", "/.git/config", "/claims/demo/1.0/wave/slot-0.json",
        "/feedback/demo/n1/e1/0.json", "/", "/apps", "/apps/", "/apps/demo/channels", "/missing.json"}) {
      HttpResponse<byte[]> response = get(path);
      assertThat(response.statusCode()).as(path).isEqualTo(404);
      assertThat(new String(response.body())).as(path).contains("\"code\":\"NOT_FOUND\"");
    }
    assertThat(get("/apps/demo/%2esecret").statusCode()).isIn(400, 404);
    assertThat(get("/apps/demo/channels/..%2f.secret").statusCode()).isEqualTo(400);
  }

  @Test
  void contentTypesAndReadOnly() throws Exception {
    assertThat(header(get("/docs/index.html"), "Content-Type")).isEqualTo("text/html; charset=utf-8");
    HttpResponse<String> head = server.send(server.request("/apps/demo/channels/stable.json")
        .method("HEAD", HttpRequest.BodyPublishers.noBody()).build());
    assertThat(head.statusCode()).isEqualTo(200);
    assertThat(head.headers().firstValueAsLong("Content-Length")).hasValue(pointer.length);
    HttpResponse<String> delete = server.send(server.request("/apps/demo/channels/stable.json").DELETE().build());
    assertThat(delete.statusCode()).isEqualTo(405);
    assertThat(delete.body()).contains("REQUEST_INVALID");
  }
}
