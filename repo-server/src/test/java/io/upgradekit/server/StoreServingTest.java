package io.upgradekit.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.upgradekit.schema.Hashes;
import io.upgradekit.schema.layout.RepositoryLayout;
import io.upgradekit.schema.store.RepositoryStore;
import io.upgradekit.store.s3.S3ProxyServer;
import io.upgradekit.store.s3.S3Store;
import io.upgradekit.store.s3.S3StoreConfig;
import java.io.ByteArrayInputStream;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * repo-server {@code --store s3://...}: the static files served from a bucket of s3proxy with the
 * directory's ETags, 304s, ranges and never-served paths; a write by another process (here the
 * test, through its own store) is served within {@code --store-refresh}, and the server's own
 * writes at once.
 */
class StoreServingTest {
  static final String BUCKET = "server-test";
  static final Duration REFRESH = Duration.ofMillis(700);
  static S3ProxyServer proxy;
  static RepositoryStore other;
  static ServerFixture server;
  static String address;

  static byte[] blob = TestRepository.randomBytes(700_000, 1);
  static String blobHash = Hashes.sha256(blob);
  static String blobPath = "/" + RepositoryLayout.blob(blobHash);
  static byte[] small = TestRepository.randomBytes(1000, 2);
  static String smallHash = Hashes.sha256(small);
  static String smallPath = "/" + RepositoryLayout.blob(smallHash);
  static byte[] pointer = "{\"pointer\":1}".getBytes(StandardCharsets.UTF_8);

  @BeforeAll
  static void start() throws Exception {
    if (System.getenv("AWS_ACCESS_KEY_ID") == null) { // the store's keys come from the default chain only
      System.setProperty("aws.accessKeyId", "server-test");
      System.setProperty("aws.secretAccessKey", "server-test-secret");
    }
    String identity = System.getProperty("aws.accessKeyId", System.getenv("AWS_ACCESS_KEY_ID"));
    String secret = System.getProperty("aws.secretAccessKey", System.getenv("AWS_SECRET_ACCESS_KEY"));
    proxy = S3ProxyServer.start(identity, secret);
    proxy.createBucket(BUCKET, identity, secret);
    address = "s3://" + BUCKET + "/repo?endpoint=" + proxy.endpoint() + "&pathStyle=true";
    other = new S3Store(S3StoreConfig.parse(address));
    other.putBlob(blobHash, blob.length, new ByteArrayInputStream(blob));
    other.putBlob(smallHash, small.length, new ByteArrayInputStream(small));
    other.create("apps/demo/channels/stable.json", pointer);
    other.create("apps/demo/releases/1.0/release.json", pointer);
    other.create("claims/demo/1.0/wave/slot-0.json", pointer);
    other.create("feedback/demo/n1/e1/0.json", pointer);
    other.create("fleet/inventory/a.json", pointer);
    other.create("root.json", new TestRepository().rootBytes);
    server = new ServerFixture(address, b -> b.storeRefresh(REFRESH));
  }

