package io.upgradekit.updater.journal;

import io.upgradekit.schema.json.Json;
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
 */
public record NodeState(
    String previous, long lastPointerSequence, String pointerEtag, List<String> badReleases,
    Map<String, Integer> crashes) {
  private static final int MAX_BAD = 64;

  public NodeState {
    badReleases = badReleases == null ? List.of() : List.copyOf(badReleases);
    crashes = crashes == null ? Map.of() : Map.copyOf(crashes);
  }

  public static NodeState empty() {
    return new NodeState(null, 0, null, List.of(), Map.of());
  }

  public NodeState withPrevious(String version) {
    return new NodeState(version, lastPointerSequence, pointerEtag, badReleases, crashes);
  }

  public NodeState withPointer(long sequence, String etag) {
    return new NodeState(previous, Math.max(sequence, lastPointerSequence), etag, badReleases, crashes);
  }

  public NodeState withBad(String version) {
    List<String> bad = new ArrayList<>(badReleases);
    if (!bad.contains(version)) {
      bad.add(version);
    }
    while (bad.size() > MAX_BAD) {
      bad.remove(0);
    }
    return new NodeState(previous, lastPointerSequence, pointerEtag, bad, crashes);
  }

  public NodeState withCrash(String version) {
    Map<String, Integer> all = new HashMap<>(crashes);
    all.merge(version, 1, Integer::sum);
    return new NodeState(previous, lastPointerSequence, pointerEtag, badReleases, all);
  }

  public NodeState withoutCrashes(String version) {
    Map<String, Integer> all = new HashMap<>(crashes);
    all.remove(version);
    return new NodeState(previous, lastPointerSequence, pointerEtag, badReleases, all);
  }

  public static NodeState read(Path file) {
    NodeState state = StateFiles.read(file, NodeState.class, "node state");
    return state == null ? empty() : state;
  }

  public void write(Path file) {
    StateFiles.write(file, Json.canonicalBytes(this));
  }
}
