package io.upgradekit.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.upgradekit.it.NodeConfig.Strategy;
import io.upgradekit.it.load.LoadGenerator;
import io.upgradekit.it.load.LoadReport;
import io.upgradekit.plugin.release.RolloutSettings;
import io.upgradekit.schema.json.Json;
import io.upgradekit.schema.api.RolloutReport;
import io.upgradekit.schema.model.RolloutDecision;
import io.upgradekit.schema.model.RolloutDecision.Kind;
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
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
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
 * Fleet rollouts end to end (docs/rollouts.md): eight real node updaters from the distribution,
 * each running hello-service with the {@code overlap} strategy, behind a real repo-server that
 * holds the rollout key (its own key in the trust root's rollout role) and runs the controller;
 * releases carry a plan made by the Maven plugin's own plan reader ({@link RolloutSettings}); the
 * operators' commands are the real {@code repo-server rollout ...}. One fleet goes through, in order:
 *
 * <ol>
 *   <li>2.0.0, {@code batches}, {@code minAvailable 75%}, under load: canary, then waves of two;
 *       never more than two nodes between STOP and healthy (the nodes' histories and the load
 *       generator say so, not the controller), no failed request, waves in order.
 *   <li>3.0.0 with {@code approval manual}: the second wave waits for {@code approve}; {@code pause}
 *       and {@code resume} in the middle of it, an operator's {@code halt}; a node whose service
 *       cannot start fails, the controller halts, the node is fixed and {@code retry}d.
 *   <li>4.0.0: repo-server is killed with -9 while a node holds a slot and started again; the
 *       rollout goes on, no slot is given twice, nobody started while it was down.
 *   <li>5.0.0 through two repo-server processes on one repository (half of the nodes on each),
 *       waves by the nodes' {@code zone} label: every decision stored once, no slot given twice.
 *   <li>6.0.0 goes bad a while after its start ({@code rollbackPolicy auto}): the canary judge sees
 *       its error rate, the controller recalls it, the canary switches back by itself; no other node
 *       ever installs it.
 * </ol>
 *
 * <p>Numbers go to the test log and {@code target/e2e-results/RolloutsIT.json}. After a failure
 * the later scenarios are skipped and the logs are copied to {@code target/it-logs/RolloutsIT/}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class RolloutsIT {
  private static final String APP = "hello";
  private static final int NODES = 8;
  /** Requests per second per node: a modest load two cores carry beside 8 services and 8 updaters. */
  private static final int RATE_PER_NODE = 25;
  /** Heartbeats every 4 s: each is sent within 2 s (half the interval), enough on a busy machine. */
  private static final Duration HEARTBEAT = Duration.ofSeconds(4);
  private static final Duration WAIT = Duration.ofMinutes(2);

  private final E2eResults results = E2eResults.of("RolloutsIT");
  private Artifacts artifacts;
  private Workspace ws;
  private Path repository;
  private LibraryReleaser releaser;
  private Fleet fleet;
  private RepoServer second;
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
    ws = Workspace.create("rollouts");
    repository = ws.dir("repository");
    Path keys = ws.dir("keys");
    RolloutTrust.create(repository, keys.resolve("release.pem"), keys.resolve("rollout.pem"));
    releaser = new LibraryReleaser(artifacts.helloDist(), ws.dir("releases"), keys.resolve("release.pem"),
        repository.toString(), null, ws.logs().resolve("releases.log"));
    releaser.release(HelloBuild.of("1.0.0")); // no plan: every node installs it at once, as before rollouts
    List<NodeConfig> configs = new ArrayList<>();
    for (int i = 1; i <= NODES; i++) {
      configs.add(NodeConfig.defaults("node-" + i, Strategy.OVERLAP, Ports.freeLoopbackPort())
          .withHeartbeat(HEARTBEAT).withLabels(Map.of("zone", zone(i))));
    }
    RepoServer.Options server = RepoServer.Options.defaults().withInstance("a")
        .withRollouts(new RepoServer.Rollouts(keys.resolve("rollout.pem"), Duration.ofSeconds(2),
            Duration.ofMillis(500), Duration.ofSeconds(12)));
    fleet = Fleet.start(ws, artifacts, repository, configs, server);
    fleet.startDaemons();
    // Sixteen JVMs start at once here (8 updaters, 8 services): the slowest moment of the class, when a
    // poll may time out and be tried again.
    fleet.forEachNode(n -> {
      Scenarios.awaitCommitLine(n, "1.0.0", 0, Duration.ofMinutes(4));
      return true;
    });
    settle();
    results.section("setup").put("secondsToInstall100", (System.nanoTime() - started) / 1e9);
  }

  /** Nodes 1, 2, 5, 6 in zone a, the others in zone b (each server of scenario 4 gets both zones). */
  private static String zone(int node) {
    return (node - 1) % 4 < 2 ? "a" : "b";
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
      copyTree(ws.logs(), artifacts.logs().resolve("RolloutsIT"));
      copyTree(repository.resolve("rollouts"), artifacts.logs().resolve("RolloutsIT/repository-rollouts"));
      System.out.println("logs of the failed run: " + artifacts.logs().resolve("RolloutsIT"));
    }
    ws.close();
  }

  // ------------------------------------------------------------------------------------------------

  @Test
  @Order(1)
  void batchesKeepThreeQuartersOfTheFleetServing() {
    settle();
    String version = "2.0.0";
    Map<String, Long> marks = fleet.marks();
    LoadReport report;
    Instant published;
    try (LoadGenerator load = fleet.load(RATE_PER_NODE * NODES).build().start()) {
      ManagedProcess.sleep(1000); // 1.0.0 answers first
      releaser.release(HelloBuild.of(version).withGreeting("Hi"), plan("batches", "1", "75%", "1s", null, null));
      published = Instant.now();
      awaitAllCommitted(version, marks);
      ManagedProcess.sleep(1000);
      report = load.stop();
    }
    System.out.println("scenario 1: load during 1.0.0 -> 2.0.0 in batches (" + RATE_PER_NODE
        + " requests/s per node):\n" + report.table());
    Map<String, List<UpdateRecord>> histories = fleet.forEachNode(Node::history);
    List<RolloutDecision> decisions = RolloutFiles.assertTakenOnce(repository, APP, version);
    assertNoStop(decisions, version);
    RolloutDecision start = RolloutFiles.first(decisions, Kind.START, null);
    assertThat(start.budget()).as("budget: 8 nodes, 6 stay available").isEqualTo(2);
    List<List<String>> waves = start.waves();
    assertThat(waves.get(0)).as("the canary wave").hasSize(1);
    assertThat(waves.subList(1, waves.size())).as("waves after the canary: one budget of nodes each")
        .allSatisfy(w -> assertThat(w).hasSizeBetween(1, 2));
    assertThat(waves.stream().mapToInt(List::size).sum()).isEqualTo(NODES);

    // From the nodes' own histories: STOP .. COMMIT of every node.
    List<FleetTimeline.Span> spans = new ArrayList<>();
    Map<String, FleetTimeline.Span> byNode = new LinkedHashMap<>();
    histories.forEach((node, history) -> {
      FleetTimeline.Span s = FleetTimeline.switchSpan(node, history, version);
      assertThat(s).as(node + " switched to " + version).isNotNull();
      spans.add(s);
      byNode.put(node, s);
    });
    FleetTimeline.Peak down = FleetTimeline.peak(spans);
    assertThat(down.spans()).as("nodes between STOP and healthy at once (histories), at " + down.at() + ": "
        + down.nodes()).isLessThanOrEqualTo(2);
    // From the clients: each node's switch as the load saw it, and the failed requests.
    List<FleetTimeline.Span> clientSpans = new ArrayList<>();
    for (Node n : fleet.nodes()) {
      FleetTimeline.Span s = FleetTimeline.clientSpan(report, n.id(), "1.0.0", version);
      assertThat(s).as(n.id() + ": the load saw 1.0.0 and " + version + " answer").isNotNull();
      clientSpans.add(s);
      assertThat(report.target(n.id()).failed()).as(n.id() + ": failed requests (overlap); "
          + report.target(n.id()).failureSummary()).isZero();
    }
    FleetTimeline.Peak switchingForClients = FleetTimeline.peak(clientSpans);
    assertThat(switchingForClients.spans()).as("nodes switching at once as the clients saw it, at "
        + switchingForClients.at() + ": " + switchingForClients.nodes()).isLessThanOrEqualTo(2);
    List<FleetTimeline.Span> failing = FleetTimeline.failureSpans(report, Duration.ofMillis(500));
    assertThat(failing).as("spans of failed requests").isEmpty();

    // Waves in order: no node of wave k+1 stopped before every node of wave k committed.
    List<Map<String, Object>> waveFigures = new ArrayList<>();
    Instant previousDone = null;
    for (int w = 0; w < waves.size(); w++) {
      Instant firstStop = null;
      Instant lastCommit = null;
      for (String node : waves.get(w)) {
        FleetTimeline.Span s = byNode.get(node);
        if (previousDone != null) {
          assertThat(s.from()).as(node + " (wave " + (w + 1) + ") stopped after wave " + w + " all committed ("
              + previousDone + ")").isAfter(previousDone);
        }
        firstStop = firstStop == null || s.from().isBefore(firstStop) ? s.from() : firstStop;
        lastCommit = lastCommit == null || s.to().isAfter(lastCommit) ? s.to() : lastCommit;
      }
      Map<String, Object> wf = new LinkedHashMap<>();
      wf.put("nodes", waves.get(w));
      wf.put("firstStopMs", E2eResults.ms(Duration.between(published, firstStop)));
      wf.put("lastHealthyMs", E2eResults.ms(Duration.between(published, lastCommit)));
      waveFigures.add(wf);
      previousDone = lastCommit;
    }
    for (Node n : fleet.nodes()) {
      assertThat(n.currentVersion()).as(n.id() + " runs").contains(version);
    }
    List<RolloutFiles.Lease> leases = RolloutFiles.leases(repository, APP, version);
    RolloutFiles.assertNoSlotGivenTwice(leases, List.of());
    assertThat(RolloutFiles.grantsPerNode(leases, "upgrade")).as("one slot per node").hasSize(NODES)
        .allSatisfy((node, grants) -> assertThat(grants).isEqualTo(1));

    Instant allHealthy = spans.stream().map(FleetTimeline.Span::to).max(Instant::compareTo).orElseThrow();
    Map<String, Object> out = results.section("batches");
    out.put("nodes", NODES);
    out.put("strategy", "overlap");
    out.put("plan", "batches, canary 1, minAvailable 75%, bake 1 s");
    out.put("ratePerNode", RATE_PER_NODE);
    out.put("budget", start.budget());
    out.put("waves", waves.size());
    out.put("nodesDownAtMost", down.spans());
    out.put("nodesSwitchingAtMostSeenByClients", switchingForClients.spans());
    out.put("nodesFailingRequestsAtMost", FleetTimeline.peak(failing).spans());
    Map<String, Object> failed = new LinkedHashMap<>();
    fleet.nodes().forEach(n -> failed.put(n.id(), report.target(n.id()).failed()));
    out.put("failedRequestsPerNode", failed);
    out.put("requestsPerNode", report.target("node-1").total());
    out.put("publishToAllHealthyMs", E2eResults.ms(Duration.between(published, allHealthy)));
    out.put("wavesTimeline", waveFigures);
    out.put("switchSpans", FleetTimeline.figures(spans, published));
    out.put("decisions", decisions.size());
    results.write();
    System.out.printf("scenario 1: %d waves %s; at most %d nodes between STOP and healthy (%d as clients saw it);"
        + " 0 failed requests; publish -> all healthy %.1f s%n", waves.size(), waves, down.spans(),
        switchingForClients.spans(), Duration.between(published, allHealthy).toMillis() / 1000.0);
  }

  // ------------------------------------------------------------------------------------------------

  @Test
  @Order(2)
  void operatorsApprovePauseHaltAndRetryAFailedNode() {
    settle();
    String version = "3.0.0";
    RepoServer server = fleet.server();
    Map<String, Long> marks = fleet.marks();
    releaser.release(HelloBuild.of(version), plan("canary", "1", "75%", "1s", "manual", null));
    Instant published = Instant.now();
    RolloutDecision start = awaitDecision(version, Kind.START, null);
    String canary = start.waves().get(0).get(0);
    List<String> rest = start.waves().get(1);
    assertThat(start.waves()).as("strategy canary: the canary, then everyone else").hasSize(2);
    assertThat(rest).hasSize(NODES - 1);

    // Manual approval: after the canary's wave passed its bake, nothing opens until an operator approves.
    Scenarios.awaitCommitLine(fleet.node(canary), version, marks.get(canary), WAIT);
    RolloutDecision done = awaitDecision(version, Kind.WAVE_DONE, 0);
    Instant waitFrom = done.at().plusSeconds(1);
    Scenarios.await("the bake of the canary wave is over", WAIT, () -> Instant.now().isAfter(waitFrom.plusSeconds(3)));
    RolloutReport waiting = rolloutReport(server, version);
    assertThat(waiting.openWaves()).as("waves open while waiting for approval").isEqualTo(1);
    assertThat(waiting.waves().get(1).status()).isEqualTo("waiting");
    assertThat(RolloutFiles.first(decisions(version), Kind.OPEN_WAVE, 1)).as("wave 2 opened without approval").isNull();
    Command.Result refused = server.rollout(RepoServer.VIEWER, List.of("approve", "--app", APP, "--version", version,
        "--reason", "a viewer tries"));
    assertThat(refused.exitCode()).as("a viewer's approve is refused; " + refused.logFile()).isNotZero();
    assertThat(RolloutFiles.first(decisions(version), Kind.APPROVE, null)).as("the viewer's approve").isNull();
    Instant approved = operator(server, "approve", version, "the canary looks good").at();
    awaitDecision(version, Kind.OPEN_WAVE, 1);

    // Pause in the middle of the wave (as soon as its first node has a slot): nodes updating finish,
    // nobody starts, until resume.
    Scenarios.await("a node of wave 2 has a slot", WAIT, () -> !granted(rest, version).isEmpty());
    Instant paused = operator(server, "pause", version, "database maintenance").at();
    assertThat(rolloutReport(server, version).paused()).isTrue();
    String statusText = server.rollout(RepoServer.VIEWER, List.of("status", "--app", APP, "--version", version))
        .requireSuccess("rollout status").stdout();
    assertThat(statusText).as("rollout status").contains("(paused)", "pause by " + RepoServer.OPERATOR
        + ": database maintenance");
    awaitQuiet(version, rest);
    ManagedProcess.sleep(3000); // three polls: no grant while paused
    List<String> pendingAtPause = pending(rest, version);
    assertThat(pendingAtPause).as("nodes of wave 2 that had not started at the pause").hasSizeGreaterThan(2);
    Instant resumed = operator(server, "resume", version, "maintenance over").at();

    // An operator's halt in the middle of the wave, as soon as the resume let nodes go on (sent
    // straight to the API: the command's JVM start would let the wave run on meanwhile): nobody
    // else installs, who has it keeps it.
    Scenarios.await("a node of wave 2 got a slot after the resume", WAIT,
        () -> granted(rest, version).size() > NODES - 1 - pendingAtPause.size());
    RolloutDecision haltDecision = act(server, version, "halt", "latency alerts");
    Instant halted = haltDecision.at();
    awaitQuiet(version, rest);
    List<String> pendingAtHalt = pending(rest, version);
    assertThat(pendingAtHalt).as("nodes of wave 2 that had not started at the halt").isNotEmpty();
    ManagedProcess.sleep(3000);
    List<String> installed = new ArrayList<>(rest);
    installed.removeAll(pendingAtHalt);
    for (String node : installed) {
      assertThat(fleet.node(node).currentVersion()).as(node + " keeps " + version + " through the halt").contains(version);
    }

    // A node whose service cannot start (bound to an address it does not have) fails the update:
    // maxFailures 0, so the controller halts; fixed and retried, it installs.
    String victim = pendingAtHalt.get(0);
    Node v = fleet.node(victim);
    NodeConfig good = v.config();
    restartDaemon(v, good.withServiceEnvironment(Map.of("HELLO_BIND", "192.0.2.1")));
    long victimMark = v.mark();
    Instant resumedAgain = operator(server, "resume", version, "alerts were the load balancer").at();
    Node.Result failed = v.awaitResult(victimMark, WAIT);
    assertThat(failed.outcome()).as(victim + ": " + failed).isEqualTo("rolled back");
    RolloutDecision controllerHalt = awaitDecision(version, Kind.HALT, null, d -> d.actor().equals("controller"));
    assertThat(controllerHalt.reason()).as("the controller's halt").contains(victim, "maxFailures 0");
    awaitQuiet(version, rest);
    restartDaemon(v, good);
    long retriedMark = v.mark();
    RolloutDecision retry = operator(server, List.of("retry", "--node", victim), version, "bind address fixed");
    assertThat(retry.node()).isEqualTo(victim);
    operator(server, "resume", version, "the failed node is fixed");
    Scenarios.awaitCommitLine(v, version, retriedMark, WAIT);
    for (String node : rest) {
      if (!node.equals(victim)) {
        Scenarios.awaitCommitLine(fleet.node(node), version, marks.get(node), WAIT);
      }
    }
    awaitDecision(version, Kind.COMPLETE, null);

    // Nobody was granted a slot while waiting for approval, while paused or while halted.
    List<RolloutDecision> decisions = RolloutFiles.assertTakenOnce(repository, APP, version);
    List<RolloutFiles.Lease> leases = RolloutFiles.leases(repository, APP, version);
    RolloutFiles.assertNoSlotGivenTwice(leases, List.of());
    for (RolloutFiles.Lease l : leases) {
      if (!l.node().equals(canary)) {
        assertThat(l.grantedAt()).as(l + ": granted after the approval").isAfter(approved);
      }
      // A second after each decision: a request that read the rollout just before it may still be granted.
      notWithin(l.grantedAt(), paused.plusSeconds(1), resumed, l + ": not granted while paused");
      notWithin(l.grantedAt(), halted.plusSeconds(1), resumedAgain, l + ": not granted while halted");
      notWithin(l.grantedAt(), controllerHalt.at().plusSeconds(1), retry.at(),
          l + ": not granted while halted by the controller");
    }
    assertThat(decisions).filteredOn(d -> !d.actor().equals("controller"))
        .as("operators' decisions: who and why").allSatisfy(d -> {
          assertThat(d.actor()).isEqualTo(RepoServer.OPERATOR);
          assertThat(d.reason()).isNotBlank();
        });
    List<UpdateRecord> victimHistory = v.history();
    List<UpdateRecord> attempts = victimHistory.stream().filter(e -> version.equals(e.toVersion())
        && e.outcome() != null && !e.outcome().equals("WAITING")).toList();
    List<String> outcomes = attempts.stream().map(UpdateRecord::outcome).toList();
    assertThat(outcomes).as(victim + "'s attempts at " + version).contains("ROLLED_BACK").endsWith("COMMITTED");
    assertThat(outcomes.indexOf("ROLLED_BACK")).as(victim + ": failed, then retried").isLessThan(outcomes.size() - 1);
    assertThat(v.status().badReleases()).as(victim + " after its retry").doesNotContain(version);
    for (Node n : fleet.nodes()) {
      assertThat(n.currentVersion()).as(n.id() + " runs").contains(version);
    }

    Map<String, Object> out = results.section("operators");
    out.put("publishToCompleteMs", E2eResults.ms(Duration.between(published,
        RolloutFiles.first(decisions, Kind.COMPLETE, null).at())));
    out.put("pendingAtPause", pendingAtPause.size());
    out.put("pendingAtHalt", pendingAtHalt.size());
    out.put("failedNode", victim);
    out.put("failedWith", failed.toString());
    out.put("decisions", decisions.stream().map(d -> d.sequence() + " " + d.kind() + " by " + d.actor()).toList());
    results.write();
  }

  @Test
  @Order(3)
  void aServerKilledMidRolloutContinuesWithoutGivingASlotTwice() {
    settle();
    String version = "4.0.0";
    Map<String, Long> marks = fleet.marks();
    releaser.release(HelloBuild.of(version), plan("canary", "1", "50%", "1s", null, null));
    Instant published = Instant.now();
    RolloutDecision start = awaitDecision(version, Kind.START, null);
    List<String> rest = start.waves().get(1);
    assertThat(start.budget()).isEqualTo(4);
    // kill -9 while a node of the second wave holds a confirmed slot (it is between STOP and healthy).
    Scenarios.await("a node of wave 2 confirmed its slot", WAIT, () -> RolloutFiles.leases(repository, APP, version)
        .stream().anyMatch(l -> rest.contains(l.node()) && l.confirmed() != null && l.released() == null));
    fleet.killServer();
    Instant killed = Instant.now();
    List<RolloutFiles.Lease> atKill = RolloutFiles.leases(repository, APP, version);
    List<String> holding = atKill.stream().filter(l -> l.confirmed() != null && l.released() == null)
        .map(RolloutFiles.Lease::node).toList();
    List<String> notStarted = rest.stream().filter(n -> atKill.stream().noneMatch(l -> l.node().equals(n))).toList();
    ManagedProcess.sleep(6000); // six polls of every node against a dead server
    // No server runs from the kill until the restart begins; once it listens (before the restart
    // call returns) nodes may be answered, so that is the end of the window checked below.
    Instant restarting = Instant.now();
    RepoServer server = fleet.restartServerAfterKill();
    Instant restarted = Instant.now();
    for (String node : rest) {
      Scenarios.awaitCommitLine(fleet.node(node), version, marks.get(node), WAIT);
    }
    awaitDecision(version, Kind.COMPLETE, null);

    List<RolloutDecision> decisions = RolloutFiles.assertTakenOnce(repository, APP, version);
    assertNoStop(decisions, version);
    List<RolloutFiles.Lease> leases = RolloutFiles.leases(repository, APP, version);
    RolloutFiles.assertNoSlotGivenTwice(leases, List.of());
    // One confirmed slot per node. A grant the kill cut off before its confirmation could reach the
    // server is not used: the node gives it back after the restart and is granted another.
    List<RolloutFiles.Lease> confirmedLeases = leases.stream().filter(l -> l.confirmed() != null).toList();
    assertThat(RolloutFiles.grantsPerNode(confirmedLeases, "upgrade")).as("one confirmed slot per node, the kill"
        + " notwithstanding").hasSize(fleet.nodes().size()).allSatisfy((node, grants) -> assertThat(grants).isEqualTo(1));
    for (RolloutFiles.Lease l : leases) {
      if (l.confirmed() == null) {
        assertThat(l.grantedAt()).as(l + ": an unconfirmed grant is one the kill cut off").isBefore(killed);
      }
    }
    for (RolloutFiles.Lease l : leases) {
      notWithin(l.grantedAt(), killed, restarting, l + ": nothing was granted while no server ran");
      assertThat(l.released()).as(l + " was given back (after the restart, for those held across it)").isNotNull();
    }
    // While no server ran, no node started an update: only those that held a confirmed slot stopped.
    Map<String, List<UpdateRecord>> histories = fleet.forEachNode(Node::history);
    Map<String, Object> whileDown = new LinkedHashMap<>();
    histories.forEach((node, history) -> {
      FleetTimeline.Span s = FleetTimeline.switchSpan(node, history, version);
      if (s != null && s.from().isAfter(killed) && s.from().isBefore(restarting)) {
        assertThat(holding).as(node + " stopped its service while no server ran").contains(node);
      }
      List<String> seen = history.stream().filter(e -> e.startedAt() != null && e.startedAt().isAfter(killed)
          && e.startedAt().isBefore(restarting)).map(e -> e.outcome() + (e.errorCode() == null ? "" : " " + e.errorCode()))
          .toList();
      whileDown.put(node, seen);
    });
    for (String node : notStarted) {
      @SuppressWarnings("unchecked")
      List<String> seen = (List<String>) whileDown.get(node);
      assertThat(seen).as(node + " (waiting at the kill): what its polls said while no server ran")
          .isNotEmpty().allSatisfy(o -> assertThat(o).doesNotStartWith("COMMITTED"));
    }
    for (Node n : fleet.nodes()) {
      assertThat(n.currentVersion()).as(n.id() + " runs").contains(version);
    }
    Map<String, Object> out = results.section("serverKilled");
    out.put("downMs", E2eResults.ms(Duration.between(killed, restarted)));
    out.put("holdingASlotAtTheKill", holding);
    out.put("notStartedAtTheKill", notStarted);
    out.put("pollsWhileDown", whileDown);
    out.put("publishToCompleteMs", E2eResults.ms(Duration.between(published,
        RolloutFiles.first(decisions, Kind.COMPLETE, null).at())));
    out.put("restartToCompleteMs", E2eResults.ms(Duration.between(restarted,
        RolloutFiles.first(decisions, Kind.COMPLETE, null).at())));
    out.put("decisions", decisions.size());
    results.write();
    assertThat(server.process().isAlive()).isTrue();
  }

  @Test
  @Order(4)
  void twoServersOnOneRepositoryTakeEachDecisionOnce() {
    String version = "5.0.0";
    second = fleet.startAnotherServer("b");
    List<Node> moved = fleet.nodes().subList(NODES / 2, NODES);
    for (Node n : moved) {
      n.writeConfig(second.url());
      restartDaemon(n, n.config());
    }
    settle();
    long decisionsA = decisionsTaken(fleet.server());
    long decisionsB = decisionsTaken(second);
    Map<String, Long> marks = fleet.marks();
    releaser.release(HelloBuild.of(version), new RolloutSettings("batches", "1", "75%", "1s", null, null, null, "zone"));
    Instant published = Instant.now();
    awaitAllCommitted(version, marks);
    awaitDecision(version, Kind.COMPLETE, null);

    List<RolloutDecision> decisions = RolloutFiles.assertTakenOnce(repository, APP, version);
    assertNoStop(decisions, version);
    long byA = decisionsTaken(fleet.server()) - decisionsA;
    long byB = decisionsTaken(second) - decisionsB;
    assertThat(byA + byB).as("decisions stored by a (" + byA + ") and b (" + byB + ")").isEqualTo(decisions.size());
    RolloutDecision start = RolloutFiles.first(decisions, Kind.START, null);
    List<List<String>> waves = start.waves();
    assertThat(waves).as("waveLabel zone: the canary, then one wave per zone").hasSize(3);
    for (List<String> wave : waves.subList(1, 3)) {
      assertThat(wave.stream().map(n -> zone(Integer.parseInt(n.substring("node-".length())))).distinct())
          .as("one zone per wave: " + wave).hasSize(1);
    }
    List<RolloutFiles.Lease> leases = RolloutFiles.leases(repository, APP, version);
    RolloutFiles.assertNoSlotGivenTwice(leases, List.of());
    Map<String, List<UpdateRecord>> histories = fleet.forEachNode(Node::history);
    List<FleetTimeline.Span> spans = new ArrayList<>();
    histories.forEach((node, history) -> spans.add(FleetTimeline.switchSpan(node, history, version)));
    FleetTimeline.Peak down = FleetTimeline.peak(spans);
    assertThat(down.spans()).as("nodes between STOP and healthy at once, slots given by two servers, at " + down.at()
        + ": " + down.nodes()).isLessThanOrEqualTo(start.budget());
    for (Node n : fleet.nodes()) {
      assertThat(n.currentVersion()).as(n.id() + " runs").contains(version);
    }
    Map<String, Object> out = results.section("twoServers");
    out.put("decisions", decisions.size());
    out.put("storedByA", byA);
    out.put("storedByB", byB);
    out.put("waves", waves);
    out.put("nodesDownAtMost", down.spans());
    out.put("publishToCompleteMs", E2eResults.ms(Duration.between(published,
        RolloutFiles.first(decisions, Kind.COMPLETE, null).at())));
    results.write();
  }

  @Test
  @Order(5)
  void aReleaseThatGoesBadIsRecalledFromItsCanaryAndNobodyElseInstallsIt() {
    settle();
    String version = "6.0.0";
    String good = fleet.node("node-1").currentVersion().orElseThrow();
    Map<String, Long> marks = fleet.marks();
    LoadReport report;
    RolloutDecision recall;
    String canary;
    Instant published;
    try (LoadGenerator load = fleet.load(RATE_PER_NODE * NODES).build().start()) {
      // Healthy, and good through its own 8 s watch window; from 20 s after its start half of "/" fails.
      releaser.release(HelloBuild.of(version).failing(0.5, 20), plan("batches", "1", "75%", "90s", null,
          new RolloutSettings.Rollback("auto", "3", "20", "8s", null)));
      published = Instant.now();
      RolloutDecision start = awaitDecision(version, Kind.START, null);
      canary = start.waves().get(0).get(0);
      Scenarios.awaitCommitLine(fleet.node(canary), version, marks.get(canary), WAIT);
      recall = awaitDecision(version, Kind.RECALL, null);
      awaitDecision(version, Kind.RECALLED, null);
      Scenarios.await(canary + " runs " + good + " again", WAIT,
          () -> fleet.node(canary).currentVersion().orElse("").equals(good));
      report = load.stop();
    }
    assertThat(recall.actor()).isEqualTo("controller");
    assertThat(recall.reason()).as("the recall's reason").contains("canary judge", "error rate");
    List<UpdateRecord> history = fleet.node(canary).history();
    UpdateRecord back = history.stream().filter(e -> "recall".equals(e.kind())).reduce((a, b) -> b).orElseThrow(
        () -> new AssertionError(canary + " has no recall event: " + history));
    assertThat(back.outcome()).isEqualTo("ROLLED_BACK");
    assertThat(back.notes()).as(canary + "'s recall notes").anySatisfy(n -> assertThat(n.message())
        .isEqualTo("recalled: " + recall.reason()));
    assertThat(history).as(canary + " committed " + version + " before the judge caught it")
        .anySatisfy(e -> {
          assertThat(e.toVersion()).isEqualTo(version);
          assertThat(e.outcome()).isEqualTo("COMMITTED");
        });
    Map<String, List<UpdateRecord>> histories = fleet.forEachNode(Node::history);
    histories.forEach((node, h) -> {
      if (!node.equals(canary)) {
        assertThat(FleetTimeline.allSwitchSpans(node, h, version)).as(node + " never switched to " + version)
            .isEmpty();
        assertThat(fleet.node(node).currentVersion()).as(node + " runs").contains(good);
      }
    });
    List<RolloutDecision> decisions = RolloutFiles.assertTakenOnce(repository, APP, version);
    assertThat(RolloutFiles.first(decisions, Kind.OPEN_WAVE, 1)).as("wave 2 never opened").isNull();
    assertThat(RolloutFiles.grantsPerNode(RolloutFiles.leases(repository, APP, version), "upgrade"))
        .as("upgrade slots given").containsOnlyKeys(canary);
    Map<String, Object> out = results.section("badRelease");
    out.put("canary", canary);
    out.put("recallReason", recall.reason());
    out.put("publishToRecallMs", E2eResults.ms(Duration.between(published, recall.at())));
    out.put("recallToCanaryBackMs", E2eResults.ms(Duration.between(recall.at(), back.endedAt())));
    out.put("canaryFailedRequests", report.target(canary).failed());
    results.write();
  }

  // ------------------------------------------------------------------------------------------------

  private static RolloutSettings plan(String strategy, String canary, String minAvailable, String bake,
      String approval, RolloutSettings.Rollback rollback) {
    return new RolloutSettings(strategy, canary, minAvailable, bake, null, approval, rollback, null);
  }

  private static void assertNoStop(List<RolloutDecision> decisions, String version) {
    assertThat(decisions).as("decisions of " + version).noneMatch(d -> d.kind() == Kind.HALT || d.kind() == Kind.RECALL
        || d.kind() == Kind.BLOCKED);
  }

  private static void notWithin(Instant t, Instant from, Instant to, String what) {
    assertThat(t.isAfter(from) && t.isBefore(to)).as(what + " (" + t + " is within " + from + " .. " + to + ")").isFalse();
  }

  /**
   * Waits until every daemon committed {@code version} after its mark. A poll that failed meanwhile
   * (a timeout on a busy machine) is no rollout failure by itself: the decisions say whether the
   * rollout held (no halt, no recall), and every scenario checks them.
   */
  private void awaitAllCommitted(String version, Map<String, Long> marks) {
    fleet.forEachNode(n -> {
      Scenarios.awaitCommitLine(n, version, marks.getOrDefault(n.id(), 0L), WAIT);
      return true;
    });
  }

  private List<RolloutDecision> decisions(String version) {
    return RolloutFiles.decisions(repository, APP, version);
  }

  private RolloutDecision awaitDecision(String version, Kind kind, Integer wave) {
    return awaitDecision(version, kind, wave, d -> true);
  }

  /** Waits for a decision of {@code kind} (for {@code wave}, if not null) in the repository. */
  private RolloutDecision awaitDecision(String version, Kind kind, Integer wave,
      java.util.function.Predicate<RolloutDecision> which) {
    RolloutDecision[] found = new RolloutDecision[1];
    Scenarios.await("the rollout of " + version + " has a decision " + kind + (wave == null ? "" : " " + wave), WAIT,
        () -> {
          found[0] = decisions(version).stream().filter(d -> d.kind() == kind
              && (wave == null || wave.equals(d.wave())) && which.test(d)).findFirst().orElse(null);
          if (found[0] == null) {
            ManagedProcess.sleep(200);
          }
          return found[0] != null;
        });
    return found[0];
  }

  /** {@code repo-server rollout ACTION --app hello --version V --reason R} as the operator: the stored decision. */
  private RolloutDecision operator(RepoServer server, String action, String version, String reason) {
    return operator(server, List.of(action), version, reason);
  }

  private RolloutDecision operator(RepoServer server, List<String> action, String version, String reason) {
    List<String> arguments = new ArrayList<>(action);
    arguments.addAll(List.of("--app", APP, "--version", version, "--reason", reason, "--json"));
    Command.Result r = server.rollout(RepoServer.OPERATOR, arguments).requireSuccess("repo-server rollout " + action);
    RolloutDecision d = Json.read(r.stdout().strip().getBytes(StandardCharsets.UTF_8), RolloutDecision.class,
        "rollout " + action + " --json");
    assertThat(d.actor()).isEqualTo(RepoServer.OPERATOR);
    assertThat(d.reason()).isEqualTo(reason);
    return d;
  }

  /** Nodes of {@code nodes} whose daemon committed {@code version} after their mark. */
  private int committed(List<String> nodes, String version, Map<String, Long> marks) {
    Pattern line = Pattern.compile("^committed: now running " + Pattern.quote(version) + "$", Pattern.MULTILINE);
    int n = 0;
    for (String id : nodes) {
      Node node = fleet.node(id);
      Optional<ManagedProcess> d = node.daemon();
      if (d.isPresent() && line.matcher(tail(d.get().logFile(), marks.getOrDefault(id, 0L))).find()) {
        n++;
      }
    }
    return n;
  }

  /** Nodes of {@code nodes} that were granted an upgrade slot for {@code version}. */
  private List<String> granted(List<String> nodes, String version) {
    List<RolloutFiles.Lease> leases = RolloutFiles.leases(repository, APP, version);
    return nodes.stream().filter(n -> leases.stream().anyMatch(l -> l.node().equals(n))).toList();
  }

  /** An operator's action straight through the API ({@link RepoServer#actAsOperator}): the stored decision. */
  private static RolloutDecision act(RepoServer server, String version, String action, String reason) {
    RepoServer.HttpAnswer answer = server.actAsOperator(RepoServer.OPERATOR, APP, version,
        "{\"action\":\"" + action + "\",\"reason\":\"" + reason + "\"}");
    assertThat(answer.status()).as("POST " + action + ": " + answer.body()).isEqualTo(201);
    return Json.read(answer.body().getBytes(StandardCharsets.UTF_8), RolloutDecision.class, action + " answer");
  }

  /** Nodes of {@code nodes} that were never granted an upgrade slot for {@code version}. */
  private List<String> pending(List<String> nodes, String version) {
    List<RolloutFiles.Lease> leases = RolloutFiles.leases(repository, APP, version);
    return nodes.stream().filter(n -> leases.stream().noneMatch(l -> l.node().equals(n))).toList();
  }

  /** Waits until no slot of {@code version} is held: the updates running at a pause or halt finished. */
  private void awaitQuiet(String version, List<String> nodes) {
    Scenarios.await("no node holds a slot of " + version, WAIT, () -> {
      boolean quiet = RolloutFiles.leases(repository, APP, version).stream()
          .noneMatch(l -> nodes.contains(l.node()) && l.released() == null);
      if (!quiet) {
        ManagedProcess.sleep(200);
      }
      return quiet;
    });
  }

  /** Stops the node's updater (its service keeps running), applies {@code config}, starts the updater again. */
  private static void restartDaemon(Node node, NodeConfig config) {
    node.stopDaemon(Duration.ofSeconds(10));
    node.reconfigure(config);
    node.startDaemon();
  }

  /** {@code upgradekit_rollout_decisions_total} of one server process. */
  private static long decisionsTaken(RepoServer server) {
    Matcher m = Pattern.compile("^upgradekit_rollout_decisions_total (\\d+)$", Pattern.MULTILINE)
        .matcher(server.get("metrics"));
    if (!m.find()) {
      throw new HarnessException(server + "'s metrics have no upgradekit_rollout_decisions_total");
    }
    return Long.parseLong(m.group(1));
  }

  private static String tail(Path file, long from) {
    try {
      byte[] bytes = Files.readAllBytes(file);
      int start = (int) Math.min(from, bytes.length);
      return new String(bytes, start, bytes.length - start, StandardCharsets.UTF_8);
    } catch (IOException e) {
      return "";
    }
  }

  /**
   * Waits until every updater polls again (after an update it starts a fresh JVM, and the first time
   * it records its class-data archive as it exits: seconds without heartbeats on a busy machine)
   * and the server counts every node available: each scenario starts from a quiet fleet.
   */
  private void settle() {
    Pattern polled = Pattern.compile("^up to date");
    fleet.forEachNode(n -> {
      ManagedProcess d = n.daemon().orElseThrow();
      d.awaitLog(polled, d.logSize(), WAIT);
      return true;
    });
    awaitInventory(fleet.server(), NODES);
    if (second != null) {
      awaitInventory(second, NODES);
    }
  }

  /** Waits until the server's inventory counts {@code nodes} available nodes. */
  private static void awaitInventory(RepoServer server, int nodes) {
    Pattern available = Pattern.compile("^upgradekit_inventory_nodes\\{available=\"true\"\\} (\\d+)$", Pattern.MULTILINE);
    Scenarios.await(server + " knows " + nodes + " available nodes", WAIT, () -> {
      Matcher m = available.matcher(server.get("metrics"));
      return m.find() && Integer.parseInt(m.group(1)) >= nodes;
    });
  }

  /** The rollout as an operator reads it ({@code GET /v1/rollouts/hello/<version>}, as the viewer). */
  private static RolloutReport rolloutReport(RepoServer server, String version) {
    RepoServer.HttpAnswer answer = server.getAsOperator(RepoServer.VIEWER, "v1/rollouts/" + APP + "/" + version);
    if (answer.status() != 200) {
      throw new HarnessException("GET v1/rollouts/" + APP + "/" + version + " answered " + answer.status() + ": "
          + answer.body());
    }
    return Json.read(answer.body().getBytes(StandardCharsets.UTF_8), RolloutReport.class, "rollout report");
  }

  private static void copyTree(Path from, Path to) throws IOException {
    if (!Files.isDirectory(from)) {
      return;
    }
    try (Stream<Path> all = Files.walk(from)) {
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
