package io.upgradekit.schema;

/**
 * Every failure the product reports, one code each. The same code appears in exceptions, in node
 * feedback, in server error bodies and (through the updater's mapping) in exit statuses, so a
 * failure can be traced across programs by its name.
 *
 * <p>Codes are stable: they are part of the feedback format. Add new ones; never rename.
 */
public enum ErrorCode {
  // Metadata verification (release-schema).
  /** A signature is by a key the trust root does not name for the role, or does not verify. */
  SIGNATURE_INVALID(true),
  /** Fewer distinct valid signatures than the role's threshold (duplicate key ids count once). */
  SIGNATURE_THRESHOLD(true),
  /** The document's expiry time has passed. */
  METADATA_EXPIRED(true),
  /** The document is older than the last one this reader trusted. */
  ROLLBACK_REFUSED(true),
  /** Hash, size, version or sequence differs from what referenced the document (mix-and-match). */
  METADATA_INCONSISTENT(true),
  /** Not a well-formed document: bad JSON, duplicate keys, too deep, wrong types, missing fields. */
  METADATA_MALFORMED(true),
  /** Larger than the cap for its document type; checked before any parsing. */
  METADATA_TOO_LARGE(true),
  /** A valid document for another app or channel. */
  WRONG_TARGET(true),
  /** A name (app, version, channel, node, ...) that does not match its strict pattern. */
  NAME_INVALID(true),
  /** A key file or key text that is not a usable Ed25519 key. */
  KEY_INVALID(false),

  // Content (delta engine, downloads).
  /** Content whose SHA-256 or size differs from the signed value. */
  HASH_MISMATCH(true),
  /** A delta that is truncated, oversized, or otherwise not a valid delta. */
  PATCH_MALFORMED(true),
  /** A delta built for another base tree than the one it is applied to. */
  BASE_MISMATCH(true),
  /** Input that the delta engine cannot take as a payload (unsafe path, unsupported entry, ...). */
  PAYLOAD_INVALID(false),

  /** A file system or network operation failed. */
  IO_ERROR(false),

  // Repository server API (repo-server answers these in its JSON error bodies).
  /** A request that is not valid HTTP for the API: bad path, header, method or parameters. */
  REQUEST_INVALID(true),
  /** The request carries no credentials, or credentials that are not valid (HTTP 401). */
  AUTH_REQUIRED(false),
  /** Valid credentials that do not allow this request, e.g. a node speaking for another (403). */
  ACCESS_DENIED(true),
  /** Nothing at this path (404). */
  NOT_FOUND(false),
  /** The request body is over the limit for its endpoint (413). */
  BODY_TOO_LARGE(true),
  /** The node has used up its storage quota on the server (413). */
  QUOTA_EXCEEDED(false),
  /** Too many requests from one client; retry later (429). */
  RATE_LIMITED(false),
  /** A published version exists already with other content; versions are immutable (409). */
  VERSION_EXISTS(true),
  /** A document refers to a blob or manifest that the repository does not hold (409). */
  REFERENCE_MISSING(true),
  /** Every slot of a claim scope is taken (409). */
  SCOPE_FULL(false),
  /** A compare-and-swap lost: the document changed since the client read it (412). */
  PRECONDITION_FAILED(false),
  /** A compare-and-swap request without If-Match or If-None-Match (428). */
  PRECONDITION_REQUIRED(false),
  /** An unexpected failure inside the server, a bug; details are in the server's log (500). */
  INTERNAL_ERROR(false),

  // Node updater.
  /**
   * A program's configuration is missing a value or holds one it cannot use: the updater's
   * configuration file, repo-server's options and secret files, the plugin's parameters. Each
   * program exits with its usage status (2) for it.
   */
  CONFIG_INVALID(false),
  /** Another updater holds the target's lock; this one changed nothing. */
  LOCKED(false),
  /** A download failed (connection, HTTP status, stalled body, refused redirect); a retry may cure it. */
  DOWNLOAD_FAILED(false),
  /** The file system holding the target's home has less free space than the configured minimum. */
  DISK_SPACE(false),
  /** Building or verifying the new version's directory failed for a reason other than its content. */
  STAGE_FAILED(false),
  /** The rollout gate did not open (no slot, wave closed, server refused) within the gate's timeout. */
  GATE_CLOSED(false),
  /** The running service did not stop, not even when killed. */
  STOP_FAILED(false),
  /** The atomic switch of the {@code current} link failed (never replaced by a non-atomic move). */
  SWITCH_FAILED(false),
  /** The service's start command failed or its process exited at once. */
  START_FAILED(false),
  /** The new version did not pass its health check within the configured attempts. */
  HEALTH_CHECK_FAILED(false),
  /** During the watch window, error rate or latency went beyond the policy against the pre-switch baseline. */
  METRICS_REGRESSION(false),
  /** The updater was interrupted (crash, kill) while updating to this release too many times. */
  CRASH_LOOP(false),
  /** The updater was interrupted mid-update; the next start reconciled the target. */
  INTERRUPTED(false),
  /** A manual rollback was asked for, but no earlier complete version is on disk. */
  NO_PREVIOUS_VERSION(false),
  /**
   * A transfer was slower than the minimum rate over its window, or took longer than the total
   * deadline derived from its signed size; the partial download is kept and resumed next time.
   */
  DOWNLOAD_TIMEOUT(false),
  /** The file system ran out of space while the updater wrote to it; the live version is untouched. */
  DISK_FULL(false),
  /**
   * The updater found its journal or node state damaged, moved the file aside for diagnosis and
   * rebuilt its state from the file system (the {@code current} link and {@code versions/}).
   */
  STATE_RECOVERED(false),

  // Repository server API, continued.
  /** The credential names a node or publisher whose access was revoked (HTTP 401). */
  CREDENTIAL_REVOKED(false),

  // Rollouts.
  /** The node's wave is not open yet; it waits at GATE. */
  WAVE_NOT_OPEN(false),
  /** The rollout is paused by an operator, or not started, or its state is stale: nodes wait. */
  ROLLOUT_PAUSED(false),
  /** The rollout is halted or recalled: no node installs the release. */
  ROLLOUT_HALTED(false),
  /** The node's rollout slot went to another holder (it was silent past its lease): it waits again. */
  LEASE_LOST(false),

  // Release sets (several components in dependency order).
  /** A release set whose components depend on each other in a cycle (no order could satisfy it). */
  SET_CYCLE(true),
  /** A release set's {@code depends_on} or contract names a component the set does not list. */
  SET_UNKNOWN_COMPONENT(true),
  /** A release set lists one component twice. */
  SET_DUPLICATE_COMPONENT(true),
  /** A release set (or its descriptor) beyond a documented cap: components, dependencies, contracts, bytes. */
  SET_TOO_LARGE(true),
  /**
   * A compatibility contract that is malformed, or that the set can never meet (the required
   * component's version in the set is outside the range, or the set does not order it first).
   */
  CONTRACT_INVALID(true),
  /** A compatibility contract that the fleet does not meet yet: the component waits (at GATE on a node). */
  CONTRACT_UNMET(false);

  private final boolean refusal;

  ErrorCode(boolean refusal) {
    this.refusal = refusal;
  }

  /**
   * True for codes that mean "this input was refused because it failed verification", as opposed
   * to an environment failure that a retry may cure. The updater exits with status 3 for these.
   */
  public boolean isRefusal() {
    return refusal;
  }
}
