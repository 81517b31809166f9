package io.upgradekit.schema.model;

/**
 * The kinds of document the programs exchange, with the role that must sign each (null for
 * unsigned documents, which are authenticated by transport) and the largest size a reader accepts,
 * checked before any parsing.
 *
 * <p>The caps are sized for the smallest reader, the node agent, whose heap is 64 MB under {@code
 * bin/updater}: parsing a signed document takes about nine times its size at the peak (the
 * envelope, its base64 text, the decoded payload, the signed message, the records), and the agent
 * holds the installed release's manifest beside the new one. A release manifest costs about 250
 * bytes per file with 64 deltas (Jetty 12's distribution, 568 files: 145 KB), so the 2 MiB cap
 * holds about 8,000 files and the agent parses one in under 20 MB of heap. A signer refuses to
 * produce a larger document ({@link io.upgradekit.schema.sign.Envelopes#sign}).
 */
public enum DocumentType {
  ROOT("root", Role.ROOT, 256 * 1024),
  RELEASE("release", Role.RELEASE, 2 * 1024 * 1024),
  CHANNEL("channel", Role.RELEASE, 64 * 1024),
  /**
   * A release set: components in dependency order (DESIGN 7b). 256 components with 64 dependencies
   * each and 256 contracts stay under 1 MiB.
   */
  RELEASE_SET("release-set", Role.RELEASE, 1024 * 1024),
  ROLLOUT("rollout", Role.ROLLOUT, 256 * 1024),
  /**
   * A release set's live state (signed by repo-server with the rollout key): 256 components and the
   * fleet of 256 apps with 64 versions each stay under 1 MiB.
   */
  SET_STATE("set-state", Role.ROLLOUT, 1024 * 1024),
  /** A rollout slot given to one node (repo-server signs it with the rollout key). */
  LEASE("lease", Role.ROLLOUT, 4 * 1024),
  CLAIM("claim", null, 4 * 1024),
  FEEDBACK("feedback", null, 1024 * 1024),
  /** A rollout decision (repo-server's own record; the schedule of a large fleet makes it big). */
  DECISION("decision", null, 64 * 1024 * 1024),
  /** A release set's decision (repo-server's own record). */
  SET_DECISION("set-decision", null, 256 * 1024);

  private final String typeName;
  private final Role signingRole;
  private final int maxBytes;

  DocumentType(String typeName, Role signingRole, int maxBytes) {
    this.typeName = typeName;
    this.signingRole = signingRole;
    this.maxBytes = maxBytes;
  }

  /** The value of the document's {@code type} field, e.g. {@code "release"}. */
  public String typeName() {
    return typeName;
  }

  /** The envelope's payload type, which the signature covers (domain separation). */
  public String payloadType() {
    return "application/vnd.upgradekit." + typeName + "+json";
  }

  /** The role whose keys must sign this type, or null if it is not signed. */
  public Role signingRole() {
    return signingRole;
  }

  /** Largest accepted size in bytes of the document as stored (for signed types: the envelope). */
  public int maxBytes() {
    return maxBytes;
  }
}
