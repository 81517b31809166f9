package io.upgradekit.server.core;

import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.api.ReleaseOverview;
import io.upgradekit.schema.json.Json;
import io.upgradekit.schema.layout.PathKind;
import io.upgradekit.schema.layout.RepositoryLayout;
import io.upgradekit.schema.model.ChannelPointer;
import io.upgradekit.schema.model.DeltaRef;
import io.upgradekit.schema.model.DocumentType;
import io.upgradekit.schema.model.ReleaseManifest;
import io.upgradekit.schema.model.RolloutState;
import io.upgradekit.schema.model.TrustRoot;
import io.upgradekit.schema.sign.EnvelopeSignature;
import io.upgradekit.schema.sign.Envelopes;
import io.upgradekit.schema.sign.MetadataVerifier;
import io.upgradekit.schema.sign.SignedEnvelope;
import io.upgradekit.schema.store.RepositoryStore;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Stream;

/**
 * What the repository publishes, for {@code GET /v1/releases} (the dashboard's Releases page):
 * per app the channel pointers, the releases with their package and delta sizes, the key ids that
 * signed each document and when it expires, and the signed rollout state of each release with a
 * plan. Documents are checked against the current trust root's signatures (not their expiry,
 * which is what the page shows); one that does not verify is still listed, with the refusal as its
 * warning.
 *
 * <p>Warnings: a pointer, manifest or trust root that expired (nodes refuse it) or expires within
 * the server's {@code --expiry-warning}; the rollout state of a live rollout (a release a channel names now, with a
 * plan) that expired (nodes pause) or was not re-signed in time (less than a third of the state's
 * TTL left: the controller is behind or not running).
 *
 * <p>Release manifests never change once published: their summaries are cached (bounded). Thread-safe.
 */
public final class ReleaseCatalog {
  private static final int CACHE = 4096;

