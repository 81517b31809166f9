package io.upgradekit.server.fleet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.api.Heartbeat;
import io.upgradekit.schema.api.LeaseAnswer;
import io.upgradekit.schema.api.LeaseRequest;
import io.upgradekit.schema.api.RolloutAction;
import io.upgradekit.schema.api.SetReport;
import io.upgradekit.schema.json.Json;
import io.upgradekit.schema.layout.RepositoryLayout;
import io.upgradekit.schema.model.DocumentType;
import io.upgradekit.schema.model.LeaseGrant;
import io.upgradekit.schema.model.ReleaseSet;
import io.upgradekit.schema.model.RolloutDecision;
import io.upgradekit.schema.model.RolloutPlan;
import io.upgradekit.schema.model.RolloutState;
import io.upgradekit.schema.model.SetDecision;
import io.upgradekit.schema.model.SetState;
import io.upgradekit.schema.sign.MetadataVerifier;
import io.upgradekit.server.core.Caller;
import io.upgradekit.server.rollout.RolloutView;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Release sets run by the controller over a real repository directory: which release belongs to a
 * set (also when the set is published after its components), the order, the failure policies, the
 * operators' actions, the signed set state, contracts at the slot request, and exactly-once with
 * two controllers and across a crash between a set decision and its part on a component.
 */
class SetRunsTest {
  static final RolloutPlan MARKED = RolloutPlan.of(RolloutPlan.Strategy.ALL).withSet("shop");

  static ReleaseSet chain(ReleaseSet.Rollback rollback, String... contracts) {
    return ReleaseSet.of("shop", "2026.1", 1, RolloutFixture.T0, RolloutFixture.EXPIRES, List.of(
        new ReleaseSet.Component("api", "2.0", List.of("cache")),
        new ReleaseSet.Component("cache", "2.0", List.of("database")),
        new ReleaseSet.Component("database", "2.0", List.of())),
        ReleaseSet.Strategy.ROLLING, rollback, List.of(contracts).stream().map(ReleaseSet.Contract::parse).toList());
  }

  /** database, cache and api at 2.0 (each with the plan), two nodes each on 1.4, heard now. */
  static void publishComponents(RolloutFixture f, RolloutPlan plan, RolloutFixture.Instance... servers)
      throws Exception {
    for (String app : List.of("database", "cache", "api")) {
      f.publish(app, "2.0", 2, plan);
    }
    heartbeats(servers);
  }

  static void heartbeats(RolloutFixture.Instance... servers) {
    for (RolloutFixture.Instance s : servers) {
      for (String app : List.of("database", "cache", "api")) {
        String c = app.substring(0, 1);
        s.heartbeatsOf(app, s.inventory.get(c + "1", app) == null ? "1.4"
            : s.inventory.get(c + "1", app).heartbeat().version(), c + "1");
        s.heartbeatsOf(app, s.inventory.get(c + "2", app) == null ? "1.4"
            : s.inventory.get(c + "2", app).heartbeat().version(), c + "2");
      }
    }
  }

  /** Both nodes of {@code app} report {@code outcome} for 2.0 and run what it leaves them on. */
  static void outcome(RolloutFixture f, RolloutFixture.Instance s, String app, String outcome) {
    String c = app.substring(0, 1);
    for (String node : List.of(c + "1", c + "2")) {
      s.report(RolloutFixture.report(app, node, "1.4", "2.0", outcome, f.clock.instant()));
      s.heartbeatsOf(app, outcome.equals("COMMITTED") ? "2.0" : "1.4", node);
    }
  }

  static List<RolloutDecision> decisions(Path root, String app) throws Exception {
    Path dir = root.resolve(RepositoryLayout.rolloutDecisions(app, "2.0"));
    List<RolloutDecision> out = new ArrayList<>();
    if (!Files.isDirectory(dir)) {
      return out;
    }
    try (Stream<Path> files = Files.list(dir)) {
      for (Path p : files.filter(p -> !p.getFileName().toString().startsWith(".")).toList()) {
        out.add(Json.read(Files.readAllBytes(p), DocumentType.DECISION, RolloutDecision.class));
      }
    }
    out.sort((a, b) -> Long.compare(a.sequence(), b.sequence()));
    return out;
  }

