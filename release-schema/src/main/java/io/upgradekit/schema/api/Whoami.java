package io.upgradekit.schema.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.upgradekit.schema.model.Names;

/**
 * The answer to {@code GET /v1/whoami}: who the presented credentials are, so that a client checks
 * them cheaply before it sends anything large. Schema {@code whoami.schema.json}.
 *
 * <p>{@code caller} is an open set: a server may name callers (roles) that this release does not
 * know yet, and a client compares it with the role it needs rather than refusing the answer.
 *
 * @param caller {@value #PUBLISHER} or {@value #NODE} (more roles may follow)
 * @param node the node id, for a node; else absent
 * @param maxBlobSize the largest blob the server accepts, for the publisher; else absent
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record Whoami(String caller, String node, Long maxBlobSize) {
  /** The publisher (bearer token). */
  public static final String PUBLISHER = "publisher";
  /** A node (per-node credential). */
  public static final String NODE = "node";

  public Whoami {
    if (caller == null || !Names.isLowercaseName(caller)) {
      throw Wire.malformed("caller must be a lower-case role name like 'node'");
    }
    if (NODE.equals(caller) && (node == null || !Names.isLowercaseName(node))) {
      throw Wire.malformed("a node's answer names the node");
    }
    if (node != null && !Names.isLowercaseName(node)) {
      throw Wire.malformed("node is not a node id");
    }
    if (maxBlobSize != null) {
      Wire.positive(maxBlobSize, "maxBlobSize");
    }
  }

  /** The publisher's answer, with the server's blob size limit. */
  public static Whoami publisher(long maxBlobSize) {
    return new Whoami(PUBLISHER, null, maxBlobSize);
  }

  /** A node's answer. */
  public static Whoami node(String node) {
    return new Whoami(NODE, node, null);
  }
}
