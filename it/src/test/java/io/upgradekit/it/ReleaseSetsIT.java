package io.upgradekit.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.upgradekit.it.NodeConfig.Strategy;
import io.upgradekit.it.load.LoadGenerator;
import io.upgradekit.it.load.LoadReport;
import io.upgradekit.plugin.release.RolloutSettings;
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
import java.util.concurrent.TimeUnit;
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
 * Release sets end to end (docs/release-sets.md): the example shop of {@code examples/shop}, its
 * four components (database, cache, api, gateway; each calls the one below) on two real nodes each,
 * eight node updaters from the distribution with the {@code overlap} strategy, behind a real
 * repo-server holding the rollout key. Load goes to the gateways only, so every request crosses
 * the four components, and an error below is an error at the top. One fleet goes through, in order:
 *
 * <ol>
 *   <li>the set 2.0.0, previewed first with the real {@code mvn upgrade:plan -Dupgrade.json} and
 *       published with the real {@code mvn upgrade:release-set}: database, then cache, then api,
 *       then gateway; no node of a component stops before every node of the components it depends
 *       on committed (the nodes' histories say so, not the controller), and what happened is what
 *       the preview said (order, waves, nodes per wave);
 *   <li>a set naming api 3.0.0 with the contract {@code api 3.x requires cache >= 3.0} while the
 *       cache nodes run 2.0.0: the api nodes wait at GATE with {@code CONTRACT_UNMET} in {@code
 *       status}, change nothing, and go on by themselves once cache 3.0.0 is rolled out;
 *   <li>the set 4.0.0 of cache, api and gateway whose api goes bad a while after its start ({@code
 *       rollback_policy auto}): the gateways' clients see the api's errors, the api is recalled and
 *       its canary is back before any other node moves, then the cache goes back; the gateway never
 *       moves (nor the database, which the set does not name).
 * </ol>
 *
 * <p>Numbers go to the test log and {@code target/e2e-results/ReleaseSetsIT.json}. After a
 * failure the later scenarios are skipped and the logs are copied to {@code
 * target/it-logs/ReleaseSetsIT/}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class ReleaseSetsIT {
  private static final List<String> COMPONENTS = ServiceDistribution.SHOP;
  /** The third scenario's set: the database stays out (a set need not name every component). */
  private static final List<String> SET_OF_THREE = List.of("cache", "api", "gateway");
  private static final int NODES_PER_COMPONENT = 2;
  /** Requests per second over the two gateways; each crosses the four components. */
  private static final int RATE = 10;
  /** Heartbeats every 4 s (the judge's figures, and a node silent for 3 intervals counts as down). */
  private static final Duration HEARTBEAT = Duration.ofSeconds(4);
  private static final Duration WAIT = Duration.ofMinutes(2);
  /** Every component's plan: a canary, then the other node (2 nodes, half stay up: one at a time). */
  /** The set's name: every release it rolls out names it in its plan (it never starts by itself). */
  private static final String SET = "shop";
  private static final RolloutSettings PLAN = new RolloutSettings("batches", "1", "50%", "1s", null, null, null, null);

  private final E2eResults results = E2eResults.of("ReleaseSetsIT");
  private Artifacts artifacts;
  private Workspace ws;
  private Path repository;
  private Path releaseKey;
  private final Map<String, LibraryReleaser> releasers = new LinkedHashMap<>();
  private MavenReleaser maven;
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
  void startTheShopOn100() {
    try {
      installTheShop();
    } catch (RuntimeException | Error e) {
      failedScenario = "setup";
      throw e;
    }
  }

  private void installTheShop() {
    long started = System.nanoTime();
    artifacts = Artifacts.locate();
    ws = Workspace.create("release-sets");
    repository = ws.dir("repository");
    Path keys = ws.dir("keys");
    releaseKey = keys.resolve("release.pem");
    RolloutTrust.create(repository, releaseKey, keys.resolve("rollout.pem"));
    Map<String, List<Integer>> ports = new LinkedHashMap<>();
    for (String c : COMPONENTS) {
      ServiceDistribution service = ServiceDistribution.shop(artifacts, c);
      LibraryReleaser releaser = new LibraryReleaser(service, ws.dir("releases/" + c), releaseKey, repository.toString(),
          null, ws.logs().resolve("releases.log"));
      releasers.put(c, releaser);
      releaser.release(service.build("1.0.0")); // no plan: a new fleet installs it at once
      List<Integer> p = new ArrayList<>();
      for (int i = 1; i <= NODES_PER_COMPONENT; i++) {
        p.add(Ports.freeLoopbackPort());
      }
      ports.put(c, p);
    }
    List<NodeConfig> configs = new ArrayList<>();
    for (int k = 0; k < COMPONENTS.size(); k++) {
      String c = COMPONENTS.get(k);
      Map<String, String> environment = new LinkedHashMap<>();
      if (k > 0) { // each component calls the nodes of the one below it, in turn
        environment.put("HELLO_DOWNSTREAM", String.join(",", ports.get(COMPONENTS.get(k - 1)).stream()
            .map(port -> "http://127.0.0.1:" + port + "/").toList()));
      }
      for (int i = 1; i <= NODES_PER_COMPONENT; i++) {
        configs.add(ServiceDistribution.shop(artifacts, c).configure(
            NodeConfig.defaults(c + "-" + i, Strategy.OVERLAP, ports.get(c).get(i - 1)))
            .withHeartbeat(HEARTBEAT).withLabels(Map.of("zone", i % 2 == 1 ? "a" : "b"))
            .withWatch(Duration.ofSeconds(2), Duration.ofSeconds(1))
            .withServiceEnvironment(environment));
      }
    }
    RepoServer.Options server = RepoServer.Options.defaults()
        .withRollouts(new RepoServer.Rollouts(keys.resolve("rollout.pem"), Duration.ofSeconds(2),
            Duration.ofMillis(500), Duration.ofSeconds(12)));
    fleet = Fleet.start(ws, artifacts, repository, configs, server);
    maven = MavenReleaser.create(artifacts, artifacts.shopProject(), ws.dir("build"), releaseKey,
        repository.toString(), ws.logs());
    fleet.startDaemons();
    fleet.forEachNode(n -> {
      Scenarios.awaitCommitLine(n, "1.0.0", 0, Duration.ofMinutes(4));
      return true;
    });
    settle();
    assertThat(chain()).as("a request through the gateway").isEqualTo(
        "gateway 1.0.0 -> api 1.0.0 -> cache 1.0.0 -> database 1.0.0");
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
      copyTree(ws.logs(), artifacts.logs().resolve("ReleaseSetsIT"));
      copyTree(repository.resolve("rollouts"), artifacts.logs().resolve("ReleaseSetsIT/repository-rollouts"));
      copyTree(repository.resolve("sets"), artifacts.logs().resolve("ReleaseSetsIT/repository-sets"));
      System.out.println("logs of the failed run: " + artifacts.logs().resolve("ReleaseSetsIT"));
    }
    ws.close();
  }

  // ------------------------------------------------------------------------------------------------

  @Test
  @Order(1)
  void aGoodSetGoesBottomUpAsThePlanPreviewedIt() {
    settle();
    String version = "2.0.0";
    Map<String, Long> marks = fleet.marks();
    LoadReport report;
    Instant published;
    JsonNode plan;
    try (LoadGenerator load = gatewayLoad().start()) {
      for (String c : COMPONENTS) {
        releasers.get(c).release(ServiceDistribution.shop(artifacts, c).build(version), PLAN, SET);
      }
      // The preview first (it changes nothing), then the set, in one run of the real goals.
      Path descriptor = writeDescriptor(version, Map.of("database", version, "cache", version, "api", version,
          "gateway", version), "manual", List.of("api 2.x requires cache >= 2.0"));
      maven.maven("set-" + version, List.of("-N", "upgrade:plan", "upgrade:release-set",
          "-Dupgrade.descriptor=" + descriptor, "-Dupgrade.setVersion=" + version, "-Dupgrade.nodeTime=10s",
          "-Dupgrade.keyFile=" + releaseKey, "-Dupgrade.repository=" + repository))
          .requireSuccess("mvn upgrade:plan upgrade:release-set (" + version + ")");
      published = Instant.now();
      plan = readJson(maven.project().resolve("target/upgrade/plan.json"));
      awaitAllCommitted(fleet.nodes().stream().map(Node::id).toList(), version, marks);
      ManagedProcess.sleep(1000);
      report = load.stop();
    }
    System.out.println("scenario 1: load on the gateways during the set " + version + ":\n" + report.table());
    Map<String, List<UpdateRecord>> histories = fleet.forEachNode(Node::history);

    // The preview: what it said.
    assertThat(plan.path("kind").asText()).isEqualTo("set");
    assertThat(plan.path("problems")).as("the preview's problems").isEmpty();
    List<List<String>> steps = new ArrayList<>();
    plan.path("steps").forEach(step -> {
      List<String> apps = new ArrayList<>();
      step.forEach(a -> apps.add(a.asText()));
      steps.add(apps);
    });
    assertThat(steps).as("the preview's order").containsExactly(List.of("database"), List.of("cache"), List.of("api"),
        List.of("gateway"));

    // What happened, from the nodes' own histories: every component after the one below it.
    Map<String, ComponentSpan> spans = new LinkedHashMap<>();
    for (String c : COMPONENTS) {
      spans.put(c, ComponentSpan.of(c, histories, version));
    }
    for (int k = 1; k < COMPONENTS.size(); k++) {
      ComponentSpan below = spans.get(COMPONENTS.get(k - 1));
      ComponentSpan above = spans.get(COMPONENTS.get(k));
      assertThat(above.firstStop()).as(above.app() + "'s first node stopped (" + above.first() + ") after every node of "
          + below.app() + " committed (" + below.last() + ")").isAfter(below.lastCommit());
    }
    List<Map<String, Object>> figures = new ArrayList<>();
    for (JsonNode component : plan.path("components")) {
      String app = component.path("app").asText();
      List<List<String>> previewed = new ArrayList<>();
      component.path("waves").forEach(w -> {
        List<String> nodes = new ArrayList<>();
        w.path("nodes").forEach(n -> nodes.add(n.path("id").asText()));
        previewed.add(nodes);
      });
      RolloutDecision start = RolloutFiles.first(RolloutFiles.assertTakenOnce(repository, app, version), Kind.START,
          null);
      assertThat(start).as(app + " " + version + " has a start decision").isNotNull();
      assertThat(start.waves()).as(app + ": the waves the controller assigned are the preview's").isEqualTo(previewed);
      ComponentSpan span = spans.get(app);
      // Waves in order on the nodes: no node of wave k+1 stopped before every node of wave k committed.
      Instant previousDone = null;
      for (List<String> wave : previewed) {
        Instant done = null;
        for (String node : wave) {
          FleetTimeline.Span s = span.nodes().get(node);
          if (previousDone != null) {
            assertThat(s.from()).as(node + " stopped after the wave before it committed (" + previousDone + ")")
                .isAfter(previousDone);
          }
          done = done == null || s.to().isAfter(done) ? s.to() : done;
        }
        previousDone = done;
      }
      int slots = component.path("waves").get(0).path("slots").asInt();
      assertThat(FleetTimeline.peak(List.copyOf(span.nodes().values())).spans())
          .as(app + ": nodes between STOP and healthy at once, the preview's slots " + slots).isLessThanOrEqualTo(slots);
      Map<String, Object> f = new LinkedHashMap<>();
      f.put("app", app);
      f.put("waves", previewed);
      f.put("previewStartsAtSeconds", component.path("startsAtSeconds").asLong());
      f.put("previewExpectedSeconds", component.path("expectedSeconds").asLong());
      f.put("firstStopMs", E2eResults.ms(Duration.between(published, span.firstStop())));
      f.put("lastCommitMs", E2eResults.ms(Duration.between(published, span.lastCommit())));
      figures.add(f);
    }
    assertThat(chain()).isEqualTo("gateway 2.0.0 -> api 2.0.0 -> cache 2.0.0 -> database 2.0.0");

    Map<String, Object> out = results.section("goodSet");
    out.put("nodes", fleet.nodes().size());
    out.put("plan", "batches, canary 1, minAvailable 50%, bake 1 s; set rolling");
    out.put("gatewayRequests", report.overall().total());
    out.put("gatewayFailedRequests", report.overall().failed());
    out.put("previewExpectedSeconds", plan.path("expectedSeconds").asLong());
    out.put("publishToAllCommittedMs", E2eResults.ms(Duration.between(published,
        spans.get("gateway").lastCommit())));
    out.put("components", figures);
    results.write();
    System.out.printf("scenario 1: %s; publish -> all committed %.1f s; gateway requests failed: %d of %d%n",
        String.join(" -> ", COMPONENTS), Duration.between(published, spans.get("gateway").lastCommit()).toMillis()
            / 1000.0, report.overall().failed(), report.overall().total());
  }

  // ------------------------------------------------------------------------------------------------

  @Test
  @Order(2)
  void aContractNotMetYetMakesTheApiWaitAtGateUntilItIs() {
    settle();
    String version = "3.0.0";
    List<String> apis = nodesOf("api");
    Map<String, Long> marks = fleet.marks();
    releasers.get("api").release(ServiceDistribution.shop(artifacts, "api").build(version), PLAN, SET);
    LibraryReleaser.publishSet(releaseKey, repository.toString(), ws.dir("releases/sets"), ws.logs().resolve(
        "releases.log"), SET, version, descriptor(Map.of("api", version), "manual",
        List.of("api 3.x requires cache >= 3.0")));
    Instant published = Instant.now();

    // Both api nodes wait at GATE with the contract's code: the cache nodes run 2.0.0.
    Map<String, NodeStatus.Waiting> waits = new LinkedHashMap<>();
    Scenarios.await("every api node waits with CONTRACT_UNMET", WAIT, () -> {
      for (String id : apis) {
        NodeStatus.Waiting w = fleet.node(id).status().waiting();
        if (w != null && "CONTRACT_UNMET".equals(w.code())) {
          waits.put(id, w);
        }
      }
      if (waits.size() < apis.size()) {
        ManagedProcess.sleep(500);
      }
      return waits.size() == apis.size();
    });
    Instant allWaiting = Instant.now();
    waits.forEach((id, w) -> {
      assertThat(w.version()).isEqualTo(version);
      assertThat(w.message()).as(id + "'s wait").contains("cache", ">= 3.0");
    });
    ManagedProcess.sleep(3000); // waiting is not failing: nothing happens while it waits
    for (String id : apis) {
      Node n = fleet.node(id);
      assertThat(n.currentVersion()).as(id + " runs").contains("2.0.0");
      List<UpdateRecord> history = n.history();
      assertThat(FleetTimeline.allSwitchSpans(id, history, version)).as(id + " stopped nothing for " + version).isEmpty();
      assertThat(history).as(id + "'s history records the wait").anySatisfy(e -> {
        assertThat(e.outcome()).isEqualTo("WAITING");
        assertThat(e.errorCode()).isEqualTo("CONTRACT_UNMET");
      });
      assertThat(logSince(n.daemon().orElseThrow().logFile(), marks.get(id))).as(id + "'s daemon reported no failure")
          .doesNotContainPattern(Pattern.compile("^(failed|rolled back|refused)", Pattern.MULTILINE));
    }

    // cache 3.0.0 rolls out (a release of its own, in no set); the api nodes go on by themselves.
    releasers.get("cache").release(ServiceDistribution.shop(artifacts, "cache").build(version), PLAN);
    awaitAllCommitted(nodesOf("cache"), version, marks);
    awaitAllCommitted(apis, version, marks);
    Map<String, List<UpdateRecord>> histories = fleet.forEachNode(Node::history);
    ComponentSpan cache = ComponentSpan.of("cache", histories, version);
    ComponentSpan api = ComponentSpan.of("api", histories, version);
    assertThat(api.firstStop()).as("api's first node stopped (" + api.first() + ") after every cache node ran 3.0.0 ("
        + cache.last() + ")").isAfter(cache.lastCommit());
    assertThat(chain()).isEqualTo("gateway 2.0.0 -> api 3.0.0 -> cache 3.0.0 -> database 2.0.0");

    Map<String, Object> out = results.section("contract");
    out.put("publishToAllWaitingMs", E2eResults.ms(Duration.between(published, allWaiting)));
    out.put("waitMessage", waits.values().iterator().next().message());
    out.put("cacheLastCommitToApiFirstStopMs", E2eResults.ms(Duration.between(cache.lastCommit(), api.firstStop())));
    results.write();
  }

  // ------------------------------------------------------------------------------------------------

  @Test
  @Order(3)
  void aBadApiIsRecalledFirstThenTheCacheGoesBack() {
    settle();
    String version = "4.0.0";
    Map<String, String> before = new LinkedHashMap<>();
    fleet.nodes().forEach(n -> before.put(n.id(), n.currentVersion().orElseThrow()));
    Map<String, Long> marks = fleet.marks();
    RolloutSettings.Rollback auto = new RolloutSettings.Rollback("auto", "3", "20", "8s", null);
    LoadReport report;
    RolloutDecision recall;
    String canary;
    Instant published;
    try (LoadGenerator load = gatewayLoad().start()) {
      for (String c : SET_OF_THREE) {
        ServiceDistribution service = ServiceDistribution.shop(artifacts, c);
        // The api: healthy, good through its own watch window, then half of "/" fails from 10 s after its start.
        HelloBuild build = c.equals("api") ? service.build(version).failing(0.5, 10) : service.build(version);
        releasers.get(c).release(build, new RolloutSettings("batches", "1", "50%", c.equals("api") ? "60s" : "1s",
            null, null, auto, null), SET);
      }
      LibraryReleaser.publishSet(releaseKey, repository.toString(), ws.dir("releases/sets"), ws.logs().resolve(
          "releases.log"), SET, version, descriptor(Map.of("cache", version, "api", version, "gateway", version),
          "auto", List.of()));
      published = Instant.now();
      recall = awaitDecision("api", version, Kind.RECALL);
      canary = RolloutFiles.first(RolloutFiles.decisions(repository, "api", version), Kind.START, null).waves()
          .get(0).get(0);
      for (String c : List.of("api", "cache")) {
        for (String id : nodesOf(c)) {
          Scenarios.await(id + " runs " + before.get(id) + " again", WAIT,
              () -> fleet.node(id).currentVersion().orElse("").equals(before.get(id)) && fleet.node(id).journalState()
                  .isEmpty());
        }
      }
      report = load.stop();
    }
    Map<String, List<UpdateRecord>> histories = fleet.forEachNode(Node::history);

    // The errors of the bad api reached the gateways' clients (each component reports what fails below it).
    assertThat(report.overall().failed()).as("requests the gateways answered 502 while the api canary ran " + version)
        .isPositive();
    assertThat(recall.actor()).isEqualTo("controller");
    assertThat(recall.reason()).as("the recall's reason").contains("error rate");

    // From the nodes: the api canary committed, then went back before any other node moved.
    List<UpdateRecord> canaryHistory = histories.get(canary);
    assertThat(canaryHistory).as(canary + " committed " + version).anySatisfy(e -> {
      assertThat(e.toVersion()).isEqualTo(version);
      assertThat(e.outcome()).isEqualTo("COMMITTED");
    });
    UpdateRecord apiBack = lastRecall(canary, canaryHistory);
    Instant apiBackAt = apiBack.endedAt();
    Map<String, UpdateRecord> recalls = new LinkedHashMap<>();
    for (String id : nodesOf("cache")) {
      UpdateRecord back = lastRecall(id, histories.get(id));
      assertThat(back.fromVersion()).as(id + "'s recall").isEqualTo(version);
      recalls.put(id, back);
      assertThat(liveFrom(back)).as(id + " went back (" + liveFrom(back) + ") after the api canary was back ("
          + apiBackAt + ")").isAfter(apiBackAt);
    }
    Instant cacheBack = recalls.values().stream().map(UpdateRecord::endedAt).max(Instant::compareTo).orElseThrow();
    for (String id : nodesOf("gateway")) {
      assertThat(FleetTimeline.allSwitchSpans(id, histories.get(id), version)).as(id + " never switched").isEmpty();
    }
    for (String id : nodesOf("database")) {
      assertThat(histories.get(id)).as(id + " (not in the set) did nothing for " + version)
          .noneMatch(e -> version.equals(e.toVersion()) || version.equals(e.fromVersion()));
    }
    for (String id : nodesOf("api")) {
      if (!id.equals(canary)) {
        assertThat(FleetTimeline.allSwitchSpans(id, histories.get(id), version)).as(id + " never switched").isEmpty();
      }
    }
    fleet.nodes().forEach(n -> assertThat(n.currentVersion()).as(n.id() + " runs").contains(before.get(n.id())));
    assertThat(chain()).isEqualTo("gateway 2.0.0 -> api 3.0.0 -> cache 3.0.0 -> database 2.0.0");

    Map<String, Object> out = results.section("badApi");
    out.put("canary", canary);
    out.put("recallReason", recall.reason());
    out.put("publishToRecallMs", E2eResults.ms(Duration.between(published, recall.at())));
    out.put("recallToApiBackMs", E2eResults.ms(Duration.between(recall.at(), apiBackAt)));
    out.put("apiBackToCacheBackMs", E2eResults.ms(Duration.between(apiBackAt, cacheBack)));
    out.put("gatewayRequests", report.overall().total());
    out.put("gatewayFailedRequests", report.overall().failed());
    results.write();
  }

  // ------------------------------------------------------------------------------------------------

  /**
   * One component's switches to a version, from its nodes' histories: per node, STOP to COMMIT.
   */
  private record ComponentSpan(String app, Map<String, FleetTimeline.Span> nodes) {
    static ComponentSpan of(String app, Map<String, List<UpdateRecord>> histories, String version) {
      Map<String, FleetTimeline.Span> nodes = new LinkedHashMap<>();
      histories.forEach((node, history) -> {
        if (node.startsWith(app + "-")) {
          FleetTimeline.Span s = FleetTimeline.switchSpan(node, history, version);
          assertThat(s).as(node + " switched to " + version).isNotNull();
          nodes.put(node, s);
        }
      });
      assertThat(nodes).as(app + "'s nodes").hasSize(NODES_PER_COMPONENT);
      return new ComponentSpan(app, nodes);
    }

    FleetTimeline.Span first() {
      return nodes.values().stream().min((a, b) -> a.from().compareTo(b.from())).orElseThrow();
    }

    FleetTimeline.Span last() {
      return nodes.values().stream().max((a, b) -> a.to().compareTo(b.to())).orElseThrow();
    }

    Instant firstStop() {
      return first().from();
    }

    Instant lastCommit() {
      return last().to();
    }
  }

  /** The node's last recall event (a switch back ordered by the rollout), which must have ended ROLLED_BACK. */
  private static UpdateRecord lastRecall(String node, List<UpdateRecord> history) {
    UpdateRecord back = history.stream().filter(e -> "recall".equals(e.kind())).reduce((a, b) -> b).orElseThrow(
        () -> new AssertionError(node + " has no recall event: " + history));
    assertThat(back.outcome()).as(node + "'s recall").isEqualTo("ROLLED_BACK");
    assertThat(back.endedAt()).as(node + "'s recall ended").isNotNull();
    return back;
  }

  /** When an event first touched what serves (STOP, SWITCH or ROLLBACK, whichever came first). */
  private static Instant liveFrom(UpdateRecord event) {
    return Stream.of("STOP", "SWITCH", "ROLLBACK").map(event::stepStart).filter(java.util.Objects::nonNull)
        .min(Instant::compareTo).orElseThrow(() -> new AssertionError("the event touched nothing live: " + event));
  }

  private LoadGenerator gatewayLoad() {
    // A request crosses four services, each waiting up to 2 s for the one below: more than the default 2 s.
    LoadGenerator.Builder b = LoadGenerator.builder().rate(RATE).responseTimeout(Duration.ofSeconds(5));
    nodesOf("gateway").forEach(id -> b.target(id, fleet.node(id).serviceUrl()));
    return b.build();
  }

  /** What a request through the first gateway answers: every component's name and version on its way down. */
  private String chain() {
    return Scenarios.get(fleet.node("gateway-1").serviceUrl()).map(String::strip).orElse("(no answer)");
  }

  private List<String> nodesOf(String component) {
    return fleet.nodes().stream().map(Node::id).filter(id -> id.startsWith(component + "-")).toList();
  }

  /** The descriptor of {@code release-set.yaml} for the components in {@code versions}, each after the one below it. */
  private static String descriptor(Map<String, String> versions, String rollback, List<String> contracts) {
    StringBuilder y = new StringBuilder("components:\n");
    String below = null;
    for (String c : COMPONENTS) {
      if (versions.containsKey(c)) {
        y.append("  - {name: ").append(c).append(", version: ").append(versions.get(c)).append(", depends_on: [")
            .append(below == null ? "" : below).append("]}\n");
        below = c;
      }
    }
    y.append("strategy: rolling\nrollback_policy: ").append(rollback).append('\n');
    if (!contracts.isEmpty()) {
      y.append("contracts:\n");
      contracts.forEach(k -> y.append("  - ").append(k).append('\n'));
    }
    return y.toString();
  }

  private Path writeDescriptor(String version, Map<String, String> versions, String rollback, List<String> contracts) {
    Path file = maven.project().resolve("release-set-" + version + ".yaml");
    try {
      Files.writeString(file, descriptor(versions, rollback, contracts), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new HarnessException("cannot write " + file + ": " + e, e);
    }
    return file;
  }

  private static JsonNode readJson(Path file) {
    try {
      return JsonSupport.tree(Files.readString(file, StandardCharsets.UTF_8), file.toString());
    } catch (IOException e) {
      throw new HarnessException("cannot read " + file + ": " + e, e);
    }
  }

  private void awaitAllCommitted(List<String> nodes, String version, Map<String, Long> marks) {
    fleet.forEachNode(n -> {
      if (nodes.contains(n.id())) {
        Scenarios.awaitCommitLine(n, version, marks.getOrDefault(n.id(), 0L), WAIT);
      }
      return true;
    });
  }

  private RolloutDecision awaitDecision(String app, String version, Kind kind) {
    RolloutDecision[] found = new RolloutDecision[1];
    Scenarios.await("the rollout of " + app + " " + version + " has a decision " + kind, WAIT, () -> {
      found[0] = RolloutFiles.first(RolloutFiles.decisions(repository, app, version), kind, null);
      if (found[0] == null) {
        ManagedProcess.sleep(200);
      }
      return found[0] != null;
    });
    return found[0];
  }

  /**
   * Waits until every updater polls again (each starts a fresh JVM after an update) and the server
   * counts every node available: each scenario starts from a quiet fleet.
   */
  private void settle() {
    Pattern polled = Pattern.compile("^up to date");
    fleet.forEachNode(n -> {
      ManagedProcess d = n.daemon().orElseThrow();
      d.awaitLog(polled, d.logSize(), WAIT);
      return true;
    });
    Pattern available = Pattern.compile("^upgradekit_inventory_nodes\\{available=\"true\"\\} (\\d+)$",
        Pattern.MULTILINE);
    int all = fleet.nodes().size();
    Scenarios.await(fleet.server() + " knows " + all + " available nodes", WAIT, () -> {
      java.util.regex.Matcher m = available.matcher(fleet.server().get("metrics"));
      return m.find() && Integer.parseInt(m.group(1)) >= all;
    });
  }

  private static String logSince(Path file, long from) {
    try {
      byte[] bytes = Files.readAllBytes(file);
      int start = (int) Math.min(from, bytes.length);
      return new String(bytes, start, bytes.length - start, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new HarnessException("cannot read " + file + ": " + e, e);
    }
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
