package io.upgradekit.server.fleet;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.api.Heartbeat;
import io.upgradekit.server.rollout.FleetSnapshot;
import io.upgradekit.server.rollout.Judge;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Predicate;

/**
 * The nodes as their heartbeats describe them (DESIGN section 7, "Inventory"), in memory: per node
 * and app the newest heartbeat, when the server received it, and the error rate and latency samples
 * of the last {@link #sampleWindow()} for the canary judge. A node is <em>available</em> while its
 * newest heartbeat is younger than {@value #MISSED_INTERVALS} of its own intervals, and at least
 * {@link #MIN_SILENCE}, measured on the server's clock (nodes' clocks may be off) and never from
 * before this server process started ({@link #countSilenceFrom}).
 *
 * <p>Bounded: at most {@code maxNodes} (node, app) entries (a new node beyond that is refused with
 * QUOTA_EXCEEDED), at most {@value #MAX_SAMPLES} samples each, and entries not heard of for {@link
 * #FORGET_AFTER} are forgotten. Several server processes share one fleet through {@link
 * InventorySync}, which merges their snapshots here ({@link #merge}: the newest {@code sentAt} wins).
 *
 * <p>Thread-safe (one lock; every operation is a map lookup or a scan of the entries).
 */
public final class Inventory {
  /** Heartbeat intervals a node may miss before it counts as unavailable. */
  public static final int MISSED_INTERVALS = 3;

  /**
   * The least silence that makes a node unavailable (or a slot's holder silent), whatever its
   * interval: an updater's heartbeats pause for its JVM's start after every update, and reach the
   * other server processes of a repository only through their inventory snapshots, up to two sync
   * periods (10 s) late. Three one-second intervals would count a healthy node as down for that.
   */
  public static final Duration MIN_SILENCE = Duration.ofSeconds(20);

  /** Judge samples kept per node at most (a node heartbeating at every state change sends more). */
  public static final int MAX_SAMPLES = 64;

  /** Nodes silent this long are dropped from the inventory (and from the budget's count of nodes down). */
  public static final Duration FORGET_AFTER = Duration.ofDays(1);

  /** The default number of (node, app) entries kept at most ({@code --max-nodes}). */
  public static final int DEFAULT_MAX_NODES = 100_000;

  /**
   * One node's newest heartbeat for one app.
   *
   * @param heartbeat what the node said
   * @param receivedAt when a server received it (the server's clock)
   */
  public record Entry(Heartbeat heartbeat, Instant receivedAt) {
    public Entry {
      Objects.requireNonNull(heartbeat, "heartbeat");
      Objects.requireNonNull(receivedAt, "receivedAt");
    }

    /** Whether the node was heard of within {@link #silenceAllowed} of its interval before {@code now}. */
    public boolean available(Instant now) {
      return now.isBefore(receivedAt.plus(silenceAllowed(heartbeat.intervalSeconds())));
    }

    /**
     * Available, and its last heartbeat did not say the service is unhealthy. A heartbeat sent while
     * the node's updater stops, switches, starts or verifies the service does not count as
     * unhealthy: the service is starting then, and the updater's verification is the judge (it
     * reports ROLLED_BACK when the version fails). Updaters leave the health out in those states.
     */
    public boolean healthy(Instant now) {
      return available(now) && (!Boolean.FALSE.equals(heartbeat.healthy()) || Heartbeat.switching(heartbeat.state()));
    }
  }

  private record Key(String node, String app) {}

  private record Sample(Instant at, String version, double errorRate, double latency) {}

  private static final class Slot {
    Entry entry;
    final ArrayDeque<Sample> samples = new ArrayDeque<>();
  }

  /** How long a node with heartbeats every {@code intervalSeconds} may be silent and still count as up. */
  public static Duration silenceAllowed(long intervalSeconds) {
    Duration missed = Duration.ofSeconds(MISSED_INTERVALS * intervalSeconds);
    return missed.compareTo(MIN_SILENCE) < 0 ? MIN_SILENCE : missed;
  }

  private final int maxNodes;
  private final Map<Key, Slot> entries = new HashMap<>();
  private volatile Instant silenceFrom = Instant.MIN;
  private volatile Duration sampleWindow = Duration.ofSeconds(300);
  private long changes;

  public Inventory(int maxNodes) {
    if (maxNodes < 1) {
      throw new IllegalArgumentException("maxNodes must be at least 1");
    }
    this.maxNodes = maxNodes;
  }

  /**
   * Records a heartbeat received now.
   *
   * @throws UpgradeException QUOTA_EXCEEDED when the inventory is full and the node is new
   */
  public void accept(Heartbeat heartbeat, Instant receivedAt) {
    if (!put(new Entry(heartbeat, receivedAt), true)) {
      throw new UpgradeException(ErrorCode.QUOTA_EXCEEDED, "the server's inventory holds " + maxNodes
          + " nodes, its --max-nodes limit; node " + heartbeat.node() + " is not recorded (raise --max-nodes, or"
          + " retire nodes: silent ones are forgotten after " + FORGET_AFTER.toHours() + " h)");
    }
  }

  /**
   * Takes an entry from another server's snapshot if it is newer than what this one knows (by the
   * node's {@code sentAt}); a full inventory skips new nodes.
   *
   * @return true if it was taken
   */
  public boolean merge(Entry entry) {
    return put(entry, false);
  }

