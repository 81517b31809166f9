package io.upgradekit.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.upgradekit.it.NodeConfig.Strategy;
import io.upgradekit.it.load.LoadGenerator;
import io.upgradekit.it.load.LoadReport;
import io.upgradekit.plugin.release.ReleaseResult;
import io.upgradekit.schema.layout.RepositoryLayout;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The smoke test of the harness and of the product's main path: hello-service released with the
 * real {@code mvn package upgrade:release}, served by repo-server, installed on four nodes (one
 * {@code restart}, two {@code overlap}, and one {@code restart} whose listening socket the updater's
 * launcher holds, {@code service.socket}) as a full package, then upgraded to 2.0.0 by delta while a
 * load generator runs, the {@code overlap} nodes and the held-socket node failing no request. Every view agrees: the daemons'
 * result lines, {@code status --json}, {@code history --json}, the services' answers, repo-server's
 * access log and {@code /v1/status}. Then
 * {@code mvn upgrade:verify} passes on the repository the two releases went to, and fails with
 * {@code HASH_MISMATCH} naming the blob once one blob's bytes are flipped. The load's numbers and
 * the verify runs go to {@code target/e2e-results/UpgradeByDeltaIT.json}.
 */
class UpgradeByDeltaIT {
  private static final Duration WAIT = Duration.ofMinutes(2);

