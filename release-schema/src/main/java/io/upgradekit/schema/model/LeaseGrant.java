package io.upgradekit.schema.model;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.time.Instant;

/**
 * A rollout slot given to one node, signed by the rollout role (repo-server's online key): the
 * node's authority to go past GATE into STOP for one release, inside the rollout's availability
 * budget. A node never takes a node-wide action on an unsigned answer.
 *
 * <p>The slot is a lease: the node confirms it just before STOP (which fails if the server
 * already expired it: {@code LEASE_LOST}), holds it through VERIFY (its heartbeats keep it), and
 * returns it with its report; a holder that goes silent loses it. {@code generation} is the
 * fencing number: each new holder of a slot gets the next one, and a call naming an older one is
 * refused, so a holder that was presumed dead cannot act on a slot someone else holds.
 *
 * @param type always {@code "lease"}
 * @param app the app
 * @param version the release being rolled out
 * @param node the node the slot is for
 * @param kind {@code upgrade} (install the release) or {@code recall} (switch back from it)
 * @param wave the node's wave (from 0)
 * @param slot the slot (from 0)
 * @param generation the slot's holder number, from 1 (the fencing number)
 * @param issuedAt when it was granted
 * @param expires the node must confirm before this instant
 */
public record LeaseGrant(String type, String app, String version, String node, Kind kind, int wave, int slot,
    long generation, Instant issuedAt, Instant expires) implements SignedDocument {
  public enum Kind {
    @JsonProperty("upgrade")
    UPGRADE,
    @JsonProperty("recall")
    RECALL
  }

  public LeaseGrant {
    Checks.type(type, DocumentType.LEASE);
    Names.requireApp(app);
    Names.requireVersion(version);
    Names.requireNodeId(node);
    Checks.required(kind, "kind");
    Checks.nonNegative(wave, "wave");
    Checks.nonNegative(slot, "slot");
    Checks.positive(generation, "generation");
    Checks.required(issuedAt, "issuedAt");
    Checks.required(expires, "expires");
  }

  public static LeaseGrant of(String app, String version, String node, Kind kind, int wave, int slot, long generation,
      Instant issuedAt, Instant expires) {
    return new LeaseGrant(DocumentType.LEASE.typeName(), app, version, node, kind, wave, slot, generation, issuedAt,
        expires);
  }

  @Override
  public long serial() {
    return generation;
  }
}
