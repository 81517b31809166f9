package io.upgradekit.plugin.release;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.json.Json;
import io.upgradekit.schema.layout.RepositoryLayout;
import io.upgradekit.schema.model.ChannelPointer;
import io.upgradekit.schema.model.DocumentType;
import io.upgradekit.schema.sign.Envelopes;
import io.upgradekit.schema.sign.SigningKey;
import io.upgradekit.store.s3.S3ProxyServer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code <repository>s3://...}: keygen and release write straight into a bucket of s3proxy (over
 * HTTP, signatures checked, keys from the AWS SDK's default chain), with the directory's order and
 * exactly-once rules, and {@code verify} lists and checks the bucket.
 */
class S3RepositoryTest {
  private static final String BUCKET = "plugin-test";
  private static final AtomicInteger PREFIXES = new AtomicInteger();
  private static S3ProxyServer proxy;

  @TempDir Path dir;
  String address;
  SigningKey key;
  final List<Event> events = new java.util.concurrent.CopyOnWriteArrayList<>();

  @BeforeAll
  static void startStore() throws Exception {
    // The store reads its keys from the default chain only: give it test keys as system properties.
    if (System.getenv("AWS_ACCESS_KEY_ID") == null) {
      System.setProperty("aws.accessKeyId", "plugin-test");
      System.setProperty("aws.secretAccessKey", "plugin-test-secret");
    }
    String identity = System.getProperty("aws.accessKeyId", System.getenv("AWS_ACCESS_KEY_ID"));
    String secret = System.getProperty("aws.secretAccessKey", System.getenv("AWS_SECRET_ACCESS_KEY"));
    proxy = S3ProxyServer.start(identity, secret);
    proxy.createBucket(BUCKET, identity, secret);
  }

  @AfterAll
  static void stopStore() throws Exception {
    proxy.close();
  }

  @BeforeEach
  void keygen() throws IOException {
    address = "s3://" + BUCKET + "/run-" + PREFIXES.incrementAndGet() + "/repo?endpoint=" + proxy.endpoint()
        + "&pathStyle=true";
    Path keyFile = dir.resolve("keys/release.pem");
    KeyGenerator.Result result = new KeyGenerator(Fixture.CLOCK, events::add).generate(
        new KeyGenerator.Request(keyFile, address, null, KeyGenerator.DEFAULT_ROOT_LIFETIME));
    assertThat(result.trustRootVersion()).isEqualTo(1);
    key = SigningKey.fromPem(Files.readString(keyFile));
  }

  private Path payload(String version) throws IOException {
    Path payload = dir.resolve("payloads/" + version);
    Files.createDirectories(payload.resolve("lib"));
    Files.writeString(payload.resolve("lib/common.jar"), "common library bytes ".repeat(200));
    Files.writeString(payload.resolve("app.jar"), "application " + version + " ".repeat(500));
    return payload;
  }

  private ReleaseRequest request(String version, Path payload) {
    return new ReleaseRequest("demo", version, "stable", payload, address, null, key, 3, Fixture.BUILT,
        ReleaseRequest.DEFAULT_MANIFEST_LIFETIME, ReleaseRequest.DEFAULT_POINTER_LIFETIME, Map.of(),
        dir.resolve("work-" + version), dir.resolve("release-" + version + ".json"),
        ReleaseRequest.DEFAULT_POINTER_ATTEMPTS);
  }

  private ReleaseResult release(ReleaseRequest request) {
    return new ReleaseBuilder(new CopyingEngine(), (location, token) -> Repositories.open(location, token, dir),
        Fixture.CLOCK, events::add).release(request);
  }

  /** Every object of the repository with its tag (the ETag), to prove nothing changed. */
  private Map<String, String> snapshot() throws IOException {
    Map<String, String> tags = new TreeMap<>();
    try (StoreRepository repository = Repositories.openStore(address, dir, m -> { })) {
      for (String path : repository.listFiles()) {
        tags.put(path, repository.store().read(path, Integer.MAX_VALUE).orElseThrow().tag());
      }
    }
    return tags;
  }

