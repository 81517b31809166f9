package io.upgradekit.it;

/** The end-to-end set-up could not do what a test asked (a process did not start, a wait timed out). */
public final class HarnessException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public HarnessException(String message) {
    super(message);
  }

  public HarnessException(String message, Throwable cause) {
    super(message, cause);
  }
}
