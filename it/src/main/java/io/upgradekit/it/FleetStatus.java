package io.upgradekit.it;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * repo-server's {@code GET /v1/status}, reduced to what tests compare with the nodes' own view:
 * per node and app, the version it runs and its latest event.
 *
 * @param nodes per node id, per app
 * @param json the whole document, for anything else
 */
public record FleetStatus(Map<String, Map<String, NodeApp>> nodes, String json) {
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
    JsonNode root = JsonSupport.tree(json, "GET /v1/status");
    Map<String, Map<String, NodeApp>> nodes = new LinkedHashMap<>();
    JsonNode all = root.path("nodes");
    for (Iterator<Map.Entry<String, JsonNode>> it = all.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> node = it.next();
      Map<String, NodeApp> apps = new LinkedHashMap<>();
      for (Iterator<Map.Entry<String, JsonNode>> a = node.getValue().path("apps").fields(); a.hasNext(); ) {
        Map.Entry<String, JsonNode> app = a.next();
        JsonNode v = app.getValue();
        JsonNode last = v.path("lastEvent");
        apps.put(app.getKey(), new NodeApp(JsonSupport.text(v, "currentVersion"), v.path("reports").asInt(),
            JsonSupport.text(last, "outcome"), JsonSupport.text(last, "fromVersion"),
            JsonSupport.text(last, "toVersion"), JsonSupport.text(last, "errorCode")));
      }
      nodes.put(node.getKey(), apps);
    }
    return new FleetStatus(nodes, json);
  }
}
