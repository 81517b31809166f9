package io.upgradekit.updater.event;

import io.upgradekit.schema.ErrorCode;

/**
 * How an event (or a call that found nothing to do) ended; the name is what history and the
 * report say. {@code engine.ExitStatus} maps it to the exit status.
 */
public enum Outcome {
  /** The channel points at the installed version (or at a release marked bad here). */
  UP_TO_DATE,
  /** The new version runs and passed verification. */
  COMMITTED,
  /** {@code --stage-only}: the new version is staged; nothing live changed. */
  STAGED,
  /** Verification refused the release or its content; nothing live changed. */
  REFUSED,
  /**
   * Only as the outcome of a {@code recovery} event in history and feedback: damaged state was
   * moved aside and rebuilt from the file system (STATE_RECOVERED); the run then went on.
   */
  RECOVERED,
  /** Another updater holds the lock; nothing was written. */
  LOCKED,
  /** A failure after the switch; the previous version runs again. */
  ROLLED_BACK,
  /** Any other failure (network, disk, gate, stop); nothing live changed, or see the report. */
  FAILED,
  /**
   * The release's rollout makes this node wait at GATE (its wave is not open, no slot is free, the
   * rollout is paused or halted, its state is stale); nothing live changed, the staged version stays,
   * and the next poll asks again. Not a failure, and not reported to the server (its answers are the
   * reason); history records it once per change of reason.
   */
  WAITING,
  /**
   * Self-upgrade: the updater switched its own version and must be run again from {@code
   * current/} (its launcher does that on exit status 75); the new process finishes
   * the update.
   */
  REEXEC;

  /** The outcome of a failure with this code before the switch. */
  public static Outcome ofFailure(ErrorCode code) {
    if (code == ErrorCode.LOCKED) {
      return LOCKED;
    }
    return code.isRefusal() ? REFUSED : FAILED;
  }
}
