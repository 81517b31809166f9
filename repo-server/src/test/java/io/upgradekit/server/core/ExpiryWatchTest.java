package io.upgradekit.server.core;

import static org.assertj.core.api.Assertions.assertThat;

import io.upgradekit.schema.Hashes;
import io.upgradekit.schema.api.DocumentExpiries;
import io.upgradekit.schema.layout.RepositoryLayout;
import io.upgradekit.schema.model.BlobRef;
import io.upgradekit.schema.model.ChannelPointer;
import io.upgradekit.schema.model.DocumentType;
import io.upgradekit.schema.model.PayloadTree;
import io.upgradekit.schema.model.PublicKeyEntry;
import io.upgradekit.schema.model.ReleaseManifest;
import io.upgradekit.schema.model.Role;
import io.upgradekit.schema.model.RoleKeys;
import io.upgradekit.schema.model.RolloutPlan;
import io.upgradekit.schema.model.RolloutState;
import io.upgradekit.schema.model.TreeEntry;
import io.upgradekit.schema.model.TrustRoot;
import io.upgradekit.schema.sign.Envelopes;
import io.upgradekit.schema.sign.SigningKey;
import io.upgradekit.schema.store.DirectoryStore;
import io.upgradekit.schema.store.ForwardingStore;
import io.upgradekit.schema.store.RepositoryStore;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

public class ExpiryWatchTest {
  static final Instant NOW = Instant.parse("2026-11-22T10:00:00Z");

  @TempDir Path dir;
  final SigningKey key = SigningKey.generate();
  final Moving clock = new Moving(NOW);
  final List<String> reads = new CopyOnWriteArrayList<>();
  final List<String> logged = new CopyOnWriteArrayList<>();
  RepositoryStore store;
  TrustStore trust;

  @BeforeEach
  void repository() throws IOException {
    TrustRoot root = TrustRoot.of(1, NOW.plus(Duration.ofDays(3)), Map.of(key.keyId(),
        PublicKeyEntry.ed25519(key.publicKey().getEncoded())), Map.of(Role.ROOT, new RoleKeys(List.of(key.keyId()), 1),
        Role.RELEASE, new RoleKeys(List.of(key.keyId()), 1), Role.ROLLOUT, new RoleKeys(List.of(key.keyId()), 1)));
    Files.write(dir.resolve("root.json"), Envelopes.sign(DocumentType.ROOT, root, List.of(key)));
    store = new Counting(new DirectoryStore(dir), reads);
    trust = TrustStore.open(store, null, clock, logged::add);
    publish("shop", "2.4.0", NOW.plus(Duration.ofDays(400)), RolloutPlan.of(RolloutPlan.Strategy.BATCHES));
    point("shop", "stable", "2.4.0", 1, NOW.plus(Duration.ofDays(2)));
    point("shop", "beta", "2.4.0", 1, NOW.plus(Duration.ofDays(30)));
    state("shop", "2.4.0", NOW.plus(Duration.ofMinutes(2)));
    publish("shop", "2.3.0", NOW.minus(Duration.ofDays(1)), null); // named by no channel: not listed
  }

  private ExpiryWatch watch(Duration warnBefore) {
    return new ExpiryWatch(store, trust, clock, warnBefore, Duration.ofMinutes(2), logged::add);
  }

  @Test
  void listsWhatNodesDependOnWithTheSoonestFirstAndWarnsWithinTheMargin() throws IOException {
    DocumentExpiries expiries = watch(Duration.ofDays(7)).expiries();

    assertThat(expiries.documents()).extracting(DocumentExpiries.Document::path).containsExactly(
        "apps/shop/rollout/2.4.0.json", "apps/shop/channels/stable.json", "root.json",
        "apps/shop/channels/beta.json", "apps/shop/releases/2.4.0/release.json");
    assertThat(expiries.warnBeforeSeconds()).isEqualTo(Duration.ofDays(7).toSeconds());
    assertThat(expiries.documents()).filteredOn(d -> d.warning() != null)
        .extracting(DocumentExpiries.Document::kind).containsExactly("channel", "root");
    assertThat(expiries.documents().get(1).warning()).isEqualTo("the channel pointer shop/stable expires in 2 days"
        + " (2026-11-24T10:00:00Z): nodes refuse it from then on. Re-sign it: mvn upgrade:resign -Dupgrade.app=shop"
        + " -Dupgrade.channel=stable (or publish a release to the channel)");
    assertThat(expiries.documents().get(2).warning()).startsWith("the trust root expires in 3 days")
        .contains("mvn upgrade:keygen with <rootKeyFile>");
    DocumentExpiries.Document release = expiries.documents().get(4);
    assertThat(release.kind()).isEqualTo("release");
    assertThat(release.version()).isEqualTo("2.4.0");

    assertThat(watch(Duration.ofDays(1)).warnings()).as("a margin of a day").isEmpty();
  }

