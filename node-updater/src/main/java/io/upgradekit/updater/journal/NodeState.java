package io.upgradekit.updater.journal;

import io.upgradekit.schema.json.Json;
import io.upgradekit.schema.model.Names;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * What the node remembers between updates, besides the {@code current} link (which alone says
 * what is installed).
 *
 * @param previous the version that ran before the installed one (the manual rollback target), or null
 * @param lastPointerSequence the highest channel pointer sequence trusted (no replay of older pointers)
 * @param pointerEtag the channel pointer's last ETag, for conditional polls
 * @param badReleases releases this node refuses to install again (rolled back, or a crash loop)
 * @param crashes interrupted attempts per target version, for the crash loop breaker
 * @param badDeltas SHA-256 of deltas that did not apply to the installed tree here (wrong base,
 *     wrong result, malformed): RESOLVE takes the full package instead of these (absent in files
 *     written before this field existed)
 * @param rollouts what the node remembers of recent releases' rollouts (the installed one and the
 *     one it moves to matter; the newest 16 are kept)
 * @param lease the rollout slot this node holds, or null: kept until repo-server took it back, so
 *     that an updater restarted after a crash returns it
 * @param waiting what the rollout makes this node wait for, or null: {@code status} shows it, and
 *     history gets an entry only when it changes
 */
