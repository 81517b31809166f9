package io.upgradekit.updater.engine;

import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.api.ApiBody;
import io.upgradekit.schema.api.Heartbeat;
import io.upgradekit.schema.json.Json;
import io.upgradekit.updater.config.UpdaterConfig;
import io.upgradekit.updater.download.RepositoryClient;
import io.upgradekit.updater.event.AgentEvent;
import io.upgradekit.updater.event.UpdateState;
import io.upgradekit.updater.health.MetricsSampler;
import io.upgradekit.updater.journal.StateFiles;
import java.net.URI;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;

/**
 * The node's heartbeats ({@code POST /v1/heartbeats}, a {@link Heartbeat}, authenticated as the
 * node like feedback): every {@code heartbeat.interval} and when the update state it reports
 * changes (at most one a second), carrying the installed version, the labels, the state, whether
 * the service's health check passes, and its error rate and latency sampled as the watch window
 * samples them (a ratio of counters over the increase since the previous heartbeat). They keep
 * the node in repo-server's inventory and keep its rollout slot alive through VERIFY. While the
 * updater itself stops, switches, starts and verifies the service they carry no health (see
 * {@link Heartbeat#switching}).
 *
 * <p>They run on their own thread and never hold up an update: the engine's events only set the
 * state to report; every exchange is bounded ({@code min(limits.requestTimeout, interval/2)} for
 * the headers). A failure is logged once (and once when they get through again) and counted in
 * {@code state/heartbeats.json}, which {@code status} shows. Without a node credential there are
 * none: the server accepts heartbeats only from nodes it knows.
 */
public final class Heartbeats implements AutoCloseable {
  /** State changes are sent at most this often; the interval's heartbeats come on time anyway. */
  static final Duration MIN_SPACING = Duration.ofSeconds(1);
  private static final String FILE = "heartbeats.json";

  /**
   * What {@code status} shows, in {@code state/heartbeats.json}: written when a heartbeat fails and
   * when one gets through after failures (not for every heartbeat).
   *
   * @param failed heartbeats that failed since the file was started
   * @param failedInARow failures since the last one that got through
   * @param lastFailureAt when the last one failed, or null
   * @param lastFailure why, or null
   * @param lastSentAt when one last got through (as of this file's writing), or null
   */
  public record Record(long failed, long failedInARow, Instant lastFailureAt, String lastFailure, Instant lastSentAt) {
    static final Record NONE = new Record(0, 0, null, null, null);

    public Record {
      if (failed < 0 || failedInARow < 0) {
        throw new IllegalArgumentException("negative heartbeat counts");
      }
    }
  }

  /** The update state to report, fed by the engine's events. */
  static final class Watch implements Consumer<AgentEvent> {
    private volatile String state = "IDLE";
    private final Object signal = new Object();
    private volatile Heartbeats owner;

    @Override
    public void accept(AgentEvent event) {
      if (event instanceof AgentEvent.Transition t) {
        Heartbeats h = owner;
        if (h != null) {
          h.launchIfArmed(); // the first transition is made under the update lock
        }
        String next = reported(t.to());
        if (!next.equals(state)) {
          state = next;
          synchronized (signal) {
            signal.notifyAll();
          }
        }
      }
    }

    String state() {
      return state;
    }

    /** Waits until the state changes or {@code max} passed. */
    void await(Duration max) throws InterruptedException {
      synchronized (signal) {
        signal.wait(Math.max(1, max.toMillis()));
      }
    }

    void wake() {
      synchronized (signal) {
        signal.notifyAll();
      }
    }
  }

  private final Parts parts;
  private final UpdaterConfig config;
  private final Watch watch;
  private final Clock clock;
  private final RepositoryClient client;
  private final URI url;
  private final Map<String, MetricsSampler.Raw> previousSamples = new HashMap<>();
  private Instant lastAttempt;
  private String lastSentState;
  private Record record;
  private Thread thread;
  private boolean armed;
  private volatile boolean closed;