  static List<SetDecision> setDecisions(Path root) throws Exception {
    Path dir = root.resolve(RepositoryLayout.setDecisions("shop", "2026.1"));
    List<SetDecision> out = new ArrayList<>();
    if (!Files.isDirectory(dir)) {
      return out;
    }
    try (Stream<Path> files = Files.list(dir)) {
      for (Path p : files.filter(p -> !p.getFileName().toString().startsWith(".")).toList()) {
        out.add(Json.read(Files.readAllBytes(p), DocumentType.SET_DECISION, SetDecision.class));
      }
    }
    out.sort((a, b) -> Long.compare(a.sequence(), b.sequence()));
    return out;
  }

  static List<RolloutDecision.Kind> kinds(Path root, String app) throws Exception {
    return decisions(root, app).stream().map(RolloutDecision::kind).toList();
  }

  static void tick(RolloutFixture f, RolloutFixture.Instance s) throws Exception {
    f.clock.advance(Duration.ofSeconds(2));
    heartbeats(s);
    s.controller.tick();
  }

  @Test
  void aMarkedReleaseWaitsForItsSetEvenWhenTheSetIsPublishedLaterAndThenGoesInDependencyOrder(@TempDir Path root)
      throws Exception {
    RolloutFixture f = new RolloutFixture(root);
    RolloutFixture.Instance s = f.new Instance();
    publishComponents(f, MARKED, s);

    for (int i = 0; i < 3; i++) {
      tick(f, s); // the set is published seconds after its components: none starts by itself meanwhile
    }
    for (String app : List.of("database", "cache", "api")) {
      assertThat(kinds(root, app)).as(app).isEmpty();
    }
    RolloutState held = new MetadataVerifier(f.trust, f.clock).verifyRolloutState(Files.readAllBytes(
        root.resolve(RepositoryLayout.rolloutState("api", "2.0"))), "api", "2.0", 0);
    assertThat(held.action()).isEqualTo(RolloutState.Action.PAUSE);
    assertThat(s.leases.ask(new Caller.Node("a1"), LeaseRequest.ask("api", "2.0", "a1", LeaseGrant.Kind.UPGRADE))
        .body().message()).contains("held for release set shop: no published set shop lists api 2.0 yet");

    f.publishSet(chain(ReleaseSet.Rollback.AUTO));
    tick(f, s);
    assertThat(setDecisions(root)).extracting(SetDecision::kind)
        .containsExactly(SetDecision.Kind.START, SetDecision.Kind.START_COMPONENTS);
    assertThat(setDecisions(root).get(1).apps()).containsExactly("database");
    assertThat(kinds(root, "database")).containsExactly(RolloutDecision.Kind.START, RolloutDecision.Kind.OPEN_WAVE);
    assertThat(kinds(root, "cache")).isEmpty();
    RolloutState cacheState = new MetadataVerifier(f.trust, f.clock).verifyRolloutState(Files.readAllBytes(
        root.resolve(RepositoryLayout.rolloutState("cache", "2.0"))), "cache", "2.0", 0);
    assertThat(cacheState.set()).isEqualTo("shop");
    assertThat(cacheState.setVersion()).isEqualTo("2026.1");
    assertThat(s.leases.ask(new Caller.Node("c1"), LeaseRequest.ask("cache", "2.0", "c1", LeaseGrant.Kind.UPGRADE))
        .body().message()).contains("held: release set shop 2026.1 starts it after database");

    outcome(f, s, "database", "COMMITTED");
    tick(f, s);
    assertThat(kinds(root, "database")).endsWith(RolloutDecision.Kind.COMPLETE);
    assertThat(kinds(root, "cache")).as("cache starts a pass after database completed").isEmpty();
    tick(f, s);
    assertThat(kinds(root, "cache")).containsExactly(RolloutDecision.Kind.START, RolloutDecision.Kind.OPEN_WAVE);
    assertThat(kinds(root, "api")).isEmpty();

    SetState state = new MetadataVerifier(f.trust, f.clock).verifySetState(Files.readAllBytes(
        root.resolve(RepositoryLayout.setState("shop", "2026.1"))), "shop", "2026.1", 0);
    assertThat(state.status()).isEqualTo(SetState.Status.RUNNING);
    assertThat(state.component("database").status()).isEqualTo(SetState.ComponentStatus.COMPLETE);
    assertThat(state.component("cache").status()).isEqualTo(SetState.ComponentStatus.ROLLING);
    assertThat(state.component("api").status()).isEqualTo(SetState.ComponentStatus.WAITING);
    assertThat(state.component("api").waitingFor()).containsExactly("cache");
    assertThat(state.expires()).isEqualTo(f.clock.instant().plus(Duration.ofMinutes(2))
        .truncatedTo(java.time.temporal.ChronoUnit.SECONDS));

    outcome(f, s, "cache", "COMMITTED");
    tick(f, s);
    tick(f, s);
    outcome(f, s, "api", "COMMITTED");
    tick(f, s);
    tick(f, s);
    assertThat(setDecisions(root)).extracting(SetDecision::kind).containsExactly(SetDecision.Kind.START,
        SetDecision.Kind.START_COMPONENTS, SetDecision.Kind.START_COMPONENTS, SetDecision.Kind.START_COMPONENTS,
        SetDecision.Kind.COMPLETE);
    // the order, from the stored decisions: each component started after the one below completed
    assertThat(decisions(root, "cache").get(0).at()).isAfter(decisions(root, "database").get(3).at());
    assertThat(decisions(root, "api").get(0).at()).isAfter(decisions(root, "cache").get(3).at());
  }

