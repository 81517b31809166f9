package io.upgradekit.server.rollout;

import static org.assertj.core.api.Assertions.assertThat;

import io.upgradekit.schema.model.RolloutDecision;
import io.upgradekit.schema.model.RolloutDecision.Kind;
import io.upgradekit.schema.model.RolloutPlan;
import io.upgradekit.schema.model.RolloutPlan.Approval;
import io.upgradekit.schema.model.RolloutPlan.RollbackPolicy;
import io.upgradekit.schema.model.RolloutPlan.Strategy;
import io.upgradekit.server.rollout.Controller.Proposal;
import io.upgradekit.server.rollout.FleetSnapshot.NodeFacts;
import io.upgradekit.server.rollout.FleetSnapshot.Outcome;
import io.upgradekit.server.rollout.FleetSnapshot.VersionedSample;
import io.upgradekit.server.rollout.RolloutView.Status;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The controller driven through whole rollouts over a simulated fleet, one decision at a time. */
class ControllerTest {
  private static final String APP = "hello";
  private static final String V1 = "1.0.0";
  private static final String V2 = "2.0.0";

  private Instant now = Instant.parse("2026-12-04T12:00:00Z");
  private final Map<String, NodeFacts> nodes = new LinkedHashMap<>();
  private final List<VersionedSample> samples = new ArrayList<>();
  private final List<RolloutDecision> decisions = new ArrayList<>();

  private void fleet(int n) {
    for (int i = 0; i < n; i++) {
      String id = "node-" + i;
      nodes.put(id, new NodeFacts(id, Map.of("zone", "z" + (i % 2)), V1, true, true, null, null, false, false, false));
    }
  }

  private RolloutView view() {
    return RolloutView.fold(APP, V2, decisions);
  }

  private FleetSnapshot snapshot() {
    return new FleetSnapshot(new ArrayList<>(nodes.values()), samples);
  }

  /** Takes the controller's next decision, if any, as the server would. */
  private Optional<RolloutDecision> step(RolloutPlan plan) {
    Optional<Proposal> p = Controller.decide(view(), plan, snapshot(), now);
    if (p.isEmpty()) {
      return Optional.empty();
    }
    Proposal proposal = p.get();
    long seq = decisions.size() + 1;
    RolloutDecision d;
    if (proposal.kind() == Kind.START) {
      Schedule s = proposal.assignment().schedule();
      d = RolloutDecision.start(APP, V2, seq, now, proposal.reason(), V1, s.waves(), s.fleet(), s.minAvailable(),
          s.budget(), s.canary());
    } else {
      d = RolloutDecision.of(APP, V2, seq, now, RolloutDecision.CONTROLLER, proposal.kind(), proposal.reason(),
          proposal.wave(), null);
    }
    decisions.add(d);
    return Optional.of(d);
  }

  private void operator(Kind kind, Integer wave, String node) {
    decisions.add(RolloutDecision.of(APP, V2, decisions.size() + 1, now, "alice", kind, "because", wave, node));
  }

  /** Every node of the open waves that is still on V1 updates and commits. */
  private void openWavesCommit() {
    RolloutView view = view();
    for (NodeFacts n : new ArrayList<>(nodes.values())) {
      if (view.schedule().waveOf(n.id()) < view.openWaves() && V1.equals(n.version())) {
        set(n.id(), V2, Outcome.COMMITTED);
      }
    }
  }

  private void set(String id, String version, Outcome outcome) {
    NodeFacts n = nodes.get(id);
    nodes.put(id, new NodeFacts(id, n.labels(), version, n.available(), n.healthy(), outcome, now, false, false, false));
  }

  private void down(String id) {
    NodeFacts n = nodes.get(id);
    nodes.put(id, new NodeFacts(id, n.labels(), n.version(), false, false, n.outcome(), n.outcomeAt(), false, false,
        false));
  }

  /** Starts the rollout and lets its first {@code waves} waves commit and bake. */
  private void installWaves(RolloutPlan plan, int waves) {
    step(plan);
    for (int i = 0; i < waves; i++) {
      step(plan);
      openWavesCommit();
      step(plan);
      now = now.plusSeconds(61);
    }
  }

  private static RolloutPlan batches(Approval approval, RollbackPolicy rollback) {
    return new RolloutPlan(null, Strategy.BATCHES, 75, 60L, rollback, null, 1, null, 0, null, approval, null);
  }

  private List<Kind> kinds() {
    return decisions.stream().map(RolloutDecision::kind).toList();
  }

