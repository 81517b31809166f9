package io.upgradekit.server.rollout;

import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * What the controller knows of the fleet at one moment, for one rollout: every node of the app
 * that follows the release's channel (from heartbeats and reports), and the heartbeat samples the
 * canary judge compares. Built by the server from its inventory; the controller only reads it.
 *
 * @param nodes the app's nodes on the release's channel
 * @param samples heartbeat figures inside the judge's window, any version
 */
public record FleetSnapshot(List<NodeFacts> nodes, List<VersionedSample> samples) {
  public FleetSnapshot {
    nodes = List.copyOf(nodes);
    samples = List.copyOf(samples);
  }

  /** Where one update of a node to the release ended, as its report says. */
  public enum Outcome {
    COMMITTED, ROLLED_BACK, FAILED, REFUSED;

    /** Whether this outcome counts against the wave's {@code maxFailures}. */
    public boolean failure() {
      return this != COMMITTED;
    }
  }

  /**
   * One node.
   *
   * @param id the node id
   * @param labels its labels
   * @param version the version it runs (last heartbeat), or null if unknown
   * @param available heard from within three heartbeat intervals
   * @param healthy its last heartbeat said the service is healthy (false also when unavailable)
   * @param outcome its last report's outcome for an update to the release, or null
   * @param outcomeAt when that report was written, or null
   * @param updating it holds a slot of this rollout: it is between STOP and healthy
   * @param lostSlot it held a slot and went silent past the lease (counts as failed)
   * @param recalling it holds a recall slot of this rollout: it is on its way back (its heartbeat may
   *     already name the version it goes back to), not yet healthy on it
   */
  public record NodeFacts(String id, Map<String, String> labels, String version, boolean available, boolean healthy,
      Outcome outcome, Instant outcomeAt, boolean updating, boolean lostSlot, boolean recalling) {
    public NodeFacts {
      labels = labels == null ? Map.of() : Map.copyOf(labels);
    }
  }

  /** A judge sample with the version the node ran when it was taken. */
  public record VersionedSample(String version, Judge.Sample sample) {}
}