  @Test
  void theSetStateIsReSignedAtAThirdOfItsTtlWhileNothingChangesAndAtOnceWhenSomethingDoes(@TempDir Path root)
      throws Exception {
    RolloutFixture f = new RolloutFixture(root);
    RolloutFixture.Instance s = f.new Instance();
    publishComponents(f, MARKED, s);
    f.publishSet(chain(ReleaseSet.Rollback.AUTO));
    tick(f, s);
    long first = s.setStates.current("shop", "2026.1").orElseThrow().sequence();
    for (int i = 0; i < 19; i++) {
      tick(f, s); // 38 s: nothing changed, the state is fresh
    }
    assertThat(s.setStates.current("shop", "2026.1").orElseThrow().sequence()).isEqualTo(first);
    tick(f, s);
    tick(f, s); // 42 s: past a third of the 2 minutes
    SetState resigned = s.setStates.current("shop", "2026.1").orElseThrow();
    assertThat(resigned.sequence()).isEqualTo(first + 1);
    assertThat(resigned.expires()).isAfter(f.clock.instant().plus(Duration.ofSeconds(100)));
    outcome(f, s, "database", "COMMITTED");
    tick(f, s);
    assertThat(s.setStates.current("shop", "2026.1").orElseThrow().component("database").status())
        .isEqualTo(SetState.ComponentStatus.COMPLETE);
  }

