package io.upgradekit.server.fleet;

import java.util.Objects;
import java.util.function.Supplier;

/**
 * The fleet layer's services that the API serves: heartbeats, leases, calls, the operators' rollout and
 * release set views and actions, the dashboard's read views, with a sentence on the rollout controller for {@code
 * /v1/status}.
 */
public record FleetEndpoints(HeartbeatService heartbeats, LeaseService leases, NodeCalls calls,
    RolloutOperations operations, SetOperations sets, FleetViews views, Supplier<String> controller) {
  public FleetEndpoints {
    Objects.requireNonNull(heartbeats, "heartbeats");
    Objects.requireNonNull(leases, "leases");
    Objects.requireNonNull(calls, "calls");
    Objects.requireNonNull(operations, "operations");
    Objects.requireNonNull(sets, "sets");
    Objects.requireNonNull(views, "views");
    Objects.requireNonNull(controller, "controller");
  }
}
