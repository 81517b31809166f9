package io.upgradekit.server.core;

import io.upgradekit.schema.model.Feedback;
import io.upgradekit.schema.model.StepReport;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The fleet inventory, kept in memory from stored feedback: per node and app the latest event
 * (its report with the highest sequence) and the version the node runs; per node the bytes of
 * feedback stored (for the quota). Rebuilt from the repository at start and updated on every
 * stored report.
 *
 * <p>Thread-safe (one lock; updates take microseconds).
 */
public final class FleetIndex {
  /** One node's view of one app. */
  private static final class NodeApp {
    Feedback last;
    long reports;
  }

  private static final class Node {
    final Map<String, NodeApp> apps = new TreeMap<>();
    long bytes;
    long reports;
  }

  private Map<String, Node> nodes = new HashMap<>();

  /**
   * Takes over the content of {@code rebuilt} (a fresh scan of the repository, e.g. to see what
   * other server processes stored). Reports this process stored during the scan may be missing
   * until the next scan; they are on disk.
   */
  public void replaceWith(FleetIndex rebuilt) {
    Map<String, Node> fresh;
    synchronized (rebuilt) {
      fresh = rebuilt.nodes;
      rebuilt.nodes = new HashMap<>();
    }
    synchronized (this) {
      nodes = fresh;
    }
  }

  /** Records a stored report of {@code size} bytes. */
  public synchronized void add(Feedback report, long size) {
    Node node = nodes.computeIfAbsent(report.node(), n -> new Node());
    node.bytes += size;
    node.reports++;
    NodeApp app = node.apps.computeIfAbsent(report.app(), a -> new NodeApp());
    app.reports++;
    if (isLater(report, app.last)) {
      app.last = report;
    }
  }

  private static boolean isLater(Feedback report, Feedback last) {
    if (last == null) {
      return true;
    }
    if (report.eventId().equals(last.eventId())) {
      return report.sequence() >= last.sequence();
    }
    return report.sentAt().isAfter(last.sentAt());
  }

  /** Bytes of feedback stored for a node. */
  public synchronized long bytesOf(String node) {
    Node n = nodes.get(node);
    return n == null ? 0 : n.bytes;
  }

  /**
   * The version a node runs after its latest event: the target if it committed, else the version
   * it came from (null on a failed first install).
   */
  static String currentVersion(Feedback last) {
    return "COMMITTED".equals(last.outcome()) ? last.toVersion() : last.fromVersion();
  }

  /** Nodes by the version they run, per app: {@code app -> version -> count}. */
  public synchronized Map<String, Map<String, Integer>> nodesByVersion() {
    Map<String, Map<String, Integer>> result = new TreeMap<>();
    nodes.values().forEach(node -> node.apps.forEach((app, state) -> {
      String version = currentVersion(state.last);
      result.computeIfAbsent(app, a -> new TreeMap<>()).merge(version == null ? "none" : version, 1, Integer::sum);
    }));
    return result;
  }

  /**
   * The status document of {@code GET /v1/status}: per app the releases with how many nodes' latest
   * event for that release is in which outcome, and nodes by running version; per node, per app,
   * its version and latest event with its steps, timings and error.
   */
  public synchronized Map<String, Object> status(Instant now) {
    Map<String, Map<String, Object>> apps = new TreeMap<>();
    Map<String, Object> nodeViews = new TreeMap<>();
    nodes.forEach((nodeId, node) -> {
      Map<String, Object> nodeApps = new TreeMap<>();
      node.apps.forEach((app, state) -> {
        Feedback last = state.last;
        Map<String, Object> appView = apps.computeIfAbsent(app, a -> {
          Map<String, Object> v = new TreeMap<>();
          v.put("releases", new TreeMap<String, Map<String, Integer>>());
          v.put("nodesByVersion", new TreeMap<String, Integer>());
          return v;
        });
        @SuppressWarnings("unchecked")
        Map<String, Map<String, Integer>> releases = (Map<String, Map<String, Integer>>) appView.get("releases");
        releases.computeIfAbsent(last.toVersion(), v -> new TreeMap<>()).merge(last.outcome(), 1, Integer::sum);
        @SuppressWarnings("unchecked")
        Map<String, Integer> byVersion = (Map<String, Integer>) appView.get("nodesByVersion");
        String version = currentVersion(last);
        byVersion.merge(version == null ? "none" : version, 1, Integer::sum);

        Map<String, Object> view = new LinkedHashMap<>();
        view.put("currentVersion", version);
        view.put("reports", state.reports);
        view.put("lastEvent", eventView(last));
        nodeApps.put(app, view);
      });
      Map<String, Object> nodeView = new LinkedHashMap<>();
      nodeView.put("apps", nodeApps);
      nodeView.put("storedBytes", node.bytes);
      nodeViews.put(nodeId, nodeView);
    });
    Map<String, Object> status = new LinkedHashMap<>();
    status.put("generatedAt", now.toString());
    status.put("apps", apps);
    status.put("nodes", nodeViews);
    return status;
  }

  private static Map<String, Object> eventView(Feedback f) {
    Map<String, Object> event = new LinkedHashMap<>();
    event.put("eventId", f.eventId());
    event.put("sequence", f.sequence());
    event.put("fromVersion", f.fromVersion());
    event.put("toVersion", f.toVersion());
    event.put("outcome", f.outcome());
    event.put("finalState", f.finalState());
    event.put("errorCode", f.errorCode());
    event.put("message", f.message());
    event.put("sentAt", f.sentAt().toString());
    long total = 0;
    List<Map<String, Object>> steps = new ArrayList<>();
    for (StepReport step : f.steps()) {
      Map<String, Object> s = new LinkedHashMap<>();
      s.put("state", step.state());
      s.put("startedAt", step.startedAt().toString());
      s.put("durationMillis", step.durationMillis());
      s.put("outcome", step.outcome());
      s.put("errorCode", step.errorCode());
      s.put("message", step.message());
      s.values().removeIf(v -> v == null);
      steps.add(s);
      total += step.durationMillis();
    }
    event.put("durationMillis", total);
    event.put("steps", steps);
    event.values().removeIf(v -> v == null);
    return event;
  }
}