  @Test
  void aGoodReleaseGoesCanaryThenBatchesWithBakeBetween() {
    fleet(8);
    RolloutPlan plan = batches(Approval.AUTO, null);

    assertThat(step(plan)).get().extracting(RolloutDecision::kind).isEqualTo(Kind.START);
    assertThat(view().schedule().waves()).extracting(List::size).containsExactly(1, 2, 2, 2, 1);
    int guard = 0;
    while (!view().ended() && guard++ < 100) {
      if (step(plan).isEmpty()) {
        openWavesCommit();
        if (step(plan).isEmpty()) {
          now = now.plusSeconds(30); // baking
        }
      }
    }

    assertThat(view().status()).isEqualTo(Status.COMPLETE);
    assertThat(nodes.values()).allMatch(n -> n.version().equals(V2));
    assertThat(kinds()).containsSubsequence(Kind.START, Kind.OPEN_WAVE, Kind.WAVE_DONE, Kind.OPEN_WAVE, Kind.WAVE_DONE,
        Kind.OPEN_WAVE, Kind.WAVE_DONE, Kind.OPEN_WAVE, Kind.WAVE_DONE, Kind.OPEN_WAVE, Kind.WAVE_DONE, Kind.COMPLETE);
    // every OPEN_WAVE after the first comes at least the bake time after the previous WAVE_DONE
    Instant lastDone = null;
    for (RolloutDecision d : decisions) {
      if (d.kind() == Kind.WAVE_DONE) {
        lastDone = d.at();
      } else if (d.kind() == Kind.OPEN_WAVE && lastDone != null) {
        assertThat(d.at()).isAfterOrEqualTo(lastDone.plusSeconds(60));
      }
    }
  }

  @Test
  void theNextWaveWaitsWhileANodeOfTheCurrentOneIsUpdating() {
    fleet(8);
    RolloutPlan plan = batches(Approval.AUTO, null);
    step(plan); // start
    step(plan); // open canary
    String canary = view().schedule().waves().get(0).get(0);
    NodeFacts n = nodes.get(canary);
    nodes.put(canary, new NodeFacts(canary, n.labels(), V1, true, true, null, null, true, false, false));

    assertThat(step(plan)).isEmpty();
    now = now.plusSeconds(3600);
    assertThat(step(plan)).as("no bake starts while the canary updates").isEmpty();
  }

  @Test
  void manualApprovalHoldsTheNextWaveUntilAnOperatorApproves() {
    fleet(8);
    RolloutPlan plan = batches(Approval.MANUAL, null);
    step(plan);
    step(plan);
    openWavesCommit();
    step(plan); // canary done
    now = now.plusSeconds(61);

    assertThat(step(plan)).isEmpty();
    operator(Kind.APPROVE, 1, null);
    assertThat(step(plan)).get().extracting(RolloutDecision::kind, RolloutDecision::wave).containsExactly(Kind.OPEN_WAVE, 1);
  }

  @Test
  void pauseStopsWavesFromOpeningAndResumeGoesOn() {
    fleet(8);
    RolloutPlan plan = batches(Approval.AUTO, null);
    step(plan);
    step(plan);
    openWavesCommit();
    step(plan);
    operator(Kind.PAUSE, null, null);
    now = now.plusSeconds(61);

    assertThat(step(plan)).isEmpty();
    assertThat(view().installing()).isFalse();
    operator(Kind.RESUME, null, null);
    assertThat(step(plan)).get().extracting(RolloutDecision::kind).isEqualTo(Kind.OPEN_WAVE);
  }

  @Test
  void aFailedCanaryUnderAManualPolicyHalts() {
    fleet(8);
    RolloutPlan plan = batches(Approval.AUTO, new RollbackPolicy("manual", null, null, 300L));
    step(plan);
    step(plan);
    String canary = view().schedule().waves().get(0).get(0);
    set(canary, V1, Outcome.ROLLED_BACK);

    assertThat(step(plan)).get().extracting(RolloutDecision::kind).isEqualTo(Kind.HALT);
    assertThat(view().status()).isEqualTo(Status.HALTED);
    assertThat(decisions.get(decisions.size() - 1).reason()).contains(canary, "more than maxFailures 0");

    // retry: the node's earlier failure no longer counts once it was allowed to try again
    now = now.plusSeconds(5);
    operator(Kind.RETRY, null, canary);
    operator(Kind.RESUME, null, null);
    assertThat(step(plan)).isEmpty();
    set(canary, V2, Outcome.COMMITTED);
    assertThat(step(plan)).get().extracting(RolloutDecision::kind).isEqualTo(Kind.WAVE_DONE);
  }

