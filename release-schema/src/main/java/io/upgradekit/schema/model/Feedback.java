package io.upgradekit.schema.model;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonInclude;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * What a node reports about one update event. Stored once per (event id, sequence), so a report
 * resent after a lost answer is not counted twice.
 *
 * @param type always {@code "feedback"}
 * @param eventId the update event, unique per node
 * @param sequence the report's number within the event (a report per state change, the final one
 *     last)
 * @param node the reporting node
 * @param app the app
 * @param fromVersion the version before the update, or null on a first install
 * @param toVersion the version the update aimed at
 * @param finalState where the event ended ({@code END}, or the state it is in when reported mid-way)
 * @param outcome {@code COMMITTED}, {@code ROLLED_BACK}, {@code REFUSED}, {@code FAILED} or {@code
 *     IN_PROGRESS}
 * @param steps every state passed, in order
 * @param errorCode the failure's code, or null
 * @param message the failure's sentence, or null
 * @param metrics baseline and watched metrics (e.g. {@code baseline.error_rate}), or null
 * @param sentAt when the node wrote the report
 * @param notes what the node noted during the event, oldest first (at most {@value #MAX_NOTES});
 *     null or absent when there are none. Optional and added after the first release of this
 *     document: a reader that does not know it ignores it (unknown members are skipped), so old
 *     servers accept reports of new nodes and new servers those of old nodes
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record Feedback(
    String type,
    String eventId,
    long sequence,
    String node,
    String app,
    String fromVersion,
    String toVersion,
    String finalState,
    String outcome,
    List<StepReport> steps,
    String errorCode,
    String message,
    Map<String, Double> metrics,
    Instant sentAt,
    List<EventNote> notes) {
  public static final int MAX_STEPS = 64;
  /** Notes per report at most; a node keeps the first and the newest of a longer series. */
  public static final int MAX_NOTES = 32;
  public static final int MAX_METRICS = 64;
  public static final int MAX_MESSAGE_LENGTH = 2000;
  private static final Pattern METRIC_NAME = Pattern.compile("[a-zA-Z_:][a-zA-Z0-9_:.]{0,63}");

  @JsonCreator
  public Feedback {
    Checks.type(type, DocumentType.FEEDBACK);
    Names.requireEventId(eventId);
    Checks.nonNegative(sequence, "sequence");
    Names.requireNodeId(node);
    Names.requireApp(app);
    if (fromVersion != null) {
      Names.requireVersion(fromVersion);
    }
    Names.requireVersion(toVersion);
    Names.requireMatch("finalState", finalState, StepReport.CODE);
    Names.requireMatch("outcome", outcome, StepReport.CODE);
    steps = List.copyOf(Checks.required(steps, "steps"));
    if (steps.size() > MAX_STEPS) {
      throw Checks.malformed("a report carries at most " + MAX_STEPS + " steps");
    }
    if (errorCode != null) {
      Names.requireMatch("errorCode", errorCode, StepReport.CODE);
    }
    Checks.text(message, "message", MAX_MESSAGE_LENGTH);
    if (metrics != null) {
      if (metrics.size() > MAX_METRICS) {
        throw Checks.malformed("a report carries at most " + MAX_METRICS + " metrics");
      }
      metrics.forEach((name, value) -> {
        Names.requireMatch("metric name", name, METRIC_NAME);
        if (value == null || value.isNaN() || value.isInfinite()) {
          throw Checks.malformed("metric " + name + " must be a finite number");
        }
      });
      metrics = Map.copyOf(metrics);
    }
    Checks.required(sentAt, "sentAt");
    if (notes != null) {
      if (notes.size() > MAX_NOTES) {
        throw Checks.malformed("a report carries at most " + MAX_NOTES + " notes");
      }
      notes = notes.isEmpty() ? null : List.copyOf(notes);
    }
  }

  /** A report without notes (what nodes before notes send). */
  public Feedback(String type, String eventId, long sequence, String node, String app, String fromVersion,
      String toVersion, String finalState, String outcome, List<StepReport> steps, String errorCode, String message,
      Map<String, Double> metrics, Instant sentAt) {
    this(type, eventId, sequence, node, app, fromVersion, toVersion, finalState, outcome, steps, errorCode, message,
        metrics, sentAt, null);
  }
}
