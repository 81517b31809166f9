package io.upgradekit.updater.engine;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.updater.config.UpdaterConfig.Strategy;
import io.upgradekit.updater.engine.UpdateEngine.Result;
import io.upgradekit.updater.event.EventKind;
import io.upgradekit.updater.event.Outcome;
import io.upgradekit.updater.event.UpdateState;
import io.upgradekit.updater.journal.NodeState;
import io.upgradekit.updater.process.ServiceController;

/**
 * Every way back: the ROLLBACK state after a failure at or after SWITCH (the failure policy {@link
 * UpdateState.FailurePolicy#ROLL_BACK}), a manual rollback ({@code updater rollback}), a recall by
 * the rollout, and restarting the old version after a failure in STOP ({@link
 * UpdateState.FailurePolicy#RESTORE_OLD}). Reconciliation uses the same operations.
 */
final class Rollbacks {
  private final Parts parts;

  Rollbacks(Parts parts) {
    this.parts = parts;
  }

  /**
   * A failure at SWITCH, START or VERIFY: ROLLBACK to the version the event came from; the failed
   * release is marked bad on this node. A failed rollback ends the event FAILED with its code.
   */
  Result afterFailure(EventRun run, UpgradeException e) {
    run.failNext(e);
    run.enter(UpdateState.ROLLBACK);
    try {
      rollbackTo(run.fromVersion());
      NodeState.read(parts.home().nodeFile()).withBad(run.toVersion()).write(parts.home().nodeFile());
      String back = run.fromVersion() == null ? "no version (a first install: current removed)" : run.fromVersion();
      return run.end(Outcome.ROLLED_BACK, e.code(), "rolled back to " + back + ": " + e.getMessage());
    } catch (UpgradeException r) {
      run.failNext(r);
      return run.end(Outcome.FAILED, r.code(), "rollback failed after " + e.code() + " (" + e.getMessage() + "): "
          + r.getMessage());
    }
  }

  /** {@code updater rollback}: back to the recorded previous version (BEGIN, ROLLBACK, END_ACTION). */
  Result manual() {
    Home home = parts.home();
    String installed = home.currentVersion().orElse(null);
    String previous = NodeState.read(home.nodeFile()).previous();
    EventRun run = EventRun.start(parts, EventKind.ROLLBACK, installed, previous == null ? "unknown" : previous);
    if (installed == null || previous == null || previous.equals(installed)
        || !home.versionsOnDisk().contains(previous)) {
      return refuse(run, new UpgradeException(ErrorCode.NO_PREVIOUS_VERSION, "there is no earlier version to "
          + "roll back to (installed: " + installed + ", previous: " + previous + ", on disk: "
          + home.versionsOnDisk() + ")"));
    }
    return switchBack(run, installed, previous, "rolled back from " + installed + " to " + previous + "; "
        + installed + " is marked bad on this node", "manual rollback failed: ");
  }

  /**
   * The rollout recalled the installed release (found in RESOLVE): the event becomes a {@code
   * recall} and switches back to {@code to}, like a manual rollback.
   *
   * @param reason why the rollout recalls it, or null; noted as "recalled: <reason>" (history and report)
   */
  Result recall(EventRun run, String installed, String to, String reason) {
    run.kind(EventKind.RECALL);
    run.target(to, 0);
    if (to == null || !parts.home().versionsOnDisk().contains(to)) {
      return refuse(run, new UpgradeException(ErrorCode.NO_PREVIOUS_VERSION, "the rollout recalled " + installed
          + " to " + to + ", which is not on this node's disk (on disk: " + parts.home().versionsOnDisk() + ")"));
    }
    if (reason != null) {
      parts.events().info("recalled: " + reason);
    }
    return switchBack(run, installed, to, "the rollout recalled " + installed + (reason == null ? "" : " (" + reason
        + ")") + "; back on " + to, "recall to " + to + " failed: ");
  }

  /** ROLLBACK to {@code to}; {@code installed} is marked bad and becomes the previous version. */
  private Result switchBack(EventRun run, String installed, String to, String done, String failedPrefix) {
    run.enter(UpdateState.ROLLBACK);
    try {
      rollbackTo(to);
      markRolledAway(installed);
      return run.end(Outcome.ROLLED_BACK, null, done);
    } catch (UpgradeException e) {
      run.error(e);
      run.failNext(e);
      return run.end(Outcome.FAILED, e.code(), failedPrefix + e.getMessage());
    }
  }

  /** Ends the event FAILED in its current state, nothing done. */
  private static Result refuse(EventRun run, UpgradeException e) {
    run.error(e);
    run.failNext(e);
    return run.end(Outcome.FAILED, e.code(), e.getMessage());
  }

  /** After switching back from {@code version} by design (rollback, recall): it is not installed again. */
  void markRolledAway(String version) {
    NodeState.read(parts.home().nodeFile()).withBad(version).withPrevious(version).write(parts.home().nodeFile());
  }

  /** STOP failed or was interrupted before the switch: the old version must run again. */
  void restoreOld(String from) {
    ServiceController service = parts.service();
    if (from != null && !service.isRunning()) {
      try {
        service.start(from);
      } catch (UpgradeException e) {
        parts.events().warn("cannot restart " + from + ": " + e.getMessage());
      }
    }
  }

  /** Switches back to {@code from} (or removes a first install), restarts it, verifies it. */
  void rollbackTo(String from) {
    Home home = parts.home();
    ServiceController service = parts.service();
    Strategy strategy = parts.config().service().strategy();
    boolean processMode = parts.config().service().process() != null;
    if (strategy == Strategy.SELF) {
      // This process is the old version: switching the link back is the whole rollback.
      if (from == null) {
        Switcher.removeCurrent(home);
      } else {
        Switcher.switchTo(home, from);
      }
      return;
    }
    if (from == null) {
      service.stopAll();
      Switcher.removeCurrent(home);
      return;
    }
    Switcher.switchTo(home, from);
    if (service.runningVersions().contains(from)) {
      service.stopAllBut(from); // overlap: the old process still serves; drain the new one
    } else if (parts.config().service().startGate() != null) {
      // The bad version serves until the previous one is ready at its gate: the gap is a drain, not a start.
      ServiceController.StartGate gate = service.startGated(from);
      service.stopAllBut(from);
      gate.open();
    } else {
      if (strategy == Strategy.RESTART || !processMode) {
        service.stopAll();
      }
      service.start(from);
      if (processMode) {
        // overlap: the old version starts beside the new one; once it answers, the new one goes
        note(parts.health().awaitHealthy(from, () -> service.runningVersions().contains(from)));
        service.stopAllBut(from);
      }
    }
    // Now only the previous version serves: this check is about it alone.
    note(parts.health().awaitHealthy(from, () -> runningOrUnknown(from)));
  }

  /** Without process mode the updater cannot tell; in process mode, a process of {@code version} is alive. */
  boolean runningOrUnknown(String version) {
    return parts.config().service().process() == null || parts.service().runningVersions().contains(version);
  }

  private void note(String note) {
    if (note != null) {
      parts.events().info(note);
    }
  }
}