  @Test
  void theJudgeRecallsAWorseCanaryUnderAnAutoPolicyAndTheRecallGoesBackInReverse() {
    fleet(8);
    RolloutPlan plan = batches(Approval.AUTO, new RollbackPolicy("auto", null, null, 300L));
    step(plan);
    step(plan);
    openWavesCommit();
    String canary = view().schedule().waves().get(0).get(0);
    for (NodeFacts n : nodes.values()) {
      boolean upgraded = n.id().equals(canary);
      samples.add(new VersionedSample(n.version(), new Judge.Sample(n.id(), now, upgraded ? 0.3 : 0.01, 0.02)));
    }

    Optional<RolloutDecision> d = step(plan);

    assertThat(d).get().extracting(RolloutDecision::kind).isEqualTo(Kind.RECALL);
    assertThat(d.get().reason()).contains("canary judge", "error rate 0.3000");
    assertThat(view().status()).isEqualTo(Status.RECALLING);
    assertThat(view().recallFrom()).isEqualTo(0);
    set(canary, V1, Outcome.ROLLED_BACK);
    samples.clear();
    assertThat(step(plan)).get().extracting(RolloutDecision::kind).isEqualTo(Kind.RECALLED);
  }

  @Test
  void aRecallOfSeveralWavesOpensThemFromTheLast() {
    fleet(8);
    RolloutPlan plan = batches(Approval.AUTO, null);
    installWaves(plan, 3); // canary and two batches
    operator(Kind.RECALL, null, null);
    assertThat(view().recallFrom()).isEqualTo(view().openWaves() - 1);
    int last = view().openWaves() - 1;

    assertThat(step(plan)).as("wave " + last + " still runs the release").isEmpty();
    for (String id : view().schedule().waves().get(last)) {
      set(id, V1, Outcome.ROLLED_BACK);
    }
    assertThat(step(plan)).get().extracting(RolloutDecision::kind, RolloutDecision::wave)
        .containsExactly(Kind.RECALL_WAVE, last - 1);
  }

  @Test
  void aNodeThatSwitchedBackButStillChecksItsOldVersionHoldsTheRecallUp() {
    fleet(8);
    RolloutPlan plan = batches(Approval.AUTO, null);
    installWaves(plan, 2); // canary and one batch
    operator(Kind.RECALL, null, null);
    int last = view().openWaves() - 1;
    List<String> wave = view().schedule().waves().get(last);
    // Every node of the last wave switched back: its heartbeats name V1, but one still holds its
    // recall slot (it is in START or VERIFY on V1, not yet healthy there).
    for (String id : wave) {
      set(id, V1, null);
    }
    NodeFacts checking = nodes.get(wave.get(0));
    nodes.put(checking.id(), new NodeFacts(checking.id(), checking.labels(), V1, true, false, null, null, false,
        false, true));

    assertThat(step(plan)).as(checking.id() + " is not back until it gave its recall slot back").isEmpty();

    set(checking.id(), V1, Outcome.ROLLED_BACK);
    assertThat(step(plan)).get().extracting(RolloutDecision::kind, RolloutDecision::wave)
        .containsExactly(Kind.RECALL_WAVE, last - 1);
  }

  @Test
  void anUnavailableNodeThatNeverStartedDoesNotHoldItsWaveUp() {
    fleet(4);
    RolloutPlan plan = new RolloutPlan(null, Strategy.ALL, null, null, null);
    step(plan);
    step(plan);
    down("node-3");
    openWavesCommit();
    set("node-3", V1, null);
    down("node-3");

    RolloutDecision done = step(plan).orElseThrow();

    assertThat(done.kind()).isEqualTo(Kind.WAVE_DONE);
    assertThat(done.reason()).contains("3 committed", "1 unavailable and skipped");
  }

  @Test
  void aWaveWhoseNodesAreAllUnavailableWaitsForThem() {
    fleet(8);
    RolloutPlan plan = batches(Approval.AUTO, null);
    step(plan);
    step(plan);
    nodes.keySet().forEach(this::down); // the whole fleet silent at once (updaters restarting together)

    assertThat(step(plan)).as("the canary wave, with nobody updated, is not done").isEmpty();

    String canary = view().schedule().waves().get(0).get(0);
    set(canary, V2, Outcome.COMMITTED);
    assertThat(step(plan)).get().extracting(RolloutDecision::kind).isEqualTo(Kind.WAVE_DONE);
  }

  @Test
  void aPlanTheFleetCannotHoldIsBlockedOnceAndStartsWhenItCan() {
    fleet(2);
    RolloutPlan plan = batches(Approval.AUTO, null); // 75% of 2 rounds up to 2: no budget

    assertThat(step(plan)).get().extracting(RolloutDecision::kind).isEqualTo(Kind.BLOCKED);
    assertThat(step(plan)).as("the same reason is not repeated").isEmpty();
    for (int i = 2; i < 8; i++) {
      nodes.put("node-" + i, new NodeFacts("node-" + i, Map.of(), V1, true, true, null, null, false, false, false));
    }
    assertThat(step(plan)).get().extracting(RolloutDecision::kind).isEqualTo(Kind.START);
  }
}
