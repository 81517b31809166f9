package io.upgradekit.schema.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.upgradekit.schema.model.Names;
import java.time.Instant;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * {@code GET /v1/inventory}: one page of the fleet's nodes, filtered and sorted by the server (so a
 * client of a fleet of 10,000 nodes receives the rows it shows, not the fleet), with the count of
 * nodes per version per app over the whole fleet. Operator or viewer credentials. Schema {@code
 * inventory-page.schema.json}.
 *
 * @param generatedAt when the server answered
 * @param total (node, app) entries the server knows
 * @param matched entries that match the filter
 * @param offset the first matching entry on this page (from 0)
 * @param limit entries per page at most
 * @param versions per app, nodes per version over the whole fleet ({@value FleetStatus#NO_VERSION}:
 *     none installed yet)
 * @param nodes this page's entries
 */
public record InventoryPage(Instant generatedAt, long total, long matched, int offset, int limit,
    Map<String, Map<String, Integer>> versions, List<Row> nodes) {
  /** Entries per page at most. */
  public static final int MAX_LIMIT = 500;

  public InventoryPage {
    Wire.required(generatedAt, "generatedAt");
    Wire.nonNegative(total, "total");
    Wire.nonNegative(matched, "matched");
    Wire.nonNegative(offset, "offset");
    if (limit < 1 || limit > MAX_LIMIT) {
      throw Wire.malformed("limit must be between 1 and " + MAX_LIMIT);
    }
    SortedMap<String, Map<String, Integer>> byApp = new TreeMap<>();
    Wire.required(versions, "versions").forEach((app, counts) -> {
      SortedMap<String, Integer> byVersion = new TreeMap<>();
      Wire.required(counts, "versions." + app).forEach((version, count) -> {
        Names.requireVersion(version);
        Wire.nonNegative(Wire.required(count, "versions." + app + "." + version), "count");
        byVersion.put(version, count);
      });
      byApp.put(Names.requireApp(app), Collections.unmodifiableSortedMap(byVersion));
    });
    versions = Collections.unmodifiableSortedMap(byApp);
    nodes = List.copyOf(Wire.required(nodes, "nodes"));
    if (nodes.size() > limit) {
      throw Wire.malformed("a page holds at most limit (" + limit + ") nodes");
    }
  }

  /**
   * One node's view of one app: its newest heartbeat (absent for a node known only from its
   * reports) and its latest reported event.
   *
   * @param node the node
   * @param app the app
   * @param channel the channel it follows, or null
   * @param version the version it runs (its heartbeat's, else its reports'), or null
   * @param labels its labels
   * @param state {@code IDLE} or the update state it is in, or null
   * @param available heard of within three of its heartbeat intervals
   * @param healthy its health check passed (null: none configured, or no heartbeat)
   * @param lastHeartbeat when the server received its newest heartbeat, or null
   * @param intervalSeconds its heartbeat interval, or null
   * @param errorRate its service's error rate as last sampled, or null
   * @param latency its service's latency in seconds as last sampled, or null
   * @param lastOutcome the outcome of its latest reported event ({@code COMMITTED}, ...), or null
   * @param lastErrorCode that event's error code, or null
   * @param lastEventAt when it was reported, or null
   */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record Row(String node, String app, String channel, String version, Map<String, String> labels,
      String state, boolean available, Boolean healthy, Instant lastHeartbeat, Long intervalSeconds,
      Double errorRate, Double latency, String lastOutcome, String lastErrorCode, Instant lastEventAt) {
    public Row {
      Names.requireNodeId(node);
      Names.requireApp(app);
      if (channel != null) {
        Names.requireChannel(channel);
      }
      if (version != null) {
        Names.requireVersion(version);
      }
      SortedMap<String, String> sorted = new TreeMap<>();
      (labels == null ? Map.<String, String>of() : labels).forEach((k, v) -> sorted.put(Names.requireLabelKey(k),
          Names.requireLabelValue(v)));
      labels = Collections.unmodifiableSortedMap(sorted);
      if (state != null) {
        Wire.code(state, "state");
      }
      if (lastOutcome != null) {
        Wire.code(lastOutcome, "lastOutcome");
      }
      if (lastErrorCode != null) {
        Wire.code(lastErrorCode, "lastErrorCode");
      }
    }
  }
}
