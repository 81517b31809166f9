package io.upgradekit.schema;

import java.util.Objects;

/**
 * The one exception type library code throws for expected failures: a typed {@link ErrorCode}
 * plus a sentence that says what is wrong and, where possible, how to fix it.
 *
 * <p>Unchecked so that it crosses lambdas and parallel work, but always documented on the methods
 * that throw it. Anything else escaping the library is a bug.
 */
public class UpgradeException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final ErrorCode code;

  public UpgradeException(ErrorCode code, String message) {
    super(message);
    this.code = Objects.requireNonNull(code, "code");
  }

  public UpgradeException(ErrorCode code, String message, Throwable cause) {
    super(message, cause);
    this.code = Objects.requireNonNull(code, "code");
  }

  public ErrorCode code() {
    return code;
  }

  /** "CODE: message", the form logs and command lines print. */
  @Override
  public String toString() {
    return code + ": " + getMessage();
  }
}
