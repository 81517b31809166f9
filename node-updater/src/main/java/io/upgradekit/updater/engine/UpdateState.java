package io.upgradekit.updater.engine;

/**
 * The node's update state machine (DESIGN §6), written down once. An update passes these states
 * in this order; each transition is journaled durably <em>before</em> the state's work starts and
 * emits one {@link UpdateEvent}, which feeds the journal, the log, metrics and the feedback
 * report.
 *
 * <ol>
 *   <li>{@link #BEGIN}: the target's lock is held (a second updater exits at once with status 4,
 *       having written nothing); damaged state files were moved aside and rebuilt ({@code
 *       STATE_RECOVERED}); an unfinished journal of an earlier run has been reconciled.
 *   <li>{@link #RESOLVE}: the trust root chain, channel pointer and release manifest are verified;
 *       the blob (delta from the installed version, else the full package) is chosen; older
 *       releases and releases marked bad on this node are refused.
 *   <li>{@link #DOWNLOAD}: the blob is in the cache, no larger than its signed size, SHA-256
 *       checked. Free disk was checked before the first byte.
 *   <li>{@link #STAGE}: {@code versions/<v>} exists, complete, every file verified against the
 *       manifest, fsynced and read-only. The running version is untouched (it is the backup). A
 *       delta that does not apply is followed, in the same run, by DOWNLOAD and STAGE of the full
 *       package; a full disk is DISK_FULL with the partial tree deleted.
 *       With {@code --stage-only} the update ends here.
 *   <li>{@link #GATE}: the rollout allows this node to proceed (a claimed slot, or no gate).
 *   <li>{@link #STOP}: the baseline metrics were sampled; with {@code restart} the old process is
 *       stopped (killed after the stop timeout); with {@code overlap} it keeps serving.
 *   <li>{@link #SWITCH}: {@code current} points at {@code versions/<v>} (relative link renamed
 *       atomically over it, directory fsynced). Before this state nothing live has changed; from
 *       here on any failure leads to {@link #ROLLBACK}.
 *   <li>{@link #START}: the new version runs with the original start parameters; with {@code
 *       overlap} it was started beside the old one, passed its health check, and the old one was
 *       drained and stopped.
 *   <li>{@link #VERIFY}: the health check passed, then the watch window did not see error rate or
 *       latency beyond the policy against the baseline.
 *   <li>{@link #COMMIT}: the new version is the installed version; the old one is the recorded
 *       previous version.
 *   <li>{@link #ROLLBACK}: (only after a failure at or after SWITCH) {@code current} points at the
 *       previous version again, which runs and passed its health check.
 *   <li>{@link #END_ACTION}: versions beyond retention are pruned; the report is in the durable
 *       outbox; the lock is released on the way out.
 *   <li>{@link #END}: the event is in history; nothing is left to reconcile.
 * </ol>
 */
public enum UpdateState {
  BEGIN,
  RESOLVE,
  DOWNLOAD,
  STAGE,
  GATE,
  STOP,
  SWITCH,
  START,
  VERIFY,
  COMMIT,
  ROLLBACK,
  END_ACTION,
  END;

  /** True for states whose failure requires switching back (the live version may have changed). */
  public boolean requiresRollbackOnFailure() {
    return this == SWITCH || this == START || this == VERIFY;
  }

}