  private final RepositoryStore store;
  private final TrustStore trust;
  private final Clock clock;
  private final Duration rolloutStateTtl;
  private final Duration warnBefore;
  private final Map<String, Manifest> manifests = new LinkedHashMap<>(64, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, Manifest> eldest) {
      return size() > CACHE;
    }
  };

  /** A manifest's summary, with the refusal of its signatures if any. */
  private record Manifest(ReleaseManifest manifest, List<String> keyIds, String refusal) {}

  private record Parsed<T>(T document, List<String> keyIds, String refusal) {}

  /** @param warnBefore flag a document expiring within this ({@code --expiry-warning}) */
  public ReleaseCatalog(RepositoryStore store, TrustStore trust, Clock clock, Duration rolloutStateTtl,
      Duration warnBefore) {
    this.store = store;
    this.trust = trust;
    this.clock = clock;
    this.rolloutStateTtl = rolloutStateTtl;
    this.warnBefore = warnBefore;
  }

  /** The overview now. */
  public ReleaseOverview overview() throws IOException {
    Instant now = clock.instant();
    TrustRoot root = trust.current();
    MetadataVerifier verifier = new MetadataVerifier(root, clock);
    ReleaseOverview.Root rootView = null;
    Optional<RepositoryStore.Versioned> rootBytes = store.read(RepositoryLayout.trustRoot(), DocumentType.ROOT.maxBytes());
    if (rootBytes.isPresent()) {
      rootView = new ReleaseOverview.Root(root.version(), root.expires(), keyIds(Envelopes.parse(
          rootBytes.get().bytes(), DocumentType.ROOT)), expiryWarning(root.expires(), now, "the trust root",
              "rotate to a new trust root version before (mvn upgrade:keygen), or nodes refuse every document"));
    }
    Map<String, List<String>> channels = new TreeMap<>();
    Map<String, List<String>> releases = new TreeMap<>();
    Map<String, List<String>> states = new TreeMap<>();
    try (Stream<RepositoryStore.Entry> entries = store.list("apps/")) {
      for (Iterator<RepositoryStore.Entry> it = entries.iterator(); it.hasNext(); ) {
        String path = it.next().path();
        PathKind kind = RepositoryLayout.kindOf(path);
        String app = path.split("/")[1];
        switch (kind) {
          case CHANNEL_POINTER -> channels.computeIfAbsent(app, a -> new ArrayList<>()).add(path);
          case RELEASE_MANIFEST -> releases.computeIfAbsent(app, a -> new ArrayList<>()).add(path);
          case ROLLOUT_STATE -> states.computeIfAbsent(app, a -> new ArrayList<>()).add(path);
          default -> { }
        }
      }
    } catch (UncheckedIOException e) {
      throw e.getCause();
    }
    TreeSet<String> apps = new TreeSet<>(channels.keySet());
    apps.addAll(releases.keySet());
    List<ReleaseOverview.App> out = new ArrayList<>();
    for (String app : apps) {
      if (out.size() == ReleaseOverview.MAX_APPS) {
        break;
      }
      out.add(app(app, channels.getOrDefault(app, List.of()), releases.getOrDefault(app, List.of()),
          states.getOrDefault(app, List.of()), verifier, now));
    }
    return new ReleaseOverview(now, rootView, out);
  }

  private ReleaseOverview.App app(String app, List<String> channelPaths, List<String> releasePaths,
      List<String> statePaths, MetadataVerifier verifier, Instant now) throws IOException {
    List<ReleaseOverview.Channel> channels = new ArrayList<>();
    Map<String, List<String>> channelsOf = new TreeMap<>();
    for (String path : new TreeSet<>(channelPaths)) {
      Parsed<ChannelPointer> p = parse(path, DocumentType.CHANNEL, ChannelPointer.class, verifier);
      if (p == null) {
        continue;
      }
      ChannelPointer pointer = p.document();
      channelsOf.computeIfAbsent(pointer.version(), v -> new ArrayList<>()).add(pointer.channel());
      channels.add(new ReleaseOverview.Channel(pointer.channel(), pointer.version(), pointer.sequence(),
          pointer.expires(), p.keyIds(), p.refusal() != null ? p.refusal() : expiryWarning(pointer.expires(), now,
              "the pointer", "re-sign it before (mvn upgrade:resign) or publish a release, or nodes refuse it")));
    }
    Map<String, Parsed<RolloutState>> stateOf = new TreeMap<>();
    for (String path : statePaths) {
      Parsed<RolloutState> p = parse(path, DocumentType.ROLLOUT, RolloutState.class, verifier);
      if (p != null) {
        stateOf.put(p.document().version(), p);
      }
    }
    List<Manifest> found = new ArrayList<>();
    for (String path : releasePaths) {
      Manifest m = manifest(path, verifier);
      if (m != null) {
        found.add(m);
      }
    }
    found.sort(Comparator.comparingLong((Manifest m) -> m.manifest().sequence()).reversed());
    List<ReleaseOverview.Release> releases = new ArrayList<>();
    for (Manifest m : found.subList(0, Math.min(found.size(), ReleaseOverview.MAX_RELEASES))) {
      ReleaseManifest r = m.manifest();
      List<ReleaseOverview.Delta> deltas = new ArrayList<>();
      for (DeltaRef d : r.deltas()) {
        deltas.add(new ReleaseOverview.Delta(d.fromVersion(), d.blob().size()));
      }
      List<String> named = channelsOf.getOrDefault(r.version(), List.of());
      boolean live = !named.isEmpty() && r.rollout() != null;
      ReleaseOverview.RolloutState state = null;
      Parsed<RolloutState> s = stateOf.get(r.version());
      if (s != null) {
        RolloutState rs = s.document();
        state = new ReleaseOverview.RolloutState(rs.sequence(), rs.action().name().toLowerCase(Locale.ROOT),
            rs.expires(), s.keyIds(), s.refusal() != null ? s.refusal() : live ? stateWarning(rs.expires(), now) : null);
      }
      String warning = m.refusal() != null ? m.refusal() : named.isEmpty() ? null
          : expiryWarning(r.expires(), now, "the release manifest", "publish a new release before, or nodes refuse it");
      if (warning == null && live && s == null) {
        warning = "the rollout has no signed state yet: nodes wait until a repo-server with --rollout-key-file"
            + " signs one";
      }
      releases.add(new ReleaseOverview.Release(r.version(), r.sequence(), r.created(), r.expires(),
          r.packageBlob().size(), deltas, m.keyIds(), named,
          r.rollout() == null ? null : r.rollout().strategy().name().toLowerCase(Locale.ROOT), state,
          warning));
    }
    return new ReleaseOverview.App(app, channels, releases, found.size() - releases.size());
  }

  private Manifest manifest(String path, MetadataVerifier verifier) throws IOException {
    synchronized (manifests) {
      Manifest cached = manifests.get(path);
      if (cached != null && cached.refusal() == null) {
        return cached;
      }
    }
    Parsed<ReleaseManifest> p = parse(path, DocumentType.RELEASE, ReleaseManifest.class, verifier);
    if (p == null) {
      return null;
    }
    Manifest m = new Manifest(p.document(), p.keyIds(), p.refusal());
    synchronized (manifests) {
      manifests.put(path, m);
    }
    return m;
  }

  /** The document, verified if it can be, or null if it is gone or unreadable. */
  private <T> Parsed<T> parse(String path, DocumentType type, Class<T> documentClass, MetadataVerifier verifier)
      throws IOException {
    Optional<RepositoryStore.Versioned> stored = store.read(path, type.maxBytes());
    if (stored.isEmpty()) {
      return null;
    }
    byte[] bytes = stored.get().bytes();
    SignedEnvelope envelope;
    try {
      envelope = Envelopes.parse(bytes, type);
    } catch (UpgradeException e) {
      return null; // not a document: nothing to show
    }
    try {
      return new Parsed<>(verifier.verifyDocument(bytes, type, documentClass), keyIds(envelope), null);
    } catch (UpgradeException e) {
      try {
        T document = Json.read(Base64.getDecoder().decode(envelope.payload()), documentClass, type.typeName());
        return new Parsed<>(document, keyIds(envelope), e.code() + ": " + Printable.of(e.getMessage())
            + " (against trust root version " + verifier.trustRoot().version() + ")");
      } catch (UpgradeException | IllegalArgumentException unreadable) {
        return null;
      }
    }
  }

  private static List<String> keyIds(SignedEnvelope envelope) {
    List<String> ids = new ArrayList<>();
    for (EnvelopeSignature s : envelope.signatures()) {
      if (s.keyId().matches("[0-9a-f]{64}") && !ids.contains(s.keyId())) {
        ids.add(s.keyId());
      }
    }
    return ids;
  }

  private String expiryWarning(Instant expires, Instant now, String what, String fix) {
    if (!now.isBefore(expires)) {
      return what + " expired at " + expires + ": " + fix.replace(" before,", ",");
    }
    Duration left = Duration.between(now, expires);
    if (left.compareTo(warnBefore) < 0) {
      return what + " expires in " + human(left) + " (" + expires + "): " + fix;
    }
    return null;
  }

  private String stateWarning(Instant expires, Instant now) {
    if (!now.isBefore(expires)) {
      return "the rollout state expired at " + expires + ": nodes pause until a repo-server with --rollout-key-file"
          + " re-signs it";
    }
    if (Duration.between(now, expires).compareTo(rolloutStateTtl.dividedBy(3)) < 0) {
      return "the rollout state was not re-signed in time (expires " + expires + "): is the rollout controller"
          + " running? (/v1/status says)";
    }
    return null;
  }

  private static String human(Duration d) {
    return ExpiryWatch.human(d);
  }
}
