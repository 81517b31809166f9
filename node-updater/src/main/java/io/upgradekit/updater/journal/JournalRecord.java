package io.upgradekit.updater.journal;

import io.upgradekit.schema.model.StepReport;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * One update event as journaled: where it is, every step so far, and how it ended. Written
 * durably before each transition takes effect; finished records move to history.
 *
 * @param eventId unique per node
 * @param app the app
 * @param node the node id
 * @param kind {@code update}, {@code rollback} (manual) or {@code recall} (the rollout recalled the
 *     installed release); for the last two {@code toVersion} is the version switched back to
 * @param fromVersion the version that ran when the event began, or null on a first install
 * @param toVersion the version the event aims at, or null while not yet resolved
 * @param toSequence the release sequence of {@code toVersion}, 0 while unknown
 * @param state the state entered last (an {@code UpdateState} name)
 * @param stateStartedAt when {@code state} was entered
 * @param outcome null while running; then an {@code Outcome} name
 * @param steps every state finished so far, in order
 * @param errorCode the failure's code, or null
 * @param message the failure's sentence, or null
 * @param metrics baseline and watched metrics
 * @param startedAt when the event began
 * @param endedAt when it ended, or null
 */
public record JournalRecord(
    String eventId,
    String app,
    String node,
    String kind,
    String fromVersion,
    String toVersion,
    long toSequence,
    String state,
    Instant stateStartedAt,
    String outcome,
    List<StepReport> steps,
    String errorCode,
    String message,
    Map<String, Double> metrics,
    Instant startedAt,
    Instant endedAt) {

  public JournalRecord {
    Objects.requireNonNull(eventId, "eventId");
    Objects.requireNonNull(state, "state");
    steps = steps == null ? List.of() : List.copyOf(steps);
    metrics = metrics == null ? Map.of() : Map.copyOf(metrics);
  }

  public JournalRecord withState(String newState, Instant at, StepReport finished) {
    List<StepReport> all = new ArrayList<>(steps);
    if (finished != null) {
      all.add(finished);
    }
    return new JournalRecord(eventId, app, node, kind, fromVersion, toVersion, toSequence, newState, at, outcome,
        all, errorCode, message, metrics, startedAt, endedAt);
  }

  public JournalRecord withKind(String newKind) {
    return new JournalRecord(eventId, app, node, newKind, fromVersion, toVersion, toSequence, state, stateStartedAt,
        outcome, steps, errorCode, message, metrics, startedAt, endedAt);
  }

  public JournalRecord withTarget(String version, long sequence) {
    return new JournalRecord(eventId, app, node, kind, fromVersion, version, sequence, state, stateStartedAt, outcome,
        steps, errorCode, message, metrics, startedAt, endedAt);
  }

  public JournalRecord withError(String code, String text) {
    return new JournalRecord(eventId, app, node, kind, fromVersion, toVersion, toSequence, state, stateStartedAt,
        outcome, steps, code, text, metrics, startedAt, endedAt);
  }

  public JournalRecord withMetrics(Map<String, Double> more) {
    Map<String, Double> all = new LinkedHashMap<>(metrics);
    all.putAll(more);
    return new JournalRecord(eventId, app, node, kind, fromVersion, toVersion, toSequence, state, stateStartedAt,
        outcome, steps, errorCode, message, all, startedAt, endedAt);
  }

  public JournalRecord withOutcome(String newOutcome, Instant at) {
    return new JournalRecord(eventId, app, node, kind, fromVersion, toVersion, toSequence, state, stateStartedAt,
        newOutcome, steps, errorCode, message, metrics, startedAt, at);
  }

  /** True once any step at or after SWITCH began: the live version may have changed. */
  public boolean reached(String stateName) {
    return state.equals(stateName) || steps.stream().anyMatch(s -> s.state().equals(stateName));
  }
}
