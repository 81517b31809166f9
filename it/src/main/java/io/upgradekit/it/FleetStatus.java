package io.upgradekit.it;

import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.api.ApiBody;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * repo-server's {@code GET /v1/status}, read with release-schema's strict reader ({@code
 * fleet-status}), reduced to what tests compare with the nodes' own view: per node and app, the
 * version it runs and its latest event.
 *
 * @param nodes per node id, per app
 * @param json the whole document, for anything else
 * @param document the whole document as read
 */
public record FleetStatus(Map<String, Map<String, NodeApp>> nodes, String json,
    io.upgradekit.schema.api.FleetStatus document) {
  public FleetStatus {
    nodes = Map.copyOf(nodes);
  }

  /**
   * One node's view of one app, as the server knows it from feedback.
   *
   * @param currentVersion the version it runs
   * @param reports reports stored
   * @param lastOutcome the latest event's outcome ({@code COMMITTED}, {@code ROLLED_BACK}, ...)
   * @param lastFromVersion the latest event's starting version, or null
   * @param lastToVersion the latest event's target version
   * @param lastErrorCode the latest event's error code, or null
   */
  public record NodeApp(String currentVersion, int reports, String lastOutcome, String lastFromVersion,
      String lastToVersion, String lastErrorCode) {}

  /** The node's entry for {@code app}, if the server has a report from it. */
  public Optional<NodeApp> node(String node, String app) {
    return Optional.ofNullable(nodes.getOrDefault(node, Map.of()).get(app));
  }

  static FleetStatus parse(String json) {
    io.upgradekit.schema.api.FleetStatus document;
    try {
      document = ApiBody.FLEET_STATUS.read(json.getBytes(StandardCharsets.UTF_8));
    } catch (UpgradeException e) {
      throw new HarnessException("GET /v1/status is not a fleet status (" + e.code() + ": " + e.getMessage() + ")", e);
    }
    Map<String, Map<String, NodeApp>> nodes = new LinkedHashMap<>();
    document.nodes().forEach((id, node) -> {
      Map<String, NodeApp> apps = new LinkedHashMap<>();
      node.apps().forEach((app, v) -> apps.put(app, new NodeApp(v.currentVersion(), Math.toIntExact(v.reports()),
          v.lastEvent().outcome(), v.lastEvent().fromVersion(), v.lastEvent().toVersion(),
          v.lastEvent().errorCode())));
      nodes.put(id, apps);
    });
    return new FleetStatus(nodes, json, document);
  }
}