  @Test
  void anUnmarkedReleaseIsHeldOnceItsSetIsPublished(@TempDir Path root) throws Exception {
    RolloutFixture f = new RolloutFixture(root);
    RolloutFixture.Instance s = f.new Instance();
    publishComponents(f, RolloutPlan.of(RolloutPlan.Strategy.ALL), s);
    f.publishSet(chain(ReleaseSet.Rollback.AUTO));
    tick(f, s);
    assertThat(kinds(root, "database")).containsExactly(RolloutDecision.Kind.START, RolloutDecision.Kind.OPEN_WAVE);
    assertThat(kinds(root, "cache")).isEmpty();
    assertThat(kinds(root, "api")).isEmpty();
    assertThat(s.controller.sets().hold(s.rollouts.get("api", "2.0").orElseThrow()).reason())
        .isEqualTo("held: release set shop 2026.1 starts it after cache");
    RolloutOperations operations = new RolloutOperations(s.rollouts, s.decisions, s.controller, s.leases, s.states,
        f.clock, new io.upgradekit.server.core.FleetIndex());
    assertThatThrownBy(() -> operations.act(new Caller.Operator("alice", Caller.Operator.Role.OPERATOR), "api", "2.0",
        action(RolloutAction.Action.START, "now"))).isInstanceOf(UpgradeException.class)
        .hasMessageContaining("a release of a set starts in the set's order");
  }

  @Test
  void aFailureUnderAutoRecallsTheRolledComponentsTopDown(@TempDir Path root) throws Exception {
    RolloutFixture f = new RolloutFixture(root);
    RolloutFixture.Instance s = f.new Instance();
    publishComponents(f, MARKED, s);
    f.publishSet(chain(ReleaseSet.Rollback.AUTO));
    tick(f, s);
    outcome(f, s, "database", "COMMITTED");
    tick(f, s);
    tick(f, s);
    assertThat(kinds(root, "cache")).containsExactly(RolloutDecision.Kind.START, RolloutDecision.Kind.OPEN_WAVE);

    outcome(f, s, "cache", "FAILED"); // too many failures: cache halts itself (its own rollback: manual)
    tick(f, s);
    assertThat(kinds(root, "cache")).endsWith(RolloutDecision.Kind.HALT);
    tick(f, s); // the set sees the failure at its next pass
    List<SetDecision> set = setDecisions(root);
    assertThat(set).extracting(SetDecision::kind).contains(SetDecision.Kind.RECALL,
        SetDecision.Kind.RECALL_COMPONENTS);
    SetDecision first = set.stream().filter(d -> d.kind() == SetDecision.Kind.RECALL_COMPONENTS).findFirst()
        .orElseThrow();
    assertThat(first.apps()).as("cache goes back first; database waits for it").containsExactly("cache");
    RolloutDecision recall = decisions(root, "cache").stream().filter(d -> d.kind() == RolloutDecision.Kind.RECALL)
        .findFirst().orElseThrow();
    assertThat(recall.set()).isEqualTo(new RolloutDecision.SetRef("shop", "2026.1", first.sequence()));
    assertThat(kinds(root, "database")).doesNotContain(RolloutDecision.Kind.RECALL);
    assertThat(kinds(root, "api")).isEmpty();

    tick(f, s); // no cache node runs 2.0: cache is recalled, then database goes back
    assertThat(kinds(root, "cache")).contains(RolloutDecision.Kind.RECALLED);
    assertThat(kinds(root, "database")).contains(RolloutDecision.Kind.RECALL);
    for (String node : List.of("d1", "d2")) {
      s.heartbeatsOf("database", "1.4", node);
    }
    tick(f, s);
    tick(f, s);
    assertThat(setDecisions(root)).extracting(SetDecision::kind).endsWith(SetDecision.Kind.RECALLED);
    assertThat(kinds(root, "api")).as("api never started").isEmpty();
    SetReport report = s.setOperations.report("shop", "2026.1");
    assertThat(report.status()).isEqualTo("recalled");
    assertThat(report.components()).extracting(SetReport.Component::status)
        .containsExactly("recalled", "recalled", "waiting");
  }

  @Test
  void aFailureUnderManualHaltsTheSetAndNothingElseStarts(@TempDir Path root) throws Exception {
    RolloutFixture f = new RolloutFixture(root);
    RolloutFixture.Instance s = f.new Instance();
    publishComponents(f, MARKED, s);
    f.publishSet(chain(ReleaseSet.Rollback.MANUAL));
    tick(f, s);
    outcome(f, s, "database", "FAILED");
    tick(f, s);
    tick(f, s);
    assertThat(setDecisions(root)).extracting(SetDecision::kind).endsWith(SetDecision.Kind.HALT);
    assertThat(s.setOperations.report("shop", "2026.1").status()).isEqualTo("halted");
    assertThat(kinds(root, "cache")).isEmpty();
    assertThat(kinds(root, "database")).doesNotContain(RolloutDecision.Kind.RECALL);
  }