  @AfterAll
  static void stop() throws Exception {
    server.close();
    other.close();
    proxy.close();
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
  void blobsComeFromTheBucketWithTheirHashAsEtagAndRanges() throws Exception {
    HttpResponse<byte[]> response = get(blobPath);
    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(response.body()).isEqualTo(blob);
    assertThat(header(response, "ETag")).isEqualTo("\"" + blobHash + "\"");
    assertThat(header(response, "Cache-Control")).isEqualTo("public, max-age=31536000, immutable");
    assertThat(header(response, "Last-Modified")).as("no time that every server on the store agrees on").isNull();
    assertThat(get(smallPath).body()).isEqualTo(small);
    assertThat(get(blobPath, "If-None-Match", "\"" + blobHash + "\"").statusCode()).isEqualTo(304);

    HttpResponse<byte[]> tail = get(blobPath, "Range", "bytes=699000-", "If-Range", "\"" + blobHash + "\"");
    assertThat(tail.statusCode()).isEqualTo(206);
    assertThat(header(tail, "Content-Range")).isEqualTo("bytes 699000-699999/" + blob.length);
    assertThat(tail.body()).isEqualTo(Arrays.copyOfRange(blob, 699_000, blob.length));
    HttpResponse<byte[]> middle = get(blobPath, "Range", "bytes=1000-1999");
    assertThat(middle.body()).isEqualTo(Arrays.copyOfRange(blob, 1000, 2000));
    assertThat(get(smallPath, "Range", "bytes=-10").body()).isEqualTo(Arrays.copyOfRange(small, 990, 1000));
    assertThat(get(blobPath, "Range", "bytes=800000-").statusCode()).isEqualTo(416);
  }

  @Test
  void pointersAnswer304AndAnotherProcesssWriteIsServedWithinTheRefresh() throws Exception {
    String path = "apps/demo/channels/beta.json";
    other.create(path, "{\"v\":1}".getBytes(StandardCharsets.UTF_8));
    HttpResponse<byte[]> first = get("/" + path);
    assertThat(first.statusCode()).isEqualTo(200);
    assertThat(header(first, "Cache-Control")).isEqualTo("no-cache");
    String etag = header(first, "ETag");
    assertThat(etag).isEqualTo("\"" + Hashes.sha256("{\"v\":1}".getBytes(StandardCharsets.UTF_8)) + "\"");
    assertThat(get("/" + path, "If-None-Match", etag).statusCode()).isEqualTo(304);

    RepositoryStore.Versioned stored = other.read(path, 1000).orElseThrow();
    byte[] next = "{\"v\":2}".getBytes(StandardCharsets.UTF_8);
    assertThat(other.compareAndSwap(path, stored.tag(), 2, next).written()).isTrue();
    long written = System.nanoTime();
    HttpResponse<byte[]> after;
    do {
      after = get("/" + path, "If-None-Match", etag);
    } while (after.statusCode() == 304 && System.nanoTime() - written < REFRESH.plusSeconds(5).toNanos());
    long seenAfter = System.nanoTime() - written;
    assertThat(after.statusCode()).isEqualTo(200);
    assertThat(after.body()).isEqualTo(next);
    assertThat(Duration.ofNanos(seenAfter)).as("served within the refresh and one read").isLessThan(
        REFRESH.plusSeconds(2));
  }

  @Test
  void theServersOwnWriteIsServedAtOnce() throws Exception {
    byte[] content = "a blob published through this server".getBytes(StandardCharsets.UTF_8);
    String sha = Hashes.sha256(content);
    String path = "/" + RepositoryLayout.blob(sha);
    try (ServerFixture slow = new ServerFixture(address, b -> b.storeRefresh(Duration.ofMinutes(10)))) {
      assertThat(slow.client.send(slow.request(path).GET().build(), HttpResponse.BodyHandlers.ofString())
          .statusCode()).isEqualTo(404); // now known not to be there, for ten minutes
      assertThat(slow.put("/v1/blobs/" + sha, content).statusCode()).isEqualTo(201);
      HttpResponse<byte[]> served = slow.client.send(slow.request(path).GET().build(),
          HttpResponse.BodyHandlers.ofByteArray());
      assertThat(served.statusCode()).isEqualTo(200);
      assertThat(served.body()).isEqualTo(content);
    }
  }

  @Test
  void privateAndMissingFilesAreNeverServed() throws Exception {
    for (String path : new String[] {"/claims/demo/1.0/wave/slot-0.json", "/feedback/demo/n1/e1/0.json",
        "/fleet/inventory/a.json", "/fleet/access/nodes.json", "/", "/apps/", "/apps/demo/channels", "/missing.json",
        "/apps/demo/.secret", "/apps/demo/channels/stable.json.tmp"}) {
      HttpResponse<byte[]> response = get(path);
      assertThat(response.statusCode()).as(path).isEqualTo(404);
      assertThat(new String(response.body(), StandardCharsets.UTF_8)).as(path).contains("\"code\":\"NOT_FOUND\"");
    }
    HttpResponse<String> head = server.send(server.request("/apps/demo/channels/stable.json")
        .method("HEAD", HttpRequest.BodyPublishers.noBody()).build());
    assertThat(head.statusCode()).isEqualTo(200);
    assertThat(head.headers().firstValueAsLong("Content-Length")).hasValue(pointer.length);
    assertThat(header(get("/apps/demo/releases/1.0/release.json"), "Cache-Control"))
        .isEqualTo("public, max-age=31536000, immutable");
  }
}
