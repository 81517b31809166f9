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
 */
public record NodeState(
    String previous, long lastPointerSequence, String pointerEtag, List<String> badReleases,
    Map<String, Integer> crashes, List<String> badDeltas) {
  private static final int MAX_BAD = 64;

  public NodeState {
    badReleases = badReleases == null ? List.of() : List.copyOf(badReleases);
    crashes = crashes == null ? Map.of() : Map.copyOf(crashes);
    badDeltas = badDeltas == null ? List.of() : List.copyOf(badDeltas);
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

  public static NodeState empty() {
    return new NodeState(null, 0, null, List.of(), Map.of(), List.of());
  }

  public NodeState withPrevious(String version) {
    return new NodeState(version, lastPointerSequence, pointerEtag, badReleases, crashes, badDeltas);
  }

  public NodeState withPointer(long sequence, String etag) {
    return new NodeState(previous, Math.max(sequence, lastPointerSequence), etag, badReleases, crashes, badDeltas);
  }

  public NodeState withBad(String version) {
    List<String> bad = new ArrayList<>(badReleases);
    if (!bad.contains(version)) {
      bad.add(version);
    }
    while (bad.size() > MAX_BAD) {
      bad.remove(0);
    }
    return new NodeState(previous, lastPointerSequence, pointerEtag, bad, crashes, badDeltas);
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
    return new NodeState(previous, lastPointerSequence, pointerEtag, badReleases, crashes, bad);
  }

  public NodeState withCrash(String version) {
    Map<String, Integer> all = new HashMap<>(crashes);
    all.merge(version, 1, Integer::sum);
    return new NodeState(previous, lastPointerSequence, pointerEtag, badReleases, all, badDeltas);
  }

  public NodeState withoutCrashes(String version) {
    Map<String, Integer> all = new HashMap<>(crashes);
    all.remove(version);
    return new NodeState(previous, lastPointerSequence, pointerEtag, badReleases, all, badDeltas);
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
