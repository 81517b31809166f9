package io.upgradekit.schema.api;

import java.time.Instant;
import java.util.List;

/**
 * The fleet inventory as repo-server keeps it: every node's newest heartbeat per app, with when a
 * server received it. The shape of the snapshot each server process writes to {@code
 * fleet/inventory/<instance>.json} (DESIGN 7, "Inventory"), which {@code upgrade:plan} reads to
 * preview a rollout against the live fleet. Schema {@code inventory.schema.json}.
 *
 * @param type always {@value #TYPE}
 * @param instance the server process that wrote it
 * @param sequence grows with every write of this instance's snapshot
 * @param writtenAt when
 * @param nodes one entry per node and app
 */
public record InventorySnapshot(String type, String instance, long sequence, Instant writtenAt, List<Entry> nodes) {
  public static final String TYPE = "inventory";
  /** Heartbeats a server keeps at most by default ({@code --max-nodes}); a snapshot holds no more. */
  public static final int MAX_NODES = 100_000;
  /** Three missed heartbeat intervals and a node counts as unavailable. */
  public static final int MISSED_INTERVALS = 3;

  /**
   * One node's newest heartbeat for one app.
   *
   * @param heartbeat what the node said
   * @param receivedAt when a server received it (the server's clock)
   */
  public record Entry(Heartbeat heartbeat, Instant receivedAt) {
    public Entry {
      Wire.required(heartbeat, "heartbeat");
      Wire.required(receivedAt, "receivedAt");
    }

    /** Whether the node was heard of within {@value #MISSED_INTERVALS} of its intervals before {@code now}. */
    public boolean available(Instant now) {
      return now.isBefore(receivedAt.plusSeconds(MISSED_INTERVALS * heartbeat.intervalSeconds()));
    }

    /** Available, and its last heartbeat did not say the service is unhealthy. */
    public boolean healthy(Instant now) {
      return available(now) && !Boolean.FALSE.equals(heartbeat.healthy());
    }
  }

  public InventorySnapshot {
    if (!TYPE.equals(type)) {
      throw Wire.malformed("type must be '" + TYPE + "'");
    }
    io.upgradekit.schema.model.Names.requireNodeId(Wire.required(instance, "instance"));
    Wire.nonNegative(sequence, "sequence");
    Wire.required(writtenAt, "writtenAt");
    nodes = List.copyOf(Wire.required(nodes, "nodes"));
    if (nodes.size() > MAX_NODES) {
      throw Wire.malformed("a snapshot holds at most " + MAX_NODES + " entries");
    }
  }
}
