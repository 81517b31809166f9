package io.upgradekit.schema.model;

import java.time.Instant;

/**
 * One allocated rollout slot, stored as a file created exclusively so that each slot is given out
 * exactly once.
 *
 * @param type always {@code "claim"}
 * @param app the app
 * @param version the release being rolled out
 * @param scope the slot set, e.g. a wave ({@code wave-1})
 * @param slot the slot number within the scope, from 0
 * @param node the node holding the slot
 * @param claimedAt when the slot was given out
 */
public record Claim(String type, String app, String version, String scope, int slot, String node, Instant claimedAt) {
  public Claim {
    Checks.type(type, DocumentType.CLAIM);
    Names.requireApp(app);
    Names.requireVersion(version);
    Names.requireScope(scope);
    Checks.nonNegative(slot, "slot");
    Names.requireNodeId(node);
    Checks.required(claimedAt, "claimedAt");
  }

  public static Claim of(String app, String version, String scope, int slot, String node, Instant claimedAt) {
    return new Claim(DocumentType.CLAIM.typeName(), app, version, scope, slot, node, claimedAt);
  }
}
