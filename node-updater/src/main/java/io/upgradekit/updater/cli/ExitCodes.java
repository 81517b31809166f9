package io.upgradekit.updater.cli;

import io.upgradekit.schema.ErrorCode;

/** The updater's exit statuses (DESIGN.md section 8); scripts and systemd units rely on them. */
public final class ExitCodes {
  /** Done, or already up to date. */
  public static final int OK = 0;
  /** Anything else: an environment failure (I/O, network) or a bug. */
  public static final int FAILED = 1;
  /** Usage or configuration error: the command line or a config file must be fixed. */
  public static final int USAGE = 2;
  /** Refused: verification failed (signature, hash, malformed or mismatched delta). */
  public static final int REFUSED = 3;
  /** Another update holds the lock. */
  public static final int LOCKED = 4;
  /** The update failed and was rolled back. */
  public static final int ROLLED_BACK = 5;

  private ExitCodes() {}

  /**
   * The status for a failure with this code: USAGE for a configuration error, LOCKED when another
   * update holds the lock, REFUSED for codes that mean "failed verification", FAILED for the rest.
   */
  public static int of(ErrorCode code) {
    if (code == ErrorCode.CONFIG_INVALID) {
      return USAGE;
    }
    if (code == ErrorCode.LOCKED) {
      return LOCKED;
    }
    return code.isRefusal() ? REFUSED : FAILED;
  }
}
