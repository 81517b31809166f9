package io.upgradekit.updater.event;

import java.util.Collections;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.Map;
import java.util.Set;

/**
 * The node's update state machine (DESIGN §6), written down once: the states in order, what each
 * guarantees, which transitions are legal, and what a failure in each state requires. Every event
 * ({@link EventKind}: an update, a manual rollback, a recall, a recovery) passes through these
 * states; each transition is journaled durably <em>before</em> the state's work starts and emits
 * one {@link AgentEvent.Transition}, which feeds the journal, the log, metrics and the report. A
 * transition not in the table is a bug and is refused ({@link IllegalTransitionException}).
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
 *       package; a full disk is DISK_FULL with the partial tree deleted. With {@code --stage-only}
 *       the update ends here.
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
 *   <li>{@link #ROLLBACK}: (after a failure at or after SWITCH, a manual rollback or a recall)
 *       {@code current} points at the version switched back to, which runs and passed its health
 *       check.
 *   <li>{@link #END_ACTION}: the outcome is recorded; versions beyond retention are pruned; the
 *       report is in the durable outbox; the lock is released on the way out.
 *   <li>{@link #END}: the event is in history; nothing is left to reconcile.
 * </ol>
 *
 * <p>The table of legal transitions (besides entering BEGIN to start an event):
 *
 * <pre>
 * BEGIN      → RESOLVE, ROLLBACK (manual rollback), END_ACTION
 * RESOLVE    → DOWNLOAD, ROLLBACK (recall), END_ACTION
 * DOWNLOAD   → STAGE, END_ACTION
 * STAGE      → GATE, DOWNLOAD (delta fallback), END_ACTION
 * GATE       → STOP, END_ACTION
 * STOP       → SWITCH, END_ACTION
 * SWITCH     → START, ROLLBACK
 * START      → VERIFY, ROLLBACK
 * VERIFY     → COMMIT, ROLLBACK
 * COMMIT     → END_ACTION
 * ROLLBACK   → END_ACTION
 * END_ACTION → END
 * </pre>
 */
public enum UpdateState {
  BEGIN(FailurePolicy.NOTHING, FailurePolicy.RESTORE_OLD),
  RESOLVE(FailurePolicy.NOTHING, FailurePolicy.RESTORE_OLD),
  DOWNLOAD(FailurePolicy.NOTHING, FailurePolicy.RESTORE_OLD),
  STAGE(FailurePolicy.NOTHING, FailurePolicy.RESTORE_OLD),
  GATE(FailurePolicy.NOTHING, FailurePolicy.RESTORE_OLD),
  STOP(FailurePolicy.RESTORE_OLD, FailurePolicy.RESTORE_OLD),
  SWITCH(FailurePolicy.ROLL_BACK, FailurePolicy.ROLL_BACK),
  START(FailurePolicy.ROLL_BACK, FailurePolicy.ROLL_BACK),
  VERIFY(FailurePolicy.ROLL_BACK, FailurePolicy.ROLL_BACK),
  COMMIT(FailurePolicy.NOTHING, FailurePolicy.FINISH),
  ROLLBACK(FailurePolicy.NOTHING, FailurePolicy.ROLL_BACK),
  END_ACTION(FailurePolicy.NOTHING, FailurePolicy.FINISH),
  END(FailurePolicy.NOTHING, FailurePolicy.FINISH);

  /** What a failure requires before the event ends. */
  public enum FailurePolicy {
    /** Nothing live changed (or the failure is the rollback itself): the event just ends. */
    NOTHING,
    /** The old version may have been stopped: start it again if it does not run. */
    RESTORE_OLD,
    /** The live version may have changed: switch back to the previous version, restart, verify. */
    ROLL_BACK,
    /** Only after a crash: the event had reached its outcome; finish it forward. */
    FINISH
  }

  private static final Map<UpdateState, Set<UpdateState>> NEXT = new EnumMap<>(UpdateState.class);

  static {
    legal(BEGIN, RESOLVE, ROLLBACK, END_ACTION);
    legal(RESOLVE, DOWNLOAD, ROLLBACK, END_ACTION);
    legal(DOWNLOAD, STAGE, END_ACTION);
    legal(STAGE, GATE, DOWNLOAD, END_ACTION);
    legal(GATE, STOP, END_ACTION);
    legal(STOP, SWITCH, END_ACTION);
    legal(SWITCH, START, ROLLBACK);
    legal(START, VERIFY, ROLLBACK);
    legal(VERIFY, COMMIT, ROLLBACK);
    legal(COMMIT, END_ACTION);
    legal(ROLLBACK, END_ACTION);
    legal(END_ACTION, END);
    NEXT.put(END, Collections.unmodifiableSet(EnumSet.noneOf(UpdateState.class)));
  }

  private static void legal(UpdateState from, UpdateState first, UpdateState... more) {
    NEXT.put(from, Collections.unmodifiableSet(EnumSet.of(first, more)));
  }

  private final FailurePolicy onFailure;
  private final FailurePolicy onInterruption;

  UpdateState(FailurePolicy onFailure, FailurePolicy onInterruption) {
    this.onFailure = onFailure;
    this.onInterruption = onInterruption;
  }

  /**
   * What a failure in this state requires, in the process that was running it: nothing before
   * STOP; after STOP the old version started again; at and after SWITCH a rollback; a failed
   * ROLLBACK, COMMIT or END_ACTION ends the event as it is.
   */
  public FailurePolicy onFailure() {
    return onFailure;
  }

  /**
   * What an event interrupted in this state (a crash, {@code kill -9}, a power cut: the next start
   * finds the journal here) requires: before SWITCH the old version started again if it does not
   * run (the machine may have restarted); at SWITCH, START, VERIFY and ROLLBACK a rollback (redone
   * if it was under way: it is idempotent); from COMMIT on, finishing forward.
   */
  public FailurePolicy onInterruption() {
    return onInterruption;
  }

  /** The states an event may enter from this one. */
  public Set<UpdateState> next() {
    return NEXT.get(this);
  }

  /** Whether an event in this state may enter {@code to}. */
  public boolean canEnter(UpdateState to) {
    return NEXT.get(this).contains(to);
  }

  /**
   * Checks a transition against the table; {@code from} is null for an event that has not entered
   * a state yet (it may only enter BEGIN).
   *
   * @throws IllegalTransitionException if the table does not allow it
   */
  public static void requireTransition(UpdateState from, UpdateState to) {
    boolean legal = from == null ? to == BEGIN : from.canEnter(to);
    if (!legal) {
      throw new IllegalTransitionException(from, to);
    }
  }
}
