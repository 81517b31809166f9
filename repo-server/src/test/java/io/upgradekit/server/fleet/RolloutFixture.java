package io.upgradekit.server.fleet;

import io.upgradekit.schema.Hashes;
import io.upgradekit.schema.api.Heartbeat;
import io.upgradekit.schema.json.Json;
import io.upgradekit.schema.layout.RepositoryLayout;
import io.upgradekit.schema.model.BlobRef;
import io.upgradekit.schema.model.ChannelPointer;
import io.upgradekit.schema.model.DocumentType;
import io.upgradekit.schema.model.Feedback;
import io.upgradekit.schema.model.PayloadTree;
import io.upgradekit.schema.model.PublicKeyEntry;
import io.upgradekit.schema.model.ReleaseManifest;
import io.upgradekit.schema.model.ReleaseSet;
import io.upgradekit.schema.model.Role;
import io.upgradekit.schema.model.RoleKeys;
import io.upgradekit.schema.model.RolloutPlan;
import io.upgradekit.schema.model.StepReport;
import io.upgradekit.schema.model.TreeEntry;
import io.upgradekit.schema.model.TrustRoot;
import io.upgradekit.schema.sign.Envelopes;
import io.upgradekit.schema.sign.SigningKey;
import io.upgradekit.schema.store.DirectoryStore;
import io.upgradekit.server.core.FleetIndex;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** A repository with a trust root naming a rollout key, a release with a plan on a channel, and server instances. */
final class RolloutFixture {
  static final Instant T0 = Instant.parse("2030-01-01T00:00:00Z");
  static final Instant EXPIRES = T0.plus(365, ChronoUnit.DAYS);

  final Path root;
  final SigningKey rootKey = SigningKey.generate();
  final SigningKey releaseKey = SigningKey.generate();
  final SigningKey rolloutKey = SigningKey.generate();
  final TrustRoot trust;
  final MutableClock clock = new MutableClock(T0);

  RolloutFixture(Path root) throws IOException {
    this.root = root;
    Map<String, PublicKeyEntry> keys = new LinkedHashMap<>();
    for (SigningKey k : List.of(rootKey, releaseKey, rolloutKey)) {
      keys.put(k.keyId(), PublicKeyEntry.ed25519(k.publicKey().getEncoded()));
    }
    trust = TrustRoot.of(1, EXPIRES, keys, Map.of(
        Role.ROOT, new RoleKeys(List.of(rootKey.keyId()), 1),
        Role.RELEASE, new RoleKeys(List.of(releaseKey.keyId()), 1),
        Role.ROLLOUT, new RoleKeys(List.of(rolloutKey.keyId()), 1)));
    byte[] rootBytes = Envelopes.sign(DocumentType.ROOT, trust, List.of(rootKey));
    try (DirectoryStore store = new DirectoryStore(root)) {
      store.create(RepositoryLayout.trustRoot(), rootBytes);
      store.create(RepositoryLayout.trustRoot(1), rootBytes);
    }
  }

  /** Publishes {@code version} of app shop on channel stable with {@code plan}. */
  void publish(String version, long sequence, RolloutPlan plan) throws IOException {
    publish("shop", version, sequence, plan);
  }

  /** Signs and publishes a release set (its components' releases published before). */
  void publishSet(ReleaseSet set) throws IOException {
    try (DirectoryStore store = new DirectoryStore(root)) {
      store.create(RepositoryLayout.releaseSet(set.name(), set.version()),
          Envelopes.sign(DocumentType.RELEASE_SET, set, List.of(releaseKey)));
    }
  }

