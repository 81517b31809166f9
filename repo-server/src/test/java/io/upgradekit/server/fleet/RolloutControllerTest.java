package io.upgradekit.server.fleet;

import static org.assertj.core.api.Assertions.assertThat;

import io.upgradekit.schema.api.Heartbeat;
import io.upgradekit.schema.json.Json;
import io.upgradekit.schema.layout.RepositoryLayout;
import io.upgradekit.schema.model.DocumentType;
import io.upgradekit.schema.model.LeaseGrant;
import io.upgradekit.schema.model.RolloutDecision;
import io.upgradekit.schema.model.RolloutState;
import io.upgradekit.schema.sign.MetadataVerifier;
import io.upgradekit.server.rollout.FleetSnapshot;
import io.upgradekit.server.rollout.RolloutView;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
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

class RolloutControllerTest {
  static final String[] NODES = {"n1", "n2", "n3", "n4"};

  static List<RolloutDecision> stored(Path root) throws Exception {
    List<RolloutDecision> out = new ArrayList<>();
    Path dir = root.resolve(RepositoryLayout.rolloutDecisions("shop", "2.0"));
    try (Stream<Path> files = Files.list(dir)) {
      for (Path f : files.filter(p -> !p.getFileName().toString().startsWith(".")).toList()) {
        out.add(Json.read(Files.readAllBytes(f), DocumentType.DECISION, RolloutDecision.class));
      }
    }
    out.sort((a, b) -> Long.compare(a.sequence(), b.sequence()));
    return out;
  }

  @Test
  void aPublishedReleaseWithAPlanStartsAndItsSignedStateOpensTheCanary(@TempDir Path root) throws Exception {
    RolloutFixture f = new RolloutFixture(root);
    RolloutFixture.Instance server = f.new Instance();
    server.heartbeats("1.0", NODES);
    f.publish("2.0", 2, RolloutFixture.batches(50, 0));

    server.controller.tick();

    List<RolloutDecision> decisions = stored(root);
    assertThat(decisions).extracting(RolloutDecision::kind)
        .containsExactly(RolloutDecision.Kind.START, RolloutDecision.Kind.OPEN_WAVE);
    assertThat(decisions.get(0).fromVersion()).isEqualTo("1.0");
    assertThat(decisions.get(0).budget()).isEqualTo(2);
    byte[] state = Files.readAllBytes(root.resolve(RepositoryLayout.rolloutState("shop", "2.0")));
    RolloutState verified = new MetadataVerifier(f.trust, f.clock).verifyRolloutState(state, "shop", "2.0", 0);
    assertThat(verified.action()).isEqualTo(RolloutState.Action.PROCEED);
    assertThat(verified.openWaves()).isEqualTo(1);
    assertThat(verified.decision()).isEqualTo(2);
    assertThat(verified.expires()).isEqualTo(RolloutFixture.T0.plus(Duration.ofMinutes(2)));
    assertThat(server.controller.decisionsTaken()).isEqualTo(2);
  }

  @Test
  void theStateIsReSignedAtAThirdOfItsTtlAndOnlyThen(@TempDir Path root) throws Exception {
    RolloutFixture f = new RolloutFixture(root);
    RolloutFixture.Instance server = f.new Instance();
    server.heartbeats("1.0", NODES);
    f.publish("2.0", 2, RolloutFixture.batches(50, 600));
    server.controller.tick();
    long first = server.states.current("shop", "2.0").orElseThrow().sequence();
    f.clock.advance(Duration.ofSeconds(30));
    server.heartbeats("1.0", NODES);
    server.controller.tick();
    assertThat(server.states.current("shop", "2.0").orElseThrow().sequence()).isEqualTo(first);
    f.clock.advance(Duration.ofSeconds(11));
    server.heartbeats("1.0", NODES);
    server.controller.tick();
    RolloutState resigned = server.states.current("shop", "2.0").orElseThrow();
    assertThat(resigned.sequence()).isEqualTo(first + 1);
    assertThat(resigned.expires()).isEqualTo(RolloutFixture.T0.plusSeconds(41 + 120));
  }

