package io.upgradekit.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.upgradekit.it.NodeConfig.Strategy;
import io.upgradekit.it.load.LoadGenerator;
import io.upgradekit.it.load.LoadReport;
import io.upgradekit.it.load.TcpCounters;
import io.upgradekit.plugin.release.ReleaseResult;
import io.upgradekit.schema.layout.RepositoryLayout;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.extension.TestWatcher;

/**
 * One fleet through the rollout's failure modes, in order: three nodes (node-1 {@code restart},
 * node-2 and node-3 {@code overlap}) behind one repo-server, releases published with the plugin's
 * library ({@link LibraryReleaser}: the Maven run itself is the smoke test's subject).
 *
 * <ol>
 *   <li>1.0.0 → 2.0.0 by delta under 200 requests/s per node: the overlap nodes fail no request;
 *       the restart node's failed requests and longest gap are measured.
 *   <li>3.0.0 fails its health check: every node rolls back to 2.0.0 by itself and reports it.
 *   <li>4.0.0's delta is tampered with on the server: {@code run --once} refuses it (exit 3), nothing
 *       changes on the nodes.
 *   <li>With the delta repaired, each updater is {@code kill -9}ed while its journal says {@code
 *       STAGE} or {@code SWITCH}; restarted, each recovers and ends on 4.0.0.
 *   <li>repo-server stops while the fleet rolls out 5.0.0 and comes back on the same port: the
 *       updaters retry and finish, and every event's report is stored exactly once.
 * </ol>
 *
 * <p>Numbers go to the test log and to {@code target/e2e-results/UpgradeScenariosIT.json}. A
 * scenario that fails leaves the fleet in an unknown state: the later ones are skipped, and the
 * workspace's logs are copied to {@code target/it-logs/UpgradeScenariosIT/}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class UpgradeScenariosIT {
  private static final Duration WAIT = Duration.ofMinutes(2);
  /** Requests per second per node in the switch scenario. */
  private static final int RATE_PER_NODE = 200;
  private static final String PAUSE = "UPGRADEKIT_TEST_PAUSE_AT";

  private final E2eResults results = E2eResults.of("UpgradeScenariosIT");
  private Artifacts artifacts;
  private Workspace ws;
  private Path repository;
  private LibraryReleaser releaser;
  private Fleet fleet;
  private String failedScenario;

  @RegisterExtension
  final TestWatcher watcher = new TestWatcher() {
    @Override
    public void testFailed(ExtensionContext context, Throwable cause) {
      if (failedScenario == null) {
        failedScenario = context.getDisplayName();
      }
    }
  };

  @BeforeAll
  void startTheFleetOn100() {
    try {
      installTheFleet();
    } catch (RuntimeException | Error e) {
      failedScenario = "setup";
      throw e;
    }
  }

  private void installTheFleet() {
    long started = System.nanoTime();
    artifacts = Artifacts.locate();
    ws = Workspace.create("scenarios");
    repository = ws.dir("repository");
    Path key = ws.dir("keys").resolve("release.pem");
    LibraryReleaser.keygen(key, repository, ws.logs().resolve("keygen.log"));
    releaser = new LibraryReleaser(artifacts.helloDist(), ws.dir("releases"), key, repository.toString(), null,
        ws.logs().resolve("releases.log"));
    releaser.release(HelloBuild.of("1.0.0"));
    // Health and metrics checks through {processPort} (NodeConfig's default): the overlap nodes' START
    // check reaches the new process, not the old one that shares the service port.
    fleet = Fleet.start(ws, artifacts, repository, List.of(
        NodeConfig.defaults("node-1", Strategy.RESTART, Ports.freeLoopbackPort()),
        NodeConfig.defaults("node-2", Strategy.OVERLAP, Ports.freeLoopbackPort()),
        NodeConfig.defaults("node-3", Strategy.OVERLAP, Ports.freeLoopbackPort())));
    fleet.startDaemons();
    fleet.awaitCommitted("1.0.0", WAIT);
    results.section("setup").put("secondsToInstall100", (System.nanoTime() - started) / 1e9);
  }

  @BeforeEach
  void skipAfterAFailure() {
    Assumptions.assumeTrue(failedScenario == null, () -> "skipped: the fleet's state is unknown after '"
        + failedScenario + "' failed");
  }

  @AfterAll
  void stopEverything() throws IOException {
    results.write();
    if (ws == null) {
      return;
    }
    if (failedScenario != null && artifacts != null && artifacts.logs() != null) {
      copyTree(ws.logs(), artifacts.logs().resolve("UpgradeScenariosIT"));
      System.out.println("logs of the failed run: " + artifacts.logs().resolve("UpgradeScenariosIT"));
    }
    ws.close();
  }

  // ------------------------------------------------------------------------------------------------

  @Test
  @Order(1)
  void overlapFailsNoRequestAndTheRestartGapIsMeasured() {
    Map<String, Long> marks = fleet.marks();
    LoadReport report;
    ReleaseResult v2;
    Instant published;
    TcpCounters kernelBefore = TcpCounters.read();
    try (LoadGenerator load = fleet.load(RATE_PER_NODE * fleet.nodes().size()).build().start()) {
      ManagedProcess.sleep(1000); // load on 1.0.0 first: the baseline and the before-switch answers
      v2 = releaser.release(HelloBuild.of("2.0.0").withGreeting("Hi"));
      published = Instant.now();
      fleet.awaitCommitted("2.0.0", marks, WAIT);
      ManagedProcess.sleep(1000);
      report = load.stop();
    }
    Map<String, Long> kernel = TcpCounters.read().since(kernelBefore);
    System.out.println("scenario 1: load during 1.0.0 -> 2.0.0 (" + RATE_PER_NODE + " requests/s per node):\n"
        + report.table() + "kernel TCP counters over the run: " + kernel);

    Map<String, Object> out = results.section("switchUnderLoad");
    out.put("ratePerNode", RATE_PER_NODE);
    out.put("durationMs", E2eResults.ms(report.duration()));
    out.put("kernelTcpCounters", kernel);
    Map<String, RepoServer.BlobDownloads> downloads = fleet.server().blobDownloads();
    ReleaseResult.Delta delta = v2.deltas().stream().filter(d -> d.fromVersion().equals("1.0.0")).findFirst()
        .orElseThrow();
    out.put("deltaBytes", delta.blob().size());
    out.put("packageBytes", v2.packageBlob().size());
    assertThat(downloads.get(delta.blob().sha256())).as("each node downloaded the delta once")
        .isEqualTo(new RepoServer.BlobDownloads(3, 3 * delta.blob().size()));
    assertThat(downloads).as("no node downloaded 2.0.0's full package").doesNotContainKey(v2.packageBlob().sha256());

    for (Node node : fleet.nodes()) {
      UpdateRecord event = node.lastEventTo("2.0.0").orElseThrow();
      assertThat(event.outcome()).isEqualTo("COMMITTED");
      SwitchWindow window = SwitchWindow.of(report, node.id(), event);
      LoadReport.Stats stats = report.target(node.id());
      System.out.println("  " + node.config().strategy().yaml() + " " + window);
      Map<String, Object> n = new LinkedHashMap<>();
      n.put("strategy", node.config().strategy().yaml());
      n.put("wholeRun", E2eResults.stats(stats));
      n.put("switchWindow", window.toMap());
      n.put("stepsMs", E2eResults.steps(event));
      n.put("publishToCommittedMs", E2eResults.ms(Duration.between(published, event.endedAt())));
      out.put(node.id(), n);

      // The load really spanned the switch: both versions answered, and the window had its share.
      assertThat(stats.versions()).as(node.id() + " answers").containsKeys("1.0.0", "2.0.0");
      assertThat(window.requests()).as(node.id() + ": requests within its switch window")
          .isGreaterThan((int) (window.length().toMillis() * RATE_PER_NODE / 1000 / 2));
      if (node.config().strategy() == Strategy.OVERLAP) {
        assertThat(stats.failed()).as(node.id() + " (overlap): failed requests over the whole run; "
            + stats.failureSummary() + "; kernel TCP counters over the run (all nodes): " + kernel).isZero();
      } else {
        // restart: a gap is expected and reported, not hidden. It must be real (a JVM cannot restart
        // in under 100 ms), bounded, and inside the switch window (it is the switch's, not noise).
        assertThat(stats.longestGap()).as(node.id() + " (restart): longest gap")
            .isGreaterThan(Duration.ofMillis(100)).isLessThan(Duration.ofSeconds(30));
        assertThat(stats.longestGapFrom()).as(node.id() + ": the gap begins within the switch window")
            .isBetween(window.from().minusMillis(500), window.to());
        assertThat(stats.longestGapFrom().plus(stats.longestGap())).as(node.id() + ": the gap ends within it")
            .isLessThanOrEqualTo(window.to().plusMillis(500));
      }
    }
    System.out.println("results: " + results.write());
  }

  @Test
  @Order(2)
  void anUnhealthyReleaseIsRolledBackOnEveryNode() {
    Map<String, Long> marks = fleet.marks();
    LoadReport report;
    Instant published;
    Map<String, Node.Result> outcomes;
    try (LoadGenerator load = fleet.load(300).build().start()) {
      releaser.release(HelloBuild.of("3.0.0").withGreeting("Broken").unhealthy());
      published = Instant.now();
      outcomes = fleet.forEachNode(n -> n.awaitResult(marks.get(n.id()), WAIT));
      report = load.stop();
    }
    System.out.println("scenario 2: load during the failed 3.0.0 (100 requests/s per node):\n" + report.table());

    Map<String, Object> out = results.section("unhealthyRelease");
    FleetStatus fleetStatus = fleet.server().status();
    for (Node node : fleet.nodes()) {
      Node.Result result = outcomes.get(node.id());
      assertThat(result.outcome()).as(node.id() + ": " + result).isEqualTo("rolled back");
      assertThat(result.code()).isEqualTo("HEALTH_CHECK_FAILED");

      UpdateRecord event = node.lastEventTo("3.0.0").orElseThrow();
      assertThat(event.outcome()).isEqualTo("ROLLED_BACK");
      assertThat(event.errorCode()).isEqualTo("HEALTH_CHECK_FAILED");
      assertThat(event.fromVersion()).isEqualTo("2.0.0");
      assertThat(event.states()).contains("SWITCH", "ROLLBACK").doesNotContain("COMMIT");

      NodeStatus status = node.status();
      assertThat(status.current()).isEqualTo("2.0.0");
      assertThat(status.badReleases()).contains("3.0.0");
      assertThat(status.serviceRunning()).isTrue();
      assertThat(node.currentVersion()).contains("2.0.0");
      assertThat(Scenarios.answers(node, 10)).as(node.id() + " answers after the rollback").containsExactly("Hi 2.0.0");

      // repo-server received the ROLLED_BACK report: stored once, and in /v1/status.
      assertThat(fleet.server().storedReports("hello", node.id()).get(event.eventId())).containsExactly("1.json");
      JsonNode stored = Scenarios.storedReport(fleet.server(), node.id(), event.eventId());
      assertThat(stored.path("outcome").asText()).isEqualTo("ROLLED_BACK");
      assertThat(stored.path("errorCode").asText()).isEqualTo("HEALTH_CHECK_FAILED");
      FleetStatus.NodeApp seen = fleetStatus.node(node.id(), "hello").orElseThrow();
      assertThat(seen.lastOutcome()).isEqualTo("ROLLED_BACK");
      assertThat(seen.lastToVersion()).isEqualTo("3.0.0");
      assertThat(seen.lastErrorCode()).isEqualTo("HEALTH_CHECK_FAILED");
      assertThat(seen.currentVersion()).isEqualTo("2.0.0");

      LoadReport.Stats stats = report.target(node.id());
      Map<String, Object> n = new LinkedHashMap<>();
      n.put("strategy", node.config().strategy().yaml());
      n.put("publishToRolledBackMs", E2eResults.ms(Duration.between(published, event.endedAt())));
      n.put("stepsMs", E2eResults.steps(event));
      n.put("load", E2eResults.stats(stats));
      out.put(node.id(), n);
      System.out.printf(Locale.ROOT, "  %s (%s): rolled back %.1f s after the release, ROLLBACK took %d ms, %d of %d"
          + " requests failed (%s)%n", node.id(), node.config().strategy().yaml(),
          Duration.between(published, event.endedAt()).toMillis() / 1000.0, event.millisByState().get("ROLLBACK"),
          stats.failed(), stats.total(), stats.failureSummary());
    }
    assertThat(JsonSupport.tree(fleetStatus.json(), "/v1/status").path("apps").path("hello").path("releases")
        .path("3.0.0").path("ROLLED_BACK").asInt()).as("/v1/status: nodes whose 3.0.0 event ended ROLLED_BACK")
        .isEqualTo(3);
    System.out.println("results: " + results.write());
  }

  @Test
  @Order(3)
  void aTamperedDeltaIsRefusedAndNothingChanges() throws IOException {
    fleet.forEachNode(n -> {
      n.stopDaemon(Duration.ofSeconds(30)); // run --once below; services keep running
      return true;
    });
    Map<String, List<Long>> pidsBefore = new LinkedHashMap<>();
    fleet.nodes().forEach(n -> pidsBefore.put(n.id(), n.servicePids()));
    ReleaseResult v4 = releaser.release(HelloBuild.of("4.0.0").withGreeting("Hey"));
    ReleaseResult.Delta delta = v4.deltas().stream().filter(d -> d.fromVersion().equals("2.0.0")).findFirst()
        .orElseThrow(() -> new AssertionError("4.0.0 has no delta from 2.0.0: " + v4.deltas()));
    Path blob = repository.resolve(RepositoryLayout.blob(delta.blob().sha256()));
    byte[] original = Files.readAllBytes(blob);
    Scenarios.replace(blob, Scenarios.flipped(original));

    Map<String, Command.Result> runs = fleet.forEachNode(n -> n.runOnce(Duration.ofMinutes(2)));

    Map<String, Object> out = results.section("tamperedDelta");
    out.put("deltaBytes", delta.blob().size());
    out.put("flippedBytes", 16);
    FleetStatus fleetStatus = fleet.server().status();
    for (Node node : fleet.nodes()) {
      Command.Result run = runs.get(node.id());
      String log = Files.readString(run.logFile(), StandardCharsets.UTF_8);
      assertThat(run.exitCode()).as(node.id() + ": run --once exit status; " + run.logFile()).isEqualTo(3);
      assertThat(log).contains("refused [HASH_MISMATCH]");

      UpdateRecord event = node.lastEventTo("4.0.0").orElseThrow();
      assertThat(event.outcome()).isEqualTo("REFUSED");
      assertThat(event.errorCode()).isEqualTo("HASH_MISMATCH");
      assertThat(event.fromVersion()).isEqualTo("2.0.0");
      assertThat(event.states()).contains("DOWNLOAD").doesNotContain("STAGE", "STOP", "SWITCH");

      NodeStatus status = node.status();
      assertThat(status.current()).isEqualTo("2.0.0");
      assertThat(status.versionsOnDisk()).doesNotContain("4.0.0");
      assertThat(status.serviceRunning()).isTrue();
      assertThat(node.servicePids()).as(node.id() + ": the service was not touched").isEqualTo(pidsBefore.get(node.id()));
      assertThat(Scenarios.list(node.home().resolve("state/cache"))).as(node.id() + ": no tampered bytes kept")
          .noneMatch(name -> name.startsWith(delta.blob().sha256()));
      assertThat(Scenarios.answers(node, 10)).containsExactly("Hi 2.0.0");

      JsonNode stored = Scenarios.storedReport(fleet.server(), node.id(), event.eventId());
      assertThat(stored.path("outcome").asText()).isEqualTo("REFUSED");
      assertThat(stored.path("errorCode").asText()).isEqualTo("HASH_MISMATCH");
      assertThat(fleetStatus.node(node.id(), "hello").orElseThrow().lastOutcome()).isEqualTo("REFUSED");

      out.put(node.id(), Map.of("exitCode", run.exitCode(), "runOnceMs", E2eResults.ms(run.duration()),
          "stepsMs", E2eResults.steps(event)));
      System.out.printf(Locale.ROOT, "  %s: run --once exited %d after %d ms: %s%n", node.id(), run.exitCode(),
          run.duration().toMillis(), lastLine(log, "refused"));
    }
    // The nodes fetched the delta (and found it wrong), never the full package instead.
    assertThat(fleet.server().blobDownloads()).doesNotContainKey(v4.packageBlob().sha256());
    Scenarios.replace(blob, original); // repaired for the next scenario
    System.out.println("results: " + results.write());
  }

  @Test
  @Order(4)
  void anUpdaterKilledDuringStageOrSwitchRecoversOnRestart() {
    Map<String, String> killAt = Map.of("node-1", "SWITCH", "node-2", "STAGE", "node-3", "SWITCH");
    Map<String, Object> out = results.section("killDashNine");
    Map<String, String> servedAtKill = new LinkedHashMap<>();
    fleet.forEachNode(n -> {
      String state = killAt.get(n.id());
      ManagedProcess daemon = n.startDaemon(Map.of(PAUSE, state + ":60"));
      Scenarios.await(n.id() + "'s journal says " + state, WAIT, () -> state.equals(n.journalState().orElse(null)));
      daemon.awaitLog(Pattern.compile("test hook: paused at " + state), Duration.ofSeconds(10));
      n.killDaemon(); // SIGKILL (ProcessHandle.destroyForcibly) to bin/updater and its JVM, not the service
      assertThat(daemon.isAlive()).isFalse();
      return true;
    });
    for (Node node : fleet.nodes()) {
      String state = killAt.get(node.id());
      assertThat(node.journalState()).as(node.id() + ": the kill left the journal at " + state).contains(state);
      servedAtKill.put(node.id(), String.join(", ", Scenarios.answers(node, 4)));
    }

    long restarted = System.nanoTime();
    Map<String, Long> recoveryMs = fleet.forEachNode(n -> {
      n.startDaemon();
      Scenarios.awaitCommitLine(n, "4.0.0", 0, WAIT);
      long took = (System.nanoTime() - restarted) / 1_000_000;
      n.stopDaemon(Duration.ofSeconds(30)); // no poll in progress while the checks below read the node
      return took;
    });

    for (Node node : fleet.nodes()) {
      String state = killAt.get(node.id());
      // Exactly one complete version is current, and only it serves.
      NodeStatus status = node.status();
      assertThat(status.current()).isEqualTo("4.0.0");
      assertThat(status.updateInProgress()).isNull();
      assertThat(node.journalState()).isEmpty();
      assertThat(node.currentVersion()).contains("4.0.0");
      assertThat(status.versionsOnDisk()).contains("2.0.0", "4.0.0");
      assertThat(Scenarios.list(node.home().resolve("staging"))).as(node.id() + ": staging leftovers").isEmpty();
      Scenarios.await(node.id() + " runs one service process", Duration.ofSeconds(20),
          () -> node.servicePids().size() == 1);
      assertThat(Scenarios.answers(node, 20)).as(node.id() + " answers").containsExactly("Hey 4.0.0");

      // The interrupted event was finished by the restart and is in the history once, then 4.0.0 committed.
      List<UpdateRecord> interrupted = node.history().stream()
          .filter(e -> "INTERRUPTED".equals(e.errorCode()) && "4.0.0".equals(e.toVersion())).toList();
      assertThat(interrupted).as(node.id() + ": interrupted events").hasSize(1);
      UpdateRecord cut = interrupted.get(0);
      assertThat(cut.outcome()).isEqualTo(state.equals("STAGE") ? "FAILED" : "ROLLED_BACK");
      UpdateRecord committed = node.lastEventTo("4.0.0").orElseThrow();
      assertThat(committed.outcome()).isEqualTo("COMMITTED");
      assertThat(committed.startedAt()).isAfterOrEqualTo(cut.startedAt());

      Map<String, Object> reports = Scenarios.assertOneReportPerEvent(fleet.server(), node);
      JsonNode stored = Scenarios.storedReport(fleet.server(), node.id(), cut.eventId());
      assertThat(stored.path("errorCode").asText()).isEqualTo("INTERRUPTED");

      Map<String, Object> n = new LinkedHashMap<>();
      n.put("strategy", node.config().strategy().yaml());
      n.put("killedAt", state);
      n.put("servedWhileKilled", servedAtKill.get(node.id()));
      n.put("interruptedEventOutcome", cut.outcome());
      n.put("restartToCommittedMs", recoveryMs.get(node.id()));
      n.put("reports", reports);
      out.put(node.id(), n);
      System.out.printf(Locale.ROOT, "  %s (%s) killed at %s while serving [%s]; after the restart: interrupted"
          + " event %s, 4.0.0 committed %.1f s later; %s%n", node.id(), node.config().strategy().yaml(), state,
          servedAtKill.get(node.id()), cut.outcome(), recoveryMs.get(node.id()) / 1000.0, reports);
    }
    System.out.println("results: " + results.write());
  }

  @Test
  @Order(5)
  void aRepoServerRestartDuringARolloutLosesNoReport() {
    Instant begun = Instant.now();
    fleet.startDaemons();
    Map<String, Long> marks = fleet.marks();
    releaser.release(HelloBuild.of("5.0.0").withGreeting("Howdy"));
    // Stop the server as soon as one node works on 5.0.0: the others still have to poll and download.
    Scenarios.await("a node starts on 5.0.0", WAIT, () -> fleet.nodes().stream()
        .anyMatch(n -> "5.0.0".equals(journalTarget(n))));
    Map<String, String> stateAtStop = new LinkedHashMap<>();
    for (Node node : fleet.nodes()) {
      String target = journalTarget(node);
      stateAtStop.put(node.id(), node.journalState().map(s -> target == null ? s : s + " (" + target + ")")
          .orElse(node.currentVersion().orElse("?").equals("5.0.0") ? "done" : "idle"));
    }
    Duration downtime = Duration.ofSeconds(4);
    long stop = System.nanoTime();
    fleet.restartServer(downtime);
    long serverBack = System.nanoTime();
    Map<String, Long> committedMs = fleet.forEachNode(n -> {
      Scenarios.awaitCommitLine(n, "5.0.0", marks.get(n.id()), WAIT);
      return (System.nanoTime() - stop) / 1_000_000;
    });
    // Reports queued while the server was down go out with the next poll or delivery round.
    fleet.forEachNode(n -> {
      Scenarios.await(n.id() + "'s outbox is empty", Duration.ofSeconds(60),
          () -> Scenarios.list(n.home().resolve("state/outbox")).isEmpty());
      n.stopDaemon(Duration.ofSeconds(30)); // no poll in progress while the checks below read the node
      return true;
    });

    Map<String, Object> out = results.section("serverRestart");
    out.put("serverDownMs", (serverBack - stop) / 1_000_000);
    FleetStatus fleetStatus = fleet.server().status();
    for (Node node : fleet.nodes()) {
      assertThat(Scenarios.answers(node, 10)).containsExactly("Howdy 5.0.0");
      assertThat(node.currentVersion()).contains("5.0.0");
      Map<String, Object> reports = Scenarios.assertOneReportPerEvent(fleet.server(), node);
      List<UpdateRecord> history = node.history();
      List<UpdateRecord> during = history.stream().filter(e -> e.startedAt().isAfter(begun)).toList();
      long failedWhileDown = during.stream().filter(e -> "FAILED".equals(e.outcome())).count();
      // The restarted server knows every stored report (its index is rebuilt from disk) and the node's version.
      FleetStatus.NodeApp seen = fleetStatus.node(node.id(), "hello").orElseThrow();
      assertThat(seen.reports()).isEqualTo(fleet.server().storedReports("hello", node.id()).size());
      assertThat(seen.currentVersion()).isEqualTo("5.0.0");
      assertThat(seen.lastOutcome()).isEqualTo("COMMITTED");

      Map<String, Object> n = new LinkedHashMap<>();
      n.put("stateAtServerStop", stateAtStop.get(node.id()));
      n.put("eventsThisScenario", during.stream().map(e -> e.outcome() + (e.errorCode() == null ? "" : " "
          + e.errorCode())).toList());
      n.put("failedEventsWhileDown", failedWhileDown);
      n.put("stopToCommittedMs", committedMs.get(node.id()));
      n.put("reports", reports);
      out.put(node.id(), n);
      System.out.printf(Locale.ROOT, "  %s: at the stop %s; events %s; committed %.1f s after the stop; %s%n",
          node.id(), stateAtStop.get(node.id()), n.get("eventsThisScenario"),
          committedMs.get(node.id()) / 1000.0, reports);
    }
    System.out.println("results: " + results.write());
  }

  // ------------------------------------------------------------------------------------------------

  /** The version the unfinished event aims at, from {@code state/journal.json}; null without one. */
  private static String journalTarget(Node node) {
    Path journal = node.home().resolve("state/journal.json");
    try {
      return JsonSupport.text(JsonSupport.tree(Files.readString(journal, StandardCharsets.UTF_8), "journal"),
          "toVersion");
    } catch (IOException | HarnessException e) {
      return null;
    }
  }

  private static String lastLine(String log, String prefix) {
    List<String> lines = new ArrayList<>(log.lines().filter(l -> l.startsWith(prefix)).toList());
    return lines.isEmpty() ? "(none)" : lines.get(lines.size() - 1);
  }

  private static void copyTree(Path from, Path to) throws IOException {
    if (!Files.isDirectory(from)) {
      return;
    }
    Workspace.deleteTree(to); // an earlier run's logs
    try (var all = Files.walk(from)) {
      for (Path p : (Iterable<Path>) all::iterator) {
        Path target = to.resolve(from.relativize(p).toString());
        if (Files.isDirectory(p)) {
          Files.createDirectories(target);
        } else {
          Files.copy(p, target, StandardCopyOption.REPLACE_EXISTING);
        }
      }
    }
  }
}
