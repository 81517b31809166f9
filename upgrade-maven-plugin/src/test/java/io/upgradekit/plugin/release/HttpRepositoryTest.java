package io.upgradekit.plugin.release;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.upgradekit.schema.layout.RepositoryLayout;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Publishing over HTTP: the same releases as in a directory, through repo-server's protocol. */
class HttpRepositoryTest {
  @TempDir Path dir;
  Fixture fixture;
  FakeRepoServer server;

  @BeforeEach
  void setUp() throws IOException {
    fixture = new Fixture(dir);
    server = new FakeRepoServer();
    try (Stream<Path> walk = Files.walk(fixture.repository)) { // the trust root keygen wrote
      for (Path file : walk.filter(Files::isRegularFile).toList()) {
        server.files.put(fixture.repository.relativize(file).toString(), Files.readAllBytes(file));
      }
    }
  }

  @AfterEach
  void tearDown() {
    server.close();
  }

  private ReleaseRequest request(String version, String token) throws IOException {
    return new ReleaseRequest("demo", version, "stable", fixture.payload(version), server.uri().toString(), token,
        fixture.key, 3, Fixture.BUILT, ReleaseRequest.DEFAULT_MANIFEST_LIFETIME, ReleaseRequest.DEFAULT_POINTER_LIFETIME,
        Map.of(), dir.resolve("work-" + version), dir.resolve("release-" + version + ".json"), 5);
  }

  private ReleaseBuilder builder() {
    return new ReleaseBuilder(new CopyingEngine(), (location, token) -> Repositories.open(location, token, dir),
        Fixture.CLOCK, fixture.events::add);
  }

  @Test
  void publishesBlobsManifestAndPointerThroughTheApi() throws IOException {
    builder().release(request("1.0.0", FakeRepoServer.TOKEN));
    ReleaseResult second = builder().release(request("1.1.0", FakeRepoServer.TOKEN));

    assertThat(second.status()).isEqualTo(ReleaseResult.Status.PUBLISHED);
    assertThat(second.deltas()).extracting(ReleaseResult.Delta::fromVersion).containsExactly("1.0.0");
    assertThat(server.files).containsKeys(RepositoryLayout.releaseManifest("demo", "1.1.0"),
        RepositoryLayout.channelPointer("demo", "stable"), RepositoryLayout.blob(second.packageBlob().sha256()),
        RepositoryLayout.blob(second.deltas().get(0).blob().sha256()));
  }

  @Test
  void aPointerIsReSignedThroughTheApiWithIfMatch() throws IOException {
    builder().release(request("1.0.0", FakeRepoServer.TOKEN));
    java.time.Instant later = Fixture.NOW.plus(java.time.Duration.ofDays(100));
    server.writes.clear();

    PointerResigner.Result result = new PointerResigner((location, token) -> Repositories.open(location, token, dir),
        java.time.Clock.fixed(later, java.time.ZoneOffset.UTC), fixture.events::add).resign(
            new PointerResigner.Request("demo", "stable", server.uri().toString(), FakeRepoServer.TOKEN, fixture.key,
                java.time.Duration.ofDays(30), null, 5));

    assertThat(result.resigned()).isTrue();
    assertThat(result.sequence()).isEqualTo(2);
    assertThat(server.writes).extracting(FakeRepoServer.Write::method, FakeRepoServer.Write::path)
        .containsExactly(org.assertj.core.groups.Tuple.tuple("PUT", "v1/apps/demo/channels/stable"));
    byte[] pointer = server.files.get(RepositoryLayout.channelPointer("demo", "stable"));
    assertThat(io.upgradekit.schema.json.Json.read(io.upgradekit.schema.sign.Envelopes.parse(pointer,
        io.upgradekit.schema.model.DocumentType.CHANNEL).payloadBytes(), io.upgradekit.schema.model.ChannelPointer.class,
        "channel").expires()).isEqualTo(later.plus(java.time.Duration.ofDays(30)));
  }

