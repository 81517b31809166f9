package io.upgradekit.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.upgradekit.schema.Hashes;
import io.upgradekit.schema.model.DocumentType;
import io.upgradekit.schema.sign.Envelopes;
import io.upgradekit.schema.sign.SigningKey;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PublishApiTest {
  @TempDir Path root;
  TestRepository repo = new TestRepository();
  ServerFixture server;
  byte[] pkg = TestRepository.randomBytes(50_000, 7);
  String pkgHash = Hashes.sha256(pkg);

  @BeforeEach
  void start() throws Exception {
    repo.install(root);
    server = new ServerFixture(root);
  }

  @AfterEach
  void stop() throws Exception {
    server.close();
  }

  Path file(String relative) {
    return root.resolve(relative);
  }

  HttpResponse<String> putBlob(byte[] bytes) throws Exception {
    return server.put("/v1/blobs/" + Hashes.sha256(bytes), bytes);
  }

  @Test
  void blobsAreStoredOnlyUnderTheirHashAndIdempotently() throws Exception {
    HttpResponse<String> created = putBlob(pkg);
    assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
    Path stored = file("blobs/sha256/" + pkgHash.substring(0, 2) + "/" + pkgHash);
    assertThat(stored).hasBinaryContent(pkg);
    assertThat(created.headers().firstValue("ETag")).hasValue("\"" + pkgHash + "\"");
    assertThat(putBlob(pkg).statusCode()).isEqualTo(200);

    byte[] other = TestRepository.randomBytes(1000, 8);
    String claimed = Hashes.sha256(pkg).replace(pkgHash.charAt(0), pkgHash.charAt(0) == 'a' ? 'b' : 'a');
    HttpResponse<String> wrong = server.put("/v1/blobs/" + claimed, other);
    assertThat(wrong.statusCode()).isEqualTo(400);
    assertThat(wrong.body()).contains("HASH_MISMATCH");
    assertThat(file("blobs/sha256/" + claimed.substring(0, 2) + "/" + claimed)).doesNotExist();
    try (var files = Files.walk(file("blobs"))) {
      assertThat(files.filter(Files::isRegularFile)).containsExactly(stored);
    }
    assertThat(server.put("/v1/blobs/NOTAHASH", other).statusCode()).isEqualTo(400);
  }

  @Test
  void aReleaseNeedsAValidSignatureAndItsBlobs() throws Exception {
    byte[] manifest = repo.manifest("demo", "1.0.0", 1, pkg);
    HttpResponse<String> missingBlob = server.put("/v1/apps/demo/releases/1.0.0", manifest);
    assertThat(missingBlob.statusCode()).isEqualTo(409);
    assertThat(missingBlob.body()).contains("REFERENCE_MISSING");

    assertThat(putBlob(pkg).statusCode()).isEqualTo(201);
    byte[] unsigned = repo.manifest("demo", "1.0.0", 1, pkg, SigningKey.generate());
    HttpResponse<String> forged = server.put("/v1/apps/demo/releases/1.0.0", unsigned);
    assertThat(forged.statusCode()).isEqualTo(400);
    assertThat(forged.body()).contains("SIGNATURE_INVALID");
    assertThat(file("apps/demo/releases/1.0.0/release.json")).doesNotExist();

    HttpResponse<String> wrongVersion = server.put("/v1/apps/demo/releases/2.0.0", manifest);
    assertThat(wrongVersion.statusCode()).isEqualTo(400);
    assertThat(wrongVersion.body()).contains("METADATA_INCONSISTENT");

    HttpResponse<String> created = server.put("/v1/apps/demo/releases/1.0.0", manifest);
    assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
    assertThat(file("apps/demo/releases/1.0.0/release.json")).hasBinaryContent(manifest);
    assertThat(server.put("/v1/apps/demo/releases/1.0.0", manifest).statusCode()).isEqualTo(200);

    byte[] different = repo.manifest("demo", "1.0.0", 2, pkg);
    HttpResponse<String> immutable = server.put("/v1/apps/demo/releases/1.0.0", different);
    assertThat(immutable.statusCode()).isEqualTo(409);
    assertThat(immutable.body()).contains("VERSION_EXISTS");
    assertThat(file("apps/demo/releases/1.0.0/release.json")).hasBinaryContent(manifest);
  }

  @Test
  void aReleaseSetNeedsAValidSignatureAndItsComponentsReleases() throws Exception {
    java.time.Instant now = java.time.Instant.now();
    io.upgradekit.schema.model.ReleaseSet set = io.upgradekit.schema.model.ReleaseSet.of("shop", "1", 1, now,
        now.plusSeconds(3600), List.of(new io.upgradekit.schema.model.ReleaseSet.Component("demo", "1.0.0", null),
            new io.upgradekit.schema.model.ReleaseSet.Component("other", "2.0.0", List.of("demo"))),
        io.upgradekit.schema.model.ReleaseSet.Strategy.ROLLING, io.upgradekit.schema.model.ReleaseSet.Rollback.AUTO,
        null);
    byte[] envelope = Envelopes.sign(DocumentType.RELEASE_SET, set, List.of(repo.releaseKey));
    byte[] otherManifest = publishRelease("1.0.0", 1);
    assertThat(otherManifest).isNotEmpty();

    HttpResponse<String> missing = server.put("/v1/sets/shop/1", envelope);
    assertThat(missing.statusCode()).isEqualTo(409);
    assertThat(missing.body()).contains("REFERENCE_MISSING", "other 2.0.0").doesNotContain("demo 1.0.0");
    assertThat(file("sets/shop/1.json")).doesNotExist();

    byte[] bytes = TestRepository.randomBytes(2000, 99);
    assertThat(putBlob(bytes).statusCode()).isIn(200, 201);
    assertThat(server.put("/v1/apps/other/releases/2.0.0", repo.manifest("other", "2.0.0", 1, bytes)).statusCode())
        .isEqualTo(201);
    HttpResponse<String> forged = server.put("/v1/sets/shop/1", Envelopes.sign(DocumentType.RELEASE_SET, set,
        List.of(SigningKey.generate())));
    assertThat(forged.statusCode()).isEqualTo(400);
    assertThat(forged.body()).contains("SIGNATURE_INVALID");
    assertThat(server.put("/v1/sets/shop/2", envelope).body()).contains("METADATA_INCONSISTENT");

    HttpResponse<String> created = server.put("/v1/sets/shop/1", envelope);
    assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
    assertThat(file("sets/shop/1.json")).hasBinaryContent(envelope);
    assertThat(server.put("/v1/sets/shop/1", envelope).statusCode()).isEqualTo(200);
    HttpResponse<String> served = server.get("/sets/shop/1.json");
    assertThat(served.statusCode()).isEqualTo(200);
    assertThat(served.headers().firstValue("Cache-Control").orElse("")).contains("immutable");

    io.upgradekit.schema.model.ReleaseSet changed = io.upgradekit.schema.model.ReleaseSet.of("shop", "1", 1, now,
        now.plusSeconds(3600), List.of(new io.upgradekit.schema.model.ReleaseSet.Component("demo", "1.0.0", null)),
        io.upgradekit.schema.model.ReleaseSet.Strategy.ROLLING, io.upgradekit.schema.model.ReleaseSet.Rollback.AUTO,
        null);
    HttpResponse<String> immutable = server.put("/v1/sets/shop/1", Envelopes.sign(DocumentType.RELEASE_SET, changed,
        List.of(repo.releaseKey)));
    assertThat(immutable.statusCode()).isEqualTo(409);
    assertThat(immutable.body()).contains("VERSION_EXISTS");
    assertThat(file("sets/shop/1.json")).hasBinaryContent(envelope);
  }

  @Test
  void publishingNeedsTheToken() throws Exception {
    HttpResponse<String> none = server.send(server.request("/v1/blobs/" + pkgHash)
        .PUT(HttpRequest.BodyPublishers.ofByteArray(pkg)).build());
    assertThat(none.statusCode()).isEqualTo(401);
    assertThat(none.body()).contains("AUTH_REQUIRED");
    HttpResponse<String> wrong = server.send(server.request("/v1/blobs/" + pkgHash)
        .header("Authorization", "Bearer not-the-token-at-all")
        .PUT(HttpRequest.BodyPublishers.ofByteArray(pkg)).build());
    assertThat(wrong.statusCode()).isEqualTo(401);
    HttpResponse<String> node = server.send(server.request("/v1/blobs/" + pkgHash)
        .header("Authorization", ServerFixture.nodeAuth("n1"))
        .PUT(HttpRequest.BodyPublishers.ofByteArray(pkg)).build());
    assertThat(node.statusCode()).isEqualTo(401);
    assertThat(file("blobs")).doesNotExist();
  }

  @Test
  void aPublisherChecksItsTokenCheaplyBeforeUploading() throws Exception {
    HttpResponse<String> valid = server.send(server.request("/v1/whoami")
        .header("Authorization", "Bearer " + ServerFixture.TOKEN).GET().build());
    assertThat(valid.statusCode()).isEqualTo(200);
    assertThat(valid.body()).isEqualTo("{\"caller\":\"publisher\",\"maxBlobSize\":" + ServerConfig.DEFAULT_MAX_BLOB + "}");
    HttpResponse<String> wrong = server.send(server.request("/v1/whoami")
        .header("Authorization", "Bearer not-the-token-at-all").GET().build());
    assertThat(wrong.statusCode()).isEqualTo(401);
    assertThat(wrong.body()).contains("AUTH_REQUIRED");
    assertThat(server.get("/v1/whoami").statusCode()).isEqualTo(401);
  }

  byte[] publishRelease(String version, long sequence) throws Exception {
    byte[] bytes = TestRepository.randomBytes(2000, sequence);
    assertThat(putBlob(bytes).statusCode()).isIn(200, 201);
    byte[] manifest = repo.manifest("demo", version, sequence, bytes);
    assertThat(server.put("/v1/apps/demo/releases/" + version, manifest).statusCode()).isEqualTo(201);
    return manifest;
  }

  @Test
  void channelPointersSwapByCompareAndSwap() throws Exception {
    byte[] m1 = publishRelease("1.0.0", 1);
    byte[] m2 = publishRelease("1.1.0", 2);
    byte[] p1 = repo.pointer("demo", "stable", "1.0.0", 1, m1);
    byte[] p2 = repo.pointer("demo", "stable", "1.1.0", 2, m2);

    HttpResponse<String> unconditional = server.put("/v1/apps/demo/channels/stable", p1);
    assertThat(unconditional.statusCode()).isEqualTo(428);
    HttpResponse<String> first = server.put("/v1/apps/demo/channels/stable", p1, "If-None-Match", "*");
    assertThat(first.statusCode()).as(first.body()).isEqualTo(201);
    String etag1 = first.headers().firstValue("ETag").orElseThrow();
    assertThat(server.get("/apps/demo/channels/stable.json").headers().firstValue("ETag")).hasValue(etag1);
    assertThat(server.put("/v1/apps/demo/channels/stable", p1, "If-None-Match", "*").statusCode()).isEqualTo(412);

    HttpResponse<String> stale = server.put("/v1/apps/demo/channels/stable", p2, "If-Match", "\"" + "0".repeat(64) + "\"");
    assertThat(stale.statusCode()).isEqualTo(412);
    assertThat(stale.body()).contains("PRECONDITION_FAILED");
    HttpResponse<String> older = server.put("/v1/apps/demo/channels/stable",
        repo.pointer("demo", "stable", "1.0.0", 1, m1), "If-Match", etag1);
    assertThat(older.statusCode()).isEqualTo(409);
    assertThat(older.body()).contains("ROLLBACK_REFUSED");
    HttpResponse<String> swapped = server.put("/v1/apps/demo/channels/stable", p2, "If-Match", etag1);
    assertThat(swapped.statusCode()).as(swapped.body()).isEqualTo(200);
    assertThat(file("apps/demo/channels/stable.json")).hasBinaryContent(p2);
    // The server's own write is served at once, though it answered the old pointer a moment ago.
    assertThat(server.get("/apps/demo/channels/stable.json").headers().firstValue("ETag"))
        .isEqualTo(swapped.headers().firstValue("ETag"));

    byte[] dangling = repo.pointer("demo", "stable", "9.9.9", 3, m2);
    HttpResponse<String> missing = server.put("/v1/apps/demo/channels/stable", dangling, "If-Match",
        swapped.headers().firstValue("ETag").orElseThrow());
    assertThat(missing.statusCode()).isEqualTo(409);
    assertThat(missing.body()).contains("REFERENCE_MISSING");
    byte[] forged = Envelopes.sign(DocumentType.CHANNEL,
        io.upgradekit.schema.model.ChannelPointer.of("demo", "stable", "1.1.0", 5, TestRepository.EXPIRES,
            new io.upgradekit.schema.model.BlobRef(Hashes.sha256(m2), m2.length), null),
        List.of(SigningKey.generate()));
    assertThat(server.put("/v1/apps/demo/channels/stable", forged, "If-Match",
        swapped.headers().firstValue("ETag").orElseThrow()).statusCode()).isEqualTo(400);
    assertThat(file("apps/demo/channels/stable.json")).hasBinaryContent(p2);
  }

  @Test
  void concurrentSwapsFromOneEtagHaveExactlyOneWinner() throws Exception {
    byte[] m1 = publishRelease("1.0.0", 1);
    HttpResponse<String> first = server.put("/v1/apps/demo/channels/stable",
        repo.pointer("demo", "stable", "1.0.0", 1, m1), "If-None-Match", "*");
    String etag = first.headers().firstValue("ETag").orElseThrow();
    int racers = 8;
    ExecutorService pool = Executors.newFixedThreadPool(racers);
    try {
      List<Callable<Integer>> tasks = new ArrayList<>();
      for (int i = 0; i < racers; i++) {
        byte[] pointer = repo.pointer("demo", "stable", "1.0.0", 2 + i, m1);
        tasks.add(() -> server.put("/v1/apps/demo/channels/stable", pointer, "If-Match", etag).statusCode());
      }
      List<Integer> statuses = new ArrayList<>();
      for (Future<Integer> f : pool.invokeAll(tasks)) {
        statuses.add(f.get());
      }
      assertThat(statuses).filteredOn(s -> s == 200).hasSize(1);
      assertThat(statuses).filteredOn(s -> s == 412).hasSize(racers - 1);
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void trustRootRotationMustBeSignedByTheCurrentRoot() throws Exception {
    SigningKey newRootKey = SigningKey.generate();
    SigningKey newReleaseKey = SigningKey.generate();
    var next = TestRepository.root(2, newRootKey, newReleaseKey);
    byte[] selfSigned = Envelopes.sign(DocumentType.ROOT, next, List.of(newRootKey));
    HttpResponse<String> hijack = server.put("/v1/roots/2", selfSigned);
    assertThat(hijack.statusCode()).isEqualTo(400);
    assertThat(hijack.body()).contains("SIGNATURE_INVALID");
    assertThat(file("roots/2.root.json")).doesNotExist();

    byte[] rotation = Envelopes.sign(DocumentType.ROOT, next, List.of(repo.rootKey, newRootKey));
    assertThat(server.put("/v1/roots/3", rotation).statusCode()).isEqualTo(400);
    HttpResponse<String> rotated = server.put("/v1/roots/2", rotation);
    assertThat(rotated.statusCode()).as(rotated.body()).isEqualTo(201);
    assertThat(file("root.json")).hasBinaryContent(rotation);
    assertThat(file("roots/2.root.json")).hasBinaryContent(rotation);
    assertThat(server.put("/v1/roots/2", rotation).statusCode()).isEqualTo(200);

    // The old release key no longer publishes; the new one does.
    byte[] bytes = TestRepository.randomBytes(100, 99);
    putBlob(bytes);
    assertThat(server.put("/v1/apps/demo/releases/2.0.0", repo.manifest("demo", "2.0.0", 1, bytes)).statusCode())
        .isEqualTo(400);
    assertThat(server.put("/v1/apps/demo/releases/2.0.0", repo.manifest("demo", "2.0.0", 1, bytes, newReleaseKey))
        .statusCode()).isEqualTo(201);
  }
}
