package io.upgradekit.updater.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class ConfigLoaderTest {
  private static final Path FILE = Path.of("/etc/upgradekit/demo.yaml");
  private static final String MINIMAL = """
      repository:
        url: https://updates.example.com/repo
        trustRoot: root.json
      app: demo
      channel: stable
      home: /opt/demo
      node:
        id: node-1
      service:
        process:
          command: [java, -jar, current/app.jar]
      health:
        url: http://127.0.0.1:8080/health
      """;

  @Test
  void minimalConfigGetsDocumentedDefaults() {
    UpdaterConfig c = ConfigLoader.parse(FILE, MINIMAL);
    assertThat(c.repository().toString()).isEqualTo("https://updates.example.com/repo/");
    assertThat(c.trustRoot()).isEqualTo(Path.of("/etc/upgradekit/root.json"));
    assertThat(c.service().strategy()).isEqualTo(UpdaterConfig.Strategy.RESTART);
    assertThat(c.service().stopTimeout()).isEqualTo(Duration.ofSeconds(30));
    assertThat(c.poll().interval()).isEqualTo(Duration.ofSeconds(60));
    assertThat(c.limits().minFreeDiskBytes()).isEqualTo(256L << 20);
    assertThat(c.limits().minDownloadRate()).isEqualTo(4096);
    assertThat(c.limits().minDownloadRateWindow()).isEqualTo(Duration.ofSeconds(60));
    assertThat(c.retention()).isEqualTo(3);
    assertThat(c.feedback().url().toString()).isEqualTo("https://updates.example.com/repo/v1/feedback");
    assertThat(c.watch()).isNull();
  }

  @Test
  void heartbeatsEveryThirtySecondsWithoutLabelsByDefault() {
    UpdaterConfig c = ConfigLoader.parse(FILE, MINIMAL);
    assertThat(c.heartbeat().interval()).isEqualTo(Duration.ofSeconds(30));
    assertThat(c.heartbeat().intervalSeconds()).isEqualTo(30);
    assertThat(c.node().labels()).isEmpty();
  }

  @Test
  void nodeLabelsAreReadAsPairsOrAsAMapping() {
    UpdaterConfig pairs = ConfigLoader.parse(FILE, MINIMAL.replace("  id: node-1\n",
        "  id: node-1\n  labels: zone=eu-west-1a, rack=3\nheartbeat:\n  interval: 1500ms\n"));
    assertThat(pairs.node().labels()).isEqualTo(java.util.Map.of("zone", "eu-west-1a", "rack", "3"));
    assertThat(pairs.heartbeat().intervalSeconds()).isEqualTo(2); // rounded up for the server
    UpdaterConfig mapping = ConfigLoader.parse(FILE, MINIMAL.replace("  id: node-1\n",
        "  id: node-1\n  labels:\n    zone: a\n    rack: 3\n"));
    assertThat(mapping.node().labels()).containsEntry("zone", "a").containsEntry("rack", "3");
  }

  @Test
  void badLabelsAndHeartbeatIntervalsAreRefusedWithTheFix() {
    assertInvalid(MINIMAL.replace("  id: node-1\n", "  id: node-1\n  labels: zone\n"),
        "node.labels is 'zone': 'zone' is not key=value");
    assertInvalid(MINIMAL.replace("  id: node-1\n", "  id: node-1\n  labels: Zone=a\n"),
        "node.labels has the label key 'Zone'");
    assertInvalid(MINIMAL.replace("  id: node-1\n", "  id: node-1\n  labels: zone=a b\n"),
        "node.labels has 'a b' as the value of zone");
    assertInvalid(MINIMAL.replace("  id: node-1\n", "  id: node-1\n  labels: zone=a,zone=b\n"),
        "node.labels names the label 'zone' twice");
    assertInvalid(MINIMAL + "heartbeat:\n  interval: 500ms\n", "heartbeat.interval is 500ms: write a duration from 1s "
        + "to 1h");
    assertInvalid(MINIMAL + "heartbeat:\n  interval: 2h\n", "heartbeat.interval is 2h");
    assertInvalid(MINIMAL + "heartbeat:\n  interval: often\n", "heartbeat.interval is 'often'");
    assertInvalid(MINIMAL + "heartbeat:\n  every: 30s\n", "heartbeat.every is not a known key");
  }

  private static void assertInvalid(String yaml, String message) {
    assertThatThrownBy(() -> ConfigLoader.parse(FILE, yaml)).isInstanceOfSatisfying(UpgradeException.class, e -> {
      assertThat(e.code()).isEqualTo(ErrorCode.CONFIG_INVALID);
      assertThat(e.getMessage()).contains(message);
    });
  }

  @Test
  void fullConfigIsRead() {
    UpdaterConfig c = ConfigLoader.parse(FILE, MINIMAL.replace("health:\n", """
        limits:
          minFreeDisk: 2GiB
          stallTimeout: 500ms
        watch:
          window: 2m
          metrics:
            url: http://127.0.0.1:8080/metrics
            format: json
            errorRate: http.errors.rate
            latency: http.latency.p99
          policy:
            combine: any
            errorRateFactor: 4
        health:
        """));
    assertThat(c.limits().minFreeDiskBytes()).isEqualTo(2L << 30);
    assertThat(c.limits().stallTimeout()).isEqualTo(Duration.ofMillis(500));
    assertThat(c.watch().window()).isEqualTo(Duration.ofMinutes(2));
    assertThat(c.watch().format()).isEqualTo(UpdaterConfig.MetricsFormat.JSON);
    assertThat(c.watch().requireBoth()).isFalse();
    assertThat(c.watch().errorRateFactor()).isEqualTo(4.0);
    assertThat(c.watch().latencyFactor()).isEqualTo(2.0);
  }

  @Test
  void sizesAndDurationsFollowTheProductsOneGrammar() {
    // The same forms repo-server's options take (release-schema's Quantities): 64m is 64 MiB.
    UpdaterConfig c = ConfigLoader.parse(FILE, MINIMAL.replace("health:\n", """
        limits:
          maxDownloadSize: 64m
          minFreeDisk: 512MB
          requestTimeout: 1d
        health:
        """));
    assertThat(c.limits().maxDownloadBytes()).isEqualTo(64L << 20);
    assertThat(c.limits().minFreeDiskBytes()).isEqualTo(512_000_000L);
    assertThat(c.limits().requestTimeout()).isEqualTo(Duration.ofDays(1));
  }

  @Test
  void errorsNameTheKeyAndTheFix() {
    assertError(MINIMAL.replace("  stopTimeout", "x").replace("service:\n", "service:\n  stopTimeout: 30\n"),
        "service.stopTimeout", "e.g. 500ms, 30s");
    assertError(MINIMAL.replace("app: demo", "app: Demo App"), "app", "lowercase letters");
    assertError(MINIMAL.replace("channel: stable", "chanel: stable"), "chanel", "known keys are");
    assertError(MINIMAL.replace("home: /opt/demo\n", ""), "home", "is missing");
    assertError(MINIMAL + "retention: 1\n", "retention", "at least 2");
    assertError(MINIMAL.replace("url: http://127.0.0.1:8080/health", "command: [true]\n  url: http://x/h"),
        "health.url", "keep one");
    assertError(MINIMAL + "service2: {}\n", "service2", "known keys");
    assertError(MINIMAL.replace("command: [java, -jar, current/app.jar]", "command: java -jar app.jar"),
        "service.process.command", "list");
    assertError(MINIMAL.replace("  process:\n    command: [java, -jar, current/app.jar]\n",
        "  strategy: overlap\n  start: [a]\n  stop: [b]\n"), "service.strategy", "overlap needs service.process");
    assertError("a: [", "", "not valid YAML");
  }

  @Test
  void healthAndMetricsUrlsMayNameTheCheckedProcessesPrivatePort() {
    UpdaterConfig c = ConfigLoader.parse(FILE, MINIMAL.replace("http://127.0.0.1:8080/health",
        "http://127.0.0.1:{processPort}/health") + """
        watch:
          metrics:
            url: http://localhost:{processPort}/metrics
            errorRate: e
            latency: l
        """);
    assertThat(c.health().url().perProcess()).isTrue();
    assertThat(c.health().url().resolve(41234).toString()).isEqualTo("http://127.0.0.1:41234/health");
    assertThat(c.watch().metricsUrl().resolve(7).toString()).isEqualTo("http://localhost:7/metrics");
    assertThat(ConfigLoader.parse(FILE, MINIMAL).health().url().perProcess()).isFalse();
  }

  @Test
  void theProcessPortPlaceholderIsCheckedWithAFix() {
    String perProcess = MINIMAL.replace("http://127.0.0.1:8080/health", "http://127.0.0.1:{processPort}/health");
    assertError(perProcess.replace("  process:\n    command: [java, -jar, current/app.jar]\n",
        "  start: [systemctl, start, demo]\n  stop: [systemctl, stop, demo]\n"), "health.url",
        "with service.start/stop the updater does not start the process itself: use the service's own port");
    assertError(MINIMAL.replace("  process:\n    command: [java, -jar, current/app.jar]\n",
        "  start: [a]\n  stop: [b]\n") + "watch:\n  metrics:\n    url: http://127.0.0.1:{processPort}/m\n"
        + "    errorRate: e\n    latency: l\n", "watch.metrics.url", "UPGRADEKIT_PORT_FILE");
    assertError(MINIMAL.replace("8080/health", "{processport}/health"), "health.url",
        "the only placeholder is {processPort}");
    assertError(MINIMAL.replace("127.0.0.1:8080/health", "10.0.0.5:{processPort}/health"), "health.url",
        "the host must be 127.0.0.1, [::1] or localhost");
    assertError(MINIMAL.replace("8080/health", "8080/{processPort}"), "health.url", "must be the URL's port");
    assertError(MINIMAL.replace("http://127.0.0.1:8080/health", "https://127.0.0.1:{processPort}/health"),
        "health.url", "plain http");
  }

  @Test
  void aHeldSocketIsOffUnlessConfiguredAndPassedAsStandardInputByDefault() {
    assertThat(ConfigLoader.parse(FILE, MINIMAL).service().socket()).isNull();
    String held = MINIMAL.replace("  process:\n", "  socket:\n    listen: 127.0.0.1:8080\n  process:\n");
    UpdaterConfig.Socket socket = ConfigLoader.parse(FILE, held).service().socket();
    assertThat(socket).isEqualTo(new UpdaterConfig.Socket("127.0.0.1", 8080, UpdaterConfig.Pass.STDIN));
    assertThat(socket.listen()).isEqualTo("127.0.0.1:8080");
    UpdaterConfig.Socket v6 = ConfigLoader.parse(FILE, held.replace("listen: 127.0.0.1:8080", "listen: '[::1]:9090'")
        .replace("  process:\n", "    pass: listen-fds\n  process:\n")).service().socket();
    assertThat(v6).isEqualTo(new UpdaterConfig.Socket("::1", 9090, UpdaterConfig.Pass.LISTEN_FDS));
    assertThat(v6.listen()).isEqualTo("[::1]:9090");
    UpdaterConfig.Socket everyAddress = ConfigLoader.parse(FILE, held.replace("listen: 127.0.0.1:8080", "listen: 8080")).service()
        .socket();
    assertThat(everyAddress.host()).isNull();
    assertThat(everyAddress.listen()).isEqualTo("8080");
  }

  @Test
  void aHeldSocketIsCheckedWithAFix() {
    String held = MINIMAL.replace("  process:\n", "  socket:\n    listen: 127.0.0.1:8080\n  process:\n");
    assertError(held.replace("listen: 127.0.0.1:8080", "listen: 127.0.0.1:80800"), "service.socket.listen",
        "write HOST:PORT (127.0.0.1:8080, [::1]:8080) or a port alone");
    assertError(held.replace("listen: 127.0.0.1:8080", "listen: '::1:8080'"), "service.socket.listen", "write HOST:PORT");
    assertError(held.replace("listen: 127.0.0.1:8080", "listen: 0"), "service.socket.listen", "write HOST:PORT");
    assertError(held.replace("    listen: 127.0.0.1:8080\n", "    pass: stdin\n"), "service.socket.listen",
        "is missing");
    assertError(held.replace("  process:\n", "    pass: fd3\n  process:\n"), "service.socket.pass",
        "use stdin (the process's standard input");
    assertError(held.replace("  process:\n", "    port: 1\n  process:\n"), "service.socket.port", "known keys");
    assertError(held.replace("  process:\n    command: [java, -jar, current/app.jar]\n",
        "  start: [systemctl, start, demo]\n  stop: [systemctl, stop, demo]\n"), "service.socket",
        "needs service.process: with service.start/stop the updater does not start the process");
    assertError(held.replace("  process:\n    command: [java, -jar, current/app.jar]\n", "  strategy: self\n"),
        "service.socket", "a self target has no service process");
  }

  @Test
  void aStartGateIsForARestartOfAProcessTheUpdaterStarts() {
    String gated = MINIMAL.replace("  process:\n", "  startGate: 45s\n  process:\n");
    assertThat(ConfigLoader.parse(FILE, gated).service().startGate()).isEqualTo(java.time.Duration.ofSeconds(45));
    assertThat(ConfigLoader.parse(FILE, MINIMAL).service().startGate()).as("off by default").isNull();
    assertError(gated.replace("  startGate: 45s\n", "  startGate: 0s\n"), "service.startGate", "more than 0");
    assertError(gated.replace("  startGate: 45s\n", "  strategy: overlap\n  startGate: 45s\n"), "service.startGate",
        "overlap needs no gate");
    assertError(gated.replace("  process:\n    command: [java, -jar, current/app.jar]\n",
        "  start: [systemctl, start, demo]\n  stop: [systemctl, stop, demo]\n"), "service.startGate",
        "works with strategy restart and service.process");
    assertError(gated.replace("  process:\n    command: [java, -jar, current/app.jar]\n", "  strategy: self\n"),
        "service.startGate", "a self target has no service process");
  }

  @Test
  void theDistributionsSampleConfigIsValid() throws Exception {
    String sample = java.nio.file.Files.readString(Path.of("src/dist/conf/updater.yaml.sample"));
    // The credential file exists only on a real node.
    UpdaterConfig c = ConfigLoader.parse(FILE, sample.replaceFirst("credentialFile: \\S+", "credential: abc"));
    assertThat(c.service().strategy()).isEqualTo(UpdaterConfig.Strategy.OVERLAP);
    assertThat(c.health().url().perProcess()).isTrue();
    assertThat(c.watch().metricsUrl().perProcess()).isTrue();
  }

  private static void assertError(String yaml, String key, String fix) {
    assertThatThrownBy(() -> ConfigLoader.parse(FILE, yaml))
        .isInstanceOf(UpgradeException.class)
        .satisfies(e -> assertThat(((UpgradeException) e).code()).isEqualTo(ErrorCode.CONFIG_INVALID))
        .hasMessageStartingWith(key.isEmpty() ? FILE.toString() : FILE + ": " + key)
        .hasMessageContaining(fix);
  }

  @Test
  void downloadRateLimitsAreReadAndSetEachTransfersDeadline() {
    UpdaterConfig c = ConfigLoader.parse(FILE, MINIMAL.replace("health:\n", """
        limits:
          requestTimeout: 10s
          minDownloadRate: 64KiB/s
          minDownloadRateWindow: 30s
        health:
        """));
    assertThat(c.limits().minDownloadRate()).isEqualTo(64 * 1024);
    assertThat(c.limits().minDownloadRateWindow()).isEqualTo(Duration.ofSeconds(30));
    // request timeout + window + size at the minimum rate (+1 s for the rounding)
    assertThat(c.limits().deadlineFor(640 * 1024)).isEqualTo(Duration.ofSeconds(10 + 30 + 10 + 1));
    assertThat(ConfigLoader.parse(FILE, MINIMAL.replace("health:\n", "limits:\n  minDownloadRate: 1000\nhealth:\n"))
        .limits().minDownloadRate()).isEqualTo(1000);
  }

  @Test
  void aRateThatIsNotOneNamesTheKeyAndTheFix() {
    assertThatThrownBy(() -> ConfigLoader.parse(FILE, MINIMAL.replace("health:\n",
        "limits:\n  minDownloadRate: fast\nhealth:\n")))
        .isInstanceOf(UpgradeException.class)
        .hasMessageContaining("limits.minDownloadRate is 'fast', not a rate")
        .hasMessageContaining("e.g. 4KiB or 1MB/s");
    assertThatThrownBy(() -> ConfigLoader.parse(FILE, MINIMAL.replace("health:\n",
        "limits:\n  minDownloadRate: 0\nhealth:\n")))
        .hasMessageContaining("limits.minDownloadRate must be more than 0");
    assertThatThrownBy(() -> ConfigLoader.parse(FILE, MINIMAL.replace("health:\n",
        "limits:\n  minDownloadRateWindow: 0s\nhealth:\n")))
        .hasMessageContaining("limits.minDownloadRateWindow must be more than 0");
  }

  @Test
  void aHugeCredentialFileIsNotReadWhole(@org.junit.jupiter.api.io.TempDir Path tmp) throws Exception {
    Path credential = tmp.resolve("credential");
    try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(credential.toFile(), "rw")) {
      f.setLength(8L << 30); // sparse: reading it whole would need 8 GiB of heap
    }
    assertThatThrownBy(() -> ConfigLoader.parse(FILE, MINIMAL.replace("  id: node-1\n",
        "  id: node-1\n  credentialFile: " + credential + "\n")))
        .isInstanceOf(UpgradeException.class)
        .satisfies(e -> assertThat(((UpgradeException) e).code()).isEqualTo(ErrorCode.CONFIG_INVALID))
        .hasMessageContaining("node.credentialFile names " + credential + ", which cannot be read");
  }
}
