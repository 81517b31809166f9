package io.upgradekit.server.fleet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.api.Heartbeat;
import io.upgradekit.schema.api.LeaseAnswer;
import io.upgradekit.schema.api.LeaseRequest;
import io.upgradekit.schema.layout.RepositoryLayout;
import io.upgradekit.schema.model.LeaseGrant;
import io.upgradekit.schema.model.RolloutDecision;
import io.upgradekit.schema.model.RolloutPlan;
import io.upgradekit.schema.sign.MetadataVerifier;
import io.upgradekit.schema.store.ForwardingStore;
import io.upgradekit.schema.store.RepositoryStore;
import io.upgradekit.server.core.Caller;
import io.upgradekit.server.rollout.Controller;
import io.upgradekit.server.rollout.FleetSnapshot;
import io.upgradekit.server.rollout.RolloutView;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LeaseServiceTest {
  static final String[] NODES = {"n1", "n2", "n3", "n4", "n5", "n6", "n7", "n8"};

  /** One wave of everyone, at most 2 updating at once (8 nodes, 75% stay available). */
  static RolloutPlan oneWaveBudgetTwo() {
    return new RolloutPlan(null, RolloutPlan.Strategy.ALL, 75, 0L, null);
  }

  static LeaseRequest ask(String node) {
    return LeaseRequest.ask("shop", "2.0", node, LeaseGrant.Kind.UPGRADE);
  }

  static LeaseRequest call(LeaseGrant g, String outcome) {
    return new LeaseRequest("shop", "2.0", g.node(), g.kind(), g.slot(), g.generation(), outcome);
  }

  LeaseGrant grant(RolloutFixture f, LeaseAnswer answer, String node) {
    assertThat(answer.status()).as(answer.message()).isEqualTo(LeaseAnswer.Status.GRANTED);
    return new MetadataVerifier(f.trust, f.clock).verifyLeaseGrant(answer.grant().getBytes(StandardCharsets.UTF_8),
        "shop", "2.0", node);
  }

  RolloutFixture.Instance started(RolloutFixture f, RolloutPlan plan) throws Exception {
    RolloutFixture.Instance server = f.new Instance();
    server.heartbeats("1.0", NODES);
    f.publish("2.0", 2, plan);
    server.controller.tick();
    return server;
  }

  @Test
  void aNodeWaitsForItsWaveThenGetsASignedGrantAndTheSameOneWhenItAsksAgain(@TempDir Path root) throws Exception {
    RolloutFixture f = new RolloutFixture(root);
    RolloutFixture.Instance server = started(f, RolloutFixture.batches(75, 60));
    RolloutView view = server.decisions.view("shop", "2.0");
    String canary = view.schedule().waves().get(0).get(0);
    String later = view.schedule().waves().get(2).get(0);

    LeaseAnswer waiting = server.leases.ask(new Caller.Node(later), ask(later)).body();
    assertThat(waiting.status()).isEqualTo(LeaseAnswer.Status.WAIT);
    assertThat(waiting.code()).isEqualTo("WAVE_NOT_OPEN");
    assertThat(waiting.message()).isEqualTo("waiting for wave 3 of " + view.schedule().size());
    assertThat(waiting.wave()).isEqualTo(2);
    assertThat(waiting.openWaves()).isEqualTo(1);

    LeaseAnswer answer = server.leases.ask(new Caller.Node(canary), ask(canary)).body();
    LeaseGrant g = grant(f, answer, canary);
    assertThat(g.wave()).isZero();
    assertThat(g.slot()).isZero();
    assertThat(g.generation()).isEqualTo(1);
    assertThat(g.expires()).isEqualTo(RolloutFixture.T0.plus(LeaseService.CONFIRM_WINDOW));
    assertThat(server.leases.ask(new Caller.Node(canary), ask(canary)).body().grant()).isEqualTo(answer.grant());
    assertThat(server.leases.granted()).isEqualTo(1);
  }

  @Test
  void whileTheStoreWritesTheMostGrantsAtOnceTheNextNodeIsToldToAskAgainInASecond(@TempDir Path root)
      throws Exception {
    RolloutFixture f = new RolloutFixture(root);
    CountDownLatch slow = new CountDownLatch(1);
    CountDownLatch writing = new CountDownLatch(LeaseService.MAX_GRANT_WRITES);
    RolloutFixture.Instance server = f.new Instance(true, store -> new SlowGrants(store, writing, slow));
    String[] fleet = new String[40];
    for (int i = 0; i < fleet.length; i++) {
      fleet[i] = "n" + (i + 1);
    }
    server.heartbeats("1.0", fleet);
    f.publish("2.0", 2, new RolloutPlan(null, RolloutPlan.Strategy.ALL, 50, 0L, null)); // budget 20
    server.controller.tick();
    ExecutorService threads = Executors.newFixedThreadPool(LeaseService.MAX_GRANT_WRITES);
    try {
      List<Future<LeaseAnswer>> held = new ArrayList<>();
      for (int i = 0; i < LeaseService.MAX_GRANT_WRITES; i++) {
        String node = fleet[i];
        held.add(threads.submit(() -> server.leases.ask(new Caller.Node(node), ask(node)).body()));
      }
      assertThat(writing.await(10, TimeUnit.SECONDS)).as("16 grants in the store's hands").isTrue();

      // The budget has room, but the store is busy: told at once to come back, no thread held.
      LeaseAnswer busy = server.leases.ask(new Caller.Node(fleet[20]), ask(fleet[20])).body();
      assertThat(busy.status()).isEqualTo(LeaseAnswer.Status.WAIT);
      assertThat(busy.code()).isEqualTo("SCOPE_FULL");
      assertThat(busy.message()).isEqualTo("waiting for a slot: the server is writing 16 grants at once");
      assertThat(busy.retryAfterSeconds()).isEqualTo(1);
      assertThat(server.leases.busy()).isEqualTo(1);

      slow.countDown();
      for (Future<LeaseAnswer> answer : held) {
        assertThat(answer.get(10, TimeUnit.SECONDS).status()).isEqualTo(LeaseAnswer.Status.GRANTED);
      }
      assertThat(server.leases.ask(new Caller.Node(fleet[20]), ask(fleet[20])).body().status())
          .as("once the writes are done").isEqualTo(LeaseAnswer.Status.GRANTED);
    } finally {
      slow.countDown();
      threads.shutdownNow();
    }
  }

  @Test
  void whileTheStoreHandlesTheMostConfirmationsAtOnceTheNextConfirmationOrReturnIsAnsweredBusyAtOnce(
      @TempDir Path root) throws Exception {
    RolloutFixture f = new RolloutFixture(root);
    CountDownLatch slow = new CountDownLatch(1);
    int herd = LeaseService.MAX_HELD_WRITES + 1;
    CountDownLatch writing = new CountDownLatch(LeaseService.MAX_HELD_WRITES);
    RolloutFixture.Instance server = f.new Instance(true, store -> new SlowConfirmations(store, writing, slow));
    String[] fleet = new String[100];
    for (int i = 0; i < fleet.length; i++) {
      fleet[i] = "n" + (i + 1);
    }
    server.heartbeats("1.0", fleet);
    f.publish("2.0", 2, new RolloutPlan(null, RolloutPlan.Strategy.ALL, 50, 0L, null)); // budget 50
    server.controller.tick();
    List<LeaseGrant> grants = new ArrayList<>();
    for (int i = 0; i < herd; i++) {
      grants.add(grant(f, server.leases.ask(new Caller.Node(fleet[i]), ask(fleet[i])).body(), fleet[i]));
    }
    ExecutorService threads = Executors.newFixedThreadPool(LeaseService.MAX_HELD_WRITES);
    try {
      List<Future<LeaseAnswer>> held = new ArrayList<>();
      for (int i = 0; i < LeaseService.MAX_HELD_WRITES; i++) {
        LeaseGrant g = grants.get(i);
        held.add(threads.submit(() -> server.leases.confirm(new Caller.Node(g.node()), call(g, null)).body()));
      }
      assertThat(writing.await(10, TimeUnit.SECONDS)).as("32 confirmations in the store's hands").isTrue();

      // No thread is held for the next one: it is told at once to ask again (429, Retry-After 1).
      LeaseGrant last = grants.get(LeaseService.MAX_HELD_WRITES);
      assertThatThrownBy(() -> server.leases.confirm(new Caller.Node(last.node()), call(last, null)))
          .isInstanceOfSatisfying(UpgradeException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.RATE_LIMITED))
          .hasMessage("repo-server is handling 32 slot confirmations at once; ask again in a second");
      assertThatThrownBy(() -> server.leases.release(new Caller.Node(last.node()), call(last, "FAILED")))
          .isInstanceOfSatisfying(UpgradeException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.RATE_LIMITED))
          .hasMessageContaining("slot returns at once");
      assertThat(server.leases.busy()).isEqualTo(2);

      slow.countDown();
      for (Future<LeaseAnswer> answer : held) {
        assertThat(answer.get(10, TimeUnit.SECONDS).status()).isEqualTo(LeaseAnswer.Status.CONFIRMED);
      }
      assertThat(server.leases.confirm(new Caller.Node(last.node()), call(last, null)).body().status())
          .as("asked again, the same grant is confirmed").isEqualTo(LeaseAnswer.Status.CONFIRMED);
    } finally {
      slow.countDown();
      threads.shutdownNow();
    }
  }

  /** A store whose confirmations wait until {@code go} opens (counting them on {@code writing}). */
  static final class SlowConfirmations extends ForwardingStore {
    private final CountDownLatch writing;
    private final CountDownLatch go;

    SlowConfirmations(RepositoryStore store, CountDownLatch writing, CountDownLatch go) {
      super(store);
      this.writing = writing;
      this.go = go;
    }

    @Override
    public Write create(String path, byte[] content) throws IOException {
      if (path.endsWith(".confirmed.json")) {
        writing.countDown();
        try {
          if (!go.await(30, TimeUnit.SECONDS)) {
            throw new IOException("the test never let the confirmation through");
          }
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IOException(e);
        }
      }
      return super.create(path, content);
    }
  }

  /** A store whose creates of grants wait until {@code go} opens (counting them on {@code writing}). */
  static final class SlowGrants extends ForwardingStore {
    private final CountDownLatch writing;
    private final CountDownLatch go;

    SlowGrants(RepositoryStore store, CountDownLatch writing, CountDownLatch go) {
      super(store);
      this.writing = writing;
      this.go = go;
    }

    @Override
    public Write create(String path, byte[] content) throws IOException {
      if (path.contains("/leases/") && !path.endsWith(".confirmed.json") && !path.endsWith(".released.json")) {
        writing.countDown();
        try {
          if (!go.await(30, TimeUnit.SECONDS)) {
            throw new IOException("the test never let the grant through");
          }
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IOException(e);
        }
      }
      return super.create(path, content);
    }
  }

  @Test
  void theBudgetCountsSlotsHeldAndNodesDown(@TempDir Path root) throws Exception {
    RolloutFixture f = new RolloutFixture(root);
    RolloutFixture.Instance server = started(f, oneWaveBudgetTwo());
    grant(f, server.leases.ask(new Caller.Node("n1"), ask("n1")).body(), "n1");
    grant(f, server.leases.ask(new Caller.Node("n2"), ask("n2")).body(), "n2");
    LeaseAnswer full = server.leases.ask(new Caller.Node("n3"), ask("n3")).body();
    assertThat(full.code()).isEqualTo("SCOPE_FULL");
    assertThat(full.message()).isEqualTo("waiting for a slot: 2 of 2 busy");
    assertThat(full.busy()).isEqualTo(2);
    assertThat(full.retryAfterSeconds()).isEqualTo(4);

    // n1 gives its slot back, but n8 goes silent: a node down uses up the budget as well
    LeaseGrant n1 = new MetadataVerifier(f.trust, f.clock).verifyLeaseGrant(server.leases.ask(new Caller.Node("n1"),
        ask("n1")).body().grant().getBytes(StandardCharsets.UTF_8), "shop", "2.0", "n1");
    assertThat(server.leases.release(new Caller.Node("n1"), call(n1, "COMMITTED")).body().status())
        .isEqualTo(LeaseAnswer.Status.RELEASED);
    f.clock.advance(Duration.ofSeconds(31));
    server.heartbeats("1.0", "n1", "n2", "n3", "n4", "n5", "n6", "n7");
    LeaseAnswer down = server.leases.ask(new Caller.Node("n3"), ask("n3")).body();
    assertThat(down.code()).isEqualTo("SCOPE_FULL");
    assertThat(down.message()).startsWith("waiting for a slot: 2 of 2 busy (1 nodes down");
    server.heartbeats("1.0", "n8");
    LeaseGrant n3 = grant(f, server.leases.ask(new Caller.Node("n3"), ask("n3")).body(), "n3");
    assertThat(n3.slot()).isZero();
    assertThat(n3.generation()).as("the slot's next holder").isEqualTo(2);
  }

  @Test
  void aRestartedServerDoesNotTakeTheSlotOfAHolderThatCouldNotReachIt(@TempDir Path root) throws Exception {
    RolloutFixture f = new RolloutFixture(root);
    RolloutFixture.Instance before = started(f, oneWaveBudgetTwo());
    LeaseGrant n1 = grant(f, before.leases.ask(new Caller.Node("n1"), ask("n1")).body(), "n1");
    assertThat(before.leases.confirm(new Caller.Node("n1"), call(n1, null)).body().status())
        .isEqualTo(LeaseAnswer.Status.CONFIRMED);
    // The server is down for five minutes (n1 updates meanwhile, its heartbeats unanswered), then
    // starts again, knowing the fleet from its snapshot.
    f.clock.advance(Duration.ofMinutes(5));
    RolloutFixture.Instance after = f.new Instance();
    before.inventory.entries().forEach(after.inventory::merge);
    after.inventory.countSilenceFrom(f.clock.instant());

    LeaseGrant n2 = grant(f, after.leases.ask(new Caller.Node("n2"), ask("n2")).body(), "n2");
    assertThat(n2.slot()).as("the free slot").isEqualTo(1);
    LeaseAnswer n3 = after.leases.ask(new Caller.Node("n3"), ask("n3")).body();
    assertThat(n3.code()).as("n1 still holds slot 0: " + n3.message()).isEqualTo("SCOPE_FULL");
    assertThat(after.leases.release(new Caller.Node("n1"), call(n1, "COMMITTED")).body().status())
        .isEqualTo(LeaseAnswer.Status.RELEASED);
    assertThat(after.leases.expired()).isZero();
  }

  @Test
  void aHolderWithShortHeartbeatsKeepsItsSlotThroughAPauseOfItsHeartbeats(@TempDir Path root) throws Exception {
    RolloutFixture f = new RolloutFixture(root);
    RolloutFixture.Instance server = started(f, oneWaveBudgetTwo());
    everyTwoSeconds(f, server, NODES);
    LeaseGrant n1 = grant(f, server.leases.ask(new Caller.Node("n1"), ask("n1")).body(), "n1");
    server.leases.confirm(new Caller.Node("n1"), call(n1, null));
    LeaseGrant n2 = grant(f, server.leases.ask(new Caller.Node("n2"), ask("n2")).body(), "n2");
    f.clock.advance(Duration.ofSeconds(12)); // n1: six missed 2 s heartbeats (a JVM start, a snapshot's delay)
    everyTwoSeconds(f, server, "n2", "n3", "n4", "n5", "n6", "n7", "n8");
    assertThat(server.leases.confirm(new Caller.Node("n1"), call(n1, null)).body().status()).as("n1 still holds it")
        .isEqualTo(LeaseAnswer.Status.CONFIRMED);
    assertThat(server.leases.ask(new Caller.Node("n3"), ask("n3")).body().message())
        .isEqualTo("waiting for a slot: 2 of 2 busy");

    f.clock.advance(Duration.ofSeconds(8));
    everyTwoSeconds(f, server, "n2", "n3", "n4", "n5", "n6", "n7", "n8");
    server.leases.release(new Caller.Node("n2"), call(n2, "COMMITTED"));
    LeaseGrant taken = grant(f, server.leases.ask(new Caller.Node("n3"), ask("n3")).body(), "n3");
    assertThat(taken.slot()).as("n1 silent for 20 s: its slot is free (n1, down, counts against the budget)")
        .isZero();
    assertThat(taken.generation()).isEqualTo(2);
  }

  private static void everyTwoSeconds(RolloutFixture f, RolloutFixture.Instance server, String... nodes) {
    for (String n : nodes) {
      server.inventory.accept(new Heartbeat(n, "shop", "stable", "1.0", Map.of(), "IDLE", true, 0.0, 0.01, 2,
          f.clock.instant()), f.clock.instant());
    }
  }

  @Test
  void noSlotIsGivenTwiceByTwoServersUnderConcurrentRequests(@TempDir Path root) throws Exception {
    RolloutFixture f = new RolloutFixture(root);
    RolloutFixture.Instance a = started(f, oneWaveBudgetTwo());
    RolloutFixture.Instance b = f.new Instance();
    b.heartbeats("1.0", NODES);
    Set<String> granted = ConcurrentHashMap.newKeySet();
    ExecutorService threads = Executors.newFixedThreadPool(8);
    try {
      CountDownLatch go = new CountDownLatch(1);
      List<Future<?>> calls = new ArrayList<>();
      for (int i = 0; i < NODES.length; i++) {
        RolloutFixture.Instance server = i % 2 == 0 ? a : b;
        String node = NODES[i];
        calls.add(threads.submit(() -> {
          go.await();
          LeaseAnswer answer = server.leases.ask(new Caller.Node(node), ask(node)).body();
          if (answer.status() == LeaseAnswer.Status.GRANTED) {
            granted.add(node);
          }
          return null;
        }));
      }
      go.countDown();
      for (Future<?> call : calls) {
        call.get(30, TimeUnit.SECONDS);
      }
    } finally {
      threads.shutdownNow();
    }
    assertThat(granted).hasSizeBetween(1, 2);
    for (int slot = 0; slot < 2; slot++) {
      assertThat(Files.exists(root.resolve(RepositoryLayout.lease("shop", "2.0", "upgrade", slot, 2)))).isFalse();
    }
    assertThat(Files.exists(root.resolve(RepositoryLayout.leaseSlot("shop", "2.0", "upgrade", 2)))).isFalse();
  }

  @Test
  void anUnconfirmedGrantExpiresAndItsHolderIsFencedOff(@TempDir Path root) throws Exception {
    RolloutFixture f = new RolloutFixture(root);
    RolloutFixture.Instance server = started(f, oneWaveBudgetTwo());
    LeaseGrant n1 = grant(f, server.leases.ask(new Caller.Node("n1"), ask("n1")).body(), "n1");
    grant(f, server.leases.ask(new Caller.Node("n2"), ask("n2")).body(), "n2");
    f.clock.advance(LeaseService.CONFIRM_WINDOW.plusSeconds(1));
    server.heartbeats("1.0", NODES);
    LeaseGrant n3 = grant(f, server.leases.ask(new Caller.Node("n3"), ask("n3")).body(), "n3");
    assertThat(n3.slot()).isEqualTo(n1.slot());
    assertThat(n3.generation()).isEqualTo(2);
    LeaseService.Answer late = server.leases.confirm(new Caller.Node("n1"), call(n1, null));
    assertThat(late.status()).isEqualTo(409);
    assertThat(late.body().status()).isEqualTo(LeaseAnswer.Status.LOST);
    assertThat(late.body().code()).isEqualTo("LEASE_LOST");
    assertThat(server.leases.release(new Caller.Node("n1"), call(n1, "ROLLED_BACK")).status()).isEqualTo(409);
    assertThat(server.leases.confirm(new Caller.Node("n3"), call(n3, null)).body().status())
        .isEqualTo(LeaseAnswer.Status.CONFIRMED);
    assertThat(server.leases.expired()).as("n1's slot taken over").isEqualTo(1);
  }

  @Test
  void aConfirmedHolderThatGoesSilentLosesItsSlotAndCountsAsFailed(@TempDir Path root) throws Exception {
    RolloutFixture f = new RolloutFixture(root);
    RolloutFixture.Instance server = started(f, oneWaveBudgetTwo());
    LeaseGrant n1 = grant(f, server.leases.ask(new Caller.Node("n1"), ask("n1")).body(), "n1");
    assertThat(server.leases.confirm(new Caller.Node("n1"), call(n1, null)).body().status())
        .isEqualTo(LeaseAnswer.Status.CONFIRMED);
    f.clock.advance(Duration.ofSeconds(29)); // heartbeats every 10 s: 3 intervals are 30 s
    server.heartbeats("1.0", "n2", "n3", "n4", "n5", "n6", "n7", "n8");
    LiveRollouts.Rollout rollout = server.rollouts.get("shop", "2.0").orElseThrow();
    RolloutView view = server.decisions.view("shop", "2.0");
    assertThat(server.controller.snapshot(rollout, view, f.clock.instant()).nodes())
        .filteredOn(n -> n.id().equals("n1")).singleElement().satisfies(n -> assertThat(n.updating()).isTrue());
    f.clock.advance(Duration.ofSeconds(2));
    FleetSnapshot.NodeFacts facts = server.controller.snapshot(rollout, view, f.clock.instant()).nodes().stream()
        .filter(n -> n.id().equals("n1")).findFirst().orElseThrow();
    assertThat(facts.lostSlot()).isTrue();
    assertThat(Controller.tally(view, server.controller.snapshot(rollout, view, f.clock.instant()), 0).failedNodes())
        .contains("n1");
    assertThat(server.leases.confirm(new Caller.Node("n1"), call(n1, null)).status()).isEqualTo(409);
  }

  @Test
  void pausedHaltedAndRecalledRolloutsMakeNodesWaitAndRecallLeasesGoByWave(@TempDir Path root) throws Exception {
    RolloutFixture f = new RolloutFixture(root);
    RolloutFixture.Instance server = started(f, oneWaveBudgetTwo());
    LiveRollouts.Rollout rollout = server.rollouts.get("shop", "2.0").orElseThrow();
    RolloutView view = server.decisions.view("shop", "2.0");
    server.controller.propose(rollout, view, Controller.Proposal.class.cast(
        new Controller.Proposal(RolloutDecision.Kind.PAUSE, "maintenance", null, null)), "alice", f.clock.instant());
    assertThat(server.leases.ask(new Caller.Node("n1"), ask("n1")).body().code()).isEqualTo("ROLLOUT_PAUSED");
    view = server.decisions.view("shop", "2.0");
    server.controller.propose(rollout, view, new Controller.Proposal(RolloutDecision.Kind.HALT, "bad", null, null),
        "alice", f.clock.instant());
    assertThat(server.leases.ask(new Caller.Node("n1"), ask("n1")).body().code()).isEqualTo("ROLLOUT_HALTED");
    LeaseRequest recall = LeaseRequest.ask("shop", "2.0", "n1", LeaseGrant.Kind.RECALL);
    assertThat(server.leases.ask(new Caller.Node("n1"), recall).body().code()).isEqualTo("ROLLOUT_PAUSED");
    view = server.decisions.view("shop", "2.0");
    server.controller.propose(rollout, view, new Controller.Proposal(RolloutDecision.Kind.RECALL,
        "data corruption, ticket 812", 0, null), "alice", f.clock.instant());
    LeaseAnswer recallGrant = server.leases.ask(new Caller.Node("n1"), recall).body();
    assertThat(recallGrant.message()).as("the recall's reason, which the node records as 'recalled: <reason>'")
        .isEqualTo("data corruption, ticket 812");
    LeaseGrant g = grant(f, recallGrant, "n1");
    assertThat(g.kind()).isEqualTo(LeaseGrant.Kind.RECALL);
    assertThat(Files.exists(root.resolve(RepositoryLayout.lease("shop", "2.0", "recall", 0, 1)))).isTrue();
  }

  @Test
  void aNodeActsOnlyForItselfAndOnlyOnItsOwnSlot(@TempDir Path root) throws Exception {
    RolloutFixture f = new RolloutFixture(root);
    RolloutFixture.Instance server = started(f, oneWaveBudgetTwo());
    assertThatThrownBy(() -> server.leases.ask(new Caller.Node("n2"), ask("n1")))
        .isInstanceOfSatisfying(UpgradeException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.ACCESS_DENIED));
    LeaseGrant n1 = grant(f, server.leases.ask(new Caller.Node("n1"), ask("n1")).body(), "n1");
    LeaseRequest forged = new LeaseRequest("shop", "2.0", "n2", LeaseGrant.Kind.UPGRADE, n1.slot(), n1.generation(),
        "COMMITTED");
    assertThatThrownBy(() -> server.leases.release(new Caller.Node("n2"), forged))
        .isInstanceOfSatisfying(UpgradeException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.ACCESS_DENIED));
    assertThatThrownBy(() -> server.leases.ask(new Caller.Node("n1"), LeaseRequest.ask("shop", "9.9", "n1",
        LeaseGrant.Kind.UPGRADE)))
        .isInstanceOfSatisfying(UpgradeException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.NOT_FOUND));
    RolloutFixture.Instance keyless = f.new Instance(false);
    assertThat(keyless.leases.ask(new Caller.Node("n3"), ask("n3")).body().code()).isEqualTo("ROLLOUT_PAUSED");
  }

  @Test
  void aWaitingNodeIsToldToAskAgainWhenItsWaveCanOpenAndAWaveIsGrantedOnceItsStateIsSigned(@TempDir Path root)
      throws Exception {
    RolloutFixture f = new RolloutFixture(root);
    RolloutFixture.Instance server = started(f, RolloutFixture.batches(75, 20)); // canary, then waves of 2, bake 20 s
    RolloutView view = server.decisions.view("shop", "2.0");
    String canary = view.schedule().waves().get(0).get(0);
    String second = view.schedule().waves().get(1).get(0);
    String third = view.schedule().waves().get(2).get(0);
    String fourth = view.schedule().waves().get(3).get(0);
    // the canary runs: the second wave opens a bake time after it is done at the earliest, the next ones later
    assertThat(retry(server, second)).isEqualTo(21);
    assertThat(retry(server, third)).isEqualTo(41);
    assertThat(retry(server, fourth)).as("at most a minute").isEqualTo(60);

    LeaseGrant g = grant(f, server.leases.ask(new Caller.Node(canary), ask(canary)).body(), canary);
    server.leases.confirm(new Caller.Node(canary), call(g, null));
    server.report(RolloutFixture.report(canary, "1.0", "2.0", "COMMITTED", f.clock.instant()));
    server.heartbeats("2.0", canary);
    server.leases.release(new Caller.Node(canary), call(g, "COMMITTED"));
    server.controller.tick(); // wave-done: the bake starts
    f.clock.advance(Duration.ofSeconds(5));
    assertThat(retry(server, second)).as("the bake time left").isEqualTo(16);
    assertThat(retry(server, third)).isEqualTo(36);
    f.clock.advance(Duration.ofSeconds(15));
    assertThat(retry(server, second)).as("the bake is over: the controller opens the wave now").isEqualTo(1);

    // Decided but not signed yet: a grant would name a wave the nodes' copy of the state does not open.
    LiveRollouts.Rollout rollout = server.rollouts.get("shop", "2.0").orElseThrow();
    server.controller.propose(rollout, server.decisions.view("shop", "2.0"), new Controller.Proposal(
        RolloutDecision.Kind.OPEN_WAVE, "test", 1, null), "controller", f.clock.instant());
    LeaseAnswer unsigned = server.leases.ask(new Caller.Node(second), ask(second)).body();
    assertThat(unsigned.code()).isEqualTo("WAVE_NOT_OPEN");
    assertThat(unsigned.retryAfterSeconds()).isEqualTo(1);
    server.controller.tick(); // signs the state that opens wave 2
    LeaseGrant next = grant(f, server.leases.ask(new Caller.Node(second), ask(second)).body(), second);
    assertThat(next.wave()).isEqualTo(1);
  }

  static long retry(RolloutFixture.Instance server, String node) throws Exception {
    LeaseAnswer answer = server.leases.ask(new Caller.Node(node), ask(node)).body();
    assertThat(answer.code()).isEqualTo("WAVE_NOT_OPEN");
    return answer.retryAfterSeconds();
  }
}