  @Test
  void aPointerInTheBucketIsReSignedByCompareAndSwap() throws IOException {
    release(request("1.0.0", payload("1.0.0")));
    java.time.Instant later = Fixture.NOW.plus(java.time.Duration.ofDays(100));

    PointerResigner.Result result = new PointerResigner((location, token) -> Repositories.open(location, token, dir),
        java.time.Clock.fixed(later, java.time.ZoneOffset.UTC), events::add).resign(new PointerResigner.Request(
            "demo", "stable", address, null, key, java.time.Duration.ofDays(30), null, 5));

    assertThat(result.resigned()).isTrue();
    try (StoreRepository repository = Repositories.openStore(address, dir, m -> { })) {
      Repository.Stored pointer = repository.read(RepositoryLayout.channelPointer("demo", "stable"), 64 * 1024);
      ChannelPointer head = Json.read(Envelopes.parse(pointer.bytes(), DocumentType.CHANNEL).payloadBytes(),
          ChannelPointer.class, "pointer");
      assertThat(head.version()).isEqualTo("1.0.0");
      assertThat(head.sequence()).isEqualTo(2);
      assertThat(head.expires()).isEqualTo(later.plus(java.time.Duration.ofDays(30)));
    }
  }

  @Test
  void releasesGoIntoTheBucketAndVerify() throws IOException {
    ReleaseResult first = release(request("1.0.0", payload("1.0.0")));
    ReleaseResult second = release(request("1.1.0", payload("1.1.0")));

    assertThat(first.status()).isEqualTo(ReleaseResult.Status.PUBLISHED);
    assertThat(second.status()).isEqualTo(ReleaseResult.Status.PUBLISHED);
    assertThat(second.deltas()).extracting(ReleaseResult.Delta::fromVersion).containsExactly("1.0.0");
    assertThat(second.repository()).startsWith("s3://" + BUCKET + "/");
    try (StoreRepository repository = Repositories.openStore(address, dir, m -> { })) {
      assertThat(repository.listFiles()).contains(RepositoryLayout.trustRoot(), RepositoryLayout.trustRoot(1),
          RepositoryLayout.releaseManifest("demo", "1.0.0"), RepositoryLayout.releaseManifest("demo", "1.1.0"),
          RepositoryLayout.channelPointer("demo", "stable"), RepositoryLayout.blob(second.packageBlob().sha256()),
          RepositoryLayout.blob(second.deltas().get(0).blob().sha256()));
      Repository.Stored pointer = repository.read(RepositoryLayout.channelPointer("demo", "stable"), 64 * 1024);
      ChannelPointer head = Json.read(Envelopes.parse(pointer.bytes(), DocumentType.CHANNEL).payloadBytes(),
          ChannelPointer.class, "pointer");
      assertThat(head.version()).isEqualTo("1.1.0");
      assertThat(head.sequence()).isEqualTo(2);

      RepositoryVerifier.Report report = new RepositoryVerifier(new CopyingEngine(), Fixture.CLOCK, events::add)
          .verify(repository, dir.resolve("verify"));
      assertThat(report.problems()).isEmpty();
      assertThat(report.releases()).isEqualTo(2);
      assertThat(report.deltas()).isEqualTo(1);
    }
  }

  @Test
  void anIdenticalRerunWritesNothing() throws IOException {
    release(request("1.0.0", payload("1.0.0")));
    Map<String, String> before = snapshot();

    ReleaseResult again = release(request("1.0.0", payload("1.0.0")));

    assertThat(again.status()).isEqualTo(ReleaseResult.Status.UNCHANGED);
    assertThat(snapshot()).isEqualTo(before);
  }

  @Test
  void otherContentUnderAPublishedVersionFailsAndChangesNothing() throws IOException {
    release(request("1.0.0", payload("1.0.0")));
    Map<String, String> before = snapshot();
    ReleaseRequest changed = request("1.0.0", payload("1.0.0"));
    Files.writeString(changed.payload().resolve("app.jar"), "changed");

    assertThatThrownBy(() -> release(changed))
        .isInstanceOf(ConfigurationException.class).hasMessageContaining("different content");
    Map<String, String> after = snapshot();
    after.keySet().removeIf(path -> path.startsWith("blobs/") && !before.containsKey(path)); // the new package
    assertThat(after).isEqualTo(before);
  }

  @Test
  void aMalformedAddressNamesTheElement() {
    assertThatThrownBy(() -> Repositories.open("s3://Not_A_Bucket/x", null, dir))
        .isInstanceOf(ConfigurationException.class)
        .satisfies(e -> assertThat(((UpgradeException) e).code()).isEqualTo(ErrorCode.CONFIG_INVALID))
        .hasMessageContaining("<repository>").hasMessageContaining("bucket");
    assertThatThrownBy(() -> Repositories.open("s3://key:secret@bucket/x", null, dir))
        .isInstanceOf(ConfigurationException.class)
        .hasMessageContaining("default chain").hasMessageNotContaining("secret@");
    assertThatThrownBy(() -> Repositories.openStore("https://repo.example/", dir, m -> { }))
        .isInstanceOf(ConfigurationException.class).hasMessageContaining("--store");
  }
}
