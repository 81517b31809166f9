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
  IO_ERROR(false);

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