  @Test
  void aReleaseSetIsCreatedOnceThroughTheApi() throws IOException {
    byte[] set = "{\"a set\":1}".getBytes(java.nio.charset.StandardCharsets.UTF_8);
    byte[] other = "{\"another\":2}".getBytes(java.nio.charset.StandardCharsets.UTF_8);
    try (Repository repository = Repositories.open(server.uri().toString(), FakeRepoServer.TOKEN, dir)) {
      assertThat(repository.createReleaseSet("shop", "1", set)).as("created").isNull();
      assertThat(repository.createReleaseSet("shop", "1", set)).as("the same bytes").isEqualTo(set);
      assertThat(repository.createReleaseSet("shop", "1", other)).as("the stored bytes").isEqualTo(set);
    }
    assertThat(server.files.get(RepositoryLayout.releaseSet("shop", "1"))).isEqualTo(set);
    assertThat(server.writes).extracting(FakeRepoServer.Write::path).contains("v1/sets/shop/1");
  }

  @Test
  void anIdenticalRerunSendsNoWrite() throws IOException {
    builder().release(request("1.0.0", FakeRepoServer.TOKEN));
    Map<String, byte[]> before = Map.copyOf(server.files);

    ReleaseResult again = builder().release(request("1.0.0", null)); // no token: any write would fail

    assertThat(again.status()).isEqualTo(ReleaseResult.Status.UNCHANGED);
    assertThat(server.files).isEqualTo(before);
  }

  @Test
  void otherContentUnderAPublishedVersionFails() throws IOException {
    builder().release(request("1.0.0", FakeRepoServer.TOKEN));
    ReleaseRequest changed = request("1.0.0", FakeRepoServer.TOKEN);
    Files.writeString(changed.payload().resolve("app.jar"), "changed");

    assertThatThrownBy(() -> builder().release(changed))
        .isInstanceOf(ConfigurationException.class).hasMessageContaining("different content");
  }

  @Test
  void aMissingTokenSaysWhereToPutIt() {
    assertThatThrownBy(() -> builder().release(request("1.0.0", null)))
        .isInstanceOf(ConfigurationException.class)
        .hasMessageContaining("UPGRADE_TOKEN")
        .hasMessageContaining("<serverId>");
  }

  @Test
  void aWrongTokenIsRefusedWithTheFixAndNeverEchoed() {
    assertThatThrownBy(() -> builder().release(request("1.0.0", "wrong-secret-value")))
        .isInstanceOf(ConfigurationException.class)
        .hasMessageContaining("401")
        .hasMessageNotContaining("wrong-secret-value");
  }

  private ReleaseBuilder builder(String tokenSource) {
    return new ReleaseBuilder(new CopyingEngine(), (location, token) -> Repositories.open(location, token, tokenSource,
        dir, message -> { }), Fixture.CLOCK, fixture.events::add);
  }

  @Test
  void aWrongTokenFailsBeforeAnyUploadNamingTheServerTheTokensSourceAndTheFix() {
    assertThatThrownBy(() -> builder("the UPGRADE_TOKEN environment variable")
        .release(request("1.0.0", "wrong-secret-value")))
        .isInstanceOf(ConfigurationException.class)
        .hasMessageContaining(server.uri().toString())
        .hasMessageContaining("refused the publisher token from the UPGRADE_TOKEN environment variable")
        .hasMessageContaining("--publish-token-file")
        .hasMessageContaining("nothing was uploaded")
        .hasMessageNotContaining("wrong-secret-value");
    assertThat(server.writes).as("not one byte of a blob was sent").isEmpty();
  }

  @Test
  void aBlobOverTheServersLimitIsRefusedBeforeItIsSent() {
    server.maxBlobSize = 10;

    assertThatThrownBy(() -> builder().release(request("1.0.0", FakeRepoServer.TOKEN)))
        .isInstanceOf(ConfigurationException.class)
        .hasMessageContaining("--max-blob-size")
        .satisfies(e -> assertThat(((ConfigurationException) e).code())
            .isEqualTo(io.upgradekit.schema.ErrorCode.BODY_TOO_LARGE));
    assertThat(server.writes).isEmpty();
  }

