package io.upgradekit.server.cli;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import picocli.CommandLine.ParameterException;

/**
 * repo-server's exit statuses (docs/repo-server.md), for the server and its commands alike; the
 * one place where a failure becomes a status. Scripts and systemd units rely on them.
 */
public final class ExitCodes {
  /** Stopped normally, or the command did what it was asked. */
  public static final int OK = 0;
  /**
   * Failed for a reason outside the configuration: the port is taken, an I/O error ({@code
   * IO_ERROR}: a file that cannot be read or written, a lock held too long), a bug.
   */
  public static final int FAILED = 1;
  /**
   * Usage or configuration error, fixed by changing what the server is started with: an option
   * or a secret file ({@code CONFIG_INVALID}), or something it was given that fails verification
   * (a pinned trust root that does not verify, a node id that is not one: the refusal codes).
   */
  public static final int USAGE = 2;

  private ExitCodes() {}

  /** The status for a failure with this code. */
  public static int of(ErrorCode code) {
    return code == ErrorCode.CONFIG_INVALID || code.isRefusal() ? USAGE : FAILED;
  }

  /** The status for a failure: its code's for an {@link UpgradeException}, USAGE for bad options. */
  public static int of(Throwable failure) {
    if (failure instanceof ParameterException) {
      return USAGE;
    }
    if (failure instanceof UpgradeException e) {
      return of(e.code());
    }
    return FAILED;
  }

  /** The code a failure is reported with: its own, CONFIG_INVALID for bad options, else null. */
  static ErrorCode codeOf(Throwable failure) {
    if (failure instanceof ParameterException) {
      return ErrorCode.CONFIG_INVALID;
    }
    return failure instanceof UpgradeException e ? e.code() : null;
  }
}
