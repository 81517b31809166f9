package io.upgradekit.server.core;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Supplier;

/**
 * The server's counters, rendered as Prometheus text (exposition format 0.0.4). Counting is
 * lock-free ({@link LongAdder}); rendering takes a snapshot.
 */
public final class ServerMetrics {
  private final ConcurrentHashMap<Integer, LongAdder> requestsByStatus = new ConcurrentHashMap<>();
  private final LongAdder bytesSent = new LongAdder();
  private final LongAdder staticRequests = new LongAdder();
  private final LongAdder staticNotModified = new LongAdder();
  private final ConcurrentHashMap<String, LongAdder> claims = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, LongAdder> feedback = new ConcurrentHashMap<>();
  private final Supplier<Map<String, Map<String, Integer>>> nodesByVersion;
  private final ConcurrentHashMap<String, LongAdder> heartbeats = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, LongAdder> leases = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, LongAdder> rolloutActions = new ConcurrentHashMap<>();
  private final CopyOnWriteArrayList<Supplier<String>> more = new CopyOnWriteArrayList<>();

  public ServerMetrics(Supplier<Map<String, Map<String, Integer>>> nodesByVersion) {
    this.nodesByVersion = nodesByVersion;
  }

  public void request(int status, long bytes) {
    requestsByStatus.computeIfAbsent(status, s -> new LongAdder()).increment();
    if (bytes > 0) {
      bytesSent.add(bytes);
    }
  }

  /** A static GET or HEAD; {@code notModified} if answered 304. */
  public void staticRequest(boolean notModified) {
    staticRequests.increment();
    if (notModified) {
      staticNotModified.increment();
    }
  }

  /** A claim request's outcome: {@code created}, {@code existing}, {@code full} or {@code refused}. */
  public void claim(String outcome) {
    claims.computeIfAbsent(outcome, o -> new LongAdder()).increment();
  }

  /** A feedback request's outcome: {@code stored}, {@code duplicate} or {@code refused}. */
  public void feedback(String outcome) {
    feedback.computeIfAbsent(outcome, o -> new LongAdder()).increment();
  }

  /** A heartbeat's outcome: {@code accepted} or {@code refused}. */
  public void heartbeat(String outcome) {
    heartbeats.computeIfAbsent(outcome, o -> new LongAdder()).increment();
  }

  /** A lease call's answer: {@code granted}, {@code wait}, {@code confirmed}, {@code released}, {@code lost}. */
  public void lease(String outcome) {
    leases.computeIfAbsent(outcome, o -> new LongAdder()).increment();
  }

  /** An operator's rollout action that was stored. */
  public void rolloutAction(String action) {
    rolloutActions.computeIfAbsent(action, o -> new LongAdder()).increment();
  }

  /**
   * Further metrics, already in exposition format (the rollouts' gauges, the documents' expiry),
   * appended to {@link #render()} in the order they were added.
   */
  public void append(Supplier<String> rendered) {
    more.add(rendered);
  }

  public String render() {
    StringBuilder out = new StringBuilder(2048);
    header(out, "upgradekit_http_requests_total", "counter", "HTTP requests answered, by status code.");
    new TreeMap<>(requestsByStatus).forEach((status, n) ->
        out.append("upgradekit_http_requests_total{status=\"").append(status).append("\"} ").append(n.sum()).append('\n'));
    header(out, "upgradekit_http_response_bytes_total", "counter", "Response body bytes sent.");
    out.append("upgradekit_http_response_bytes_total ").append(bytesSent.sum()).append('\n');
    long all = staticRequests.sum();
    long notModified = staticNotModified.sum();
    header(out, "upgradekit_static_requests_total", "counter", "GET and HEAD requests for repository files.");
    out.append("upgradekit_static_requests_total ").append(all).append('\n');
    header(out, "upgradekit_static_not_modified_total", "counter", "Repository file requests answered 304.");
    out.append("upgradekit_static_not_modified_total ").append(notModified).append('\n');
    header(out, "upgradekit_static_not_modified_ratio", "gauge", "Share of repository file requests answered 304.");
    out.append("upgradekit_static_not_modified_ratio ").append(all == 0 ? 0.0 : (double) notModified / all).append('\n');
    header(out, "upgradekit_claims_total", "counter", "Claim requests, by outcome.");
    new TreeMap<>(claims).forEach((o, n) ->
        out.append("upgradekit_claims_total{outcome=\"").append(o).append("\"} ").append(n.sum()).append('\n'));
    header(out, "upgradekit_feedback_total", "counter", "Feedback reports, by outcome.");
    new TreeMap<>(feedback).forEach((o, n) ->
        out.append("upgradekit_feedback_total{outcome=\"").append(o).append("\"} ").append(n.sum()).append('\n'));
    header(out, "upgradekit_nodes", "gauge", "Nodes by app and the version they run (from feedback).");
    nodesByVersion.get().forEach((app, versions) -> versions.forEach((version, n) ->
        out.append("upgradekit_nodes{app=\"").append(app).append("\",version=\"").append(version).append("\"} ")
            .append(n).append('\n')));
    header(out, "upgradekit_heartbeats_total", "counter", "Heartbeats, by outcome.");
    new TreeMap<>(heartbeats).forEach((o, n) ->
        out.append("upgradekit_heartbeats_total{outcome=\"").append(o).append("\"} ").append(n.sum()).append('\n'));
    header(out, "upgradekit_lease_answers_total", "counter", "Lease requests, by answer.");
    new TreeMap<>(leases).forEach((o, n) ->
        out.append("upgradekit_lease_answers_total{status=\"").append(o).append("\"} ").append(n.sum()).append('\n'));
    header(out, "upgradekit_rollout_actions_total", "counter", "Operator actions stored, by action.");
    new TreeMap<>(rolloutActions).forEach((o, n) ->
        out.append("upgradekit_rollout_actions_total{action=\"").append(o).append("\"} ").append(n.sum()).append('\n'));
    for (Supplier<String> rendered : more) {
      out.append(rendered.get());
    }
    return out.toString();
  }

  private static void header(StringBuilder out, String name, String type, String help) {
    out.append("# HELP ").append(name).append(' ').append(help).append('\n');
    out.append("# TYPE ").append(name).append(' ').append(type).append('\n');
  }
}