public record NodeState(
    String previous, long lastPointerSequence, String pointerEtag, List<String> badReleases,
    Map<String, Integer> crashes, List<String> badDeltas, Map<String, Rollout> rollouts, Lease lease,
    Wait waiting) {
  private static final int MAX_BAD = 64;
  /** Releases whose rollout sequence and retry count are remembered (the installed one and its successor matter). */
  private static final int MAX_ROLLOUTS = 16;

  /**
   * One release's rollout, as this node knows it.
   *
   * @param sequence the highest rollout state sequence trusted (a replayed older state is refused
   *     across runs too); 0: none yet
   * @param retriesActedOn the operator's retry count ({@code RolloutState.retries}) this node last
   *     acted on: a higher one lets the release be tried again after it failed here
   * @param wave this node's wave in it (from its grant or the server's answers), or null
   * @param setSequence the highest sequence of the signed state of the release set that rolls the
   *     release out that this node trusted (a replayed older set state is refused), or null: none yet
   * @param expires when the newest state trusted expires (for {@code status}), or null
   */
  @com.fasterxml.jackson.annotation.JsonInclude(com.fasterxml.jackson.annotation.JsonInclude.Include.NON_NULL)
  public record Rollout(long sequence, int retriesActedOn, Integer wave, Long setSequence, java.time.Instant expires) {
    static final Rollout NONE = new Rollout(0, 0, null, null, null);

    public Rollout {
      if (sequence < 0 || retriesActedOn < 0 || (wave != null && wave < 0)
          || (setSequence != null && setSequence < 0)) {
        throw new IllegalArgumentException("a rollout memory holds a negative number");
      }
    }

    /** The three-field form of earlier releases (no release set). */
    public Rollout(long sequence, int retriesActedOn, Integer wave) {
      this(sequence, retriesActedOn, wave, null, null);
    }

    /** {@link #setSequence}, 0 when none was trusted yet. */
    public long setSequenceOrZero() {
      return setSequence == null ? 0 : setSequence;
    }
  }

  /**
   * A rollout slot held (a verified {@code LeaseGrant}).
   *
   * @param eventId the event that asked for it
   * @param version the release being rolled out
   * @param kind {@code upgrade} or {@code recall}
   * @param wave the node's wave
   * @param slot the slot
   * @param generation the fencing number
   * @param confirmed repo-server confirmed it (the node went past STOP or into ROLLBACK with it)
   * @param outcome how the event ended (what the return says), or null while it runs
   */
  public record Lease(String eventId, String version, String kind, int wave, int slot, long generation,
      boolean confirmed, String outcome) {
    public Lease {
      if (eventId == null || !Names.isEventId(eventId)) {
        throw new IllegalArgumentException("lease.eventId is not an event id");
      }
      if (!Names.isVersion(version)) {
        throw new IllegalArgumentException("lease.version is not a version: " + Names.quote(version));
      }
      if (!"upgrade".equals(kind) && !"recall".equals(kind)) {
        throw new IllegalArgumentException("lease.kind is " + Names.quote(kind));
      }
      if (wave < 0 || slot < 0 || generation < 1) {
        throw new IllegalArgumentException("lease holds a negative wave or slot, or no generation");
      }
      if (outcome != null && !CODE.matcher(outcome).matches()) {
        throw new IllegalArgumentException("lease.outcome is " + Names.quote(outcome));
      }
    }

    public Lease confirm() {
      return new Lease(eventId, version, kind, wave, slot, generation, true, outcome);
    }

    public Lease withOutcome(String how) {
      return new Lease(eventId, version, kind, wave, slot, generation, confirmed, how);
    }
  }

  /**
   * What the rollout makes this node wait for.
   *
   * @param version the release waited for (the installed one, for a recall)
   * @param kind {@code upgrade} or {@code recall}
   * @param code why ({@code WAVE_NOT_OPEN}, {@code SCOPE_FULL}, {@code ROLLOUT_PAUSED}, ...)
   * @param message the sentence {@code status} and history show
   * @param since when this reason was first given
   */
  public record Wait(String version, String kind, String code, String message, java.time.Instant since) {
    public Wait {
      if (!Names.isVersion(version)) {
        throw new IllegalArgumentException("waiting.version is not a version: " + Names.quote(version));
      }
      if (!"upgrade".equals(kind) && !"recall".equals(kind)) {
        throw new IllegalArgumentException("waiting.kind is " + Names.quote(kind));
      }
      if (code == null || !CODE.matcher(code).matches() || message == null || since == null) {
        throw new IllegalArgumentException("waiting needs a code, a message and a time");
      }
    }

    /** The same reason (a later poll that got the same answer). */
    public boolean sameAs(Wait other) {
      return other != null && version.equals(other.version) && kind.equals(other.kind) && code.equals(other.code)
          && message.equals(other.message);
    }
  }

  private static final java.util.regex.Pattern CODE = java.util.regex.Pattern.compile("[A-Z][A-Z0-9_]{0,47}");

  public NodeState {
    badReleases = badReleases == null ? List.of() : List.copyOf(badReleases);
    crashes = crashes == null ? Map.of() : Map.copyOf(crashes);
    badDeltas = badDeltas == null ? List.of() : List.copyOf(badDeltas);
    rollouts = rollouts == null ? Map.of() : Map.copyOf(rollouts);
    rollouts.forEach((v, r) -> {
      if (!Names.isVersion(v) || r == null) {
        throw new IllegalArgumentException("rollouts holds " + Names.quote(v));
      }
    });
    // A file that parses but holds impossible values is as damaged as one that does not parse.
    if (previous != null && !Names.isVersion(previous)) {
      throw new IllegalArgumentException("previous is not a version: " + Names.quote(previous));
    }
    if (lastPointerSequence < 0) {
      throw new IllegalArgumentException("lastPointerSequence is negative");
    }
    for (String v : badReleases) {
      if (!Names.isVersion(v)) {
        throw new IllegalArgumentException("badReleases holds a non-version: " + Names.quote(v));
      }
    }
    crashes.forEach((v, n) -> {
      if (!Names.isVersion(v) || n < 0) {
        throw new IllegalArgumentException("crashes holds " + Names.quote(v) + ": " + n);
      }
    });
    for (String sha : badDeltas) {
      if (!SHA256.matcher(sha).matches()) {
        throw new IllegalArgumentException("badDeltas holds a non-hash: " + Names.quote(sha));
      }
    }
  }

  private static final java.util.regex.Pattern SHA256 = java.util.regex.Pattern.compile("[0-9a-f]{64}");

  /** The fields every node state had before rollouts; the rollout fields start empty. */
  public NodeState(String previous, long lastPointerSequence, String pointerEtag, List<String> badReleases,
      Map<String, Integer> crashes, List<String> badDeltas) {
    this(previous, lastPointerSequence, pointerEtag, badReleases, crashes, badDeltas, null, null, null);
  }

  public static NodeState empty() {
    return new NodeState(null, 0, null, List.of(), Map.of(), List.of());
  }

  public NodeState withPrevious(String version) {
    return new NodeState(version, lastPointerSequence, pointerEtag, badReleases, crashes, badDeltas,
        rollouts, lease, waiting);
  }

  public NodeState withPointer(long sequence, String etag) {
    return new NodeState(previous, Math.max(sequence, lastPointerSequence), etag, badReleases, crashes, badDeltas,
        rollouts, lease, waiting);
  }

  public NodeState withBad(String version) {
    List<String> bad = new ArrayList<>(badReleases);
    if (!bad.contains(version)) {
      bad.add(version);
    }
    while (bad.size() > MAX_BAD) {
      bad.remove(0);
    }
    return new NodeState(previous, lastPointerSequence, pointerEtag, bad, crashes, badDeltas,
        rollouts, lease, waiting);
  }

  /** Remembers a delta (by its blob's SHA-256) that did not apply here; the oldest are forgotten past 64. */
  public NodeState withBadDelta(String sha256) {
    List<String> bad = new ArrayList<>(badDeltas);
    if (!bad.contains(sha256)) {
      bad.add(sha256);
    }
    while (bad.size() > MAX_BAD) {
      bad.remove(0);
    }
    return new NodeState(previous, lastPointerSequence, pointerEtag, badReleases, crashes, bad,
        rollouts, lease, waiting);
  }

  public NodeState withCrash(String version) {
    Map<String, Integer> all = new HashMap<>(crashes);
    all.merge(version, 1, Integer::sum);
    return new NodeState(previous, lastPointerSequence, pointerEtag, badReleases, all, badDeltas,
        rollouts, lease, waiting);
  }

  public NodeState withoutCrashes(String version) {
    Map<String, Integer> all = new HashMap<>(crashes);
    all.remove(version);
    return new NodeState(previous, lastPointerSequence, pointerEtag, badReleases, all, badDeltas,
        rollouts, lease, waiting);
  }

  /** Takes {@code version} off the bad list (an operator's retry), with its crash count. */
  public NodeState withoutBad(String version) {
    List<String> bad = new ArrayList<>(badReleases);
    bad.remove(version);
    Map<String, Integer> all = new HashMap<>(crashes);
    all.remove(version);
    return new NodeState(previous, lastPointerSequence, pointerEtag, bad, all, badDeltas, rollouts, lease,
        waiting);
  }

  /** What this node remembers of the rollout of {@code version}. */
  public Rollout rollout(String version) {
    return rollouts.getOrDefault(version, Rollout.NONE);
  }

  /** Remembers a rollout state sequence trusted (never lowers it) and when that state expires. */
  public NodeState withRolloutSequence(String version, long sequence, java.time.Instant expires) {
    Rollout r = rollout(version);
    return sequence < r.sequence() ? this : withRollout(version, new Rollout(sequence, r.retriesActedOn(), r.wave(),
        r.setSequence(), expires));
  }

  /** Remembers a release set state sequence trusted for the release {@code version} (never lowers it). */
  public NodeState withSetSequence(String version, long sequence) {
    Rollout r = rollout(version);
    return withRollout(version, new Rollout(r.sequence(), r.retriesActedOn(), r.wave(),
        Math.max(r.setSequenceOrZero(), sequence), r.expires()));
  }

  public NodeState withRetriesActedOn(String version, int count) {
    Rollout r = rollout(version);
    return withRollout(version, new Rollout(r.sequence(), count, r.wave(), r.setSequence(), r.expires()));
  }

  public NodeState withWave(String version, int wave) {
    Rollout r = rollout(version);
    return withRollout(version, new Rollout(r.sequence(), r.retriesActedOn(), wave, r.setSequence(), r.expires()));
  }

  private NodeState withRollout(String version, Rollout r) {
    Map<String, Rollout> all = new java.util.TreeMap<>(rollouts);
    all.put(version, r);
    while (all.size() > MAX_ROLLOUTS) {
      // The lowest version name is not the oldest release in every scheme, but the installed
      // release and the next one are the newest, and 16 leave room for both.
      all.remove(all.keySet().stream().filter(v -> !v.equals(version)).findFirst().orElseThrow());
    }
    return new NodeState(previous, lastPointerSequence, pointerEtag, badReleases, crashes, badDeltas, all, lease,
        waiting);
  }

  public NodeState withLease(Lease held) {
    return new NodeState(previous, lastPointerSequence, pointerEtag, badReleases, crashes, badDeltas, rollouts, held,
        waiting);
  }

  public NodeState withWaiting(Wait wait) {
    return new NodeState(previous, lastPointerSequence, pointerEtag, badReleases, crashes, badDeltas, rollouts, lease,
        wait);
  }

  /**
   * @return the node state, or {@link #empty()} when there is none
   * @throws StateFiles.DamagedStateException when the file cannot be used (the engine rebuilds it)
   */
  public static NodeState read(Path file) {
    NodeState state = StateFiles.read(file, NodeState.class, "node state");
    return state == null ? empty() : state;
  }

  public void write(Path file) {
    StateFiles.write(file, Json.canonicalBytes(this));
  }
}