  Heartbeats(Parts parts, Watch watch) {
    this.parts = parts;
    this.config = parts.config();
    this.watch = watch;
    watch.owner = this;
    this.clock = parts.clock();
    UpdaterConfig.Limits limits = config.limits();
    Duration half = config.heartbeat().interval().dividedBy(2);
    Duration timeout = limits.requestTimeout().compareTo(half) < 0 ? limits.requestTimeout()
        : half.compareTo(Duration.ofSeconds(1)) < 0 ? Duration.ofSeconds(1) : half;
    // A heartbeat is a few hundred bytes: its whole exchange ends within about twice the timeout.
    this.client = new RepositoryClient(config.repository(), new UpdaterConfig.Limits(limits.maxDownloadBytes(),
        limits.minFreeDiskBytes(), timeout, timeout, limits.minDownloadRate(), timeout));
    this.url = config.repository().resolve("v1/heartbeats");
  }

  /**
   * The state a heartbeat reports for an update state: {@code IDLE} while polling (BEGIN, RESOLVE)
   * and after an event (END_ACTION, END), else the state's name.
   */
  static String reported(UpdateState state) {
    return switch (state) {
      case BEGIN, RESOLVE, END_ACTION, END -> "IDLE";
      default -> state.name();
    };
  }

  /** The state the heartbeats report, fed by the engine's events. */
  Watch watch() {
    return watch;
  }

  /** Whether heartbeats are sent: only a node with a credential is heard. */
  public boolean enabled() {
    return config.node().credential() != null;
  }

  /**
   * Starts the heartbeats with this engine's first event, that is once it holds the update lock:
   * an updater that finds another one working exits having sent and written nothing. Does nothing
   * without a credential.
   */
  public synchronized void start() {
    if (!enabled()) {
      parts.events().info("no heartbeats: node.credential is not set (repo-server hears only nodes it knows)");
      return;
    }
    armed = true;
  }

  private synchronized void launchIfArmed() {
    if (!armed || thread != null || closed) {
      return;
    }
    thread = new Thread(this::loop, "updater-heartbeats");
    thread.setDaemon(true);
    thread.start();
  }

  private void loop() {
    while (!closed) {
      try {
        tick();
      } catch (RuntimeException e) {
        parts.events().warn("heartbeat: unexpected failure: " + e); // never the end of the heartbeats
      }
      try {
        watch.await(untilNext());
      } catch (InterruptedException e) {
        return;
      }
    }
  }

  /** How long until the next heartbeat is due, at most a second (a state change wakes the thread sooner). */
  private Duration untilNext() {
    if (lastAttempt == null) {
      return Duration.ZERO;
    }
    Duration left = Duration.between(clock.instant(), lastAttempt.plus(config.heartbeat().interval()));
    if (left.isNegative()) {
      return Duration.ZERO;
    }
    return left.compareTo(MIN_SPACING) < 0 ? left : MIN_SPACING;
  }

  /**
   * Sends a heartbeat if one is due: the first, one per interval, or a change of the reported state
   * (at least {@link #MIN_SPACING} after the previous one).
   *
   * @return whether one was attempted
   */
  boolean tick() {
    if (!enabled()) {
      return false;
    }
    Instant now = clock.instant();
    String state = watch.state();
    boolean due = lastAttempt == null || !now.isBefore(lastAttempt.plus(config.heartbeat().interval()))
        || (!state.equals(lastSentState) && !now.isBefore(lastAttempt.plus(MIN_SPACING)));
    if (!due) {
      return false;
    }
    lastAttempt = now;
    lastSentState = state;
    send(build(state, now));
    return true;
  }

  /** The heartbeat of this moment: the installed version, its health and sampled metrics. */
  Heartbeat build(String state, Instant now) {
    String version = parts.home().currentVersion().orElse(null);
    Boolean healthy = null;
    Double errorRate = null;
    Double latency = null;
    if (version != null) {
      UpdaterConfig.Health health = config.health();
      if ((health.url() != null || health.command() != null) && !Heartbeat.switching(state)) {
        healthy = quietly(() -> parts.health().checkOnce(version) == null);
      }
      MetricsSampler metrics = parts.metrics();
      if (metrics != null) {
        MetricsSampler.Sample sample = quietly(() -> sample(metrics, version));
        if (sample != null) {
          errorRate = figure(sample.errorRate());
          latency = figure(sample.latency());
        }
      }
    }
    return new Heartbeat(config.node().id(), config.app(), config.channel(), version, config.node().labels(), state,
        healthy, errorRate, latency, config.heartbeat().intervalSeconds(), now);
  }

