package io.upgradekit.updater.engine;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.model.DocumentType;
import io.upgradekit.schema.model.EventNote;
import io.upgradekit.schema.model.Feedback;
import io.upgradekit.schema.model.StepReport;
import io.upgradekit.updater.engine.UpdateEngine.Result;
import io.upgradekit.updater.event.AgentEvent;
import io.upgradekit.updater.event.EventKind;
import io.upgradekit.updater.event.Outcome;
import io.upgradekit.updater.event.StepOutcome;
import io.upgradekit.updater.event.UpdateState;
import io.upgradekit.updater.journal.JournalRecord;
import io.upgradekit.updater.journal.NodeState;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * One event's way through {@link UpdateState}'s states: every transition is checked against the
 * table, journaled durably, then emitted; notes written meanwhile are kept in the record; END_ACTION
 * prunes and queues the report. The only place that moves an event from state to state.
 */
final class EventRun {
  private final Parts parts;
  private JournalRecord record;
  /** The state entered last; null before BEGIN. */
  private UpdateState state;
  private Instant stateStart;
  private UpgradeException failure;
  private java.util.function.Consumer<EventRun> beforeEnd = r -> { };
  private String skipNote;
  private String stepNote;
  private ErrorCode stepCode;

  private EventRun(Parts parts, JournalRecord record, UpdateState state, Instant stateStart) {
    this.parts = parts;
    this.record = record;
    this.state = state;
    this.stateStart = stateStart;
    parts.events().activate(this);
  }

  /**
   * A new event, entered into BEGIN.
   *
   * @param installed the version running now, or null
   * @param target the version it aims at when already known (rollbacks, recoveries), else null
   */
  static EventRun start(Parts parts, EventKind kind, String installed, String target) {
    JournalRecord rec = JournalRecord.begin(UUID.randomUUID().toString(), parts.config().app(),
        parts.config().node().id(), kind, installed, parts.clock().instant());
    EventRun run = new EventRun(parts, target == null ? rec : rec.withTarget(target, 0), null, null);
    run.enter(UpdateState.BEGIN);
    return run;
  }

  /** An event a crash interrupted, continued from its journal record. */
  static EventRun resume(Parts parts, JournalRecord rec) {
    return new EventRun(parts, rec, rec.state(),
        rec.stateStartedAt() == null ? parts.clock().instant() : rec.stateStartedAt());
  }

  String eventId() {
    return record.eventId();
  }

  UpdateState state() {
    return state;
  }

  JournalRecord record() {
    return record;
  }

  String fromVersion() {
    return record.fromVersion();
  }

  String toVersion() {
    return record.toVersion();
  }

  void target(String version, long sequence) {
    record = record.withTarget(version, sequence);
  }

  void kind(EventKind kind) {
    record = record.withKind(kind);
  }

  /** Called once when the event ends, before its outcome is journaled and reported (a drill's figures). */
  void beforeEnd(java.util.function.Consumer<EventRun> last) {
    beforeEnd = java.util.Objects.requireNonNull(last, "last");
  }

  /** Records the event's failure (its code and sentence), unless one is recorded already. */
  void error(UpgradeException e) {
    record = record.withError(e.code().name(), e.getMessage());
  }

  void metrics(Map<String, Double> values) {
    record = record.withMetrics(values);
  }

  /** Marks the current state as failed with {@code e} when it is left. */
  void failNext(UpgradeException e) {
    failure = e;
  }

  /** Marks the current state as skipped, with why, when it is left. */
  void skip(String why) {
    skipNote = why;
  }

  /** A sentence (and optionally a code, such as STATE_RECOVERED) for a step that went well but differently. */
  void stepNote(String note, ErrorCode code) {
    stepNote = note;
    stepCode = code;
  }

  /** Keeps a note in the record (bounded, cut to a note's length) and returns the event to emit. */
  AgentEvent.Note keep(AgentEvent.Level level, String message) {
    Instant now = parts.clock().instant();
    UpdateState in = state == null ? record.state() : state;
    record = record.withNote(new EventNote(now, in.name(), level.name(), cut(message, EventNote.MAX_MESSAGE_LENGTH)));
    return new AgentEvent.Note(record.eventId(), in, level, message, now);
  }