  /** Publishes {@code version} of {@code app} on channel stable with {@code plan}. */
  void publish(String app, String version, long sequence, RolloutPlan plan) throws IOException {
    byte[] pkg = ("package " + app + " " + version).getBytes();
    String sha = Hashes.sha256(pkg);
    ReleaseManifest manifest = ReleaseManifest.of(app, version, sequence, T0, EXPIRES,
        new PayloadTree(List.of(TreeEntry.file("app.jar", pkg.length, sha, false))), new BlobRef(sha, pkg.length),
        List.of(), plan, null);
    byte[] manifestBytes = Envelopes.sign(DocumentType.RELEASE, manifest, List.of(releaseKey));
    byte[] pointer = Envelopes.sign(DocumentType.CHANNEL, ChannelPointer.of(app, "stable", version, sequence,
        EXPIRES, new BlobRef(Hashes.sha256(manifestBytes), manifestBytes.length), null), List.of(releaseKey));
    try (DirectoryStore store = new DirectoryStore(root)) {
      store.create(RepositoryLayout.releaseManifest(app, version), manifestBytes);
      String path = RepositoryLayout.channelPointer(app, "stable");
      var old = store.read(path, 1 << 20);
      store.compareAndSwap(path, old.map(v -> v.tag()).orElse(null), sequence, pointer);
    }
  }

  static RolloutPlan batches(int minAvailablePercent, long bakeSeconds) {
    return new RolloutPlan(null, RolloutPlan.Strategy.BATCHES, minAvailablePercent, bakeSeconds, null);
  }

  static Heartbeat heartbeat(String node, String version, Instant sentAt) {
    return heartbeat("shop", node, version, sentAt);
  }

  static Heartbeat heartbeat(String app, String node, String version, Instant sentAt) {
    return new Heartbeat(node, app, "stable", version, Map.of(), "IDLE", true, 0.0, 0.01, 10, sentAt);
  }

  static Feedback report(String node, String from, String to, String outcome, Instant at) {
    return report("shop", node, from, to, outcome, at);
  }

  static Feedback report(String app, String node, String from, String to, String outcome, Instant at) {
    return new Feedback("feedback", "ev-" + node + "-" + to.replace('.', '_'), 9, node, app, from, to, "END",
        outcome, List.of(new StepReport("COMMIT", at, 5, "OK", null, null)), null, null, null, at);
  }

  /** One server process's services over the repository (nothing shared in memory with another). */
  final class Instance {
    final DirectoryStore store = new DirectoryStore(root);
    final Inventory inventory = new Inventory(1000);
    final FleetIndex reports = new FleetIndex();
    final Decisions decisions = new Decisions(store);
    final LiveRollouts rollouts = new LiveRollouts(store, () -> trust, clock, m -> { });
    final LeaseService leases;
    final RolloutController controller;
    final RolloutStates states;
    final SetStates setStates;
    final SetRuns sets;
    final SetOperations setOperations;

    Instance(boolean withKey) {
      this(withKey, s -> s);
    }

    /** @param leaseStore what the lease service writes through (a slow or failing store in tests) */
    Instance(boolean withKey, java.util.function.UnaryOperator<io.upgradekit.schema.store.RepositoryStore> leaseStore) {
      RolloutKey key = withKey ? RolloutKey.of(rolloutKey) : null;
      leases = new LeaseService(leaseStore.apply(store), decisions, rollouts, inventory, key, clock, 4);
      states = key == null ? null : new RolloutStates(store, key, java.time.Duration.ofMinutes(2));
      setStates = key == null ? null : new SetStates(store, key, java.time.Duration.ofMinutes(2));
      sets = new SetRuns(new LiveSets(store, () -> trust, clock, m -> { }), new SetDecisions(store), decisions,
          inventory, setStates, leases, clock, m -> { });
      leases.setGate(sets);
      controller = new RolloutController(rollouts, decisions, leases, inventory, reports, states, sets, clock,
          m -> { });
      setOperations = new SetOperations(rollouts, sets, setStates, controller, clock);
    }

    Instance() {
      this(true);
    }

    /** Every node heartbeats now, running {@code version}. */
    void heartbeats(String version, String... nodes) {
      for (String n : nodes) {
        inventory.accept(heartbeat(n, version, clock.instant()), clock.instant());
      }
    }

    /** Every node of {@code app} heartbeats now, running {@code version}. */
    void heartbeatsOf(String app, String version, String... nodes) {
      for (String n : nodes) {
        inventory.accept(heartbeat(app, n, version, clock.instant()), clock.instant());
      }
    }

    void report(Feedback f) {
      reports.add(f, Json.canonicalBytes(f).length);
    }
  }
}