  @Test
  void expiredDocumentsAndAStateNotReSignedInTimeSayWhatHappensAndTheFix() throws IOException {
    ExpiryWatch watch = watch(Duration.ofDays(7));
    clock.advance(Duration.ofSeconds(90)); // the state has 30 s left of its 2 minutes

    assertThat(watch.warnings()).extracting(DocumentExpiries.Document::warning).contains(
        "the rollout state of shop 2.4.0 was not re-signed in time (expires 2026-11-22T10:02:00Z): is the rollout"
            + " controller running? (/v1/status says)");

    clock.advance(Duration.ofDays(2));
    assertThat(watch.warnings()).extracting(DocumentExpiries.Document::warning).contains(
        "the rollout state of shop 2.4.0 expired at 2026-11-22T10:02:00Z: nodes pause until a repo-server with"
            + " --rollout-key-file re-signs it",
        "the channel pointer shop/stable expired at 2026-11-24T10:00:00Z: nodes refuse it. Re-sign it: mvn"
            + " upgrade:resign -Dupgrade.app=shop -Dupgrade.channel=stable (or publish a release to the channel)");
  }

  @Test
  void readsTheDocumentsAtMostEveryThirtySecondsAndAtOnceAfterItsOwnWrite() throws IOException {
    ExpiryWatch watch = watch(Duration.ofDays(7));
    String first = watch.metrics();
    assertThat(reads).contains("apps/shop/channels/stable.json", "apps/shop/releases/2.4.0/release.json",
        "apps/shop/rollout/2.4.0.json");
    reads.clear();

    for (int scrape = 0; scrape < 5; scrape++) {
      clock.advance(Duration.ofSeconds(5));
      watch.metrics();
      watch.warnings();
    }
    assertThat(reads).as("answered from memory between reads").isEmpty();
    assertThat(watch.metrics()).as("the time left moves with the clock").isNotEqualTo(first)
        .contains("upgradekit_signed_document_expiry_seconds{document=\"channel\",app=\"shop\",channel=\"stable\"} "
            + (Duration.ofDays(2).toSeconds() - 25));

    point("shop", "stable", "2.4.0", 2, NOW.plus(Duration.ofDays(90)));
    watch.changed(RepositoryLayout.channelPointer("shop", "stable"));
    assertThat(watch.metrics()).contains("upgradekit_signed_document_expiry_seconds{document=\"channel\",app=\"shop\","
        + "channel=\"stable\"} " + (Duration.ofDays(90).toSeconds() - 25));
    assertThat(reads).as("a manifest never changes: read once").contains("apps/shop/channels/stable.json")
        .doesNotContain("apps/shop/releases/2.4.0/release.json");
    reads.clear();

    watch.changed("blobs/sha256/ab/" + "ab".repeat(32)); // not a document that expires
    watch.metrics();
    assertThat(reads).isEmpty();
    clock.advance(ExpiryWatch.REFRESH);
    watch.metrics();
    assertThat(reads).contains("apps/shop/channels/stable.json");
  }

  @Test
  void theGaugesHaveOneSeriesPerDocumentAndACountPerKind() throws Exception {
    String text = watch(Duration.ofDays(7)).metrics();

    assertThat(text).contains(
        "# TYPE upgradekit_signed_document_expiry_seconds gauge\n",
        "upgradekit_signed_document_expiry_seconds{document=\"root\"} " + Duration.ofDays(3).toSeconds() + "\n",
        "upgradekit_signed_document_expiry_seconds{document=\"release\",app=\"shop\",version=\"2.4.0\"} "
            + Duration.ofDays(400).toSeconds() + "\n",
        "upgradekit_signed_document_expiry_seconds{document=\"rollout\",app=\"shop\",version=\"2.4.0\"} 120\n",
        "upgradekit_signed_documents_expiring{document=\"channel\"} 1\n",
        "upgradekit_signed_documents_expiring{document=\"release\"} 0\n",
        "upgradekit_signed_documents_expiring{document=\"root\"} 1\n",
        "upgradekit_signed_documents_omitted 0\n",
        "upgradekit_signed_document_expiry_warning_seconds 604800\n");
    assertThat(text.lines().filter(l -> l.startsWith("upgradekit_signed_document_expiry_seconds{"))).hasSize(5);
    promtool(text);
  }

