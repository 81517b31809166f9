package io.upgradekit.schema.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.upgradekit.schema.model.Names;
import java.time.Instant;
import java.util.Map;

/**
 * {@code POST /v1/heartbeats}: a node announces itself (DESIGN section 7, "Inventory"), every
 * {@code heartbeat.interval} and at each state change of an update. Small on purpose: 10,000 nodes
 * at one per 30 s is 333 requests a second. Schema {@code heartbeat.schema.json}.
 *
 * @param node the node (must be the authenticated node)
 * @param app the app it runs
 * @param channel the channel it follows
 * @param version the version {@code current} names, or null before the first install
 * @param labels free-form {@code key=value} labels from its configuration (zone, rack, group)
 * @param state {@code IDLE}, or the update state it is in (e.g. {@code GATE}, {@code VERIFY})
 * @param healthy the service's health check just passed (null: no check configured)
 * @param errorRate the service's error rate as the updater samples it (null: not sampled)
 * @param latency the service's latency in seconds (null: not sampled)
 * @param intervalSeconds the node's heartbeat interval: it counts as unavailable after three
 * @param sentAt when the node sent it
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record Heartbeat(String node, String app, String channel, String version, Map<String, String> labels,
    String state, Boolean healthy, Double errorRate, Double latency, long intervalSeconds, Instant sentAt) {
  /** Labels a node may carry at most. */
  public static final int MAX_LABELS = 32;

  /** The longest heartbeat interval the server accepts (a silent node must be noticed within hours). */
  public static final long MAX_INTERVAL_SECONDS = 3600;

  /**
   * Whether {@code state} is one in which the node's updater stops, switches, starts, verifies or
   * rolls back the service. A health check says nothing then (the service is starting, or the old
   * one drains) and the updater's own verification is the judge: the node leaves {@code healthy}
   * out of such a heartbeat, and the server reads an unhealthy one sent in such a state as no verdict.
   */
  public static boolean switching(String state) {
    return switch (state == null ? "" : state) {
      case "STOP", "SWITCH", "START", "VERIFY", "ROLLBACK" -> true;
      default -> false;
    };
  }

  public Heartbeat {
    Names.requireNodeId(node);
    Names.requireApp(app);
    Names.requireChannel(channel);
    if (version != null) {
      Names.requireVersion(version);
    }
    labels = labels == null ? Map.of() : labels;
    if (labels.size() > MAX_LABELS) {
      throw Wire.malformed("a node carries at most " + MAX_LABELS + " labels");
    }
    labels.forEach((k, v) -> {
      Names.requireLabelKey(k);
      Names.requireLabelValue(v);
    });
    labels = Map.copyOf(labels);
    Wire.code(state, "state");
    if (errorRate != null && !(errorRate >= 0 && errorRate <= 1e9)) {
      throw Wire.malformed("errorRate must be a finite number, at least 0");
    }
    if (latency != null && !(latency >= 0 && latency <= 1e9)) {
      throw Wire.malformed("latency must be a finite number of seconds, at least 0");
    }
    if (intervalSeconds < 1 || intervalSeconds > MAX_INTERVAL_SECONDS) {
      throw Wire.malformed("intervalSeconds must be between 1 and " + MAX_INTERVAL_SECONDS);
    }
    Wire.required(sentAt, "sentAt");
  }
}
