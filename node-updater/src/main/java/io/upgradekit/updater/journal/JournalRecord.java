package io.upgradekit.updater.journal;

import io.upgradekit.schema.model.EventNote;
import io.upgradekit.schema.model.Feedback;
import io.upgradekit.schema.model.StepReport;
import io.upgradekit.updater.event.EventKind;
import io.upgradekit.updater.event.Outcome;
import io.upgradekit.updater.event.UpdateState;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * One event as journaled: where it is, every step so far, what was noted, and how it ended.
 * Written durably before each transition takes effect; finished records move to history. The
 * JSON names are those of the report ({@link Feedback}) where the two share a field.
 *
 * @param eventId unique per node
 * @param app the app
 * @param node the node id
 * @param kind what the event is about; for {@code rollback} and {@code recall} {@code toVersion}
 *     is the version switched back to
 * @param fromVersion the version that ran when the event began, or null on a first install
 * @param toVersion the version the event aims at, or null while not yet resolved
 * @param toSequence the release sequence of {@code toVersion}, 0 while unknown
 * @param state the state entered last
 * @param stateStartedAt when {@code state} was entered
 * @param outcome null while running, then how the event ended
 * @param steps every state finished so far, in order
 * @param errorCode the failure's code (an {@code ErrorCode} name), or null
 * @param message the failure's sentence, or null
 * @param metrics baseline and watched metrics
 * @param notes what was noted during the event, oldest first: at most {@link #MAX_NOTES}, the
 *     first {@link #FIRST_NOTES_KEPT} and the newest ones (a gate that waits for hours writes a
 *     line every few seconds); journaled with the next transition
 * @param notesOmitted how many notes between the first and the newest ones were dropped
 * @param startedAt when the event began
 * @param endedAt when it ended, or null
 */
public record JournalRecord(
    String eventId,
    String app,
    String node,
    EventKind kind,
    String fromVersion,
    String toVersion,
    long toSequence,
    UpdateState state,
    Instant stateStartedAt,
    Outcome outcome,
    List<StepReport> steps,
    String errorCode,
    String message,
    Map<String, Double> metrics,
    List<EventNote> notes,
    int notesOmitted,
    Instant startedAt,
    Instant endedAt) {

  /** Notes kept per event: one less than a report carries, which leaves room for the "omitted" line. */
  public static final int MAX_NOTES = Feedback.MAX_NOTES - 1;

  /** Of the kept notes, this many are the first ones; the rest are the newest. */
  public static final int FIRST_NOTES_KEPT = MAX_NOTES / 2;

  public JournalRecord {
    Objects.requireNonNull(eventId, "eventId");
    Objects.requireNonNull(kind, "kind");
    Objects.requireNonNull(state, "state");
    steps = steps == null ? List.of() : List.copyOf(steps);
    metrics = metrics == null ? Map.of() : Map.copyOf(metrics);
    notes = notes == null ? List.of() : List.copyOf(notes);
    if (notes.size() > MAX_NOTES || notesOmitted < 0) {
      throw new IllegalArgumentException("a journal record keeps at most " + MAX_NOTES + " notes");
    }
  }

  /** A new event, in BEGIN. */
  public static JournalRecord begin(String eventId, String app, String node, EventKind kind, String fromVersion,
      Instant now) {
    return new JournalRecord(eventId, app, node, kind, fromVersion, null, 0, UpdateState.BEGIN, now, null, List.of(),
        null, null, Map.of(), List.of(), 0, now, null);
  }

  public JournalRecord withState(UpdateState newState, Instant at, StepReport finished) {
    List<StepReport> all = new ArrayList<>(steps);
    if (finished != null) {
      all.add(finished);
    }
    return new JournalRecord(eventId, app, node, kind, fromVersion, toVersion, toSequence, newState, at, outcome,
        all, errorCode, message, metrics, notes, notesOmitted, startedAt, endedAt);
  }

  public JournalRecord withKind(EventKind newKind) {
    return new JournalRecord(eventId, app, node, newKind, fromVersion, toVersion, toSequence, state, stateStartedAt,
        outcome, steps, errorCode, message, metrics, notes, notesOmitted, startedAt, endedAt);
  }

  public JournalRecord withTarget(String version, long sequence) {
    return new JournalRecord(eventId, app, node, kind, fromVersion, version, sequence, state, stateStartedAt, outcome,
        steps, errorCode, message, metrics, notes, notesOmitted, startedAt, endedAt);
  }

  public JournalRecord withError(String code, String text) {
    return new JournalRecord(eventId, app, node, kind, fromVersion, toVersion, toSequence, state, stateStartedAt,
        outcome, steps, code, text, metrics, notes, notesOmitted, startedAt, endedAt);
  }

  public JournalRecord withMetrics(Map<String, Double> more) {
    Map<String, Double> all = new LinkedHashMap<>(metrics);
    all.putAll(more);
    return new JournalRecord(eventId, app, node, kind, fromVersion, toVersion, toSequence, state, stateStartedAt,
        outcome, steps, errorCode, message, all, notes, notesOmitted, startedAt, endedAt);
  }

  public JournalRecord withOutcome(Outcome newOutcome, Instant at) {
    return new JournalRecord(eventId, app, node, kind, fromVersion, toVersion, toSequence, state, stateStartedAt,
        newOutcome, steps, errorCode, message, metrics, notes, notesOmitted, startedAt, at);
  }

  /**
   * Adds a note, bounded: once {@link #MAX_NOTES} are kept, the oldest note after the first
   * {@link #FIRST_NOTES_KEPT} is dropped (and counted), so the record keeps how the event began
   * and how it went on most recently.
   */
  public JournalRecord withNote(EventNote note) {
    List<EventNote> all = new ArrayList<>(notes);
    int omitted = notesOmitted;
    if (all.size() >= MAX_NOTES) {
      all.remove(FIRST_NOTES_KEPT);
      omitted++;
    }
    all.add(Objects.requireNonNull(note, "note"));
    return new JournalRecord(eventId, app, node, kind, fromVersion, toVersion, toSequence, state, stateStartedAt,
        outcome, steps, errorCode, message, metrics, all, omitted, startedAt, endedAt);
  }

  /**
   * The notes as shown and reported: the kept ones, with one line in their place saying how many
   * were dropped (at most {@link Feedback#MAX_NOTES} in all).
   */
  public List<EventNote> notesShown() {
    if (notesOmitted == 0) {
      return notes;
    }
    List<EventNote> shown = new ArrayList<>(notes);
    EventNote after = notes.get(FIRST_NOTES_KEPT);
    shown.add(FIRST_NOTES_KEPT, new EventNote(after.at(), after.state(), "INFO", notesOmitted + " more note"
        + (notesOmitted == 1 ? " was" : "s were") + " written here; the updater's log has every line"));
    return shown;
  }
}
