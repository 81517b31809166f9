package io.upgradekit.server.fleet;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.ErrorCodeHelp;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.api.FleetStatus;
import io.upgradekit.schema.api.Heartbeat;
import io.upgradekit.schema.api.InventoryPage;
import io.upgradekit.schema.api.NodeHistory;
import io.upgradekit.schema.api.RolloutReport;
import io.upgradekit.schema.api.RolloutSeries;
import io.upgradekit.schema.json.Json;
import io.upgradekit.schema.model.DocumentType;
import io.upgradekit.schema.model.Feedback;
import io.upgradekit.schema.model.Names;
import io.upgradekit.schema.model.RolloutPlan;
import io.upgradekit.schema.store.RepositoryStore;
import io.upgradekit.server.core.FleetIndex;
import io.upgradekit.server.rollout.FleetSnapshot;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Stream;

/**
 * The read views of the dashboard (and of anyone with an operator or viewer credential) over the
 * fleet layer: the inventory, paged and filtered here so that a client of a large fleet gets the
 * rows it shows ({@code GET /v1/inventory}); one node's history with its step trails ({@code GET
 * /v1/nodes/<node>}); the canary judge's figures over time ({@code GET
 * /v1/rollouts/<app>/<version>/series}); and a rollout report cut to a number of nodes per wave.
 *
 * <p>The inventory joins the heartbeats (what each node says it runs, its labels, state and health)
 * with the reports (its latest event's outcome), and lists nodes that only report too. A node's
 * events are its stored feedback, the latest report of each event; reports never change once
 * stored, so parsed ones are cached (bounded). Thread-safe.
 */
public final class FleetViews {
  /** Events a node page lists by default. */
  public static final int DEFAULT_EVENTS = 50;

  /** Points a series has at most (the judge's window in buckets). */
  static final int SERIES_BUCKETS = 60;

  private static final int CACHE = 8192;
  private static final Set<String> FAILED = Set.of("ROLLED_BACK", "REFUSED", "FAILED");

