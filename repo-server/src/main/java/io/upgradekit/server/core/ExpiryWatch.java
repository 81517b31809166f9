package io.upgradekit.server.core;

import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.api.DocumentExpiries;
import io.upgradekit.schema.json.Json;
import io.upgradekit.schema.layout.PathKind;
import io.upgradekit.schema.layout.RepositoryLayout;
import io.upgradekit.schema.model.ChannelPointer;
import io.upgradekit.schema.model.DocumentType;
import io.upgradekit.schema.model.ReleaseManifest;
import io.upgradekit.schema.model.RolloutState;
import io.upgradekit.schema.model.TrustRoot;
import io.upgradekit.schema.sign.Envelopes;
import io.upgradekit.schema.sign.MetadataVerifier;
import io.upgradekit.schema.store.RepositoryStore;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * When each signed document that nodes depend on now expires: the trust root, every channel
 * pointer, the release manifest each pointer names, and the signed state of each live rollout (a
 * release a channel names whose manifest has a plan). Rendered three ways: {@code GET /v1/expiries}
 * (and the dashboard's banner), the warnings of {@code GET /v1/status}, and Prometheus gauges.
 *
 * <p>Cheap to ask: the documents are read again at most every {@link #REFRESH} (pointers and
 * rollout states, which are small; manifests never change and are read once), and at once after
 * this process wrote one of them ({@link #changed}); between reads every question is answered from
 * memory, and the time left is computed at the moment of asking. The number of documents, and so
 * of metric series, is bounded: one root, and per channel at most a pointer, a manifest and a
 * state, {@value DocumentExpiries#MAX_DOCUMENTS} in all (the soonest expiries first).
 *
 * <p>A document whose signatures do not verify against the current trust root is still listed,
 * with the refusal as its warning: nodes refuse it already. Thread-safe.
 */
public final class ExpiryWatch {
  /** The default of {@code --expiry-warning}. */
  public static final Duration DEFAULT_WARNING = Duration.ofDays(7);

  /** How long what was read is used before the documents are read again. */
  public static final Duration REFRESH = Duration.ofSeconds(30);

  private static final int MANIFEST_CACHE = 4096;

  private final RepositoryStore store;
  private final TrustStore trust;
  private final Clock clock;
  private final Duration warnBefore;
  private final Duration rolloutStateTtl;
  private final Consumer<String> log;
  private final Object refreshing = new Object();
  /** Manifests by path (they never change): expiry, plan, and the refusal of their signatures. */
  private final Map<String, Manifest> manifests = new LinkedHashMap<>(64, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, Manifest> eldest) {
      return size() > MANIFEST_CACHE;
    }
  };
  private volatile Known known;
  private volatile boolean stale = true;

  private record Manifest(Instant expires, boolean plan, String refusal) {}

  /** A document as read: what it is, and the refusal of its signatures, if any. */
  private record Found(String kind, String app, String channel, String version, String path, Instant expires,
      List<String> channels, String refusal) {}

  private record Known(Instant checkedAt, List<Found> documents, int omitted) {}

  /**
   * @param warnBefore warn when a document expires within this ({@code --expiry-warning})
   * @param rolloutStateTtl the rollout state's lifetime: a state with less than a third of it left
   *     was not re-signed in time
   * @param log told when a document cannot be read (once per read)
   */
  public ExpiryWatch(RepositoryStore store, TrustStore trust, Clock clock, Duration warnBefore,
      Duration rolloutStateTtl, Consumer<String> log) {
    this.store = Objects.requireNonNull(store, "store");
    this.trust = Objects.requireNonNull(trust, "trust");
    this.clock = Objects.requireNonNull(clock, "clock");
    this.warnBefore = Objects.requireNonNull(warnBefore, "warnBefore");
    this.rolloutStateTtl = Objects.requireNonNull(rolloutStateTtl, "rolloutStateTtl");
    this.log = Objects.requireNonNull(log, "log");
  }

  /** This process wrote {@code path}: a pointer, root or rollout state is read again at the next question. */
  public void changed(String path) {
    PathKind kind = RepositoryLayout.kindOf(path);
    if (kind == PathKind.CHANNEL_POINTER || kind == PathKind.ROLLOUT_STATE || path.equals(RepositoryLayout.trustRoot())
        || path.startsWith("roots/")) {
      stale = true;
    }
  }

  /** Every document with its expiry and warning, the soonest first. */
  public DocumentExpiries expiries() throws IOException {
    Known k = known();
    Instant now = clock.instant();
    List<DocumentExpiries.Document> documents = new ArrayList<>();
    for (Found f : k.documents()) {
      documents.add(new DocumentExpiries.Document(f.kind(), f.app(), f.channel(), f.version(), f.path(), f.expires(),
          warning(f, now)));
    }
    return new DocumentExpiries(now, k.checkedAt(), warnBefore.toSeconds(), documents, k.omitted());
  }

  /** The documents that need doing something about, for {@code GET /v1/status}. */
  public List<DocumentExpiries.Document> warnings() throws IOException {
    return expiries().documents().stream().filter(d -> d.warning() != null).toList();
  }

  /** The gauges, in Prometheus text format; an empty string when the documents cannot be read. */
  public String metrics() {
    Known k;
    try {
      k = known();
    } catch (IOException | RuntimeException e) {
      log.accept("cannot read the signed documents for their expiry: " + e);
      return "";
    }
    Instant now = clock.instant();
    StringBuilder out = new StringBuilder(256 + 120 * k.documents().size());
    header(out, "upgradekit_signed_document_expiry_seconds", "Seconds until a signed document that nodes depend on"
        + " expires (negative: expired): the trust root, each channel pointer, the release it names, a live rollout's"
        + " state.");
    Map<String, Integer> expiring = new TreeMap<>();
    for (String kind : new TreeSet<>(DocumentExpiries.KINDS)) {
      expiring.put(kind, 0);
    }
    for (Found f : k.documents()) {
      out.append("upgradekit_signed_document_expiry_seconds{document=\"").append(f.kind()).append('"');
      label(out, "app", f.app());
      label(out, "channel", f.channel());
      label(out, "version", f.version());
      out.append("} ").append(Duration.between(now, f.expires()).toSeconds()).append('\n');
      if (warning(f, now) != null) {
        expiring.merge(f.kind(), 1, Integer::sum);
      }
    }
    header(out, "upgradekit_signed_documents_expiring", "Signed documents that expired, expire within"
        + " --expiry-warning, do not verify, or (rollout states) were not re-signed in time, by kind.");
    expiring.forEach((kind, n) -> out.append("upgradekit_signed_documents_expiring{document=\"").append(kind)
        .append("\"} ").append(n).append('\n'));
    header(out, "upgradekit_signed_documents_omitted", "Signed documents beyond the "
        + DocumentExpiries.MAX_DOCUMENTS + " with the soonest expiry, not exported.");
    out.append("upgradekit_signed_documents_omitted ").append(k.omitted()).append('\n');
    header(out, "upgradekit_signed_document_expiry_warning_seconds", "The server's --expiry-warning.");
    out.append("upgradekit_signed_document_expiry_warning_seconds ").append(warnBefore.toSeconds()).append('\n');
    return out.toString();
  }

  private Known known() throws IOException {
    Known k = known;
    if (k != null && !stale && clock.instant().isBefore(k.checkedAt().plus(REFRESH))) {
      return k;
    }
    synchronized (refreshing) {
      k = known;
      if (k != null && !stale && clock.instant().isBefore(k.checkedAt().plus(REFRESH))) {
        return k; // another thread read them meanwhile
      }
      stale = false; // before reading: a write during the read makes the next question read again
      known = k = read();
      return k;
    }
  }

  private Known read() throws IOException {
    Instant now = clock.instant();
    TrustRoot root;
    try {
      root = trust.current();
    } catch (UpgradeException e) {
      // No trust root yet (a repository being set up): nothing nodes could trust, nothing expires.
      log.accept("no signed document's expiry is known: " + e.getMessage());
      return new Known(now, List.of(), 0);
    }
    MetadataVerifier verifier = new MetadataVerifier(root, clock);
    List<Found> found = new ArrayList<>();
    found.add(new Found("root", null, null, null, RepositoryLayout.trustRoot(), root.expires(), List.of(), null));
    List<String> pointers = new ArrayList<>();
    Set<String> states = new HashSet<>();
    try (Stream<RepositoryStore.Entry> entries = store.list("apps/")) {
      for (Iterator<RepositoryStore.Entry> it = entries.iterator(); it.hasNext(); ) {
        String path = it.next().path();
        PathKind kind = RepositoryLayout.kindOf(path);
        if (kind == PathKind.CHANNEL_POINTER) {
          pointers.add(path);
        } else if (kind == PathKind.ROLLOUT_STATE) {
          states.add(path);
        }
      }
    } catch (UncheckedIOException e) {
      throw e.getCause();
    }
    // A release named by several channels is listed once, with all of them.
    Map<String, List<String>> channelsOf = new TreeMap<>();
    Map<String, ChannelPointer> pointerOf = new TreeMap<>();
    for (String path : new TreeSet<>(pointers)) {
      Read<ChannelPointer> p = read(path, DocumentType.CHANNEL, ChannelPointer.class, verifier);
      if (p == null) {
        continue;
      }
      ChannelPointer pointer = p.document();
      found.add(new Found("channel", pointer.app(), pointer.channel(), null, path, pointer.expires(),
          List.of(pointer.channel()), p.refusal()));
      String manifestPath = RepositoryLayout.releaseManifest(pointer.app(), pointer.version());
      channelsOf.computeIfAbsent(manifestPath, m -> new ArrayList<>()).add(pointer.channel());
      pointerOf.putIfAbsent(manifestPath, pointer);
    }
    for (Map.Entry<String, List<String>> e : channelsOf.entrySet()) {
      ChannelPointer pointer = pointerOf.get(e.getKey());
      Manifest manifest = manifest(e.getKey(), verifier);
      if (manifest == null) {
        continue;
      }
      found.add(new Found("release", pointer.app(), null, pointer.version(), e.getKey(), manifest.expires(),
          e.getValue(), manifest.refusal()));
      String statePath = RepositoryLayout.rolloutState(pointer.app(), pointer.version());
      if (manifest.plan() && states.contains(statePath)) {
        Read<RolloutState> s = read(statePath, DocumentType.ROLLOUT, RolloutState.class, verifier);
        if (s != null) {
          found.add(new Found("rollout", pointer.app(), null, pointer.version(), statePath, s.document().expires(),
              e.getValue(), s.refusal()));
        }
      }
    }
    found.sort(Comparator.comparing(Found::expires).thenComparing(Found::path));
    int listed = Math.min(found.size(), DocumentExpiries.MAX_DOCUMENTS);
    return new Known(now, List.copyOf(found.subList(0, listed)), found.size() - listed);
  }

  private Manifest manifest(String path, MetadataVerifier verifier) throws IOException {
    synchronized (manifests) {
      Manifest cached = manifests.get(path);
      if (cached != null && cached.refusal() == null) {
        return cached;
      }
    }
    Read<ReleaseManifest> m = read(path, DocumentType.RELEASE, ReleaseManifest.class, verifier);
    if (m == null) {
      return null;
    }
    Manifest manifest = new Manifest(m.document().expires(), m.document().rollout() != null, m.refusal());
    synchronized (manifests) {
      manifests.put(path, manifest);
    }
    return manifest;
  }

  private record Read<T>(T document, String refusal) {}

  /** The document, with the refusal of its signatures if they do not verify; null if it is gone or unreadable. */
  private <T> Read<T> read(String path, DocumentType type, Class<T> documentClass, MetadataVerifier verifier)
      throws IOException {
    try {
      var stored = store.read(path, type.maxBytes());
      if (stored.isEmpty()) {
        return null;
      }
      byte[] bytes = stored.get().bytes();
      T document = Json.read(Envelopes.parse(bytes, type).payloadBytes(), documentClass, type.typeName());
      String refusal = null;
      try {
        verifier.verifySignatures(bytes, type);
      } catch (UpgradeException e) {
        refusal = e.code() + ": " + Printable.of(e.getMessage()) + " (against trust root version "
            + verifier.trustRoot().version() + "): nodes refuse it already";
      }
      return new Read<>(document, refusal);
    } catch (UpgradeException e) {
      log.accept("cannot read " + path + " for its expiry: " + e.code() + ": " + e.getMessage());
      return null;
    }
  }

  /** What to do about the document now, or null. */
  private String warning(Found f, Instant now) {
    if (f.refusal() != null) {
      return f.refusal();
    }
    boolean expired = !now.isBefore(f.expires());
    Duration left = Duration.between(now, f.expires());
    if (f.kind().equals("rollout")) {
      if (expired) {
        return "the rollout state of " + f.app() + " " + f.version() + " expired at " + f.expires() + ": nodes pause"
            + " until a repo-server with --rollout-key-file re-signs it";
      }
      return left.compareTo(rolloutStateTtl.dividedBy(3)) < 0 ? "the rollout state of " + f.app() + " " + f.version()
          + " was not re-signed in time (expires " + f.expires() + "): is the rollout controller running? (/v1/status"
          + " says)" : null;
    }
    if (!expired && left.compareTo(warnBefore) >= 0) {
      return null;
    }
    String when = expired ? " expired at " + f.expires() + ": " : " expires in " + human(left) + " (" + f.expires()
        + "): ";
    return switch (f.kind()) {
      case "root" -> "the trust root" + when + (expired ? "nodes refuse every document. " : "nodes refuse every"
          + " document from then on. ") + "Publish the next trust root version (mvn upgrade:keygen with"
          + " <rootKeyFile>; docs/runbook.md, an expired document)";
      case "channel" -> "the channel pointer " + f.app() + "/" + f.channel() + when + (expired ? "nodes refuse it. "
          : "nodes refuse it from then on. ") + "Re-sign it: mvn upgrade:resign -Dupgrade.app=" + f.app()
          + " -Dupgrade.channel=" + f.channel() + " (or publish a release to the channel)";
      default -> "the release manifest of " + f.app() + " " + f.version() + ", which channel " + String.join(", ",
          f.channels()) + " names," + when + (expired ? "nodes refuse the release. " : "nodes refuse the release from"
          + " then on. ") + "Publish a new release to the channel (manifests cannot be re-signed)";
    };
  }

  static String human(Duration d) {
    if (d.toDays() >= 1) {
      return d.toDays() + (d.toDays() == 1 ? " day" : " days");
    }
    if (d.toHours() >= 1) {
      return d.toHours() + (d.toHours() == 1 ? " hour" : " hours");
    }
    return Math.max(1, d.toMinutes()) + " min";
  }

  private static void header(StringBuilder out, String name, String help) {
    out.append("# HELP ").append(name).append(' ').append(help).append('\n');
    out.append("# TYPE ").append(name).append(" gauge\n");
  }

  private static void label(StringBuilder out, String name, String value) {
    if (value != null) {
      out.append(',').append(name).append("=\"").append(value.replace("\\", "\\\\").replace("\"", "\\\"")
          .replace("\n", "\\n")).append('"');
    }
  }
}
