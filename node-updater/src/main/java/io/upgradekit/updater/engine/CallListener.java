package io.upgradekit.updater.engine;

import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.api.ApiBody;
import io.upgradekit.schema.api.NodeCall;
import io.upgradekit.updater.config.UpdaterConfig;
import io.upgradekit.updater.download.RepositoryClient;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Between the daemon's polls, asks repo-server to call the node when a rollout needs it now
 * ({@code GET /v1/calls}, held by the server up to {@link #WAIT}): the canary starts within a
 * moment of the rollout's start, and each wave within a moment of its opening, instead of at the
 * nodes' next polls (docs/rollouts.md, "Calls"). A call only makes the daemon poll at once; the
 * poll decides, as always, from signed documents. Polls go on at their interval either way.
 *
 * <p>Runs on its own thread for the daemon's life, with one request at a time. A repository that
 * answers no calls (static files only, or a repo-server without them: 404) ends it for this run,
 * logged once; other failures are logged once per run of failures and tried again after a pause
 * that doubles up to {@code poll.interval}. Needs the node credential, like heartbeats.
 */
public final class CallListener implements AutoCloseable {
  /** How long a request asks the server to hold it (the server may hold it shorter). */
  static final Duration WAIT = Duration.ofSeconds(25);

  /** The first pause after a failure; it doubles per failure up to {@code poll.interval}. */
  static final Duration FIRST_PAUSE = Duration.ofSeconds(2);

  private final Parts parts;
  private final UpdaterConfig config;
  private final Consumer<NodeCall> onCall;
  private final Sleeper sleeper;
  private final RepositoryClient client;
  private String after;
  private int failures;
  private Thread thread;
  private volatile boolean closed;

  CallListener(Parts parts, Consumer<NodeCall> onCall, Sleeper sleeper) {
    this.parts = parts;
    this.config = parts.config();
    this.onCall = onCall;
    this.sleeper = sleeper;
    UpdaterConfig.Limits limits = config.limits();
    // The answer's headers come when the server calls or the wait ends: the timeout covers the wait.
    Duration headers = WAIT.plus(limits.requestTimeout());
    this.client = new RepositoryClient(config.repository(), new UpdaterConfig.Limits(limits.maxDownloadBytes(),
        limits.minFreeDiskBytes(), headers, headers, limits.minDownloadRate(), limits.minDownloadRateWindow()));
  }

  /** Whether the node asks for calls: {@code poll.calls} and a node credential. */
  public boolean enabled() {
    return config.poll().calls() && config.node().credential() != null;
  }

  /** Starts the thread (nothing without {@link #enabled}). */
  public synchronized void start() {
    if (!enabled() || thread != null || closed) {
      return;
    }
    thread = new Thread(this::loop, "updater-calls");
    thread.setDaemon(true);
    thread.start();
  }

  private void loop() {
    while (!closed) {
      Duration pause;
      try {
        pause = listenOnce();
      } catch (RuntimeException e) {
        pause = failed("unexpected failure: " + e);
      }
      if (pause == null) {
        return;
      }
      if (!pause.isZero()) {
        try {
          sleeper.sleep(pause);
        } catch (InterruptedException e) {
          return;
        }
      }
    }
  }

  /**
   * One request: runs {@code onCall} when the server calls the node.
   *
   * @return the pause before the next request, or null when the repository answers no calls
   */
  Duration listenOnce() {
    RepositoryClient.Fetched answer;
    try {
      answer = client.get(url(), headers());
    } catch (UpgradeException e) {
      return failed(e.getMessage());
    }
    if (answer.status() == 404 || answer.status() == 405) {
      parts.events().info("the repository answers no calls (" + config.repository() + " serves static files only,"
          + " or its repo-server has no GET /v1/calls): the node learns of rollouts at its polls");
      return null;
    }
    if (answer.status() != 200) {
      return failed("HTTP " + answer.status() + (answer.status() == 401 || answer.status() == 403
          ? " (check node.id and node.credential)" : "")
          + answer.error().map(e -> " (" + e.code() + ": " + e.message() + ")").orElse(""));
    }
    NodeCall call;
    try {
      call = ApiBody.NODE_CALL.read(answer.body());
    } catch (UpgradeException e) {
      return failed("a malformed answer: " + e.getMessage());
    }
    if (failures > 0) {
      parts.events().info("calls get through again (after " + failures + " failed)");
      failures = 0;
    }
    after = call.token();
    if (call.call()) {
      onCall.accept(call);
    }
    return Duration.ZERO;
  }

  private Duration failed(String why) {
    if (failures == 0) {
      parts.events().warn("asking " + config.repository() + " for calls failed (" + why + "); the node polls as"
          + " usual and asks again");
    }
    failures++;
    Duration pause = FIRST_PAUSE.multipliedBy(1L << Math.min(failures - 1, 16));
    return pause.compareTo(config.poll().interval()) > 0 ? config.poll().interval() : pause;
  }

  private URI url() {
    StringBuilder query = new StringBuilder("v1/calls?app=").append(encode(config.app()))
        .append("&channel=").append(encode(config.channel()));
    parts.home().currentVersion().ifPresent(v -> query.append("&version=").append(encode(v)));
    if (after != null) {
      query.append("&after=").append(encode(after));
    }
    query.append("&wait=").append(WAIT.toSeconds());
    return config.repository().resolve(query.toString());
  }

  private Map<String, String> headers() {
    Map<String, String> headers = new LinkedHashMap<>();
    headers.put("X-Upgradekit-Node", config.node().id());
    headers.put("Authorization", config.node().authorization());
    return headers;
  }

  private static String encode(String value) {
    return URLEncoder.encode(value, StandardCharsets.UTF_8);
  }

  /** Stops the thread; a request in flight ends with the process (the thread is a daemon thread). */
  @Override
  public void close() {
    closed = true;
    Thread t;
    synchronized (this) {
      t = thread;
    }
    if (t != null) {
      t.interrupt();
    }
  }
}
