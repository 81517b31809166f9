package io.upgradekit.server.fleet;

import io.upgradekit.schema.layout.PathKind;
import io.upgradekit.schema.layout.RepositoryLayout;
import io.upgradekit.schema.model.ChannelPointer;
import io.upgradekit.schema.model.DocumentType;
import io.upgradekit.schema.model.ReleaseManifest;
import io.upgradekit.schema.model.RolloutPlan;
import io.upgradekit.schema.model.TrustRoot;
import io.upgradekit.schema.sign.MetadataVerifier;
import io.upgradekit.schema.store.RepositoryStore;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import java.util.function.Supplier;
import java.util.stream.Stream;

/**
 * The rollouts the repository asks for: every release that a channel pointer names and whose
 * signed manifest carries a plan (a release without one installs at once, as before rollouts). A
 * rollout's fleet is the app's nodes that follow one of those channels. Found by listing the
 * channel pointers and verifying them and their manifests against the trust root; manifests are
 * verified once per (app, version, hash).
 *
 * <p>Thread-safe: {@link #refresh} replaces the whole map.
 */
public final class LiveRollouts {
  /**
   * One live rollout.
   *
   * @param channels the channels whose pointer names the release
   * @param plan the manifest's plan
   */
  public record Rollout(String app, String version, Set<String> channels, RolloutPlan plan) {
    public Rollout {
      channels = Set.copyOf(channels);
    }
  }

  private record ManifestKey(String app, String version, String sha256) {}

  private final RepositoryStore store;
  private final Supplier<TrustRoot> trust;
  private final Clock clock;
  private final Consumer<String> warn;
  private final ConcurrentHashMap<ManifestKey, Optional<RolloutPlan>> plans = new ConcurrentHashMap<>();
  private volatile Map<String, Rollout> live = Map.of();

  /** @param trust the current trust root (null when the repository has none) */
  public LiveRollouts(RepositoryStore store, Supplier<TrustRoot> trust, Clock clock, Consumer<String> warn) {
    this.store = store;
    this.trust = trust;
    this.clock = clock;
    this.warn = warn;
  }

  static String key(String app, String version) {
    return app + " " + version;
  }

  /** The live rollouts as last refreshed. */
  public List<Rollout> all() {
    return List.copyOf(live.values());
  }

  /** The live rollout of {@code app} {@code version}, as last refreshed, if any. */
  public Optional<Rollout> get(String app, String version) {
    return Optional.ofNullable(live.get(key(app, version)));
  }

  /** Reads the channel pointers again. */
  public List<Rollout> refresh() throws IOException {
    TrustRoot root = trust.get();
    if (root == null) {
      live = Map.of();
      return List.of();
    }
    MetadataVerifier verifier = new MetadataVerifier(root, clock);
    List<String> pointers = new ArrayList<>();
    try (Stream<RepositoryStore.Entry> listed = store.list("apps/")) {
      for (Iterator<RepositoryStore.Entry> it = listed.iterator(); it.hasNext(); ) {
        String path = it.next().path();
        if (RepositoryLayout.kindOf(path) == PathKind.CHANNEL_POINTER) {
          pointers.add(path);
        }
      }
    } catch (UncheckedIOException e) {
      throw e.getCause();
    }
    Map<String, Rollout> found = new LinkedHashMap<>();
    for (String path : pointers) {
      String[] s = path.split("/");
      String app = s[1];
      String channel = s[3].substring(0, s[3].length() - ".json".length());
      try {
        Optional<RepositoryStore.Versioned> bytes = store.read(path, DocumentType.CHANNEL.maxBytes());
        if (bytes.isEmpty()) {
          continue;
        }
        ChannelPointer pointer = verifier.verifyChannelPointer(bytes.get().bytes(), app, channel, 0);
        Optional<RolloutPlan> plan = plan(verifier, pointer);
        if (plan.isPresent()) {
          Rollout before = found.get(key(app, pointer.version()));
          Set<String> channels = new TreeSet<>(before == null ? Set.of() : before.channels());
          channels.add(channel);
          found.put(key(app, pointer.version()), new Rollout(app, pointer.version(), channels, plan.get()));
        }
      } catch (IOException | RuntimeException e) {
        warn.accept("no rollout for " + path + ": " + e.getMessage());
      }
    }
    live = Map.copyOf(found);
    return List.copyOf(found.values());
  }

  private Optional<RolloutPlan> plan(MetadataVerifier verifier, ChannelPointer pointer) throws IOException {
    ManifestKey key = new ManifestKey(pointer.app(), pointer.version(), pointer.manifest().sha256());
    Optional<RolloutPlan> known = plans.get(key);
    if (known != null) {
      return known;
    }
    Optional<RepositoryStore.Versioned> bytes = store.read(RepositoryLayout.releaseManifest(pointer.app(),
        pointer.version()), DocumentType.RELEASE.maxBytes());
    if (bytes.isEmpty()) {
      return Optional.empty();
    }
    ReleaseManifest manifest = verifier.verifyReleaseManifest(bytes.get().bytes(), pointer);
    Optional<RolloutPlan> plan = Optional.ofNullable(manifest.rollout());
    plans.put(key, plan);
    return plan;
  }
}