  @Test
  void aDocumentThatDoesNotVerifyIsListedWithTheRefusal() throws IOException {
    SigningKey stranger = SigningKey.generate();
    ChannelPointer pointer = ChannelPointer.of("shop", "edge", "2.4.0", 1, NOW.plus(Duration.ofDays(90)),
        manifestRef("shop", "2.4.0"), null);
    write(RepositoryLayout.channelPointer("shop", "edge"), Envelopes.sign(DocumentType.CHANNEL, pointer,
        List.of(stranger)));

    assertThat(watch(Duration.ofDays(7)).warnings()).filteredOn(d -> "edge".equals(d.channel())).singleElement()
        .satisfies(d -> assertThat(d.warning()).startsWith("SIGNATURE_INVALID: ").endsWith("nodes refuse it already"));
  }

  @Test
  void aRepositoryWithoutATrustRootHasNothingThatExpiresAndSaysSoOnce() throws Exception {
    Path empty = java.nio.file.Files.createDirectory(dir.resolve("empty"));
    RepositoryStore bare = new DirectoryStore(empty);
    ExpiryWatch watch = new ExpiryWatch(bare, TrustStore.open(bare, null, clock, logged::add), clock,
        Duration.ofDays(7), Duration.ofMinutes(2), logged::add);

    assertThat(watch.expiries().documents()).isEmpty();
    assertThat(watch.warnings()).isEmpty();
    assertThat(watch.metrics()).contains("upgradekit_signed_documents_omitted 0\n");
    promtool(watch.metrics());
  }

  /** Checks the text with Prometheus's own checker where it is installed (apt-get install prometheus). */
  public static void promtool(String text) throws Exception {
    Path promtool = Path.of("/usr/bin/promtool");
    if (!Files.isExecutable(promtool)) {
      return;
    }
    Process p = new ProcessBuilder(promtool.toString(), "check", "metrics").redirectErrorStream(true).start();
    try (var in = p.getOutputStream()) {
      in.write(text.getBytes(StandardCharsets.UTF_8));
    }
    assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
    String said = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.exitValue()).as(said).isZero();
  }

  private void publish(String app, String version, Instant expires, RolloutPlan plan) throws IOException {
    byte[] content = ("package " + version).getBytes(StandardCharsets.UTF_8);
    String sha = Hashes.sha256(content);
    ReleaseManifest manifest = ReleaseManifest.of(app, version, 10, NOW.minus(Duration.ofDays(1)), expires,
        new PayloadTree(List.of(TreeEntry.file("app.jar", content.length, sha, false))),
        new BlobRef(sha, content.length), List.of(), plan, null);
    write(RepositoryLayout.releaseManifest(app, version), Envelopes.sign(DocumentType.RELEASE, manifest,
        List.of(key)));
  }

  private BlobRef manifestRef(String app, String version) throws IOException {
    byte[] bytes = Files.readAllBytes(dir.resolve(RepositoryLayout.releaseManifest(app, version)));
    return new BlobRef(Hashes.sha256(bytes), bytes.length);
  }

  private void point(String app, String channel, String version, long sequence, Instant expires) throws IOException {
    ChannelPointer pointer = ChannelPointer.of(app, channel, version, sequence, expires, manifestRef(app, version),
        null);
    write(RepositoryLayout.channelPointer(app, channel), Envelopes.sign(DocumentType.CHANNEL, pointer, List.of(key)));
  }

  private void state(String app, String version, Instant expires) throws IOException {
    RolloutState state = new RolloutState(DocumentType.ROLLOUT.typeName(), app, version, 3, expires,
        RolloutState.Action.PROCEED, 1, null, 2, null, null, 3L);
    write(RepositoryLayout.rolloutState(app, version), Envelopes.sign(DocumentType.ROLLOUT, state, List.of(key)));
  }

  private void write(String path, byte[] bytes) throws IOException {
    Path file = dir.resolve(path);
    Files.createDirectories(file.getParent());
    Files.write(file, bytes);
  }

  /** A clock tests move by hand. */
  static final class Moving extends Clock {
    private volatile Instant now;

    Moving(Instant now) {
      this.now = now;
    }

    void advance(Duration d) {
      now = now.plus(d);
    }

    @Override
    public ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
      return this;
    }

    @Override
    public Instant instant() {
      return now;
    }
  }

  /** A store that records the path of every document read. */
  /** A store that records the paths it is asked to read. */
  static final class Counting extends ForwardingStore {
    private final List<String> reads;

    Counting(RepositoryStore store, List<String> reads) {
      super(store);
      this.reads = reads;
    }

    @Override
    public Optional<Versioned> read(String path, int maxBytes) throws IOException {
      reads.add(path);
      return super.read(path, maxBytes);
    }
  }
}
