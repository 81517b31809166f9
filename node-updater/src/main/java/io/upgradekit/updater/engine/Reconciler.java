package io.upgradekit.updater.engine;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.updater.config.UpdaterConfig.Strategy;
import io.upgradekit.updater.engine.UpdateEngine.Result;
import io.upgradekit.updater.event.EventKind;
import io.upgradekit.updater.event.Outcome;
import io.upgradekit.updater.event.UpdateState;
import io.upgradekit.updater.journal.JournalRecord;
import io.upgradekit.updater.journal.NodeState;
import java.io.IOException;
import java.nio.file.Files;
import java.util.Objects;

/**
 * Finishes an event that a crash interrupted (DESIGN §6), by the interrupted state's {@link
 * UpdateState#onInterruption() policy}; {@code current} is the truth. Before the switch the old
 * version must simply run again; between switch and verification the event is rolled back to its
 * recorded previous version (a rollback or recall is finished); after COMMIT it is finished
 * forward. A self-upgrade interrupted between switch and verification is the relaunch this
 * process is: it commits if it is the new version, else the launcher switched back.
 */
final class Reconciler {
  private final Parts parts;
  private final Rollbacks rollbacks;

  Reconciler(Parts parts, Rollbacks rollbacks) {
    this.parts = parts;
    this.rollbacks = rollbacks;
  }

  /** @return the result of a self-upgrade this process finished (it is the relaunched updater), else null */
  Result reconcile() {
    var active = parts.journal().active();
    if (active.isEmpty()) {
      parts.stager().cleanStaging();
      return null;
    }
    JournalRecord rec = active.get();
    UpdateState at = rec.state();
    EventRun run = EventRun.resume(parts, rec);
    parts.events().info("reconciling event " + rec.eventId() + " interrupted at " + at + " (current: "
        + parts.home().currentVersion().orElse("none") + ")");
    boolean selfRelaunch = parts.config().service().strategy() == Strategy.SELF
        && at.onInterruption() == UpdateState.FailurePolicy.ROLL_BACK && at != UpdateState.ROLLBACK;
    if (selfRelaunch) {
      return finishSelfUpgrade(run, rec, at);
    }
    countCrash(rec);
    parts.stager().cleanStaging();
    UpgradeException interrupted = new UpgradeException(ErrorCode.INTERRUPTED, "the updater stopped during " + at
        + " (crash or kill); reconciled on the next start");
    try {
      switch (at.onInterruption()) {
        case RESTORE_OLD -> {
          rollbacks.restoreOld(rec.fromVersion());
          run.error(interrupted);
          run.failNext(interrupted);
          run.end(Outcome.FAILED, ErrorCode.INTERRUPTED, interrupted.getMessage());
        }
        case ROLL_BACK -> rollBack(run, rec, at, interrupted);
        case FINISH -> finish(run, rec, at);
        case NOTHING -> throw new IllegalStateException(at + " has no interruption policy");
      }
    } catch (UpgradeException e) {
      parts.events().error("reconciliation could not finish: " + e);
      throw e;
    }
    return null;
  }

  /** Each interruption of an update counts against its release; at maxCrashes it is marked bad. */
  private void countCrash(JournalRecord rec) {
    if (rec.kind() != EventKind.UPDATE || rec.toVersion() == null || rec.outcome() != null) {
      return;
    }
    int max = parts.config().maxCrashes();
    NodeState state = NodeState.read(parts.home().nodeFile()).withCrash(rec.toVersion());
    if (state.crashes().get(rec.toVersion()) >= max) {
      state = state.withBad(rec.toVersion());
      parts.events().warn("release " + rec.toVersion() + " interrupted the updater " + max
          + " times; marked bad on this node");
    }
    state.write(parts.home().nodeFile());
  }

  /** An update goes back to where it came from; a rollback or recall is finished. */
  private void rollBack(EventRun run, JournalRecord rec, UpdateState at, UpgradeException interrupted) {
    boolean switchesBack = rec.kind().switchesBack();
    if (rec.errorCode() == null) {
      run.error(interrupted);
    }
    if (at != UpdateState.ROLLBACK) {
      run.failNext(interrupted);
      run.enter(UpdateState.ROLLBACK);
    }
    String back = switchesBack ? rec.toVersion() : rec.fromVersion();
    try {
      rollbacks.rollbackTo(back);
      if (switchesBack) {
        rollbacks.markRolledAway(rec.fromVersion());
      }
      run.end(Outcome.ROLLED_BACK, switchesBack && rec.errorCode() == null ? null
          : ErrorCode.valueOf(run.record().errorCode()), "rolled back to " + back + " after the interruption");
    } catch (UpgradeException r) {
      run.failNext(r);
      run.end(Outcome.FAILED, r.code(), "rollback after the interruption failed: " + r.getMessage());
    }
  }

  /** COMMIT, END_ACTION, END: the outcome was reached; the service runs, prune, report, history. */
  private void finish(EventRun run, JournalRecord rec, UpdateState at) {
    String installed = parts.home().currentVersion().orElse(null);
    if (installed != null && !parts.service().isRunning() && parts.config().service().process() != null) {
      parts.service().start(installed);
    }
    if (at == UpdateState.COMMIT) {
      NodeState.read(parts.home().nodeFile()).withPrevious(rec.fromVersion()).withoutCrashes(rec.toVersion())
          .write(parts.home().nodeFile());
      run.end(Outcome.COMMITTED, null, "now running " + rec.toVersion());
    } else {
      run.finishEndAction(rec.outcome() == null ? Outcome.FAILED : rec.outcome());
    }
  }

  /**
   * The second half of a self-upgrade, in the process the launcher started after the switch. If
   * {@code current} is the new version, this process is it: it runs, so VERIFY passes and the
   * update commits. If the launcher switched back (the new version did not start), the event
   * ends rolled back and the release is marked bad here.
   */
  private Result finishSelfUpgrade(EventRun run, JournalRecord rec, UpdateState at) {
    String installed = parts.home().currentVersion().orElse(null);
    try {
      if (Objects.equals(installed, rec.toVersion())) {
        if (at == UpdateState.SWITCH) {
          run.enter(UpdateState.START); // the switch was done: bin/updater started this version
        }
        if (at != UpdateState.VERIFY) {
          run.enter(UpdateState.VERIFY);
        }
        run.skip("the new updater version is running");
        run.enter(UpdateState.COMMIT);
        NodeState.read(parts.home().nodeFile()).withPrevious(rec.fromVersion()).withoutCrashes(rec.toVersion())
            .write(parts.home().nodeFile());
        Files.deleteIfExists(parts.selfPrevious());
        return run.end(Outcome.COMMITTED, null, "now running " + installed + " (the updater itself)");
      }
      UpgradeException e = new UpgradeException(ErrorCode.START_FAILED, "updater " + rec.toVersion()
          + " did not start; bin/updater switched back to " + installed);
      run.error(e);
      run.failNext(e);
      run.enter(UpdateState.ROLLBACK);
      if (installed == null) {
        Switcher.removeCurrent(parts.home());
      }
      NodeState.read(parts.home().nodeFile()).withBad(rec.toVersion()).write(parts.home().nodeFile());
      Files.deleteIfExists(parts.selfPrevious());
      return run.end(Outcome.ROLLED_BACK, e.code(), e.getMessage());
    } catch (IOException e) {
      throw new UpgradeException(ErrorCode.IO_ERROR, "cannot delete " + parts.selfPrevious() + ": " + e, e);
    }
  }
}
