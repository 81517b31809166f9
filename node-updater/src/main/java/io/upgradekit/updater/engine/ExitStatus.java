package io.upgradekit.updater.engine;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.updater.event.Outcome;

/**
 * The updater's exit statuses (DESIGN §8), which scripts and systemd units rely on, and the one
 * mapping from how a command ended to its status. Every command and the daemon use this class;
 * nothing else decides a status.
 */
public final class ExitStatus {
  /**
   * Done, staged, or already up to date. A node the release's rollout makes wait (wave not open, no
   * slot free, paused, halted, stale state) is up to date for now: nothing failed and nothing live
   * changed, so a timer unit must not count it as a failure; {@code status} and the run's line say
   * why it waits.
   */
  public static final int OK = 0;
  /** Anything else: an environment failure (I/O, network, gate, stop) or a bug. */
  public static final int FAILED = 1;
  /** Usage or configuration error: the command line or a configuration file must be fixed. */
  public static final int USAGE = 2;
  /** Refused: verification failed (signature, hash, expiry, older release, malformed delta). */
  public static final int REFUSED = 3;
  /** Another update holds the lock (or, for the daemon, another daemon runs). */
  public static final int LOCKED = 4;
  /** The new version failed after the switch and was rolled back. */
  public static final int ROLLED_BACK = 5;
  /**
   * "Start me again" (EX_TEMPFAIL), handled by {@code bin/updater}: a self-upgrade switched to a
   * new updater version, or the daemon asks for a fresh JVM.
   */
  public static final int RESTART = 75;

  private ExitStatus() {}

  /** The status of a failure with this code (before anything live changed). */
  public static int of(ErrorCode code) {
    return of(Outcome.ofFailure(code), code);
  }

  /**
   * The status of a command that ended with {@code outcome}: 0 for the outcomes that are done, 3
   * for a refusal, 4 when locked, 5 when rolled back (a rollout's wait is 0), 75
   * for a re-exec, and for a failure 2 when its code is CONFIG_INVALID (the configuration, e.g. an
   * unreadable pinned trust root, must be fixed), else 1.
   *
   * @param code the failure's code, or null
   */
  public static int of(Outcome outcome, ErrorCode code) {
    return switch (outcome) {
      case UP_TO_DATE, COMMITTED, STAGED, RECOVERED, WAITING -> OK;
      case REFUSED, FAILED -> code == ErrorCode.CONFIG_INVALID ? USAGE : outcome == Outcome.REFUSED ? REFUSED : FAILED;
      case LOCKED -> LOCKED;
      case ROLLED_BACK -> ROLLED_BACK;
      case REEXEC -> RESTART;
    };
  }

  /**
   * The status of {@code updater rollback}: rolling back is what it was asked to do, so {@link
   * Outcome#ROLLED_BACK} is 0 there; anything else maps as in {@link #of(Outcome, ErrorCode)}.
   */
  public static int ofManualRollback(Outcome outcome, ErrorCode code) {
    return outcome == Outcome.ROLLED_BACK ? OK : of(outcome, code);
  }
}
