package io.upgradekit.schema.api;

import java.time.Instant;

/**
 * The answer to {@code POST /v1/heartbeats} (200). Schema {@code heartbeat-result.schema.json}.
 *
 * @param accepted always true (a refused heartbeat gets an error body)
 * @param serverTime the server's clock, so a node can tell how far its own is off
 */
public record HeartbeatResult(boolean accepted, Instant serverTime) {
  public HeartbeatResult {
    Wire.required(serverTime, "serverTime");
  }
}