  @Test
  void operatorsPauseResumeHaltAndRecallASetAndEachActionReachesTheComponentsOnce(@TempDir Path root)
      throws Exception {
    RolloutFixture f = new RolloutFixture(root);
    RolloutFixture.Instance s = f.new Instance();
    publishComponents(f, MARKED, s);
    f.publishSet(chain(ReleaseSet.Rollback.AUTO));
    tick(f, s);
    Caller.Operator alice = new Caller.Operator("alice", Caller.Operator.Role.OPERATOR);

    SetDecision pause = s.setOperations.act(alice, "shop", "2026.1", action(RolloutAction.Action.PAUSE, "maintenance"));
    assertThat(pause.actor()).isEqualTo("alice");
    assertThat(pause.apps()).containsExactly("database");
    assertThatThrownBy(() -> s.setOperations.act(alice, "shop", "2026.1", action(RolloutAction.Action.PAUSE, "again")))
        .hasMessageContaining("it is paused already");
    tick(f, s);
    tick(f, s);
    RolloutDecision paused = decisions(root, "database").stream()
        .filter(d -> d.kind() == RolloutDecision.Kind.PAUSE).collect(java.util.stream.Collectors.toList()).get(0);
    assertThat(paused.actor()).isEqualTo("alice");
    assertThat(paused.reason()).contains("release set shop 2026.1, pause by alice: maintenance");
    assertThat(kinds(root, "database").stream().filter(k -> k == RolloutDecision.Kind.PAUSE)).hasSize(1);
    assertThat(s.leases.ask(new Caller.Node("d1"), LeaseRequest.ask("database", "2.0", "d1",
        LeaseGrant.Kind.UPGRADE)).body().message()).isEqualTo("the rollout is paused by release set shop 2026.1");
    SetState state = new MetadataVerifier(f.trust, f.clock).verifySetState(Files.readAllBytes(
        root.resolve(RepositoryLayout.setState("shop", "2026.1"))), "shop", "2026.1", 0);
    assertThat(state.paused()).isTrue();
    assertThat(state.component("database").status()).isEqualTo(SetState.ComponentStatus.PAUSED);

    s.setOperations.act(alice, "shop", "2026.1", action(RolloutAction.Action.RESUME, "done"));
    tick(f, s);
    assertThat(s.decisions.view("database", "2.0").paused()).isFalse();

    s.setOperations.act(alice, "shop", "2026.1", action(RolloutAction.Action.HALT, "alerts"));
    tick(f, s);
    RolloutView db = s.decisions.view("database", "2.0");
    assertThat(db.status()).isEqualTo(RolloutView.Status.HALTED);
    assertThat(db.haltedBy()).isNotNull();
    tick(f, s);
    assertThat(setDecisions(root)).extracting(SetDecision::kind).as("a halt by the set is no failure of the set")
        .doesNotContain(SetDecision.Kind.RECALL);

    s.setOperations.act(alice, "shop", "2026.1", action(RolloutAction.Action.RECALL, "bad data, ticket 9"));
    tick(f, s);
    assertThat(s.decisions.view("database", "2.0").status()).as("no database node had installed 2.0")
        .isEqualTo(RolloutView.Status.RECALLED);
    assertThat(decisions(root, "database").stream().filter(d -> d.kind() == RolloutDecision.Kind.RECALL))
        .singleElement().satisfies(d -> assertThat(d.set()).isNotNull());
    assertThatThrownBy(() -> s.setOperations.act(alice, "shop", "2026.1",
        action(RolloutAction.Action.APPROVE, "no"))).isInstanceOf(UpgradeException.class)
        .hasMessageContaining("a set's actions are pause, resume, halt and recall");
    assertThatThrownBy(() -> s.setOperations.act(alice, "shop", "2099", action(RolloutAction.Action.HALT, "x")))
        .isInstanceOfSatisfying(UpgradeException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.NOT_FOUND));
  }

  @Test
  void aSlotWaitsWithContractUnmetUntilTheRequiredFleetRunsAVersionInsideTheRange(@TempDir Path root)
      throws Exception {
    RolloutFixture f = new RolloutFixture(root);
    RolloutFixture.Instance s = f.new Instance();
    f.publish("api", "2.0", 2, MARKED);
    s.heartbeatsOf("api", "1.4", "a1");
    s.heartbeatsOf("ldap", "4.2", "l1");
    s.heartbeatsOf("ldap", "5.1", "l2");
    f.publishSet(ReleaseSet.of("shop", "2026.1", 1, RolloutFixture.T0, RolloutFixture.EXPIRES,
        List.of(new ReleaseSet.Component("api", "2.0", List.of())), ReleaseSet.Strategy.ROLLING,
        ReleaseSet.Rollback.AUTO, List.of(ReleaseSet.Contract.parse("api 2.x requires ldap >= 5"))));
    s.controller.tick();
    assertThat(kinds(root, "api")).containsExactly(RolloutDecision.Kind.START, RolloutDecision.Kind.OPEN_WAVE);

    LeaseAnswer wait = s.leases.ask(new Caller.Node("a1"), LeaseRequest.ask("api", "2.0", "a1",
        LeaseGrant.Kind.UPGRADE)).body();
    assertThat(wait.status()).isEqualTo(LeaseAnswer.Status.WAIT);
    assertThat(wait.code()).isEqualTo("CONTRACT_UNMET");
    assertThat(wait.message()).startsWith("waiting for ldap >= 5: 1 of 2 ldap nodes run 4.2");
    SetState state = new MetadataVerifier(f.trust, f.clock).verifySetState(Files.readAllBytes(
        root.resolve(RepositoryLayout.setState("shop", "2026.1"))), "shop", "2026.1", 0);
    assertThat(state.fleetOf("ldap")).isEqualTo(new SetState.AppFleet("ldap", 2, Map.of("4.2", 1, "5.1", 1)));
    SetReport report = s.setOperations.report("shop", "2026.1");
    assertThat(report.contracts()).singleElement().satisfies(c -> {
      assertThat(c.met()).isFalse();
      assertThat(c.outside()).isEqualTo(1);
      assertThat(c.detail()).isEqualTo("waiting for ldap >= 5: 1 of 2 ldap nodes run 4.2");
    });

    // A node that reports 5.0 while it verifies it may still roll back to 4.2: it serves no contract yet.
    f.clock.advance(Leases.FRESH_FOR);
    s.inventory.accept(new Heartbeat("l1", "ldap", "stable", "5.0", Map.of(), "VERIFY", true, 0.0, 0.01, 10,
        f.clock.instant()), f.clock.instant());
    s.heartbeatsOf("api", "1.4", "a1");
    LeaseAnswer switching = s.leases.ask(new Caller.Node("a1"), LeaseRequest.ask("api", "2.0", "a1",
        LeaseGrant.Kind.UPGRADE)).body();
    assertThat(switching.status()).isEqualTo(LeaseAnswer.Status.WAIT);
    assertThat(switching.message()).startsWith("waiting for ldap >= 5: 1 of 2 ldap nodes run other versions or are"
        + " switching");

    f.clock.advance(Leases.FRESH_FOR);
    s.heartbeatsOf("ldap", "5.0", "l1");
    s.heartbeatsOf("api", "1.4", "a1");
    assertThat(s.leases.ask(new Caller.Node("a1"), LeaseRequest.ask("api", "2.0", "a1", LeaseGrant.Kind.UPGRADE))
        .body().status()).isEqualTo(LeaseAnswer.Status.GRANTED);
  }

  @Test
  void twoControllersOnOneRepositoryTakeEachSetDecisionOnce(@TempDir Path root) throws Exception {
    RolloutFixture f = new RolloutFixture(root);
    RolloutFixture.Instance a = f.new Instance();
    RolloutFixture.Instance b = f.new Instance();
    publishComponents(f, MARKED, a, b);
    f.publishSet(chain(ReleaseSet.Rollback.AUTO));
    ExecutorService threads = Executors.newFixedThreadPool(4);
    try {
      CountDownLatch go = new CountDownLatch(1);
      List<Future<?>> runs = new ArrayList<>();
      for (RolloutFixture.Instance server : List.of(a, b, a, b)) {
        runs.add(threads.submit(() -> {
          go.await();
          for (int i = 0; i < 5; i++) {
            server.controller.tick();
          }
          return null;
        }));
      }
      go.countDown();
      for (Future<?> run : runs) {
        run.get(60, TimeUnit.SECONDS);
      }
    } finally {
      threads.shutdownNow();
    }
    assertThat(setDecisions(root)).extracting(SetDecision::kind)
        .containsExactly(SetDecision.Kind.START, SetDecision.Kind.START_COMPONENTS);
    assertThat(kinds(root, "database")).containsExactly(RolloutDecision.Kind.START, RolloutDecision.Kind.OPEN_WAVE);
    assertThat(a.sets.decisionsTaken() + b.sets.decisionsTaken()).isEqualTo(2);

    // both pause the set at once: one action is stored, the other is refused against the new state
    Caller.Operator alice = new Caller.Operator("alice", Caller.Operator.Role.OPERATOR);
    Caller.Operator bob = new Caller.Operator("bob", Caller.Operator.Role.OPERATOR);
    List<Object> outcomes = new ArrayList<>();
    for (RolloutFixture.Instance server : List.of(a, b)) {
      try {
        outcomes.add(server.setOperations.act(server == a ? alice : bob, "shop", "2026.1",
            action(RolloutAction.Action.PAUSE, "one of two")));
      } catch (UpgradeException e) {
        outcomes.add(e.code());
      }
    }
    assertThat(outcomes).filteredOn(o -> o instanceof SetDecision).hasSize(1);
    assertThat(outcomes).contains(ErrorCode.REQUEST_INVALID);
  }

  @Test
  void aServerKilledBetweenASetDecisionAndItsPartOnAComponentLeavesThePartOwedAndTheNextStoresItOnce(
      @TempDir Path root) throws Exception {
    RolloutFixture f = new RolloutFixture(root);
    RolloutFixture.Instance first = f.new Instance();
    publishComponents(f, MARKED, first);
    f.publishSet(chain(ReleaseSet.Rollback.AUTO));
    tick(f, first);
    // "first" stores the set's halt, and is killed (-9) before it halts database: only the file remains
    first.sets.decisions().append(SetDecision.of("shop", "2026.1", 3, f.clock.instant(), "alice",
        SetDecision.Kind.HALT, "alerts", List.of("database")));
    assertThat(kinds(root, "database")).doesNotContain(RolloutDecision.Kind.HALT);

    RolloutFixture.Instance restarted = f.new Instance();
    heartbeats(restarted);
    tick(f, restarted);
    tick(f, restarted);
    List<RolloutDecision> halts = decisions(root, "database").stream()
        .filter(d -> d.kind() == RolloutDecision.Kind.HALT).toList();
    assertThat(halts).singleElement().satisfies(h -> {
      assertThat(h.set()).isEqualTo(new RolloutDecision.SetRef("shop", "2026.1", 3));
      assertThat(h.actor()).isEqualTo("alice");
    });
    assertThat(setDecisions(root)).extracting(SetDecision::kind).containsExactly(SetDecision.Kind.START,
        SetDecision.Kind.START_COMPONENTS, SetDecision.Kind.HALT);
  }

  static RolloutAction action(RolloutAction.Action action, String reason) {
    return new RolloutAction(action, reason, null, null);
  }
}
