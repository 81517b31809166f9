package io.upgradekit.schema.api;

import io.upgradekit.schema.model.Claim;
import java.time.Instant;

/**
 * The answer to {@code POST /v1/claims} (201 new, 200 already held): the slot the node holds,
 * which is the stored {@link Claim} plus the scope's capacity and whether this request allocated
 * it. Schema {@code claim-grant.schema.json}.
 *
 * @param type always {@code "claim"}
 * @param app the app
 * @param version the release being rolled out
 * @param scope the slot set
 * @param slot the slot number within the scope, from 0
 * @param node the node holding the slot
 * @param claimedAt when the slot was given out
 * @param capacity the scope's number of slots
 * @param created true if this request allocated the slot, false if the node held it already
 */
public record ClaimGrant(
    String type,
    String app,
    String version,
    String scope,
    int slot,
    String node,
    Instant claimedAt,
    int capacity,
    boolean created) {
  public ClaimGrant {
    new Claim(type, app, version, scope, slot, node, claimedAt); // the claim's own checks
    Wire.positive(capacity, "capacity");
  }

  public static ClaimGrant of(Claim claim, int capacity, boolean created) {
    return new ClaimGrant(claim.type(), claim.app(), claim.version(), claim.scope(), claim.slot(), claim.node(),
        claim.claimedAt(), capacity, created);
  }

  /** The claim as stored in the repository. */
  public Claim toClaim() {
    return new Claim(type, app, version, scope, slot, node, claimedAt);
  }
}
