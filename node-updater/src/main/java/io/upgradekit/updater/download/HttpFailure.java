package io.upgradekit.updater.download;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import java.time.Duration;

/** An HTTP exchange that failed; carries the server's {@code Retry-After} when it sent one. */
public final class HttpFailure extends UpgradeException {
  private static final long serialVersionUID = 1L;

  private final transient Duration retryAfter;
  private final int status;

  public HttpFailure(ErrorCode code, String message, int status, Duration retryAfter, Throwable cause) {
    super(code, message, cause);
    this.status = status;
    this.retryAfter = retryAfter;
  }

  /** The HTTP status, or 0 when no response arrived. */
  public int status() {
    return status;
  }

  /** How long the server asked us to wait, or null. */
  public Duration retryAfter() {
    return retryAfter;
  }
}
