package io.upgradekit.updater.config;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * One managed target, as read from its YAML file by {@link ConfigLoader}. Every value has been
 * checked; paths are absolute. The reference with defaults is {@code docs/node-updater.md}.
 *
 * @param file the configuration file this was read from
 * @param repository the repository's base URL, always ending in '/'
 * @param trustRoot the pinned trust root file ({@code repository.trustRoot})
 * @param app the app this target runs
 * @param channel the channel it follows
 * @param home the target's home: {@code versions/}, the {@code current} link, {@code state/}
 * @param node this node's id, credential and labels
 * @param poll poll interval, jitter and backoff
 * @param limits caps and the minimum free disk
 * @param retention how many complete versions to keep on disk (at least 2: current and previous)
 * @param stageOnly stop after STAGE (preheat), so a later run's switch window is only stop, switch, start
 * @param maxCrashes interrupted attempts at one release after which it is marked bad on this node
 * @param service how the target runs and is switched
 * @param health the health check run after start
 * @param watch the metrics watch window after the health check, or null when disabled
 * @param gate the rollout gate
 * @param feedback where reports go
 * @param heartbeat how often the node announces itself to repo-server
 */
public record UpdaterConfig(
    Path file,
    URI repository,
    Path trustRoot,
    String app,
    String channel,
    Path home,
    Node node,
    Poll poll,
    Limits limits,
    int retention,
    boolean stageOnly,
    int maxCrashes,
    Service service,
    Health health,
    Watch watch,
    Gate gate,
    Feedback feedback,
    Heartbeat heartbeat) {

  public UpdaterConfig {
    Objects.requireNonNull(repository, "repository");
    Objects.requireNonNull(trustRoot, "trustRoot");
    Objects.requireNonNull(app, "app");
    Objects.requireNonNull(channel, "channel");
    Objects.requireNonNull(home, "home");
    Objects.requireNonNull(node, "node");
    Objects.requireNonNull(poll, "poll");
    Objects.requireNonNull(limits, "limits");
    Objects.requireNonNull(service, "service");
    Objects.requireNonNull(health, "health");
    Objects.requireNonNull(gate, "gate");
    Objects.requireNonNull(feedback, "feedback");
    Objects.requireNonNull(heartbeat, "heartbeat");
  }

  /**
   * @param credential HMAC-SHA256(server secret, node id) as the server issued it, or null
   * @param labels free-form {@code key=value} labels ({@code node.labels}) the node's heartbeats
   *     carry, for the rollout's waves (e.g. one zone per wave); checked by release-schema's label
   *     rules
   */
  public record Node(String id, String credential, Map<String, String> labels) {
    public Node {
      Objects.requireNonNull(id, "id");
      labels = labels == null ? Map.of() : Map.copyOf(labels);
    }

    public Node(String id, String credential) {
      this(id, credential, Map.of());
    }

    /**
     * The {@code Authorization} header value repo-server expects from a node: {@code Basic
     * base64(<node>:<credential>)}, or null without a credential.
     */
    public String authorization() {
      return credential == null ? null : "Basic " + java.util.Base64.getEncoder()
          .encodeToString((id + ":" + credential).getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }

    @Override
    public String toString() {
      return "Node[id=" + id + ", credential=" + (credential == null ? "none" : "***") + ", labels=" + labels + "]";
    }
  }

  /**
   * @param interval the daemon's wait between polls
   * @param jitter the wait's random spread (±)
   * @param maxBackoff the longest wait after failures
   * @param calls between polls, ask repo-server to call the node when a rollout needs it now
   *     ({@code GET /v1/calls}; needs a node credential)
   */
  public record Poll(Duration interval, Duration jitter, Duration maxBackoff, boolean calls) {
    /** Without calls (tests of the polling alone). */
    public Poll(Duration interval, Duration jitter, Duration maxBackoff) {
      this(interval, jitter, maxBackoff, false);
    }
  }

  /**
   * @param maxDownloadBytes largest blob the updater downloads, whatever the manifest says
   * @param minFreeDiskBytes space that must remain free after download and staging
   * @param requestTimeout connect and response-header timeout
   * @param stallTimeout longest time a body may deliver no byte before the transfer is aborted
   * @param minDownloadRate bytes per second every transfer must reach over each {@code
   *     minDownloadRateWindow}; it also sets each transfer's total deadline ({@link #deadlineFor})
   * @param minDownloadRateWindow the window over which the rate is measured
   */
  public record Limits(long maxDownloadBytes, long minFreeDiskBytes, Duration requestTimeout, Duration stallTimeout,
      long minDownloadRate, Duration minDownloadRateWindow) {
    /** 4 KiB/s: a link slower than this is broken, not slow. */
    public static final long DEFAULT_MIN_DOWNLOAD_RATE = 4 * 1024;
    public static final Duration DEFAULT_MIN_DOWNLOAD_RATE_WINDOW = Duration.ofSeconds(60);

    public Limits {
      Objects.requireNonNull(requestTimeout, "requestTimeout");
      Objects.requireNonNull(stallTimeout, "stallTimeout");
      Objects.requireNonNull(minDownloadRateWindow, "minDownloadRateWindow");
      if (minDownloadRate <= 0 || minDownloadRateWindow.isZero() || minDownloadRateWindow.isNegative()) {
        throw new IllegalArgumentException("minDownloadRate and minDownloadRateWindow must be positive");
      }
    }

    /** The defaults for the two rate limits, with the given sizes and timeouts. */
    public Limits(long maxDownloadBytes, long minFreeDiskBytes, Duration requestTimeout, Duration stallTimeout) {
      this(maxDownloadBytes, minFreeDiskBytes, requestTimeout, stallTimeout, DEFAULT_MIN_DOWNLOAD_RATE,
          DEFAULT_MIN_DOWNLOAD_RATE_WINDOW);
    }

    /**
     * The total deadline of a transfer of {@code bytes} (a signed size, or the cap when none is
     * signed): the request timeout for connecting and the headers, one rate window, and the time
     * the body takes at exactly the minimum rate. A transfer that keeps the minimum rate always
     * ends within it.
     */
    public Duration deadlineFor(long bytes) {
      long seconds = Math.max(0, bytes) / minDownloadRate + 1;
      return requestTimeout.plus(minDownloadRateWindow).plusSeconds(seconds);
    }
  }

  /** How versions are switched. */
  public enum Strategy {
    /** Stop the old process, switch, start the new one. */
    RESTART,
    /** Start the new process beside the old one (both bind with SO_REUSEPORT), verify, drain the old. */
    OVERLAP,
    /**
     * The target is this updater (self-upgrade): after the switch the updater exits with status
     * 75 ({@code ExitStatus.RESTART}) and its launcher runs the new
     * {@code current/}, which verifies and commits; if it cannot start, the launcher switches back.
     */
    SELF
  }

  /**
   * The service. Either {@code process} (the updater starts and stops it, keeping its original
   * parameters) or {@code start}/{@code stop} commands with an optional pid file.
   *
   * @param socket the listening socket the updater holds and hands to every process it starts, or
   *     null ({@code service.socket} absent: each process binds its own)
   * @param startGate with {@code restart}: how long the new version may take to get ready at its
   *     start gate before the old one is stopped, or null ({@code service.startGate} absent: stop,
   *     then start). The service must support the gate ({@code UPGRADEKIT_START_GATE}; see
   *     {@code ServiceController.START_GATE_VARIABLE}).
   */
  public record Service(
      Strategy strategy,
      ProcessSpec process,
      List<String> start,
      List<String> stop,
      Path pidFile,
      Duration stopTimeout,
      Duration startGrace,
      Socket socket,
      Duration startGate) {}

  /**
   * {@code service.socket}: the service's listening socket outlives its processes. The updater's
   * launcher holds it (from systemd's socket unit, or bound for {@code UPDATER_LISTEN}) as its
   * standard input, and every process the updater starts inherits it, so connections wait in the
   * kernel's queue while no process accepts instead of being refused.
   *
   * @param host the address it must be bound to: an IP address or a name, null for every address
   * @param port its port
   * @param pass how a started process gets it
   */
  public record Socket(String host, int port, Pass pass) {
    public Socket {
      Objects.requireNonNull(pass, "pass");
      if (port < 1 || port > 65535) {
        throw new IllegalArgumentException("port must be 1-65535, not " + port);
      }
    }

    /** As configured: {@code 127.0.0.1:8080}, {@code [::1]:8080}, or {@code 8080} for every address. */
    public String listen() {
      return host == null ? Integer.toString(port) : (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
    }
  }

  /** How a started process gets the held socket ({@code service.socket.pass}). */
  public enum Pass {
    /** As its standard input: {@code System.inheritedChannel()}, Jetty's {@code setInheritChannel(true)}, inetd. */
    STDIN,
    /** As file descriptor 3 with {@code LISTEN_FDS=1} and {@code LISTEN_PID}: systemd's protocol ({@code sd_listen_fds}). */
    LISTEN_FDS
  }

  /** A command line with its working directory and extra environment. */
  public record ProcessSpec(List<String> command, Path workingDir, Map<String, String> environment) {
    public ProcessSpec {
      command = List.copyOf(command);
      environment = Map.copyOf(environment);
    }
  }

  /**
   * Either an HTTP URL (2xx is healthy) or a command (exit 0 is healthy); neither for a {@code self}
   * target, whose health is that the new updater runs.
   */
  public record Health(ServiceUrl url, List<String> command, Duration timeout, int attempts, Duration interval) {}

  /**
   * A health or metrics URL of the service ({@code health.url}, {@code watch.metrics.url}). It may
   * contain {@value #PROCESS_PORT}: the private loopback port of the one process being checked.
   * Every process the updater starts gets {@code UPGRADEKIT_PORT_FILE} (a file in {@code state/});
   * a service that supports it binds an extra loopback port (port 0, without {@code SO_REUSEPORT})
   * and writes the port number there. With {@code overlap} both versions share the service's port
   * and the kernel picks which process answers; the private port reaches exactly one.
   *
   * @param template the URL as configured, placeholder included
   */
  public record ServiceUrl(String template) {
    /** The placeholder for the checked process's private port. */
    public static final String PROCESS_PORT = "{processPort}";

    public ServiceUrl {
      Objects.requireNonNull(template, "template");
    }

    /** A fixed URL (no placeholder). */
    public static ServiceUrl of(URI uri) {
      return new ServiceUrl(uri.toString());
    }

    /** True when the URL names the checked process's private port. */
    public boolean perProcess() {
      return template.contains(PROCESS_PORT);
    }

    /** The URL with the placeholder replaced by {@code port}. */
    public URI resolve(int port) {
      return URI.create(template.replace(PROCESS_PORT, Integer.toString(port)));
    }

    /** The URL of a fixed (non per-process) template. */
    public URI fixed() {
      if (perProcess()) {
        throw new IllegalStateException(template + " needs a process port");
      }
      return URI.create(template);
    }

    @Override
    public String toString() {
      return template;
    }
  }

  public enum MetricsFormat { PROMETHEUS, JSON }

  /**
   * The watch window after the health check.
   *
   * @param errorRate metric name (Prometheus, optionally with {labels}) or dot path (JSON)
   * @param latency same, for latency
   * @param requireBoth true: roll back when error rate AND latency exceed their factors; false: either
   */
  public record Watch(
      Duration window,
      Duration interval,
      ServiceUrl metricsUrl,
      MetricsFormat format,
      String errorRate,
      String latency,
      double errorRateFactor,
      double latencyFactor,
      boolean requireBoth,
      double minErrorRate,
      double minLatency) {}

  /**
   * @param rolloutState follow the signed rollout state of the release (proceed, pause, halt,
   *     recall); a missing or expired one means pause
   * @param claims ask repo-server for a rollout slot before stopping anything
   * @param scope the slot set to claim from (e.g. a wave: {@code wave-1})
   * @param timeout how long to wait for the gate to open
   */
  public record Gate(boolean rolloutState, boolean claims, String scope, Duration timeout) {}

  /** @param url where reports are posted, or null to keep them only in history */
  public record Feedback(URI url) {}

  /**
   * @param interval how often the node sends {@code POST /v1/heartbeats} (also at each change of
   *     its update state); repo-server counts it unavailable after three intervals without one
   */
  public record Heartbeat(Duration interval) {
    public static final Duration DEFAULT_INTERVAL = Duration.ofSeconds(30);

    public Heartbeat {
      Objects.requireNonNull(interval, "interval");
    }

    /** The interval in whole seconds (rounded up), as the heartbeat tells the server. */
    public long intervalSeconds() {
      return Math.max(1, (interval.toMillis() + 999) / 1000);
    }
  }
}
