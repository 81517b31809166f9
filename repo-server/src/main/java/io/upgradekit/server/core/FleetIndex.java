package io.upgradekit.server.core;

import io.upgradekit.schema.api.FleetStatus;
import io.upgradekit.schema.api.RolloutReport;
import io.upgradekit.schema.model.Feedback;
import java.time.Instant;
import java.util.HashMap;
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
  /** The newest rollback drill per (app, node), from the reports of {@code updater drill}. */
  private Map<String, Drill> drills = new HashMap<>();

  /** A drill as its two reports tell it (leg 1: back to the previous version; leg 2: forward again). */
  private static final class Drill {
    String node;
    String release;
    String previous;
    Instant at;
    String backOutcome;
    double backSeconds;
    String forwardOutcome;
    Double forwardSeconds;
    Long requests;
    Long failed;
    Double longestGap;

    RolloutReport.Drill view() {
      return new RolloutReport.Drill(node, previous, at, backOutcome, backSeconds, forwardOutcome, forwardSeconds,
          requests, failed, longestGap);
    }
  }

  /**
   * Takes over the content of {@code rebuilt} (a fresh scan of the repository, e.g. to see what
   * other server processes stored). Reports this process stored during the scan may be missing
   * until the next scan; they are on disk.
   */
  public void replaceWith(FleetIndex rebuilt) {
    Map<String, Node> fresh;
    Map<String, Drill> freshDrills;
    synchronized (rebuilt) {
      fresh = rebuilt.nodes;
      freshDrills = rebuilt.drills;
      rebuilt.nodes = new HashMap<>();
      rebuilt.drills = new HashMap<>();
    }
    synchronized (this) {
      nodes = fresh;
      drills = freshDrills;
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
    drill(report);
  }

  /** Folds a drill's report (its metrics carry {@code drill.leg}) into the node's newest drill. */
  private void drill(Feedback report) {
    Double leg = report.metrics() == null ? null : report.metrics().get("drill.leg");
    if (leg == null) {
      return;
    }
    String key = report.app() + " " + report.node();
    Drill d = drills.get(key);
    if (leg == 1.0 && report.fromVersion() != null) {
      if (d != null && !report.sentAt().isAfter(d.at)) {
        return; // an older drill, read after a newer one
      }
      d = new Drill();
      d.node = report.node();
      d.release = report.fromVersion();
      d.previous = report.toVersion();
      d.at = report.sentAt();
      d.backOutcome = report.outcome();
      d.backSeconds = nonNegative(report.metrics().get("drill.seconds"));
      probe(d, report);
      drills.put(key, d);
    } else if (leg == 2.0 && d != null && d.forwardOutcome == null && report.sentAt().isAfter(d.at)) {
      d.forwardOutcome = report.outcome();
      d.forwardSeconds = nonNegative(report.metrics().get("drill.seconds"));
      probe(d, report);
    }
  }

  private static void probe(Drill d, Feedback report) {
    Double requests = report.metrics().get("drill.requests");
    if (requests == null) {
      return;
    }
    d.requests = (d.requests == null ? 0 : d.requests) + (long) nonNegative(requests);
    d.failed = (d.failed == null ? 0 : d.failed) + (long) nonNegative(report.metrics().get("drill.requests_failed"));
    d.longestGap = Math.max(d.longestGap == null ? 0 : d.longestGap,
        nonNegative(report.metrics().get("drill.longest_gap_seconds")));
  }

  private static double nonNegative(Double value) {
    return value == null || !(value >= 0) || value.isInfinite() ? 0 : value;
  }

  /** The newest drill of each node whose release was {@code version} of {@code app}, newest first. */
  public synchronized java.util.List<RolloutReport.Drill> drills(String app, String version) {
    return drills.entrySet().stream().filter(e -> e.getKey().startsWith(app + " ")
            && e.getValue().release.equals(version)).map(e -> e.getValue())
        .sorted(java.util.Comparator.comparing((Drill d) -> d.at).reversed()).limit(RolloutReport.MAX_DRILLS)
        .map(Drill::view).toList();
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

  /** The node's latest report for {@code app}, or null. */
  public synchronized Feedback lastReport(String node, String app) {
    Node n = nodes.get(node);
    NodeApp state = n == null ? null : n.apps.get(app);
    return state == null ? null : state.last;
  }

  /** The latest report of every (node, app), for the inventory's nodes that only report. */
  public synchronized java.util.List<Feedback> latestReports() {
    java.util.List<Feedback> all = new java.util.ArrayList<>();
    nodes.values().forEach(node -> node.apps.values().forEach(app -> all.add(app.last)));
    return all;
  }

  /** The apps a node reported on, sorted. */
  public synchronized java.util.List<String> appsOf(String node) {
    Node n = nodes.get(node);
    return n == null ? java.util.List.of() : java.util.List.copyOf(n.apps.keySet());
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
      result.computeIfAbsent(app, a -> new TreeMap<>())
          .merge(version == null ? FleetStatus.NO_VERSION : version, 1, Integer::sum);
    }));
    return result;
  }

  /**
   * The answer to {@code GET /v1/status}: per app the releases with how many nodes' latest event
   * for that release is in which outcome, and nodes by running version; per node, per app, its
   * version and latest event with its steps, timings and error.
   */
  public synchronized FleetStatus status(Instant now) {
    Map<String, Map<String, Map<String, Integer>>> releases = new TreeMap<>();
    Map<String, Map<String, Integer>> byVersion = new TreeMap<>();
    Map<String, FleetStatus.Node> nodeViews = new TreeMap<>();
    nodes.forEach((nodeId, node) -> {
      Map<String, FleetStatus.NodeApp> nodeApps = new TreeMap<>();
      node.apps.forEach((app, state) -> {
        Feedback last = state.last;
        releases.computeIfAbsent(app, a -> new TreeMap<>())
            .computeIfAbsent(last.toVersion(), v -> new TreeMap<>()).merge(last.outcome(), 1, Integer::sum);
        String version = currentVersion(last);
        byVersion.computeIfAbsent(app, a -> new TreeMap<>())
            .merge(version == null ? FleetStatus.NO_VERSION : version, 1, Integer::sum);
        nodeApps.put(app, new FleetStatus.NodeApp(version, state.reports, FleetStatus.Event.of(last)));
      });
      nodeViews.put(nodeId, new FleetStatus.Node(nodeApps, node.bytes));
    });
    Map<String, FleetStatus.App> apps = new TreeMap<>();
    releases.forEach((app, perRelease) -> apps.put(app, new FleetStatus.App(perRelease, byVersion.get(app))));
    return new FleetStatus(now, apps, nodeViews);
  }
}