  /** Gauges as they are; ratios of counters over the increase since this version's previous sample. */
  private MetricsSampler.Sample sample(MetricsSampler metrics, String version) {
    MetricsSampler.Raw raw = metrics.sampleRaw(version);
    if (raw == null) {
      return null;
    }
    MetricsSampler.Raw before = previousSamples.get(version);
    previousSamples.clear(); // only the installed version's previous sample matters
    previousSamples.put(version, raw);
    return metrics.derive(before, raw);
  }

  private void send(Heartbeat heartbeat) {
    Map<String, String> headers = new LinkedHashMap<>();
    headers.put("X-Upgradekit-Node", config.node().id());
    headers.put("Authorization", config.node().authorization());
    String failure;
    try {
      RepositoryClient.Fetched answer = client.post(url, ApiBody.HEARTBEAT.write(heartbeat), headers);
      if (answer.status() / 100 == 2) {
        sent(heartbeat.sentAt());
        return;
      }
      failure = "HTTP " + answer.status() + (answer.status() == 401 || answer.status() == 403
          ? " (check node.id and node.credential)" : "")
          + answer.error().map(e -> " (" + e.code() + ": " + e.message() + ")").orElse("");
    } catch (UpgradeException e) {
      failure = e.getMessage();
    }
    failed(heartbeat.sentAt(), failure);
  }

  private void sent(Instant at) {
    Record now = record();
    if (now.failedInARow() > 0 || now.lastSentAt() == null) {
      if (now.failedInARow() > 0) {
        parts.events().info("heartbeats get through to " + url + " again (after " + now.failedInARow()
            + " failed)");
      }
      write(new Record(now.failed(), 0, now.lastFailureAt(), now.lastFailure(), at));
    }
  }

  private void failed(Instant at, String why) {
    Record now = record();
    if (now.failedInARow() == 0) {
      // Logged once per run of failures: a server that is down for an hour writes one line, not 120.
      parts.events().warn("heartbeat to " + url + " failed (" + why + "); counted in status, retried every "
          + config.heartbeat().interval().toSeconds() + " s");
    }
    write(new Record(now.failed() + 1, now.failedInARow() + 1, at, why, now.lastSentAt()));
  }

  private Record record() {
    if (record == null) {
      record = read(parts.home().state());
    }
    return record;
  }

  private void write(Record next) {
    record = next;
    try {
      StateFiles.write(file(parts.home().state()), Json.canonicalBytes(next));
    } catch (UpgradeException e) {
      parts.events().warn("cannot write " + FILE + ": " + e.getMessage());
    }
  }

  /** The heartbeat record of a target ({@link Record#NONE} when there is none or it cannot be read). */
  public static Record read(Path stateDir) {
    try {
      Record r = StateFiles.read(file(stateDir), Record.class, "heartbeat record");
      return r == null ? Record.NONE : r;
    } catch (UpgradeException e) {
      return Record.NONE; // only status reads it; the next failure writes it afresh
    }
  }

  private static Path file(Path stateDir) {
    return stateDir.resolve(FILE);
  }

  /** Stops the thread (waits a bounded time for a heartbeat in flight). */
  @Override
  public void close() {
    closed = true;
    watch.wake();
    Thread t;
    synchronized (this) {
      t = thread;
    }
    if (t != null) {
      try {
        t.join(Duration.ofSeconds(5).toMillis());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  private static Double figure(double value) {
    return Double.isFinite(value) && value >= 0 ? value : null;
  }

  private interface Probe<T> {
    T get();
  }

  /** A health check or metrics sample that fails (damaged state, no service) says nothing, never ends a heartbeat. */
  private static <T> T quietly(Probe<T> probe) {
    try {
      return probe.get();
    } catch (RuntimeException e) {
      return null;
    }
  }
}