  @Test
  void aServerWithoutTheCredentialCheckIsStillPublishedTo() throws IOException {
    server.maxBlobSize = 0; // answers 404 to GET /v1/whoami, as repo-server before it

    assertThat(builder().release(request("1.0.0", FakeRepoServer.TOKEN)).status())
        .isEqualTo(ReleaseResult.Status.PUBLISHED);
  }

  @Test
  void uploadsAskForContinueWhereTheJdkClientHandlesIt() throws IOException {
    builder().release(request("1.0.0", FakeRepoServer.TOKEN));

    assertThat(server.writes).isNotEmpty().allSatisfy(write -> assertThat(write.expect())
        .isEqualTo(HttpRepository.EXPECT_CONTINUE ? "100-continue" : null));
    assertThat(HttpRepository.expectContinueWorks(Runtime.Version.parse("17.0.15"))).isFalse();
    assertThat(HttpRepository.expectContinueWorks(Runtime.Version.parse("21.0.2"))).isTrue();
  }

  @Test
  void racingPublishersRetryOnTheNewHeadAfterAPreconditionFailure() throws Exception {
    builder().release(request("1.0.0", FakeRepoServer.TOKEN));
    List<String> versions = List.of("2.0.0", "2.1.0", "2.2.0");
    List<ReleaseRequest> requests = new ArrayList<>();
    for (String version : versions) {
      requests.add(request(version, FakeRepoServer.TOKEN));
    }
    CountDownLatch start = new CountDownLatch(1);
    ExecutorService pool = Executors.newFixedThreadPool(versions.size());
    try {
      List<Future<ReleaseResult>> results = new ArrayList<>();
      for (ReleaseRequest request : requests) {
        results.add(pool.submit(() -> {
          start.await();
          return builder().release(request);
        }));
      }
      start.countDown();
      for (Future<ReleaseResult> result : results) {
        assertThat(result.get().status()).isEqualTo(ReleaseResult.Status.PUBLISHED);
      }
    } finally {
      pool.shutdownNow();
    }
    RepositoryVerifier.Report report;
    Path copy = dir.resolve("copy");
    for (Map.Entry<String, byte[]> file : server.files.entrySet()) {
      Files.createDirectories(copy.resolve(file.getKey()).getParent());
      Files.write(copy.resolve(file.getKey()), file.getValue());
    }
    report = new RepositoryVerifier(new CopyingEngine(), Fixture.CLOCK, e -> { })
        .verify(new DirectoryRepository(copy), dir.resolve("verify"));
    assertThat(report.problems()).isEmpty();
    assertThat(report.releases()).isEqualTo(4);
  }

  @Test
  void verifyWalksAnHttpRepositoryFromItsChannelsAndFindsTampering() throws IOException {
    builder().release(request("1.0.0", FakeRepoServer.TOKEN));
    ReleaseResult second = builder().release(request("1.1.0", FakeRepoServer.TOKEN));
    RepositoryVerifier verifier = new RepositoryVerifier(new CopyingEngine(), Fixture.CLOCK, e -> { });
    List<String> start = List.of("demo/stable");

    RepositoryVerifier.Report sound = verifier.verify(new HttpRepository(server.uri(), null), start, dir.resolve("v"));
    assertThat(sound.problems()).isEmpty();
    assertThat(sound.releases()).isEqualTo(2);
    assertThat(sound.deltas()).isEqualTo(1);

    String delta = RepositoryLayout.blob(second.deltas().get(0).blob().sha256());
    byte[] bytes = server.files.get(delta).clone();
    bytes[0] ^= 1;
    server.files.put(delta, bytes);
    RepositoryVerifier.Report tampered = verifier.verify(new HttpRepository(server.uri(), null), start,
        dir.resolve("v"));
    assertThat(tampered.problems()).anySatisfy(p -> {
      assertThat(p.code()).isEqualTo(io.upgradekit.schema.ErrorCode.HASH_MISMATCH);
      assertThat(p.path()).isEqualTo(delta);
    });
  }
}
