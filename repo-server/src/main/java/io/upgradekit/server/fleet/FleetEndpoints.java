package io.upgradekit.server.fleet;

import java.util.Objects;
import java.util.function.Supplier;

/**
 * The fleet layer's services that the API serves: heartbeats, leases and the operators' rollout
 * views and actions, with a sentence on the rollout controller for {@code /v1/status}.
 */
public record FleetEndpoints(HeartbeatService heartbeats, LeaseService leases, RolloutOperations operations,
    Supplier<String> controller) {
  public FleetEndpoints {
    Objects.requireNonNull(heartbeats, "heartbeats");
    Objects.requireNonNull(leases, "leases");
    Objects.requireNonNull(operations, "operations");
    Objects.requireNonNull(controller, "controller");
  }
}
