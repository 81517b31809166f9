package io.upgradekit.updater.engine;

import io.upgradekit.schema.ErrorCode;

/**
 * How an update run ended, with its exit status per DESIGN §8: 0 done or up to date, 2 usage or
 * configuration error, 3 refused (verification failed), 4 another update holds the lock, 5 failed
 * and rolled back, 1 anything else.
 */
public enum Outcome {
  /** The channel points at the installed version (or at a release marked bad here). */
  UP_TO_DATE(0),
  /** The new version runs and passed verification. */
  COMMITTED(0),
  /** {@code --stage-only}: the new version is staged; nothing live changed. */
  STAGED(0),
  /** Verification refused the release or its content; nothing live changed. */
  REFUSED(3),
  /**
   * Only as the outcome of a {@code recovery} event in history and feedback: damaged state was
   * moved aside and rebuilt from the file system (STATE_RECOVERED); the run then went on.
   */
  RECOVERED(0),
  /** Another updater holds the lock; nothing was written. */
  LOCKED(4),
  /** A failure after the switch; the previous version runs again. */
  ROLLED_BACK(5),
  /** Any other failure (network, disk, gate, stop); nothing live changed, or see the report. */
  FAILED(1),
  /**
   * Self-upgrade: the updater switched its own version and must be run again from {@code
   * current/} (its launcher does that on this status); the new process finishes the update.
   */
  REEXEC(Outcome.REEXEC_STATUS);

  /** Exit status that asks {@code bin/updater} to run the new version (EX_TEMPFAIL). */
  public static final int REEXEC_STATUS = 75;

  private final int exitCode;

  Outcome(int exitCode) {
    this.exitCode = exitCode;
  }

  public int exitCode() {
    return exitCode;
  }

  /** The outcome of a failure with this code before the switch. */
  public static Outcome ofFailure(ErrorCode code) {
    if (code == ErrorCode.LOCKED) {
      return LOCKED;
    }
    return code.isRefusal() ? REFUSED : FAILED;
  }
}
