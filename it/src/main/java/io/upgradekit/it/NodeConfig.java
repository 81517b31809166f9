package io.upgradekit.it;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * What one node updater is configured with, and the one place its YAML configuration is written
 * ({@link #toYaml}). Short intervals by default, so that tests and the demo take seconds.
 *
 * @param nodeId the node's id (also its credential's name at repo-server)
 * @param strategy {@code restart} or {@code overlap}
 * @param servicePort the port hello-service listens on (the same for every version: {@code overlap}
 *     shares it with {@code SO_REUSEPORT})
 * @param healthTarget which port health and metrics checks use (see {@link HealthTarget})
 * @param pollInterval {@code poll.interval}
 * @param pollJitter {@code poll.jitter}
 * @param healthInterval {@code health.interval} (attempts are sized to wait up to about 30 s)
 * @param watchWindow {@code watch.window}; null for no watch section (health check only)
 * @param watchInterval {@code watch.interval}
 * @param stopTimeout {@code service.stopTimeout}
 * @param gateClaims {@code gate.claims}: ask repo-server for a slot before stopping anything
 * @param gateScope {@code gate.scope}
 * @param serviceEnvironment added to the service's environment ({@code service.process.environment}),
 *     e.g. {@code HELLO_EXTRA_LATENCY_MS}
 * @param heartbeatInterval {@code heartbeat.interval}; null for the updater's default (30 s)
 * @param labels {@code node.labels} (sent with every heartbeat, e.g. {@code zone=a}); empty for none
 * @param heldSocket {@code service.socket}: the daemon's launcher holds the service's listening socket
 *     ({@code UPDATER_LISTEN}) and every hello-service process inherits it instead of binding the port
 * @param app {@code app}: which app the node runs ({@code hello}, or a component of the example shop)
 * @param launcher the service's start script inside a version ({@code bin/hello-service}, {@code bin/cache})
 */
public record NodeConfig(
    String nodeId,
    Strategy strategy,
    int servicePort,
    HealthTarget healthTarget,
    Duration pollInterval,
    Duration pollJitter,
    Duration healthInterval,
    Duration watchWindow,
    Duration watchInterval,
    Duration stopTimeout,
    boolean gateClaims,
    String gateScope,
    Map<String, String> serviceEnvironment,
    Duration heartbeatInterval,
    Map<String, String> labels,
    boolean heldSocket,
    String app,
    String launcher) {

  /** The updater's switch strategy. */
  public enum Strategy {
    /** Stop the old version, switch, start the new one: a gap while neither serves. */
    RESTART,
    /** Start the new version beside the old one on the same port, then drain the old one. */
    OVERLAP,
    /**
     * {@code restart} with {@code service.startGate}: the new version starts while the old one
     * serves and waits at its gate; the old one stops, then the new one accepts.
     */
    RESTART_GATED;

    public String yaml() {
      return this == RESTART_GATED ? "restart" : name().toLowerCase(Locale.ROOT);
    }
  }

  /**
   * Which port the health check and the metrics watch ask.
   *
   * <p>{@link #PROCESS_PORT} (the default): the updater's {@code {processPort}} placeholder, a
   * loopback port each process it starts writes to the file named by {@code UPGRADEKIT_PORT_FILE},
   * so every check reaches exactly the process it is about: the new one at START, the old one for
   * the baseline. {@link #SERVICE_PORT}: the shared service port, as for a service that cannot
   * write a port file. During an {@code overlap} switch both versions answer there, so the START
   * check may be answered by the old process, which is then drained before the new one listens
   * (refused connections; see docs/end-to-end.md, "Measured").
   */
  public enum HealthTarget {
    PROCESS_PORT,
    SERVICE_PORT
  }

  public NodeConfig {
    Objects.requireNonNull(nodeId, "nodeId");
    Objects.requireNonNull(strategy, "strategy");
    Objects.requireNonNull(healthTarget, "healthTarget");
    Objects.requireNonNull(pollInterval, "pollInterval");
    Objects.requireNonNull(pollJitter, "pollJitter");
    Objects.requireNonNull(healthInterval, "healthInterval");
    Objects.requireNonNull(watchInterval, "watchInterval");
    Objects.requireNonNull(stopTimeout, "stopTimeout");
    serviceEnvironment = serviceEnvironment == null ? Map.of() : Map.copyOf(serviceEnvironment);
    labels = labels == null ? Map.of() : Map.copyOf(labels);
    Objects.requireNonNull(app, "app");
    Objects.requireNonNull(launcher, "launcher");
  }

  /**
   * Test and demo defaults: per-process health and metrics checks ({@code {processPort}}), poll
   * every 1 s ± 200 ms, health every 250 ms, a 3 s watch window sampled every second, 15 s to
   * stop, no rollout gate; app {@code hello} started by {@code bin/hello-service}.
   */
  public static NodeConfig defaults(String nodeId, Strategy strategy, int servicePort) {
    return new NodeConfig(nodeId, strategy, servicePort, HealthTarget.PROCESS_PORT, Duration.ofSeconds(1),
        Duration.ofMillis(200), Duration.ofMillis(250), Duration.ofSeconds(3), Duration.ofSeconds(1),
        Duration.ofSeconds(15), false, "default", Map.of(), null, Map.of(), false, "hello", "bin/hello-service");
  }

  /** Another app, started by {@code launcher} (a path inside the version, e.g. {@code bin/cache}). */
  public NodeConfig withApp(String newApp, String newLauncher) {
    return new NodeConfig(nodeId, strategy, servicePort, healthTarget, pollInterval, pollJitter, healthInterval,
        watchWindow, watchInterval, stopTimeout, gateClaims, gateScope, serviceEnvironment, heartbeatInterval, labels,
        heldSocket, newApp, newLauncher);
  }

  public NodeConfig withHealthTarget(HealthTarget target) {
    return new NodeConfig(nodeId, strategy, servicePort, target, pollInterval, pollJitter, healthInterval,
        watchWindow, watchInterval, stopTimeout, gateClaims, gateScope, serviceEnvironment,
        heartbeatInterval, labels, heldSocket, app, launcher);
  }

  public NodeConfig withPoll(Duration interval, Duration jitter) {
    return new NodeConfig(nodeId, strategy, servicePort, healthTarget, interval, jitter, healthInterval,
        watchWindow, watchInterval, stopTimeout, gateClaims, gateScope, serviceEnvironment,
        heartbeatInterval, labels, heldSocket, app, launcher);
  }

  /** {@code window} null: no watch section at all. */
  public NodeConfig withWatch(Duration window, Duration interval) {
    return new NodeConfig(nodeId, strategy, servicePort, healthTarget, pollInterval, pollJitter, healthInterval,
        window, interval, stopTimeout, gateClaims, gateScope, serviceEnvironment,
        heartbeatInterval, labels, heldSocket, app, launcher);
  }

  public NodeConfig withGateClaims(String scope) {
    return new NodeConfig(nodeId, strategy, servicePort, healthTarget, pollInterval, pollJitter, healthInterval,
        watchWindow, watchInterval, stopTimeout, true, scope, serviceEnvironment, heartbeatInterval, labels,
        heldSocket, app, launcher);
  }

  public NodeConfig withServiceEnvironment(Map<String, String> environment) {
    return new NodeConfig(nodeId, strategy, servicePort, healthTarget, pollInterval, pollJitter, healthInterval,
        watchWindow, watchInterval, stopTimeout, gateClaims, gateScope, environment, heartbeatInterval, labels,
        heldSocket, app, launcher);
  }

  public NodeConfig withStopTimeout(Duration timeout) {
    return new NodeConfig(nodeId, strategy, servicePort, healthTarget, pollInterval, pollJitter, healthInterval,
        watchWindow, watchInterval, timeout, gateClaims, gateScope, serviceEnvironment,
        heartbeatInterval, labels, heldSocket, app, launcher);
  }

  /** {@code heartbeat.interval} (repo-server counts the node unavailable after three missed ones). */
  public NodeConfig withHeartbeat(Duration interval) {
    return new NodeConfig(nodeId, strategy, servicePort, healthTarget, pollInterval, pollJitter, healthInterval,
        watchWindow, watchInterval, stopTimeout, gateClaims, gateScope, serviceEnvironment, interval, labels,
        heldSocket, app, launcher);
  }

  /** {@code node.labels}. */
  public NodeConfig withLabels(Map<String, String> newLabels) {
    return new NodeConfig(nodeId, strategy, servicePort, healthTarget, pollInterval, pollJitter, healthInterval,
        watchWindow, watchInterval, stopTimeout, gateClaims, gateScope, serviceEnvironment, heartbeatInterval,
        newLabels, heldSocket, app, launcher);
  }

  /** {@code service.socket}: the daemon holds the service's socket (see {@link #heldSocket()}). */
  public NodeConfig withHeldSocket() {
    return new NodeConfig(nodeId, strategy, servicePort, healthTarget, pollInterval, pollJitter, healthInterval,
        watchWindow, watchInterval, stopTimeout, gateClaims, gateScope, serviceEnvironment, heartbeatInterval, labels,
        true, app, launcher);
  }

  /** The address of the held socket ({@code service.socket.listen}, {@code UPDATER_LISTEN}). */
  public String listen() {
    return "127.0.0.1:" + servicePort;
  }

  /** The service's own URL on its shared port. */
  public URI serviceUrl() {
    return URI.create("http://127.0.0.1:" + servicePort + "/");
  }

  /**
   * The updater's YAML configuration for this node.
   *
   * @param repository repo-server's URL
   * @param trustRoot the pinned trust root file
   * @param home the target's home ({@code current}, {@code versions/}, {@code state/})
   * @param credentialFile the file holding the node's credential
   */
  public String toYaml(URI repository, Path trustRoot, Path home, Path credentialFile) {
    String checkBase = switch (healthTarget) {
      case SERVICE_PORT -> "http://127.0.0.1:" + servicePort;
      case PROCESS_PORT -> "http://127.0.0.1:{processPort}";
    };
    StringBuilder y = new StringBuilder();
    y.append("# Written by the end-to-end harness (io.upgradekit.it.NodeConfig); reference: docs/node-updater.md\n");
    y.append("repository:\n");
    y.append("  url: ").append(q(repository.toString())).append('\n');
    y.append("  trustRoot: ").append(q(trustRoot.toString())).append('\n');
    y.append("app: ").append(q(app)).append('\n');
    y.append("channel: stable\n");
    y.append("home: ").append(q(home.toString())).append('\n');
    y.append("node:\n");
    y.append("  id: ").append(q(nodeId)).append('\n');
    y.append("  credentialFile: ").append(q(credentialFile.toString())).append('\n');
    if (!labels.isEmpty()) {
      y.append("  labels:\n");
      new TreeMap<>(labels).forEach((k, v) -> y.append("    ").append(k).append(": ").append(q(v)).append('\n'));
    }
    y.append("poll:\n");
    y.append("  interval: ").append(d(pollInterval)).append('\n');
    y.append("  jitter: ").append(d(pollJitter)).append('\n');
    y.append("  maxBackoff: 5s\n");
    y.append("limits:\n");
    y.append("  minFreeDisk: 16MB\n");
    y.append("  requestTimeout: 10s\n");
    y.append("  stallTimeout: 10s\n");
    y.append("retention: 3\n");
    y.append("service:\n");
    y.append("  strategy: ").append(strategy.yaml()).append('\n');
    y.append("  stopTimeout: ").append(d(stopTimeout)).append('\n');
    y.append("  startGrace: 300ms\n");
    if (strategy == Strategy.RESTART_GATED) {
      y.append("  startGate: 60s\n");
    }
    if (heldSocket) {
      y.append("  socket:\n");
      y.append("    listen: ").append(q(listen())).append('\n');
    }
    y.append("  process:\n");
    y.append("    command: [").append(q(home.resolve("current").resolve(launcher).toString()))
        .append(", --port, ").append(q(Integer.toString(servicePort))).append("]\n");
    y.append("    workingDir: ").append(q(home.toString())).append('\n');
    if (!serviceEnvironment.isEmpty()) {
      y.append("    environment:\n");
      new TreeMap<>(serviceEnvironment).forEach((k, v) -> y.append("      ").append(k).append(": ").append(q(v))
          .append('\n'));
    }
    y.append("health:\n");
    y.append("  url: ").append(q(checkBase + "/health")).append('\n');
    y.append("  timeout: 2s\n");
    y.append("  attempts: ").append(Math.max(1, (int) (30_000 / Math.max(1, healthInterval.toMillis())))).append('\n');
    y.append("  interval: ").append(d(healthInterval)).append('\n');
    if (watchWindow != null) {
      y.append("watch:\n");
      y.append("  window: ").append(d(watchWindow)).append('\n');
      y.append("  interval: ").append(d(watchInterval)).append('\n');
      y.append("  metrics:\n");
      y.append("    url: ").append(q(checkBase + "/metrics")).append('\n');
      y.append("    format: prometheus\n");
      y.append("    errorRate: hello_request_errors_total / hello_requests_total\n");
      y.append("    latency: hello_request_duration_seconds_sum / hello_request_duration_seconds_count\n");
    }
    if (heartbeatInterval != null) {
      y.append("heartbeat:\n");
      y.append("  interval: ").append(d(heartbeatInterval)).append('\n');
    }
    if (gateClaims) {
      y.append("gate:\n");
      y.append("  claims: true\n");
      y.append("  scope: ").append(q(gateScope)).append('\n');
      y.append("  timeout: 5m\n");
    }
    return y.toString();
  }

  private static String d(Duration duration) {
    long ms = duration.toMillis();
    return ms % 1000 == 0 ? (ms / 1000) + "s" : ms + "ms";
  }

  /** A double-quoted YAML scalar. */
  private static String q(String s) {
    return '"' + s.replace("\\", "\\\\").replace("\"", "\\\"") + '"';
  }
}