  @Test
  void twoServersWithConcurrentLoopsTakeEachDecisionOnce(@TempDir Path root) throws Exception {
    RolloutFixture f = new RolloutFixture(root);
    RolloutFixture.Instance a = f.new Instance();
    RolloutFixture.Instance b = f.new Instance();
    a.heartbeats("1.0", NODES);
    b.heartbeats("1.0", NODES);
    f.publish("2.0", 2, RolloutFixture.batches(50, 0));
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
        run.get(30, TimeUnit.SECONDS);
      }
    } finally {
      threads.shutdownNow();
    }
    List<RolloutDecision> decisions = stored(root);
    assertThat(decisions).extracting(RolloutDecision::kind)
        .containsExactly(RolloutDecision.Kind.START, RolloutDecision.Kind.OPEN_WAVE);
    assertThat(decisions).extracting(RolloutDecision::sequence).containsExactly(1L, 2L);
    assertThat(a.controller.decisionsTaken() + b.controller.decisionsTaken()).isEqualTo(2);
  }

  @Test
  void aRestartedServerContinuesTheRolloutFromTheRepository(@TempDir Path root) throws Exception {
    RolloutFixture f = new RolloutFixture(root);
    RolloutFixture.Instance first = f.new Instance();
    first.heartbeats("1.0", NODES);
    f.publish("2.0", 2, RolloutFixture.batches(50, 0));
    first.controller.tick();
    RolloutView view = first.decisions.view("shop", "2.0");
    String canary = view.schedule().waves().get(0).get(0);

    // killed (-9): nothing of "first" survives but the repository; the canary committed meanwhile
    f.clock.advance(Duration.ofSeconds(5));
    RolloutFixture.Instance restarted = f.new Instance();
    for (String n : NODES) {
      restarted.heartbeats(n.equals(canary) ? "2.0" : "1.0", n);
    }
    restarted.report(RolloutFixture.report(canary, "1.0", "2.0", "COMMITTED", f.clock.instant()));
    restarted.controller.tick();

    List<RolloutDecision> decisions = stored(root);
    assertThat(decisions).extracting(RolloutDecision::kind).containsExactly(RolloutDecision.Kind.START,
        RolloutDecision.Kind.OPEN_WAVE, RolloutDecision.Kind.WAVE_DONE, RolloutDecision.Kind.OPEN_WAVE);
    assertThat(decisions.get(3).wave()).isEqualTo(1);
    assertThat(restarted.decisions.view("shop", "2.0").openWaves()).isEqualTo(2);
  }

  @Test
  void withoutHeartbeatsARolloutIsBlockedOnceAndStartsWhenNodesAppear(@TempDir Path root) throws Exception {
    RolloutFixture f = new RolloutFixture(root);
    RolloutFixture.Instance server = f.new Instance();
    f.publish("2.0", 2, RolloutFixture.batches(50, 0));
    server.controller.tick();
    server.controller.tick();
    assertThat(stored(root)).extracting(RolloutDecision::kind).containsExactly(RolloutDecision.Kind.BLOCKED);
    assertThat(server.states.current("shop", "2.0").orElseThrow().action()).isEqualTo(RolloutState.Action.PAUSE);
    server.heartbeats("1.0", NODES);
    server.controller.tick();
    assertThat(stored(root)).extracting(RolloutDecision::kind).containsExactly(RolloutDecision.Kind.BLOCKED,
        RolloutDecision.Kind.START, RolloutDecision.Kind.OPEN_WAVE);
  }

  @Test
  void aRolloutStartsByItselfOnlyAfterTheStartDelay(@TempDir Path root) throws Exception {
    RolloutFixture f = new RolloutFixture(root);
    RolloutFixture.Instance server = f.new Instance();
    server.controller.startNoRolloutBefore(RolloutFixture.T0.plusSeconds(35));
    server.heartbeats("1.0", NODES);
    f.publish("2.0", 2, RolloutFixture.batches(50, 0));
    server.controller.tick();
    assertThat(Files.exists(root.resolve(RepositoryLayout.rolloutDecisions("shop", "2.0")))).isFalse();
    f.clock.advance(Duration.ofSeconds(35));
    server.heartbeats("1.0", NODES);
    server.controller.tick();
    assertThat(stored(root)).extracting(RolloutDecision::kind)
        .containsExactly(RolloutDecision.Kind.START, RolloutDecision.Kind.OPEN_WAVE);
  }

  @Test
  void theLoopRunsAPassWhenABakeEndsAndWhenASlotComesBackNotOnlyEveryInterval(@TempDir Path root) throws Exception {
    RolloutFixture f = new RolloutFixture(root);
    RolloutFixture.Instance server = f.new Instance();
    server.heartbeats("1.0", NODES);
    f.publish("2.0", 2, RolloutFixture.batches(50, 30));
    Duration hour = Duration.ofHours(1); // the interval alone would run no second pass in this test
    assertThat(server.controller.tickIfDue(hour)).as("the first pass").isTrue();
    assertThat(server.controller.tickIfDue(hour)).as("nothing due").isFalse();

    RolloutView view = server.decisions.view("shop", "2.0");
    String canary = view.schedule().waves().get(0).get(0);
    LeaseGrant g = new MetadataVerifier(f.trust, f.clock).verifyLeaseGrant(server.leases.ask(
        new io.upgradekit.server.core.Caller.Node(canary), LeaseServiceTest.ask(canary)).body().grant()
        .getBytes(java.nio.charset.StandardCharsets.UTF_8), "shop", "2.0", canary);
    server.report(RolloutFixture.report(canary, "1.0", "2.0", "COMMITTED", f.clock.instant()));
    server.heartbeats("2.0", canary);
    server.leases.release(new io.upgradekit.server.core.Caller.Node(canary), new io.upgradekit.schema.api.LeaseRequest(
        "shop", "2.0", canary, g.kind(), g.slot(), g.generation(), "COMMITTED"));
    server.controller.wake(); // what the server wires to every slot given back
    assertThat(server.controller.tickIfDue(hour)).as("woken, but a pass ran just now").isFalse();
    f.clock.advance(RolloutController.WAKE_SPACING);
    assertThat(server.controller.tickIfDue(hour)).as("woken").isTrue();
    assertThat(server.decisions.view("shop", "2.0").waveDoneAt(0)).isEqualTo(f.clock.instant());

    f.clock.advance(Duration.ofSeconds(30).minusMillis(1));
    server.heartbeats("1.0", NODES);
    server.heartbeats("2.0", canary);
    assertThat(server.controller.tickIfDue(hour)).as("still baking").isFalse();
    f.clock.advance(Duration.ofMillis(1));
    assertThat(server.controller.tickIfDue(hour)).as("the bake ended").isTrue();
    assertThat(server.decisions.view("shop", "2.0").openWaves()).isEqualTo(2);
    assertThat(server.controller.tickIfDue(hour)).isFalse();
  }

  @Test
  void anUnhealthyHeartbeatSentBeforeTheNodeReportedCommittedDoesNotFailIt(@TempDir Path root) throws Exception {
    RolloutFixture f = new RolloutFixture(root);
    RolloutFixture.Instance server = f.new Instance();
    server.heartbeats("1.0", NODES);
    f.publish("2.0", 2, RolloutFixture.batches(50, 30));
    server.controller.tick();
    RolloutView view = server.decisions.view("shop", "2.0");
    String canary = view.schedule().waves().get(0).get(0);
    LiveRollouts.Rollout rollout = server.rollouts.get("shop", "2.0").orElseThrow();

    // VERIFY: the new version not answering yet; then the updater checked it healthy and committed,
    // and restarted itself before its next heartbeat.
    unhealthyHeartbeat(server, canary, "VERIFY", f.clock.instant());
    f.clock.advance(Duration.ofSeconds(3));
    server.report(RolloutFixture.report(canary, "1.0", "2.0", "COMMITTED", f.clock.instant()));
    assertThat(facts(server, rollout, canary, f).healthy()).as("the report is newer than the heartbeat").isTrue();

    // A heartbeat after the report saying unhealthy is believed.
    f.clock.advance(Duration.ofSeconds(1));
    unhealthyHeartbeat(server, canary, "IDLE", f.clock.instant());
    assertThat(facts(server, rollout, canary, f).healthy()).isFalse();
  }

  @Test
  void aHeartbeatSentWhileTheUpdaterSwitchesIsNoVerdictEvenBeforeItsReportArrives(@TempDir Path root)
      throws Exception {
    // With several servers the COMMITTED report may reach this one seconds after the returned slot
    // ended the wave: until then the node's last heartbeat, sent during VERIFY, is all it knows.
    RolloutFixture f = new RolloutFixture(root);
    RolloutFixture.Instance server = f.new Instance();
    server.heartbeats("1.0", NODES);
    f.publish("2.0", 2, RolloutFixture.batches(50, 30));
    server.controller.tick();
    String canary = server.decisions.view("shop", "2.0").schedule().waves().get(0).get(0);
    LiveRollouts.Rollout rollout = server.rollouts.get("shop", "2.0").orElseThrow();

    for (String state : List.of("STOP", "SWITCH", "START", "VERIFY", "ROLLBACK")) {
      unhealthyHeartbeat(server, canary, state, f.clock.instant());
      assertThat(facts(server, rollout, canary, f).healthy()).as(state).isTrue();
    }
    unhealthyHeartbeat(server, canary, "IDLE", f.clock.instant());
    assertThat(facts(server, rollout, canary, f).healthy()).as("idle, the check is the node's word").isFalse();
  }

  /** A heartbeat of {@code node} on 2.0 in {@code state}, saying the service is unhealthy. */
  private static void unhealthyHeartbeat(RolloutFixture.Instance server, String node, String state, Instant at) {
    server.inventory.accept(new Heartbeat(node, "shop", "stable", "2.0", Map.of(), state, false, null, null, 10, at), at);
  }

  private static FleetSnapshot.NodeFacts facts(RolloutFixture.Instance server,
      LiveRollouts.Rollout rollout, String node, RolloutFixture f) throws Exception {
    RolloutView view = server.decisions.view("shop", "2.0");
    return server.controller.snapshot(rollout, view, f.clock.instant()).nodes().stream()
        .filter(n -> n.id().equals(node)).findFirst().orElseThrow();
  }
}