  @Test
  @Timeout(value = 5, unit = java.util.concurrent.TimeUnit.MINUTES)
  void fourNodesUpgradeFromAFullInstallByDelta() throws Exception {
    Artifacts artifacts = Artifacts.locate();
    try (Workspace ws = Workspace.create("smoke")) {
      Path repository = ws.dir("repository");
      Path key = ws.dir("keys").resolve("release.pem");
      LibraryReleaser.keygen(key, repository, ws.logs().resolve("keygen.log"));
      MavenReleaser maven = MavenReleaser.create(artifacts, ws.dir("build"), key, repository.toString(), ws.logs());

      ReleaseResult v1 = maven.release(HelloBuild.of("1.0.0"));
      assertThat(v1.status()).isEqualTo(ReleaseResult.Status.PUBLISHED);
      assertThat(v1.deltas()).isEmpty();

      Fleet fleet = Fleet.start(ws, artifacts, repository, List.of(
          NodeConfig.defaults("node-1", Strategy.RESTART, Ports.freeLoopbackPort()),
          NodeConfig.defaults("node-2", Strategy.OVERLAP, Ports.freeLoopbackPort()),
          NodeConfig.defaults("node-3", Strategy.OVERLAP, Ports.freeLoopbackPort()),
          // restart, with the service's listening socket held by the daemon's launcher (service.socket)
          NodeConfig.defaults("node-4", Strategy.RESTART, Ports.freeLoopbackPort()).withHeldSocket(),
          // and with a start gate (service.startGate): 2.0.0 starts while 1.0.0 serves, accepts once it stopped
          NodeConfig.defaults("node-5", Strategy.RESTART_GATED, Ports.freeLoopbackPort()).withHeldSocket()));
      fleet.startDaemons();
      fleet.awaitCommitted("1.0.0", WAIT);
      for (Node node : fleet.nodes()) {
        assertThat(get(node.serviceUrl())).isEqualTo(HelloBuild.DEFAULT_GREETING + " 1.0.0\n");
      }

      Map<String, Long> marks = fleet.marks();
      LoadReport report;
      ReleaseResult v2;
      try (LoadGenerator load = fleet.load(200).build().start()) {
        v2 = maven.release(HelloBuild.of("2.0.0").withGreeting("Hi"));
        fleet.awaitCommitted("2.0.0", marks, WAIT);
        report = load.stop();
      }
      System.out.println("load during the upgrade to 2.0.0:\n" + report.table());

      assertThat(v2.deltas()).singleElement().satisfies(d -> {
        assertThat(d.fromVersion()).isEqualTo("1.0.0");
        assertThat(d.blob().size()).isLessThan(v2.packageBlob().size() / 100);
      });
      // Each node downloaded the full package once (1.0.0) and the delta once (2.0.0), never the new package.
      Map<String, RepoServer.BlobDownloads> downloads = fleet.server().blobDownloads();
      int nodes = fleet.nodes().size();
      assertThat(downloads.get(v1.packageBlob().sha256())).isEqualTo(
          new RepoServer.BlobDownloads(nodes, nodes * v1.packageBlob().size()));
      assertThat(downloads.get(v2.deltas().get(0).blob().sha256())).isEqualTo(
          new RepoServer.BlobDownloads(nodes, nodes * v2.deltas().get(0).blob().size()));
      assertThat(downloads).doesNotContainKey(v2.packageBlob().sha256());

      FleetStatus fleetStatus = fleet.server().status();
      for (Node node : fleet.nodes()) {
        assertThat(get(node.serviceUrl())).isEqualTo("Hi 2.0.0\n");
        NodeStatus status = node.status();
        assertThat(status.current()).isEqualTo("2.0.0");
        assertThat(status.previous()).isEqualTo("1.0.0");
        assertThat(status.versionsOnDisk()).containsExactlyInAnyOrder("1.0.0", "2.0.0");
        assertThat(status.serviceRunning()).isTrue();
        assertThat(status.pendingReports()).isZero();
        assertThat(node.currentVersion()).contains("2.0.0");

        UpdateRecord upgrade = node.lastEventTo("2.0.0").orElseThrow();
        assertThat(upgrade.outcome()).isEqualTo("COMMITTED");
        assertThat(upgrade.fromVersion()).isEqualTo("1.0.0");
        assertThat(upgrade.states()).containsExactly("BEGIN", "RESOLVE", "DOWNLOAD", "STAGE", "GATE", "STOP",
            "SWITCH", "START", "VERIFY", "COMMIT", "END_ACTION");
        assertThat(upgrade).isEqualTo(status.lastEvent());

        FleetStatus.NodeApp seen = fleetStatus.node(node.id(), "hello").orElseThrow();
        assertThat(seen.currentVersion()).isEqualTo("2.0.0");
        assertThat(seen.lastOutcome()).isEqualTo("COMMITTED");
        assertThat(seen.lastFromVersion()).isEqualTo("1.0.0");
        assertThat(seen.reports()).isEqualTo(2);

        // The load reached every node before and after its switch; the overlap nodes (health checked on
        // each process's own port, {processPort}) failed none of it.
        LoadReport.Stats stats = report.target(node.id());
        assertThat(stats.versions()).containsKeys("1.0.0", "2.0.0");
        if (node.config().strategy() == Strategy.OVERLAP) {
          assertThat(stats.failed()).as(node.id() + " (overlap): failed requests; " + stats.failureSummary()).isZero();
        }
        if (node.config().heldSocket()) {
          // Stopped and started again under load, yet no connection was refused or reset: those made
          // while no version accepted waited in the held socket's queue for 2.0.0. (On a machine so
          // busy that the new JVM takes seconds to start, some wait longer than the load's 2 s
          // response timeout: counted as timeouts, reported, and not what this asserts.)
          assertThat(stats.failures()).as(node.id() + " (restart, held socket): failed requests; "
              + stats.failureSummary()).doesNotContainKeys("refused", "reset", "connect-timeout");
          assertThat(Files.readString(node.serviceLog())).contains("hello-service 2.0.0 listening on the inherited "
              + "socket, port " + node.config().servicePort());
        }
        if (node.config().strategy() == Strategy.RESTART_GATED) {
          String log = Files.readString(node.serviceLog());
          // 2.0.0 was ready before 1.0.0 began to drain, and accepted only after that.
          int ready = log.indexOf("hello-service 2.0.0 ready at the start gate");
          int drain = log.indexOf("hello-service 1.0.0 draining");
          int accepting = log.indexOf("hello-service 2.0.0 the start gate opened: accepting");
          assertThat(ready).as("the gated start in " + node.serviceLog()).isNotNegative();
          assertThat(drain).as("1.0.0's drain in " + node.serviceLog()).isGreaterThan(ready);
          assertThat(accepting).as("2.0.0 accepting in " + node.serviceLog()).isGreaterThan(drain);
        }
      }
      assertThat(report.overall().succeeded()).isPositive();

      E2eResults results = E2eResults.of("UpgradeByDeltaIT");
      Map<String, Object> load = results.section("loadDuringUpgradeTo200");
      load.put("rate", report.rate());
      for (Node node : fleet.nodes()) {
        Map<String, Object> n = new LinkedHashMap<>(E2eResults.stats(report.target(node.id())));
        n.put("strategy", node.config().strategy().yaml());
        n.put("healthTarget", node.config().healthTarget().name());
        n.put("heldSocket", node.config().heldSocket());
        load.put(node.id(), n);
      }
      results.section("deltaFrom100").putAll(Map.of("deltaBytes", v2.deltas().get(0).blob().size(),
          "packageBytes", v2.packageBlob().size()));
      verifyTheRepositoryThenTamperWithIt(maven, repository, v2, results);
      System.out.println("results: " + results.write());
    }
  }

