package io.upgradekit.store.s3;

import java.io.IOException;

/**
 * The object store did not do what was asked, for a reason that a later retry may cure: it did
 * not answer within the call's deadline, the connection failed, or it answered with an error
 * status (5xx, or a 4xx that is not about the caller's configuration). What the user must fix
 * (credentials, bucket, region) is an {@link io.upgradekit.schema.UpgradeException} instead, see
 * {@link S3Store}. After this exception from a write, the write's outcome is unknown.
 */
public final class S3StoreException extends IOException {
  private static final long serialVersionUID = 1L;

  private final int status;
  private final String s3Code;
  private final boolean timedOut;

  S3StoreException(String message, int status, String s3Code, boolean timedOut, Throwable cause) {
    super(message, cause);
    this.status = status;
    this.s3Code = s3Code;
    this.timedOut = timedOut;
  }

  /** The HTTP status the store answered, or 0 if it gave none (no connection, no answer in time). */
  public int status() {
    return status;
  }

  /** The store's error code, e.g. {@code SlowDown} or {@code InternalError}, or null. */
  public String s3Code() {
    return s3Code;
  }

  /** True if the call ran past its deadline ({@link S3StoreConfig#callTimeout}). */
  public boolean timedOut() {
    return timedOut;
  }
}
