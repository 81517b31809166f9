package io.upgradekit.plugin.release;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.io.PointerSwap;
import io.upgradekit.schema.json.Json;
import io.upgradekit.schema.layout.RepositoryLayout;
import io.upgradekit.schema.model.BlobRef;
import io.upgradekit.schema.model.ChannelPointer;
import io.upgradekit.schema.model.DocumentType;
import io.upgradekit.schema.model.ReleaseManifest;
import io.upgradekit.schema.sign.MetadataVerifier;
import io.upgradekit.schema.sign.SigningKey;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ReleaseBuilderTest {
  @TempDir Path dir;
  Fixture fixture;

  @BeforeEach
  void setUp() throws IOException {
    fixture = new Fixture(dir);
  }

  private MetadataVerifier verifier() throws IOException {
    return new MetadataVerifier(RepositoryTrust.load(new DirectoryRepository(fixture.repository), Fixture.CLOCK),
        Fixture.CLOCK);
  }

  private ChannelPointer pointer(String channel) throws IOException {
    byte[] bytes = Files.readAllBytes(fixture.repository.resolve(RepositoryLayout.channelPointer("demo", channel)));
    return verifier().verifyChannelPointer(bytes, "demo", channel, 0);
  }

  private ReleaseManifest manifest(ChannelPointer pointer) throws IOException {
    byte[] bytes = Files.readAllBytes(fixture.repository.resolve(RepositoryLayout.releaseManifest("demo",
        pointer.version())));
    return verifier().verifyReleaseManifest(bytes, pointer);
  }

  @Test
  void firstReleasePublishesPackageManifestAndPointer() throws IOException {
    ReleaseResult result = fixture.release("1.0.0");

    assertThat(result.status()).isEqualTo(ReleaseResult.Status.PUBLISHED);
    assertThat(result.verified()).isTrue();
    ChannelPointer pointer = pointer("stable");
    assertThat(pointer.version()).isEqualTo("1.0.0");
    assertThat(pointer.sequence()).isEqualTo(1);
    assertThat(pointer.previous()).isNull();
    assertThat(pointer.expires()).isEqualTo(Fixture.BUILT.plus(ReleaseRequest.DEFAULT_POINTER_LIFETIME));
    ReleaseManifest manifest = manifest(pointer);
    assertThat(manifest.sequence()).isEqualTo(Fixture.BUILT.getEpochSecond());
    assertThat(manifest.created()).isEqualTo(Fixture.BUILT);
    assertThat(manifest.deltas()).isEmpty();
    assertThat(manifest.payload().entries()).extracting(e -> e.path()).containsExactly("app.jar", "lib/common.jar");
    Path packageFile = fixture.repository.resolve(RepositoryLayout.blob(manifest.packageBlob().sha256()));
    assertThat(Blobs.of(packageFile)).isEqualTo(manifest.packageBlob());
    assertThat(result.manifest()).isEqualTo(pointer.manifest());
    assertThat(fixture.verify().problems()).isEmpty();
  }

  @Test
  void summaryFileSaysWhatWasPublished() throws IOException {
    ReleaseResult result = fixture.release("1.0.0");

    byte[] summary = Files.readAllBytes(dir.resolve("work-1.0.0-release.json"));
    assertThat(new String(summary, java.nio.charset.StandardCharsets.UTF_8))
        .contains("\"status\":\"published\"", "\"version\":\"1.0.0\"", "\"package\":{", result.treeHash());
    try (var left = Files.list(dir.resolve("work-1.0.0"))) {
      assertThat(left).as("scratch files cleaned up").isEmpty();
    }
  }

  @Test
  void secondReleaseCarriesAVerifiedDeltaFromTheFirst() throws IOException {
    fixture.release("1.0.0");
    ReleaseResult result = fixture.release("1.1.0");

    ChannelPointer pointer = pointer("stable");
    assertThat(pointer.version()).isEqualTo("1.1.0");
    assertThat(pointer.sequence()).isEqualTo(2);
    assertThat(pointer.previous()).containsExactly("1.0.0");
    ReleaseManifest manifest = manifest(pointer);
    assertThat(manifest.sequence()).as("above the head's, built at the same time").isEqualTo(
        Fixture.BUILT.getEpochSecond() + 1);
    assertThat(manifest.deltas()).hasSize(1);
    assertThat(manifest.deltas().get(0).fromVersion()).isEqualTo("1.0.0");
    assertThat(manifest.deltas().get(0).blob().size()).isLessThan(manifest.packageBlob().size());
    assertThat(result.deltas()).singleElement().satisfies(d -> assertThat(d.ratio()).isBetween(0.0, 1.0));
    assertThat(fixture.verify().problems()).isEmpty();
  }

  @Test
  void deltasComeFromTheLatestDeltaCountReleasesOfTheChannel() throws IOException {
    for (String version : List.of("1.0.0", "1.1.0", "1.2.0", "1.3.0")) {
      fixture.release(version);
    }
    fixture.builder().release(fixture.request("1.4.0", fixture.payload("1.4.0"), "stable", 2, "work"));

    ChannelPointer pointer = pointer("stable");
    assertThat(pointer.previous()).containsExactly("1.3.0", "1.2.0", "1.1.0", "1.0.0");
    assertThat(manifest(pointer).deltas()).extracting(d -> d.fromVersion()).containsExactly("1.3.0", "1.2.0");
  }

  @Test
  void identicalRerunSucceedsAndChangesNothing() throws IOException {
    fixture.release("1.0.0");
    fixture.release("1.1.0");
    Map<String, String> before = fixture.snapshot();

    ReleaseResult again = fixture.release("1.1.0");

    assertThat(again.status()).isEqualTo(ReleaseResult.Status.UNCHANGED);
    assertThat(again.verified()).as("nothing was built, so nothing was applied").isFalse();
    assertThat(again.deltas()).hasSize(1);
    assertThat(fixture.snapshot()).isEqualTo(before);
  }

  @Test
  void rerunOfAnOlderVersionLeavesTheChannelWhereItIs() throws IOException {
    fixture.release("1.0.0");
    fixture.release("1.1.0");
    Map<String, String> before = fixture.snapshot();

    assertThat(fixture.release("1.0.0").status()).isEqualTo(ReleaseResult.Status.UNCHANGED);
    assertThat(fixture.snapshot()).isEqualTo(before);
  }

  @Test
  void otherContentUnderAPublishedVersionFailsAndChangesNothing() throws IOException {
    fixture.release("1.0.0");
    Map<String, String> before = fixture.snapshot();
    Path changed = fixture.payload("1.0.0");
    Files.writeString(changed.resolve("app.jar"), "something else");

    assertThatThrownBy(() -> fixture.builder().release(fixture.request("1.0.0", changed)))
        .isInstanceOf(ConfigurationException.class)
        .satisfies(e -> assertThat(((UpgradeException) e).code()).isEqualTo(ErrorCode.VERSION_EXISTS))
        .hasMessageContaining("1.0.0 is already published")
        .hasMessageContaining("different content")
        .hasMessageContaining("<version>");
    assertThat(fixture.snapshot()).isEqualTo(before);
  }

  @Test
  void aLaterBuildOnAnotherChannelIsNotOrderedBelowThisChannelsReleases() throws IOException {
    fixture.release("1.0.0");
    fixture.release("1.1.0");
    ReleaseRequest beta = fixture.request("2.0.0", fixture.payload("2.0.0"), "beta", 3, "beta");
    ReleaseRequest later = new ReleaseRequest(beta.app(), beta.version(), beta.channel(), beta.payload(),
        beta.repository(), null, beta.signingKey(), 3, Fixture.BUILT.plusSeconds(3600), beta.manifestLifetime(),
        beta.pointerLifetime(), Map.of(), beta.workDirectory(), beta.summaryFile(), 5);

    long betaSequence = fixture.builder().release(later).sequence();

    assertThat(betaSequence).isGreaterThan(manifest(pointer("stable")).sequence());
  }

  @Test
  void publishingAnExistingVersionToAnotherChannelOnlyMovesThatPointer() throws IOException {
    fixture.release("1.0.0");
    ReleaseResult result = fixture.builder().release(fixture.request("1.0.0", fixture.payload("1.0.0"), "beta", 3,
        "work"));

    assertThat(result.status()).isEqualTo(ReleaseResult.Status.POINTER_UPDATED);
    assertThat(pointer("beta").manifest()).isEqualTo(pointer("stable").manifest());
  }

  @Test
  void aPublishThatDiedBeforeThePointerIsFinishedByTheRerun() throws IOException {
    fixture.release("1.0.0");
    ReleaseBuilder dying = new ReleaseBuilder(new CopyingEngine(), (location, token) ->
        new PointerFailingRepository(new DirectoryRepository(Path.of(location))), Fixture.CLOCK, fixture.events::add);
    assertThatThrownBy(() -> dying.release(fixture.request("1.1.0", fixture.payload("1.1.0"))))
        .isInstanceOf(UpgradeException.class).hasMessageContaining("killed");
    assertThat(pointer("stable").version()).isEqualTo("1.0.0");

    ReleaseResult rerun = fixture.release("1.1.0");

    assertThat(rerun.status()).isEqualTo(ReleaseResult.Status.POINTER_UPDATED);
    assertThat(pointer("stable").version()).isEqualTo("1.1.0");
    assertThat(fixture.verify().problems()).isEmpty();
  }

  @Test
  void concurrentPublishersToOneChannelLoseNoRelease() throws Exception {
    fixture.release("1.0.0");
    List<String> versions = List.of("2.0.0", "2.1.0", "2.2.0", "2.3.0");
    List<Path> payloads = new ArrayList<>();
    for (String version : versions) {
      payloads.add(fixture.payload(version));
    }
    CountDownLatch start = new CountDownLatch(1);
    ExecutorService pool = Executors.newFixedThreadPool(versions.size());
    try {
      List<Future<ReleaseResult>> results = new ArrayList<>();
      for (int i = 0; i < versions.size(); i++) {
        ReleaseRequest request = fixture.request(versions.get(i), payloads.get(i));
        Callable<ReleaseResult> publish = () -> {
          start.await();
          return fixture.builder().release(request);
        };
        results.add(pool.submit(publish));
      }
      start.countDown();
      for (Future<ReleaseResult> result : results) {
        assertThat(result.get().status()).isEqualTo(ReleaseResult.Status.PUBLISHED);
      }
    } finally {
      pool.shutdownNow();
    }

    ChannelPointer pointer = pointer("stable");
    assertThat(pointer.sequence()).isEqualTo(1 + versions.size());
    List<String> channelHistory = new ArrayList<>(pointer.previous());
    channelHistory.add(pointer.version());
    assertThat(channelHistory).containsExactlyInAnyOrder("1.0.0", "2.0.0", "2.1.0", "2.2.0", "2.3.0");
    assertThat(fixture.verify().problems()).isEmpty();
  }

  @Test
  void aKeyTheTrustRootDoesNotNameIsRefusedBeforeAnythingIsWritten() throws IOException {
    Map<String, String> before = fixture.snapshot();
    ReleaseRequest request = fixture.request("1.0.0", fixture.payload("1.0.0"));
    ReleaseRequest otherKey = new ReleaseRequest(request.app(), request.version(), request.channel(),
        request.payload(), request.repository(), null, SigningKey.generate(), 3, request.created(),
        request.manifestLifetime(), request.pointerLifetime(), Map.of(), request.workDirectory(),
        request.summaryFile(), 5);

    assertThatThrownBy(() -> fixture.builder().release(otherKey))
        .isInstanceOf(ConfigurationException.class)
        .hasMessageContaining("is not a release key")
        .hasMessageContaining("<keyFile>");
    assertThat(fixture.snapshot()).isEqualTo(before);
  }

  @Test
  void afterTheReleaseKeyIsRotatedTheNewKeyReleasesOnTopOfTheOldReleases() throws IOException {
    fixture.release("1.0.0");
    Path ciKeyFile = dir.resolve("keys/ci.pem");
    new KeyGenerator(Fixture.CLOCK, e -> { }).generate(new KeyGenerator.Request(ciKeyFile, fixture.repository,
        fixture.key, KeyGenerator.DEFAULT_ROOT_LIFETIME));
    ReleaseRequest old = fixture.request("1.1.0", fixture.payload("1.1.0"));
    ReleaseRequest withCiKey = new ReleaseRequest(old.app(), old.version(), old.channel(), old.payload(),
        old.repository(), null, SigningKey.fromPem(Files.readString(ciKeyFile)), 3, old.created(),
        old.manifestLifetime(), old.pointerLifetime(), Map.of(), old.workDirectory(), old.summaryFile(), 5);

    ReleaseResult result = fixture.builder().release(withCiKey);

    assertThat(result.deltas()).extracting(ReleaseResult.Delta::fromVersion).containsExactly("1.0.0");
    assertThat(fixture.verify().problems()).isEmpty();
  }

  @Test
  void aRepositoryWithoutTrustRootSaysHowToCreateOne() throws IOException {
    ReleaseRequest request = new ReleaseRequest("demo", "1.0.0", "stable", fixture.payload("1.0.0"),
        dir.resolve("empty").toString(), null, fixture.key, 3, Fixture.BUILT, Fixture.days(10), Fixture.days(10),
        Map.of(), dir.resolve("w"), dir.resolve("w.json"), 5);

    assertThatThrownBy(() -> fixture.builder().release(request))
        .isInstanceOf(ConfigurationException.class)
        .hasMessageContaining("no trust root")
        .hasMessageContaining("upgrade:keygen");
  }

  @Test
  void aBuildTimestampSoOldThatThePointerWouldBeExpiredIsRefused() throws IOException {
    ReleaseRequest request = new ReleaseRequest("demo", "1.0.0", "stable", fixture.payload("1.0.0"),
        fixture.repository.toString(), null, fixture.key, 3, Instant.parse("2020-01-01T00:00:00Z"), Fixture.days(3000),
        Fixture.days(365), Map.of(), dir.resolve("w"), dir.resolve("w.json"), 5);

    assertThatThrownBy(() -> fixture.builder().release(request))
        .isInstanceOf(ConfigurationException.class)
        .hasMessageContaining("outputTimestamp")
        .hasMessageContaining("<pointerExpiryDays>");
    assertThat(Files.exists(fixture.repository.resolve("apps"))).isFalse();
  }

  @Test
  void theSameBuildSignsTheSameManifestBytes() throws IOException {
    Fixture other = new Fixture(dir.resolve("other"));
    fixture.release("1.0.0");
    ReleaseRequest sameInput = new ReleaseRequest("demo", "1.0.0", "stable", fixture.payload("1.0.0"),
        other.repository.toString(), null, fixture.key, 3, Fixture.BUILT, ReleaseRequest.DEFAULT_MANIFEST_LIFETIME,
        ReleaseRequest.DEFAULT_POINTER_LIFETIME, Map.of(), dir.resolve("w"), dir.resolve("w.json"), 5);
    // The other repository's trust root names another key; give it ours so the same key signs both.
    Files.copy(fixture.repository.resolve("root.json"), other.repository.resolve("root.json"),
        java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    Files.copy(fixture.repository.resolve("roots/1.root.json"), other.repository.resolve("roots/1.root.json"),
        java.nio.file.StandardCopyOption.REPLACE_EXISTING);

    fixture.builder().release(sameInput);

    String path = RepositoryLayout.releaseManifest("demo", "1.0.0");
    assertThat(Files.readAllBytes(other.repository.resolve(path)))
        .isEqualTo(Files.readAllBytes(fixture.repository.resolve(path)));
  }

  @Test
  void pointerReplacementIsACompareAndSwapWithExactlyOneWinner() throws Exception {
    DirectoryRepository repository = new DirectoryRepository(fixture.repository);
    int contenders = 8;
    CountDownLatch start = new CountDownLatch(1);
    ExecutorService pool = Executors.newFixedThreadPool(contenders);
    List<Future<Boolean>> outcomes = new ArrayList<>();
    try {
      for (int i = 0; i < contenders; i++) {
        byte[] envelope = ("pointer " + i).getBytes(java.nio.charset.StandardCharsets.UTF_8);
        outcomes.add(pool.submit(() -> {
          start.await();
          return repository.replacePointer("demo", "stable", null, 0, envelope, 1);
        }));
      }
      start.countDown();
      int winners = 0;
      for (Future<Boolean> outcome : outcomes) {
        winners += outcome.get() ? 1 : 0;
      }
      assertThat(winners).isEqualTo(1);
    } finally {
      pool.shutdownNow();
    }
    assertThat(Files.readString(fixture.repository.resolve(RepositoryLayout.channelPointer("demo", "stable"))))
        .startsWith("pointer ");
  }

  @Test
  void thePointerSwapWaitsForRepoServersLockOnTheSameDirectory() throws Exception {
    Path pointer = fixture.repository.resolve(RepositoryLayout.channelPointer("demo", "stable"));
    Files.createDirectories(pointer.getParent());
    Files.writeString(pointer, "old");
    DirectoryRepository repository = new DirectoryRepository(fixture.repository);
    Repository.Stored old = repository.read(RepositoryLayout.channelPointer("demo", "stable"), 1024);
    String java = ProcessHandle.current().info().command().orElse("java");
    Process server = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
        PointerLockHolder.class.getName(), pointer.toString(), "written by the server", "700")
        .redirectErrorStream(true).start();
    try {
      assertThat(new java.io.BufferedReader(new java.io.InputStreamReader(server.getInputStream())).readLine())
          .isEqualTo("locked");

      boolean swapped = repository.replacePointer("demo", "stable", old, 1, "written by the plugin".getBytes(), 2);

      assertThat(swapped).as("the server swapped first, under its lock").isFalse();
      assertThat(Files.readString(pointer)).isEqualTo("written by the server");
    } finally {
      server.destroy();
    }
  }

  @Test
  void aFreshClaimWhosePointerNeverAppearsFailsNamingItsHolderAndExpiry() throws IOException {
    DirectoryRepository repository = new DirectoryRepository(fixture.repository, PointerSwap.DEFAULT_LEASE,
        java.time.Duration.ofMillis(300), java.time.Clock.systemUTC(), s -> { });
    Path claims = fixture.repository.resolve("apps/demo/channels/.stable.sequence");
    Files.createDirectories(claims);
    Files.writeString(claims.resolve("1"), "a claim by an earlier plugin, just now");

    assertThatThrownBy(() -> repository.replacePointer("demo", "stable", null, 0, new byte[] {1}, 1))
        .isInstanceOf(UpgradeException.class)
        .hasMessageContaining("still claimed by an unknown process")
        .hasMessageContaining(claims.resolve("1").toString())
        .hasMessageContaining("expires by itself at")
        .satisfies(e -> assertThat(((UpgradeException) e).code()).isEqualTo(ErrorCode.IO_ERROR));
  }

  @Test
  void aClaimLeftByAPublishThatDiedLongAgoIsTakenOver() throws IOException {
    DirectoryRepository repository = new DirectoryRepository(fixture.repository);
    Path claims = fixture.repository.resolve("apps/demo/channels/.stable.sequence");
    Files.createDirectories(claims);
    Files.writeString(claims.resolve("1"), "a publisher died here");
    Files.setLastModifiedTime(claims.resolve("1"), java.nio.file.attribute.FileTime.from(
        java.time.Instant.now().minus(java.time.Duration.ofMinutes(10))));

    assertThat(repository.replacePointer("demo", "stable", null, 0, new byte[] {1}, 1)).isTrue();
    assertThat(fixture.repository.resolve(RepositoryLayout.channelPointer("demo", "stable"))).hasBinaryContent(
        new byte[] {1});
  }

  @Test
  void theRepositoryOnlyEverReferencesFilesThatExist() throws IOException {
    fixture.release("1.0.0");
    fixture.release("1.1.0");
    byte[] pointerBytes = Files.readAllBytes(fixture.repository.resolve(RepositoryLayout.channelPointer("demo",
        "stable")));
    ChannelPointer pointer = pointer("stable");
    ReleaseManifest manifest = manifest(pointer);
    List<BlobRef> blobs = new ArrayList<>();
    blobs.add(manifest.packageBlob());
    manifest.deltas().forEach(d -> blobs.add(d.blob()));
    for (BlobRef blob : blobs) {
      assertThat(fixture.repository.resolve(RepositoryLayout.blob(blob.sha256()))).exists();
    }
    assertThat(Json.read(pointerBytes, DocumentType.CHANNEL, Object.class)).isNotNull();
  }

  /** Dies where a publisher killed between manifest and pointer would. */
  private record PointerFailingRepository(DirectoryRepository delegate) implements Repository {
    @Override
    public String location() {
      return delegate.location();
    }

    @Override
    public Stored read(String path, int maxBytes) throws IOException {
      return delegate.read(path, maxBytes);
    }

    @Override
    public boolean fetchBlob(BlobRef blob, Path target) throws IOException {
      return delegate.fetchBlob(blob, target);
    }

    @Override
    public boolean putBlob(BlobRef blob, Path file) throws IOException {
      return delegate.putBlob(blob, file);
    }

    @Override
    public byte[] createManifest(String app, String version, byte[] envelope) throws IOException {
      return delegate.createManifest(app, version, envelope);
    }

    @Override
    public byte[] createReleaseSet(String name, String version, byte[] envelope) throws IOException {
      return delegate.createReleaseSet(name, version, envelope);
    }

    @Override
    public boolean replacePointer(String app, String channel, Stored expected, long expectedSequence,
        byte[] envelope, long newSequence) throws IOException {
      throw new IOException("killed");
    }

    @Override
    public List<String> listFiles() throws IOException {
      return delegate.listFiles();
    }

    @Override
    public void close() {}
  }
}