  /**
   * Leaves the current state for {@code next}: checks the table, journals (durable before the
   * state's work begins), then emits the transition.
   *
   * @throws io.upgradekit.updater.event.IllegalTransitionException when the table does not allow it
   */
  void enter(UpdateState next) {
    UpdateState.requireTransition(state, next);
    Instant now = parts.clock().instant();
    StepReport finished = null;
    StepOutcome outcome = null;
    Duration took = Duration.ZERO;
    ErrorCode code = null;
    if (state != null) {
      took = Duration.between(stateStart, now);
      outcome = failure != null ? StepOutcome.FAILED : skipNote != null ? StepOutcome.SKIPPED : StepOutcome.OK;
      String message = cut(failure != null ? failure.getMessage() : skipNote != null ? skipNote : stepNote,
          Feedback.MAX_MESSAGE_LENGTH);
      code = failure != null ? failure.code() : stepCode;
      finished = new StepReport(state.name(), stateStart, Math.max(0, took.toMillis()), outcome.name(),
          code == null ? null : code.name(), message);
    }
    record = record.withState(next, now, finished);
    parts.journal().write(record);
    parts.events().emit(new AgentEvent.Transition(record.eventId(), state, outcome, took, next,
        failure == null ? null : failure.code(), finished == null ? null : finished.message(), now));
    state = next;
    stateStart = now;
    failure = null;
    skipNote = null;
    stepNote = null;
    stepCode = null;
  }

  /** END_ACTION (the outcome journaled first, so a crash here finishes the same way), then END. */
  Result end(Outcome outcome, ErrorCode code, String message) {
    java.util.function.Consumer<EventRun> last = beforeEnd;
    beforeEnd = r -> { };
    last.accept(this);
    record = record.withOutcome(outcome, null);
    if (code != null && record.errorCode() == null) {
      record = record.withError(code.name(), message);
    }
    enter(UpdateState.END_ACTION);
    finishEndAction(outcome);
    return new Result(outcome, code, message, record.toVersion(), null);
  }

  /**
   * The work of END_ACTION, then END and history: prune, queue the report. Also what
   * reconciliation does for an event a crash left in END_ACTION or END (then without entering END
   * again).
   */
  void finishEndAction(Outcome outcome) {
    boolean waiting = outcome == Outcome.WAITING;
    if (!waiting) {
      new Pruner(parts).prune(outcome); // a wait keeps the staged version
    }
    settleLease(outcome);
    // A wait is the server's own answer, not reported; except a contract the fleet does not meet yet,
    // which operators look for in the reports (its outcome WAITING counts neither as done nor failed).
    boolean contract = waiting && ErrorCode.CONTRACT_UNMET.name().equals(record.errorCode());
    boolean reportable = contract || !waiting && (record.toVersion() != null
        || (record.errorCode() != null && !record.errorCode().equals(ErrorCode.INTERRUPTED.name())));
    if (reportable && parts.config().feedback().url() != null) {
      parts.outbox().put(report(outcome));
    }
    if (state != UpdateState.END) {
      enter(UpdateState.END);
    }
    record = record.withOutcome(outcome, parts.clock().instant());
    parts.journal().finish(record);
    parts.events().deactivate(this);
  }

  /**
   * The rollout slot this event holds (kept in node state) gets the event's outcome, which the
   * engine returns it with once the event is over ({@link RolloutGate#releaseHeld()}); also for an
   * event a crash interrupted and reconciliation finished.
   */
  private void settleLease(Outcome outcome) {
    NodeState node = NodeState.read(parts.home().nodeFile());
    NodeState.Lease lease = node.lease();
    if (lease != null && lease.outcome() == null && lease.eventId().equals(record.eventId())) {
      node.withLease(lease.withOutcome(outcome.name())).write(parts.home().nodeFile());
    }
  }

  /** The event ends without history: a poll that found nothing to do. */
  void discard() {
    parts.journal().discard();
    parts.events().deactivate(this);
  }

  /** The event goes on in another process (a self-upgrade's relaunch); this one lets go of it. */
  void handOver() {
    parts.events().deactivate(this);
  }

  /** The event's report: the journal record's steps, outcome, metrics and notes. */
  private Feedback report(Outcome outcome) {
    List<StepReport> steps = record.steps();
    if (steps.size() > Feedback.MAX_STEPS) {
      steps = steps.subList(steps.size() - Feedback.MAX_STEPS, steps.size());
    }
    return new Feedback(DocumentType.FEEDBACK.typeName(), record.eventId(), 1, parts.config().node().id(),
        parts.config().app(), record.fromVersion(), record.toVersion() == null ? "unknown" : record.toVersion(),
        UpdateState.END.name(), outcome.name(), steps, record.errorCode(),
        cut(record.message(), Feedback.MAX_MESSAGE_LENGTH), record.metrics().isEmpty() ? null : record.metrics(),
        parts.clock().instant(), record.notesShown());
  }

  private static String cut(String text, int max) {
    return text != null && text.length() > max ? text.substring(0, max) : text;
  }
}
