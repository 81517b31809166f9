package io.upgradekit.schema.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.upgradekit.schema.model.EventNote;
import io.upgradekit.schema.model.Feedback;
import io.upgradekit.schema.model.Names;
import java.time.Instant;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * {@code GET /v1/nodes/<node>}: one node as the dashboard's node page shows it: per app its
 * inventory entry, and its update events, newest first, each with its step trail, its baseline
 * and watched metrics, and for every error code the fix its documentation gives. Operator or
 * viewer credentials. Schema {@code node-history.schema.json}.
 *
 * @param generatedAt when the server answered
 * @param node the node
 * @param apps per app the node runs, its inventory entry
 * @param events its events (the latest report of each), newest first, at most the number asked for
 * @param moreEvents events stored beyond those listed
 */
public record NodeHistory(Instant generatedAt, String node, List<InventoryPage.Row> apps, List<Event> events,
    int moreEvents) {
  /** Events per answer at most. */
  public static final int MAX_EVENTS = 200;

  public NodeHistory {
    Wire.required(generatedAt, "generatedAt");
    Names.requireNodeId(node);
    apps = List.copyOf(Wire.required(apps, "apps"));
    events = List.copyOf(Wire.required(events, "events"));
    if (events.size() > MAX_EVENTS) {
      throw Wire.malformed("at most " + MAX_EVENTS + " events");
    }
    Wire.nonNegative(moreEvents, "moreEvents");
  }

  /**
   * One update event, from its latest report.
   *
   * @param app the app
   * @param eventId the event
   * @param sequence the report's number within the event
   * @param fromVersion the version before, or null on a first install
   * @param toVersion the version aimed at
   * @param outcome {@code COMMITTED}, {@code ROLLED_BACK}, {@code REFUSED}, {@code FAILED}, ...
   * @param finalState where the event ended
   * @param errorCode the failure's code, or null
   * @param message the failure's sentence as the node wrote it, or null
   * @param fix what to do about {@code errorCode}, from the code's documentation, or null
   * @param sentAt when the node wrote the report
   * @param durationMillis the sum of the steps' durations
   * @param steps the step trail, in order
   * @param metrics the baseline and watched metrics the node reported (e.g. {@code
   *     baseline.error_rate}), or null
   * @param notes what the node noted during the event, or null
   */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record Event(String app, String eventId, long sequence, String fromVersion, String toVersion, String outcome,
      String finalState, String errorCode, String message, String fix, Instant sentAt, long durationMillis,
      List<Step> steps, Map<String, Double> metrics, List<EventNote> notes) {
    public Event {
      Names.requireApp(app);
      Names.requireEventId(eventId);
      Wire.nonNegative(sequence, "sequence");
      if (fromVersion != null) {
        Names.requireVersion(fromVersion);
      }
      Names.requireVersion(toVersion);
      Wire.code(outcome, "outcome");
      Wire.code(finalState, "finalState");
      if (errorCode != null) {
        Wire.code(errorCode, "errorCode");
      }
      Wire.text(message, "message", Feedback.MAX_MESSAGE_LENGTH);
      Wire.text(fix, "fix", 2000);
      Wire.required(sentAt, "sentAt");
      Wire.nonNegative(durationMillis, "durationMillis");
      steps = List.copyOf(Wire.required(steps, "steps"));
      if (steps.size() > Feedback.MAX_STEPS) {
        throw Wire.malformed("an event carries at most " + Feedback.MAX_STEPS + " steps");
      }
      if (metrics != null) {
        if (metrics.size() > Feedback.MAX_METRICS) {
          throw Wire.malformed("an event carries at most " + Feedback.MAX_METRICS + " metrics");
        }
        SortedMap<String, Double> sorted = new TreeMap<>();
        metrics.forEach((name, value) -> {
          if (value == null || !Double.isFinite(value)) {
            throw Wire.malformed("metric " + name + " must be a finite number");
          }
          sorted.put(Wire.text(Wire.required(name, "metric name"), "metric name", 64), value);
        });
        metrics = Collections.unmodifiableSortedMap(sorted);
      }
      if (notes != null) {
        if (notes.size() > Feedback.MAX_NOTES) {
          throw Wire.malformed("an event carries at most " + Feedback.MAX_NOTES + " notes");
        }
        notes = List.copyOf(notes);
      }
    }

    /** The event of a node's latest report of it, with the fixes of its codes. */
    public static Event of(Feedback report, java.util.function.Function<String, String> fixes) {
      long total = 0;
      List<Step> steps = new java.util.ArrayList<>();
      for (io.upgradekit.schema.model.StepReport s : report.steps()) {
        total += s.durationMillis();
        steps.add(new Step(s.state(), s.startedAt(), s.durationMillis(), s.outcome(), s.errorCode(), s.message(),
            s.errorCode() == null ? null : fixes.apply(s.errorCode())));
      }
      return new Event(report.app(), report.eventId(), report.sequence(), report.fromVersion(), report.toVersion(),
          report.outcome(), report.finalState(), report.errorCode(), report.message(),
          report.errorCode() == null ? null : fixes.apply(report.errorCode()), report.sentAt(), total, steps,
          report.metrics(), report.notes());
    }
  }

  /**
   * One state of an event's trail.
   *
   * @param state the state ({@code DOWNLOAD}, {@code SWITCH}, ...)
   * @param startedAt when it began
   * @param durationMillis how long it took
   * @param outcome {@code OK}, {@code FAILED} or {@code SKIPPED}
   * @param errorCode the failure's code, or null
   * @param message the failure's sentence, or null
   * @param fix what to do about {@code errorCode}, from the code's documentation, or null
   */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record Step(String state, Instant startedAt, long durationMillis, String outcome, String errorCode,
      String message, String fix) {
    public Step {
      Wire.code(state, "state");
      Wire.required(startedAt, "startedAt");
      Wire.nonNegative(durationMillis, "durationMillis");
      Wire.code(outcome, "outcome");
      if (errorCode != null) {
        Wire.code(errorCode, "errorCode");
      }
      Wire.text(message, "message", Feedback.MAX_MESSAGE_LENGTH);
      Wire.text(fix, "fix", 2000);
    }
  }
}
