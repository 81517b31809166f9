package io.upgradekit.schema.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.upgradekit.schema.model.Feedback;
import io.upgradekit.schema.model.Names;
import io.upgradekit.schema.model.StepReport;
import java.time.Instant;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.function.BiConsumer;
import java.util.function.Consumer;

/**
 * The answer to {@code GET /v1/status}: the fleet inventory as repo-server knows it from stored
 * feedback. Schema {@code fleet-status.schema.json}. Maps are sorted by key, so the same fleet
 * always gives the same bytes.
 *
 * @param generatedAt when the server built the answer
 * @param apps per app: its releases' outcomes and its nodes by running version
 * @param nodes per node id: what it runs, per app, and its latest event
 * @param controller a sentence on the rollout controller of the answering server (runs, or why not),
 *     or null (servers before rollouts)
 * @param expiring the signed documents nodes depend on that expired or expire within the server's
 *     {@code --expiry-warning}, each with its warning (see {@link DocumentExpiries}); null (absent)
 *     from servers before this field, empty when nothing needs doing
 */
@com.fasterxml.jackson.annotation.JsonInclude(com.fasterxml.jackson.annotation.JsonInclude.Include.NON_NULL)
public record FleetStatus(Instant generatedAt, Map<String, App> apps, Map<String, Node> nodes, String controller,
    List<DocumentExpiries.Document> expiring) {
  /** The key of {@link App#nodesByVersion()} for nodes that run no version (a failed first install). */
  public static final String NO_VERSION = "none";

  public FleetStatus {
    Wire.required(generatedAt, "generatedAt");
    apps = sorted(apps, "apps", (app, value) -> Names.requireApp(app));
    nodes = sorted(nodes, "nodes", (node, value) -> Names.requireNodeId(node));
    Wire.text(controller, "controller", 2000);
    if (expiring != null) {
      expiring = List.copyOf(expiring);
      if (expiring.size() > DocumentExpiries.MAX_DOCUMENTS) {
        throw Wire.malformed("at most " + DocumentExpiries.MAX_DOCUMENTS + " expiring documents");
      }
    }
  }

  /** A status without the controller's sentence. */
  public FleetStatus(Instant generatedAt, Map<String, App> apps, Map<String, Node> nodes) {
    this(generatedAt, apps, nodes, null, null);
  }

  /** This status with the answering server's controller sentence. */
  public FleetStatus withController(String sentence) {
    return new FleetStatus(generatedAt, apps, nodes, sentence, expiring);
  }

  /** This status with the answering server's expiry warnings. */
  public FleetStatus withExpiring(List<DocumentExpiries.Document> documents) {
    return new FleetStatus(generatedAt, apps, nodes, controller, documents);
  }

  /**
   * One app across the fleet.
   *
   * @param releases per release (a feedback event's target version): how many nodes' latest event
   *     for it ended in which outcome ({@code COMMITTED}, {@code ROLLED_BACK}, ...)
   * @param nodesByVersion how many nodes run which version ({@value #NO_VERSION}: none)
   */
  public record App(Map<String, Map<String, Integer>> releases, Map<String, Integer> nodesByVersion) {
    public App {
      SortedMap<String, Map<String, Integer>> byRelease = new TreeMap<>();
      sorted(releases, "releases", (version, outcomes) -> byRelease.put(Names.requireVersion(version),
          counts(outcomes, "releases." + version, outcome -> Wire.code(outcome, "outcome"))));
      releases = Collections.unmodifiableSortedMap(byRelease);
      nodesByVersion = counts(nodesByVersion, "nodesByVersion", Names::requireVersion);
    }
  }

  /**
   * One node.
   *
   * @param apps per app the node reported on
   * @param storedBytes bytes of feedback the server stores for it (counted against its quota)
   */
  public record Node(Map<String, NodeApp> apps, long storedBytes) {
    public Node {
      apps = sorted(apps, "apps", (app, value) -> Names.requireApp(app));
      Wire.nonNegative(storedBytes, "storedBytes");
    }
  }

  /**
   * One node's view of one app.
   *
   * @param currentVersion the version it runs after its latest event (the target of a committed
   *     event, else the version it came from), or null (written as {@code null}) when it runs none
   * @param reports reports stored for it
   * @param lastEvent its latest event
   */
  public record NodeApp(String currentVersion, long reports, Event lastEvent) {
    public NodeApp {
      if (currentVersion != null) {
        Names.requireVersion(currentVersion);
      }
      Wire.nonNegative(reports, "reports");
      Wire.required(lastEvent, "lastEvent");
    }
  }

  /**
   * A node's latest event for an app: its latest feedback report, with the total duration of its
   * steps.
   *
   * @param eventId the update event
   * @param sequence the report's number within the event
   * @param fromVersion the version before the update, or null (absent) on a first install
   * @param toVersion the version the update aimed at
   * @param outcome {@code COMMITTED}, {@code ROLLED_BACK}, {@code REFUSED}, {@code FAILED} or
   *     {@code IN_PROGRESS}
   * @param finalState where the event ended
   * @param errorCode the failure's code, or null (absent)
   * @param message the failure's sentence, or null (absent)
   * @param sentAt when the node wrote the report
   * @param durationMillis the sum of the steps' durations
   * @param steps every state passed, in order
   */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record Event(
      String eventId,
      long sequence,
      String fromVersion,
      String toVersion,
      String outcome,
      String finalState,
      String errorCode,
      String message,
      Instant sentAt,
      long durationMillis,
      List<StepReport> steps) {
    public Event {
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
      Wire.required(sentAt, "sentAt");
      Wire.nonNegative(durationMillis, "durationMillis");
      steps = List.copyOf(Wire.required(steps, "steps"));
      if (steps.size() > Feedback.MAX_STEPS) {
        throw Wire.malformed("an event carries at most " + Feedback.MAX_STEPS + " steps");
      }
    }

    /** The event of a feedback report. */
    public static Event of(Feedback report) {
      long total = 0;
      for (StepReport step : report.steps()) {
        total += step.durationMillis();
      }
      return new Event(report.eventId(), report.sequence(), report.fromVersion(), report.toVersion(),
          report.outcome(), report.finalState(), report.errorCode(), report.message(), report.sentAt(), total,
          report.steps());
    }
  }

  private static <V> SortedMap<String, V> sorted(Map<String, V> map, String field, BiConsumer<String, V> check) {
    Wire.required(map, field);
    SortedMap<String, V> copy = new TreeMap<>();
    map.forEach((key, value) -> {
      Wire.required(key, field + " key");
      Wire.required(value, field + "." + key);
      check.accept(key, value);
      copy.put(key, value);
    });
    return Collections.unmodifiableSortedMap(copy);
  }

  private static SortedMap<String, Integer> counts(Map<String, Integer> map, String field,
      Consumer<String> checkKey) {
    return sorted(map, field, (key, count) -> {
      checkKey.accept(key);
      Wire.nonNegative(count, field + "." + key);
    });
  }
}
