package io.upgradekit.it;

import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One update event as {@code updater history --json} (and {@code status --json}) prints it.
 *
 * @param eventId unique per node
 * @param kind {@code update}, {@code rollback} or {@code recall}
 * @param fromVersion the version that ran when it began, or null on a first install
 * @param toVersion the version it aimed at
 * @param state the last state entered
 * @param outcome {@code COMMITTED}, {@code ROLLED_BACK}, {@code FAILED}, {@code REFUSED}, {@code STAGED}, or null while running
 * @param steps the states passed, in order, with their durations
 * @param errorCode the failure's code, or null
 * @param message the failure's sentence, or null
 * @param metrics baseline and watched metrics
 * @param notes what was noted during the event (waiting at the rollout gate, {@code recalled: ...}), oldest first
 * @param startedAt when it began
 * @param endedAt when it ended, or null
 */
public record UpdateRecord(
    String eventId,
    String kind,
    String fromVersion,
    String toVersion,
    String state,
    String outcome,
    List<Step> steps,
    String errorCode,
    String message,
    Map<String, Double> metrics,
    List<Note> notes,
    Instant startedAt,
    Instant endedAt) {

  public UpdateRecord {
    steps = steps == null ? List.of() : List.copyOf(steps);
    metrics = metrics == null ? Map.of() : Map.copyOf(metrics);
    notes = notes == null ? List.of() : List.copyOf(notes);
  }

  /** One note: when, in which state, how loud, what. */
  public record Note(Instant at, String state, String level, String message) {}

  /**
   * One state passed.
   *
   * @param state the state ({@code BEGIN}, {@code RESOLVE}, ...)
   * @param startedAt when it was entered
   * @param durationMillis how long it took
   * @param outcome {@code OK}, {@code FAILED} or {@code SKIPPED}
   * @param errorCode the failure's code, or null
   * @param message a note or the failure's sentence, or null
   */
  public record Step(String state, Instant startedAt, long durationMillis, String outcome, String errorCode,
      String message) {}

  /** Milliseconds per state, in the order first passed (a state passed twice is summed). */
  public Map<String, Long> millisByState() {
    Map<String, Long> out = new LinkedHashMap<>();
    for (Step s : steps) {
      out.merge(s.state(), s.durationMillis(), Long::sum);
    }
    return out;
  }

  /** From the start to the end (or to the last step's end while running). */
  public Duration duration() {
    if (endedAt != null && startedAt != null) {
      return Duration.between(startedAt, endedAt);
    }
    return Duration.ofMillis(steps.stream().mapToLong(Step::durationMillis).sum());
  }

  /** When the event entered {@code state} first, or null if it never did. */
  public Instant stepStart(String state) {
    return steps.stream().filter(s -> s.state().equals(state)).map(Step::startedAt).findFirst().orElse(null);
  }

  /** The states passed, in order. */
  public List<String> states() {
    return steps.stream().map(Step::state).toList();
  }
}