  private synchronized boolean put(Entry entry, boolean own) {
    Heartbeat hb = entry.heartbeat();
    Key key = new Key(hb.node(), hb.app());
    Slot slot = entries.get(key);
    if (slot == null) {
      if (entries.size() >= maxNodes) {
        return false;
      }
      slot = new Slot();
      entries.put(key, slot);
    } else if (!own && !hb.sentAt().isAfter(slot.entry.heartbeat().sentAt())) {
      return false;
    }
    slot.entry = entry;
    if (hb.errorRate() != null || hb.latency() != null) {
      Sample sample = new Sample(entry.receivedAt(), hb.version(), hb.errorRate() == null ? Double.NaN
          : hb.errorRate(), hb.latency() == null ? Double.NaN : hb.latency());
      if (slot.samples.stream().noneMatch(s -> s.at().equals(sample.at()))) {
        slot.samples.addLast(sample);
      }
      while (slot.samples.size() > MAX_SAMPLES) {
        slot.samples.removeFirst();
      }
    }
    if (own) {
      changes++; // what this process heard itself: its snapshot is due
    }
    return true;
  }

  /**
   * Counts no silence before {@code instant}, the start of this server process: nodes known from
   * the snapshots of before a restart could not reach a server that was not running, so each gets a
   * full allowance from the start to be heard again before it counts as unavailable, or as a silent
   * holder of a slot. {@link #entries()} (what the snapshots store) keeps the true times.
   */
  public void countSilenceFrom(Instant instant) {
    silenceFrom = Objects.requireNonNull(instant, "instant");
  }

  /** How long judge samples are kept: the longest rollback window of the live rollouts. */
  public Duration sampleWindow() {
    return sampleWindow;
  }

  public void sampleWindow(Duration window) {
    sampleWindow = Objects.requireNonNull(window, "window");
  }

  /** Drops samples older than the window and entries silent for {@link #FORGET_AFTER}. */
  public synchronized void prune(Instant now) {
    Instant samplesFrom = now.minus(sampleWindow);
    Instant forgetBefore = now.minus(FORGET_AFTER);
    entries.values().removeIf(slot -> slot.entry.receivedAt().isBefore(forgetBefore));
    for (Slot slot : entries.values()) {
      while (!slot.samples.isEmpty() && slot.samples.peekFirst().at().isBefore(samplesFrom)) {
        slot.samples.removeFirst();
      }
    }
  }

  /** A number that grows with every heartbeat this process received (to tell whether a snapshot is due). */
  public synchronized long changes() {
    return changes;
  }

  /** Every entry (a copy). */
  public synchronized List<Entry> entries() {
    List<Entry> all = new ArrayList<>(entries.size());
    entries.values().forEach(slot -> all.add(slot.entry));
    return all;
  }

  /** The entries of one app's nodes that follow {@code channel} (silence counted as {@link #countSilenceFrom} says). */
  public synchronized List<Entry> nodes(String app, String channel) {
    List<Entry> out = select(e -> e.heartbeat().app().equals(app) && e.heartbeat().channel().equals(channel));
    out.replaceAll(this::judged);
    return out;
  }

  /** The entries of one app's nodes on any channel (silence counted as {@link #countSilenceFrom} says). */
  public synchronized List<Entry> nodes(String app) {
    List<Entry> out = select(e -> e.heartbeat().app().equals(app));
    out.replaceAll(this::judged);
    return out;
  }

  /** The newest entry of {@code node} for {@code app}, or null (silence counted as {@link #countSilenceFrom} says). */
  public synchronized Entry get(String node, String app) {
    Slot slot = entries.get(new Key(node, app));
    return slot == null ? null : judged(slot.entry);
  }

  private Entry judged(Entry entry) {
    Instant from = silenceFrom;
    return entry.receivedAt().isBefore(from) ? new Entry(entry.heartbeat(), from) : entry;
  }

  /** The judge samples of one app's nodes on {@code channel}, each with the version the node ran. */
  public synchronized List<FleetSnapshot.VersionedSample> samples(String app, String channel) {
    List<FleetSnapshot.VersionedSample> out = new ArrayList<>();
    entries.forEach((key, slot) -> {
      Heartbeat hb = slot.entry.heartbeat();
      if (hb.app().equals(app) && hb.channel().equals(channel)) {
        for (Sample s : slot.samples) {
          if (s.version() != null) {
            out.add(new FleetSnapshot.VersionedSample(s.version(),
                new Judge.Sample(key.node(), s.at(), s.errorRate(), s.latency())));
          }
        }
      }
    });
    return out;
  }

  /** Counts of available and unavailable entries (for the metrics). */
  public synchronized int[] availability(Instant now) {
    int[] counts = new int[2];
    entries.values().forEach(slot -> counts[judged(slot.entry).available(now) ? 0 : 1]++);
    return counts;
  }

  private List<Entry> select(Predicate<Entry> which) {
    List<Entry> out = new ArrayList<>();
    for (Slot slot : entries.values()) {
      if (which.test(slot.entry)) {
        out.add(slot.entry);
      }
    }
    return out;
  }
}