  /**
   * The repository the real plugin runs published into passes {@code mvn upgrade:verify}; after one
   * blob's bytes are flipped, the same goal fails and names the blob with {@code HASH_MISMATCH}.
   */
  private static void verifyTheRepositoryThenTamperWithIt(MavenReleaser maven, Path repository, ReleaseResult v2,
      E2eResults results) throws Exception {
    Map<String, Object> out = results.section("upgradeVerify");
    Command.Result sound = maven.verify();
    System.out.println("mvn upgrade:verify on the published repository: exit " + sound.exitCode() + " after "
        + sound.duration().toMillis() + " ms; " + lastLineWith(sound.stdout(), "Repository "));
    assertThat(sound.exitCode()).as("mvn upgrade:verify; log " + sound.logFile()).isZero();
    Matcher counts = Pattern.compile(
        "is sound: (\\d+) releases, (\\d+) deltas, (\\d+) blobs, (\\d+) channels verified").matcher(sound.stdout());
    assertThat(counts.find()).as("the goal's summary line in " + sound.logFile()).isTrue();
    assertThat(counts.group(1)).isEqualTo("2");
    assertThat(counts.group(2)).isEqualTo("1");
    out.put("soundExitCode", sound.exitCode());
    out.put("soundMs", sound.duration().toMillis());
    out.put("checked", counts.group(0));

    String sha = v2.deltas().get(0).blob().sha256();
    String blobPath = RepositoryLayout.blob(sha);
    Path blob = repository.resolve(blobPath);
    Scenarios.replace(blob, Scenarios.flipped(Files.readAllBytes(blob)));
    Command.Result tampered = maven.verify();
    List<String> problems = tampered.stdout().lines().filter(l -> l.startsWith("[ERROR] ") && l.matches(
        "\\[ERROR\\] [A-Z_]+ \\S+: .*")).map(l -> l.substring("[ERROR] ".length())).toList();
    System.out.println("mvn upgrade:verify after flipping 16 bytes of " + blobPath + ": exit " + tampered.exitCode()
        + " after " + tampered.duration().toMillis() + " ms; problems:\n  " + String.join("\n  ", problems));
    assertThat(tampered.exitCode()).as("mvn upgrade:verify of a tampered repository; log " + tampered.logFile())
        .isNotZero();
    assertThat(tampered.stdout()).contains("BUILD FAILURE").contains("problem(s) in");
    assertThat(problems).as("the problem list").anyMatch(p -> p.startsWith("HASH_MISMATCH " + blobPath + ":"));
    out.put("tamperedBlob", blobPath);
    out.put("tamperedExitCode", tampered.exitCode());
    out.put("tamperedMs", tampered.duration().toMillis());
    out.put("problems", problems);
  }

  private static String lastLineWith(String text, String part) {
    return text.lines().filter(l -> l.contains(part)).reduce((a, b) -> b).orElse("(no line with '" + part + "')");
  }

  private static String get(URI url) throws Exception {
    HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    return client.send(HttpRequest.newBuilder(url).timeout(Duration.ofSeconds(5)).build(),
        HttpResponse.BodyHandlers.ofString()).body();
  }
}
