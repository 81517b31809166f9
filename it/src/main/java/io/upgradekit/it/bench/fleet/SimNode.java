package io.upgradekit.it.bench.fleet;

import java.net.URI;
import java.util.Map;

/**
 * One simulated node's state. The simulator drives it ({@link Simulator}); this holds what a real
 * updater keeps between its polls: the version it runs, the ETags of the documents it polls, the
 * release it is on its way to, its rollout sequence, its lease, and its last call. Guarded by its own monitor.
 */
final class SimNode {
  /** Where the node is in its life. */
  enum Phase {
    /** Polling; nothing to install. */
    IDLE,
    /** A release with a plan is there; asking for a slot (and waiting when told to). */
    GATE,
    /** Holds a confirmed slot: between STOP and healthy. */
    UPDATING,
    /** Runs the published release, healthy. */
    DONE
  }

  final int index;
  final String id;
  final String authorization;
  final URI server;
  final Map<String, String> labels;

  String running = BenchRepository.FROM;
  String target;
  String pointerEtag;
  String stateEtag;
  long trustedSequence;
  boolean manifestFetched;
  Phase phase = Phase.IDLE;
  String state = "IDLE";
  boolean healthy = true;
  int lostInRow;
  String leaseKind;
  int slot = -1;
  long generation;
  long noticedNanos;
  long grantedNanos;
  long stoppedNanos;
  long healthyNanos;
  int wave = -1;
  int asks;
  String lastWait;
  /** Each scheduled poll carries the serial it was scheduled under; a call makes older ones stale. */
  long pollSerial;
  /** A poll is under way (from its first request until the next one is scheduled). */
  boolean polling;
  /** A call came while a poll was under way: the next poll comes at once. */
  boolean called;
  /** The token of the last call, sent back as {@code after}. */
  String callToken;

  SimNode(int index, String id, String authorization, URI server, Map<String, String> labels) {
    this.index = index;
    this.id = id;
    this.authorization = authorization;
    this.server = server;
    this.labels = Map.copyOf(labels);
  }
}