  private final Inventory inventory;
  private final FleetIndex reports;
  private final RepositoryStore store;
  private final LeaseService leases;
  private final Clock clock;
  private final Map<String, Feedback> parsed = new LinkedHashMap<>(64, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, Feedback> eldest) {
      return size() > CACHE;
    }
  };

  public FleetViews(Inventory inventory, FleetIndex reports, RepositoryStore store, LeaseService leases, Clock clock) {
    this.inventory = inventory;
    this.reports = reports;
    this.store = store;
    this.leases = leases;
    this.clock = clock;
  }

  /** {@code GET /v1/inventory}. */
  public InventoryPage inventory(InventoryQuery query) {
    Instant now = clock.instant();
    List<InventoryPage.Row> rows = rows(now);
    Map<String, Map<String, Integer>> versions = new TreeMap<>();
    List<InventoryPage.Row> matched = new ArrayList<>();
    for (InventoryPage.Row row : rows) {
      versions.computeIfAbsent(row.app(), a -> new TreeMap<>())
          .merge(row.version() == null ? FleetStatus.NO_VERSION : row.version(), 1, Integer::sum);
      if (matches(query, row)) {
        matched.add(row);
      }
    }
    Comparator<InventoryPage.Row> order = comparator(query.sort());
    matched.sort(query.descending() ? order.reversed() : order);
    int from = Math.min(query.offset(), matched.size());
    int to = Math.min(matched.size(), from + query.limit());
    return new InventoryPage(now, rows.size(), matched.size(), query.offset(), query.limit(), versions,
        matched.subList(from, to));
  }

  /** Every (node, app) entry: from heartbeats, and from reports for nodes that send none. */
  private List<InventoryPage.Row> rows(Instant now) {
    Map<String, InventoryPage.Row> rows = new HashMap<>();
    for (Inventory.Entry e : inventory.entries()) {
      Heartbeat hb = e.heartbeat();
      rows.put(hb.node() + " " + hb.app(), row(e, reports.lastReport(hb.node(), hb.app()), now));
    }
    for (Feedback last : reports.latestReports()) {
      rows.computeIfAbsent(last.node() + " " + last.app(), k -> row(null, last, now));
    }
    return new ArrayList<>(rows.values());
  }

  private static InventoryPage.Row row(Inventory.Entry entry, Feedback last, Instant now) {
    String outcome = last == null ? null : last.outcome();
    String code = last == null ? null : last.errorCode();
    Instant at = last == null ? null : last.sentAt();
    if (entry == null) {
      String version = "COMMITTED".equals(last.outcome()) ? last.toVersion() : last.fromVersion();
      return new InventoryPage.Row(last.node(), last.app(), null, version, Map.of(), null, false, null, null, null,
          null, null, outcome, code, at);
    }
    Heartbeat hb = entry.heartbeat();
    return new InventoryPage.Row(hb.node(), hb.app(), hb.channel(), hb.version(), hb.labels(), hb.state(),
        entry.available(now), hb.healthy(), entry.receivedAt(), hb.intervalSeconds(), hb.errorRate(), hb.latency(),
        outcome, code, at);
  }

  private static boolean matches(InventoryQuery q, InventoryPage.Row row) {
    if (q.app() != null && !q.app().equals(row.app()) || q.version() != null && !q.version().equals(row.version())
        || q.channel() != null && !q.channel().equals(row.channel())
        || q.labelKey() != null && !q.labelValue().equals(row.labels().get(q.labelKey()))) {
      return false;
    }
    if (q.status() != null) {
      boolean selected = switch (q.status()) {
        case AVAILABLE -> row.available();
        case UNAVAILABLE -> !row.available();
        case UNHEALTHY -> row.available() && Boolean.FALSE.equals(row.healthy());
        case UPDATING -> row.available() && row.state() != null && !row.state().equals("IDLE");
        case FAILED -> row.lastOutcome() != null && FAILED.contains(row.lastOutcome());
      };
      if (!selected) {
        return false;
      }
    }
    if (q.text() != null) {
      String text = q.text().toLowerCase(Locale.ROOT);
      return row.node().contains(text) || row.labels().values().stream()
          .anyMatch(v -> v.toLowerCase(Locale.ROOT).contains(text));
    }
    return true;
  }

  private static Comparator<InventoryPage.Row> comparator(InventoryQuery.Sort sort) {
    Comparator<InventoryPage.Row> byNode = Comparator.comparing(InventoryPage.Row::node)
        .thenComparing(InventoryPage.Row::app);
    Comparator<InventoryPage.Row> first = switch (sort) {
      case NODE -> byNode;
      case APP -> Comparator.comparing(InventoryPage.Row::app);
      case VERSION -> Comparator.comparing(InventoryPage.Row::version, Comparator.nullsFirst(
          Comparator.naturalOrder()));
      case LASTHEARTBEAT -> Comparator.comparing(InventoryPage.Row::lastHeartbeat, Comparator.nullsFirst(
          Comparator.naturalOrder()));
      case STATE -> Comparator.comparing(InventoryPage.Row::state, Comparator.nullsFirst(Comparator.naturalOrder()));
      case HEALTH -> Comparator.comparingInt(FleetViews::health);
    };
    return first.thenComparing(byNode);
  }

  /** 0 unavailable, 1 unhealthy, 2 healthy or without a check: the worst first. */
  private static int health(InventoryPage.Row row) {
    return !row.available() ? 0 : Boolean.FALSE.equals(row.healthy()) ? 1 : 2;
  }

  /**
   * {@code GET /v1/nodes/<node>}: its inventory entries and its newest {@code events} events.
   *
   * @throws UpgradeException NOT_FOUND for a node the server neither heard of nor holds reports of
   */
  public NodeHistory node(String node, int events) throws IOException {
    Names.requireNodeId(node);
    Instant now = clock.instant();
    TreeSet<String> apps = new TreeSet<>(reports.appsOf(node));
    List<InventoryPage.Row> rows = new ArrayList<>();
    for (Inventory.Entry e : inventory.entries()) {
      if (e.heartbeat().node().equals(node)) {
        apps.add(e.heartbeat().app());
      }
    }
    for (String app : apps) {
      Inventory.Entry entry = inventory.get(node, app);
      Feedback last = reports.lastReport(node, app);
      if (entry != null || last != null) {
        rows.add(row(entry, last, now));
      }
    }
    if (rows.isEmpty()) {
      throw new UpgradeException(ErrorCode.NOT_FOUND, "node " + node + " is not known here: it sent no heartbeat"
          + " and no report to this server");
    }
    List<Feedback> latest = new ArrayList<>();
    for (String app : apps) {
      latest.addAll(latestOfEachEvent(app, node));
    }
    latest.sort(Comparator.comparing(Feedback::sentAt).reversed().thenComparing(Feedback::eventId));
    List<NodeHistory.Event> listed = new ArrayList<>();
    for (Feedback f : latest.subList(0, Math.min(events, latest.size()))) {
      listed.add(NodeHistory.Event.of(f, ErrorCodeHelp::fix));
    }
    return new NodeHistory(now, node, rows, listed, latest.size() - listed.size());
  }

  /** The latest report of each of the node's events for {@code app}. */
  private List<Feedback> latestOfEachEvent(String app, String node) throws IOException {
    String prefix = "feedback/" + app + "/" + node + "/";
    Map<String, Long> newest = new HashMap<>();
    try (Stream<RepositoryStore.Entry> entries = store.list(prefix)) {
      for (Iterator<RepositoryStore.Entry> it = entries.iterator(); it.hasNext(); ) {
        String[] rest = it.next().path().substring(prefix.length()).split("/");
        if (rest.length != 2 || !rest[1].matches("[0-9]{1,18}\\.json") || !Names.isEventId(rest[0])) {
          continue;
        }
        long sequence = Long.parseLong(rest[1].substring(0, rest[1].length() - 5));
        newest.merge(rest[0], sequence, Math::max);
      }
    } catch (UncheckedIOException e) {
      throw e.getCause();
    }
    List<Feedback> out = new ArrayList<>();
    for (Map.Entry<String, Long> e : newest.entrySet()) {
      Feedback f = report(prefix + e.getKey() + "/" + e.getValue() + ".json");
      if (f != null) {
        out.add(f);
      }
    }
    return out;
  }

  private Feedback report(String path) throws IOException {
    synchronized (parsed) {
      Feedback cached = parsed.get(path);
      if (cached != null) {
        return cached;
      }
    }
    Optional<RepositoryStore.Versioned> stored = store.read(path, DocumentType.FEEDBACK.maxBytes());
    if (stored.isEmpty()) {
      return null; // archived meanwhile
    }
    Feedback f;
    try {
      f = Json.read(stored.get().bytes(), DocumentType.FEEDBACK, Feedback.class);
    } catch (UpgradeException e) {
      return null; // the rebuild at start reports unreadable reports
    }
    synchronized (parsed) {
      parsed.put(path, f);
    }
    return f;
  }

  /**
   * {@code GET /v1/rollouts/<app>/<version>/series}: the judge's groups per bucket of its window.
   *
   * @throws UpgradeException NOT_FOUND when no channel names the release with a plan
   */
  public RolloutSeries series(String app, String version) throws IOException {
    LiveRollouts.Rollout r = leases.rollout(app, version);
    RolloutPlan.RollbackPolicy policy = r.plan().rollbackOrDefault();
    Instant now = clock.instant();
    long window = policy.windowSecondsOrDefault();
    long bucket = Math.max(1, (window + SERIES_BUCKETS - 1) / SERIES_BUCKETS);
    long end = Math.floorDiv(now.getEpochSecond(), bucket) * bucket + bucket; // the current bucket's end
    long start = end - bucket * SERIES_BUCKETS;
    // per bucket, per group (0 upgraded, 1 baseline), per node: sum error rate, sum latency, count
    List<Map<String, double[]>[]> buckets = new ArrayList<>();
    for (int i = 0; i < SERIES_BUCKETS; i++) {
      @SuppressWarnings("unchecked")
      Map<String, double[]>[] groups = new Map[] {new HashMap<>(), new HashMap<>()};
      buckets.add(groups);
    }
    for (String channel : new TreeSet<>(r.channels())) {
      for (FleetSnapshot.VersionedSample s : inventory.samples(app, channel)) {
        long at = s.sample().at().getEpochSecond();
        double errors = s.sample().errorRate();
        double latency = s.sample().latencySeconds();
        if (at < start || at >= end || !Double.isFinite(errors) || !Double.isFinite(latency)) {
          continue;
        }
        int group = version.equals(s.version()) ? 0 : 1;
        double[] sums = buckets.get((int) ((at - start) / bucket))[group].computeIfAbsent(s.sample().node(),
            n -> new double[3]);
        sums[0] += errors;
        sums[1] += latency;
        sums[2]++;
      }
    }
    List<RolloutSeries.Point> points = new ArrayList<>();
    for (int i = 0; i < SERIES_BUCKETS; i++) {
      Map<String, double[]>[] groups = buckets.get(i);
      if (groups[0].isEmpty() && groups[1].isEmpty()) {
        continue;
      }
      Double[] up = mean(groups[0]);
      Double[] base = mean(groups[1]);
      points.add(new RolloutSeries.Point(Instant.ofEpochSecond(start + (i + 1) * bucket), up[0], base[0], up[1],
          base[1], groups[0].size(), groups[1].size()));
    }
    return new RolloutSeries(now, app, version, window, bucket, policy.errorRateFactorOrDefault(),
        policy.latencyFactorOrDefault(), points);
  }

  /** Per-node means, then the mean over nodes: {error rate, latency}, nulls without nodes. */
  private static Double[] mean(Map<String, double[]> perNode) {
    if (perNode.isEmpty()) {
      return new Double[] {null, null};
    }
    double errors = 0;
    double latency = 0;
    for (double[] sums : perNode.values()) {
      errors += sums[0] / sums[2];
      latency += sums[1] / sums[2];
    }
    return new Double[] {errors / perNode.size(), latency / perNode.size()};
  }

  /**
   * The report with at most {@code perWave} nodes listed per wave (the tallies stay whole): failed,
   * updating and unavailable nodes first, as the ones an operator looks for; the rest in schedule
   * order.
   */
  public static RolloutReport limitNodes(RolloutReport r, int perWave) {
    List<RolloutReport.Wave> waves = new ArrayList<>();
    for (RolloutReport.Wave w : r.waves()) {
      List<RolloutReport.Node> nodes = w.nodes();
      if (nodes.size() > perWave) {
        List<RolloutReport.Node> ordered = new ArrayList<>(nodes);
        ordered.sort(Comparator.comparingInt(FleetViews::interest)); // stable: schedule order within a rank
        nodes = ordered.subList(0, perWave);
      }
      waves.add(new RolloutReport.Wave(w.wave(), w.name(), w.status(), w.size(), w.committed(), w.failed(),
          w.pending(), w.skipped(), w.updating(), nodes));
    }
    return new RolloutReport(r.generatedAt(), r.app(), r.version(), r.status(), r.paused(), r.blockedReason(),
        r.channels(), r.plan(), r.fromVersion(), r.fleet(), r.minAvailable(), r.budget(), r.busy(), r.openWaves(),
        r.recallFrom(), r.bakeLeftSeconds(), waves, r.judge(), r.stateSequence(), r.stateExpires(), r.decisions(),
        r.drills());
  }

  private static int interest(RolloutReport.Node n) {
    return switch (n.state()) {
      case "failed" -> 0;
      case "updating" -> 1;
      case "unavailable", "unknown" -> 2;
      default -> 3;
    };
  }
}
