package io.upgradekit.plugin.set;

import io.upgradekit.plugin.release.DirectoryRepository;
import io.upgradekit.plugin.release.Event;
import io.upgradekit.plugin.release.KeyGenerator;
import io.upgradekit.schema.Hashes;
import io.upgradekit.schema.model.BlobRef;
import io.upgradekit.schema.model.DocumentType;
import io.upgradekit.schema.model.PayloadTree;
import io.upgradekit.schema.model.ReleaseManifest;
import io.upgradekit.schema.model.RolloutPlan;
import io.upgradekit.schema.model.TreeEntry;
import io.upgradekit.schema.sign.Envelopes;
import io.upgradekit.schema.sign.SigningKey;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Stream;

/** A directory repository with a trust root and its release key, and signed releases of any app. */
public final class SetFixture {
  public static final Instant NOW = Instant.parse("2026-11-22T12:00:00Z");
  public static final Instant BUILT = Instant.parse("2026-11-22T00:00:00Z");
  public static final Clock CLOCK = Clock.fixed(NOW, ZoneOffset.UTC);
  public static final RolloutPlan PLAN = new RolloutPlan(null, RolloutPlan.Strategy.BATCHES, 50, 120L, null, null, 1, null,
      null, null, null, null);

  public final Path dir;
  public final Path repository;
  public final SigningKey key;
  public final List<Event> events = new CopyOnWriteArrayList<>();

  public SetFixture(Path dir) throws IOException {
    this.dir = dir;
    this.repository = dir.resolve("repo");
    Path keyFile = dir.resolve("keys/release.pem");
    new KeyGenerator(CLOCK, events::add).generate(new KeyGenerator.Request(keyFile, repository, null,
        KeyGenerator.DEFAULT_ROOT_LIFETIME));
    this.key = SigningKey.fromPem(Files.readString(keyFile));
  }

  /** Publishes a signed release manifest of {@code app} (its blobs are not needed by a set). */
  public void release(String app, String version, RolloutPlan plan) throws IOException {
    release(app, version, plan, key);
  }

  public void release(String app, String version, RolloutPlan plan, SigningKey signer) throws IOException {
    byte[] content = (app + " " + version).getBytes(StandardCharsets.UTF_8);
    PayloadTree tree = new PayloadTree(List.of(TreeEntry.file(app + ".jar", content.length, Hashes.sha256(content),
        false)));
    ReleaseManifest manifest = ReleaseManifest.of(app, version, 1, BUILT, BUILT.plus(Duration.ofDays(365)), tree,
        new BlobRef(Hashes.sha256(content), content.length), List.of(), plan, null);
    new DirectoryRepository(repository).createManifest(app, version,
        Envelopes.sign(DocumentType.RELEASE, manifest, List.of(signer)));
  }

  /** The four components of the example, each released at v2 with a plan. */
  public void releaseFour() throws IOException {
    for (String app : List.of("database", "cache", "api", "gateway")) {
      release(app, "v2", PLAN);
    }
  }

  SetPublisher publisher() {
    return new SetPublisher((location, token) -> new DirectoryRepository(Path.of(location)), CLOCK, events::add);
  }

  SetRequest request(String version, String descriptor) {
    return new SetRequest("shop", version, SetDescriptor.parse("release-set.yaml",
        descriptor.getBytes(StandardCharsets.UTF_8)), repository.toString(), null, key, BUILT,
        SetRequest.DEFAULT_LIFETIME, dir.resolve("release-set.json"));
  }

  /** Every file of the repository with its content, to prove nothing changed. */
  public Map<String, String> snapshot() throws IOException {
    Map<String, String> files = new TreeMap<>();
    try (Stream<Path> walk = Files.walk(repository)) {
      for (Path file : walk.filter(Files::isRegularFile).toList()) {
        files.put(repository.relativize(file).toString(), Files.getLastModifiedTime(file) + " "
            + new String(Files.readAllBytes(file), StandardCharsets.ISO_8859_1));
      }
    }
    return files;
  }
}
