package io.upgradekit.schema.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.upgradekit.schema.model.LeaseGrant;
import io.upgradekit.schema.model.Names;

/**
 * A node asks for, confirms or returns a rollout slot: {@code POST /v1/leases} (ask: {@code slot}
 * and {@code generation} absent), {@code POST /v1/leases/confirm} (just before STOP) and {@code POST
 * /v1/leases/release} (after VERIFY or the rollback, with the outcome). Schema {@code
 * lease-request.schema.json}.
 *
 * @param app the app
 * @param version the release being rolled out
 * @param node the node (must be the authenticated node)
 * @param kind {@code upgrade} or {@code recall}
 * @param slot the slot of the grant, to confirm or return it
 * @param generation the grant's fencing number, to confirm or return it
 * @param outcome for a return: how the update ended ({@code COMMITTED}, {@code ROLLED_BACK}, ...)
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record LeaseRequest(String app, String version, String node, LeaseGrant.Kind kind, Integer slot,
    Long generation, String outcome) {
  public LeaseRequest {
    Names.requireApp(app);
    Names.requireVersion(version);
    Names.requireNodeId(node);
    Wire.required(kind, "kind");
    if (slot != null) {
      Wire.nonNegative(slot, "slot");
    }
    if (generation != null) {
      Wire.positive(generation, "generation");
    }
    if ((slot == null) != (generation == null)) {
      throw Wire.malformed("slot and generation go together");
    }
    if (outcome != null) {
      Wire.code(outcome, "outcome");
    }
  }

  /** Asks for a slot. */
  public static LeaseRequest ask(String app, String version, String node, LeaseGrant.Kind kind) {
    return new LeaseRequest(app, version, node, kind, null, null, null);
  }
}
