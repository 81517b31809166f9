package io.upgradekit.server.rollout;

import io.upgradekit.schema.model.RolloutDecision.Kind;
import io.upgradekit.schema.model.RolloutPlan;
import io.upgradekit.server.rollout.FleetSnapshot.NodeFacts;
import io.upgradekit.server.rollout.FleetSnapshot.VersionedSample;
import io.upgradekit.server.rollout.RolloutView.Status;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The rollout controller's logic: from a rollout's decisions so far (its {@link RolloutView}), the
 * fleet as it is now and the clock, the next decision to take, if any. Pure: it reads, never
 * writes; the server stores what it proposes exclusively under the next sequence number and, if
 * another process was first, folds that one in and asks again. So the controller is stateless and
 * a decision takes effect once.
 *
 * <p>The gates (DESIGN section 7): wave k+1 opens only when every node of wave k committed or is
 * counted failed (a node that was unavailable and never started does not hold the wave up, as long
 * as at least one node of the wave committed or failed), its
 * failures are within {@code maxFailures}, the bake time passed since the wave finished with its
 * nodes up and healthy, and, with manual approval, an operator approved wave k+1. Throughout, the
 * canary judge compares upgraded nodes with nodes still on the old version over the same minutes;
 * a worse release, or too many failures, is halted, and with {@code rollback: auto} recalled. A
 * recall goes back wave by wave in reverse: the next earlier wave may switch back once no node of
 * a later wave runs the release.
 */
public final class Controller {
  /** A decision the controller proposes; the server fills in sequence, time and actor. */
  public record Proposal(Kind kind, String reason, Integer wave, WaveAssigner.Assignment assignment) {
    static Proposal of(Kind kind, String reason, Integer wave) {
      return new Proposal(kind, reason, wave, null);
    }
  }

  /** How one wave stands now. */
  public record WaveTally(int wave, int size, int committed, int failed, int pending, int skipped, int updating,
      List<String> failedNodes) {
    public boolean done() {
      return pending == 0 && updating == 0;
    }
  }

  private Controller() {}

  /**
   * The next decision for the rollout of {@code plan}'s release, or empty when there is nothing to
   * decide now.
   */
  public static Optional<Proposal> decide(RolloutView view, RolloutPlan plan, FleetSnapshot fleet, Instant now) {
    return switch (view.status()) {
      case NOT_STARTED, BLOCKED -> start(view, plan, fleet);
      case ACTIVE -> active(view, plan, fleet, now);
      case HALTED -> policyChecks(view, plan, fleet, now, Status.HALTED);
      case RECALLING -> recalling(view, fleet);
      case RECALLED -> Optional.empty();
      case COMPLETE -> policyChecks(view, plan, fleet, now, Status.COMPLETE);
    };
  }

  private static Optional<Proposal> start(RolloutView view, RolloutPlan plan, FleetSnapshot fleet) {
    List<WaveAssigner.Member> members = new ArrayList<>();
    for (NodeFacts n : fleet.nodes()) {
      members.add(new WaveAssigner.Member(n.id(), n.labels()));
    }
    WaveAssigner.Assignment assignment = WaveAssigner.assign(view.app() + "/" + view.version(), members, plan);
    if (assignment.ok()) {
      Schedule s = assignment.schedule();
      return Optional.of(new Proposal(Kind.START, s.size() + " waves over " + s.fleet() + " nodes, at most "
          + s.budget() + " updating at once (" + s.minAvailable() + " stay available)"
          + (s.canary() > 0 ? ", canary " + s.canary() : ""), null, assignment));
    }
    if (view.status() == Status.BLOCKED && assignment.problem().equals(view.blockedReason())) {
      return Optional.empty(); // said already
    }
    return Optional.of(Proposal.of(Kind.BLOCKED, assignment.problem(), null));
  }

  private static Optional<Proposal> active(RolloutView view, RolloutPlan plan, FleetSnapshot fleet, Instant now) {
    Optional<Proposal> policy = policyChecks(view, plan, fleet, now, Status.ACTIVE);
    if (policy.isPresent()) {
      return policy;
    }
    Schedule schedule = view.schedule();
    if (view.openWaves() == 0) {
      return view.paused() ? Optional.empty() : Optional.of(Proposal.of(Kind.OPEN_WAVE, "the rollout starts with "
          + (schedule.canary() > 0 ? "the canary wave" : "wave 1 of " + schedule.size()), 0));
    }
    int current = view.openWaves() - 1;
    WaveTally tally = tally(view, fleet, current);
    Instant doneAt = view.waveDoneAt(current);
    if (doneAt == null) {
      // A wave none of whose nodes got to try (all unavailable) is not done: a fleet that went silent
      // at once (a network split, updaters restarting together) must not pass the canary and every
      // wave with nobody updated.
      boolean tried = tally.committed() + tally.failed() > 0 || tally.size() == 0;
      if (tally.done() && tried) {
        return Optional.of(Proposal.of(Kind.WAVE_DONE, waveName(current, schedule) + " finished: "
            + tally.committed() + " committed, " + tally.failed() + " failed"
            + (tally.skipped() > 0 ? ", " + tally.skipped() + " unavailable and skipped" : "")
            + "; bake " + plan.bakeSecondsOrDefault() + " s", current));
      }
      return Optional.empty();
    }
    if (now.isBefore(doneAt.plusSeconds(plan.bakeSecondsOrDefault()))) {
      return Optional.empty(); // baking; policyChecks watch it meanwhile
    }
    if (current == schedule.size() - 1) {
      return Optional.of(Proposal.of(Kind.COMPLETE, "every wave passed its gate", null));
    }
    if (view.paused()) {
      return Optional.empty();
    }
    int next = current + 1;
    if (plan.manualApproval() && !view.approved(next)) {
      return Optional.empty(); // waiting for an operator
    }
    return Optional.of(Proposal.of(Kind.OPEN_WAVE, waveName(current, schedule) + " passed its gate (bake "
        + plan.bakeSecondsOrDefault() + " s, " + tally.failed() + " of at most " + plan.maxFailures(tally.size())
        + " failures" + (plan.manualApproval() ? ", approved" : "") + ")", next));
  }

  /**
   * The rollback policy and the failure limit, watched while waves run and bake (and after the end,
   * while nodes seen later still install): too many failures halt (and recall under {@code auto});
   * the judge's "worse" recalls under {@code auto} and is recorded once per wave under {@code manual}.
   */
  private static Optional<Proposal> policyChecks(RolloutView view, RolloutPlan plan, FleetSnapshot fleet, Instant now,
      Status status) {
    if (view.openWaves() == 0) {
      return Optional.empty();
    }
    RolloutPlan.RollbackPolicy policy = plan.rollbackOrDefault();
    boolean auto = policy.auto();
    for (int w = 0; w < view.openWaves(); w++) {
      WaveTally tally = tally(view, fleet, w);
      int allowed = plan.maxFailures(tally.size());
      if (tally.failed() > allowed) {
        String reason = waveName(w, view.schedule()) + ": " + tally.failed() + " nodes failed ("
            + String.join(", ", tally.failedNodes()) + "), more than maxFailures " + allowed;
        if (auto) {
          return Optional.of(Proposal.of(Kind.RECALL, reason + "; the rollback policy is auto", w));
        }
        return status == Status.ACTIVE ? Optional.of(Proposal.of(Kind.HALT, reason, w)) : Optional.empty();
      }
    }
    Judge.Verdict verdict = judge(view, fleet, policy, now);
    if (verdict.worse()) {
      int wave = view.openWaves() - 1;
      if (auto) {
        return Optional.of(Proposal.of(Kind.RECALL, "the canary judge: " + verdict.reason(), wave));
      }
      if (!view.judged(wave)) {
        return Optional.of(Proposal.of(Kind.JUDGED, "the canary judge: " + verdict.reason()
            + " (rollback policy manual: not acted on)", wave));
      }
    }
    return Optional.empty();
  }

  /** The judge over the current samples: upgraded are those taken on the release, baseline the rest. */
  public static Judge.Verdict judge(RolloutView view, FleetSnapshot fleet, RolloutPlan.RollbackPolicy policy,
      Instant now) {
    List<Judge.Sample> upgraded = new ArrayList<>();
    List<Judge.Sample> baseline = new ArrayList<>();
    for (VersionedSample s : fleet.samples()) {
      (view.version().equals(s.version()) ? upgraded : baseline).add(s.sample());
    }
    return Judge.judge(upgraded, baseline, policy, now);
  }

  private static Optional<Proposal> recalling(RolloutView view, FleetSnapshot fleet) {
    Schedule schedule = view.schedule();
    Map<Integer, Integer> onRelease = new HashMap<>();
    for (NodeFacts n : fleet.nodes()) {
      // A node holding its recall slot is not back yet, whatever version its heartbeat names: it
      // switched, and is still checking the version it went back to. The next wave (or, in a release
      // set, the component below) waits until it is healthy there and gave the slot back.
      if (n.available() && (view.version().equals(n.version()) || n.recalling())) {
        onRelease.merge(schedule.waveOf(n.id()), 1, Integer::sum);
      }
    }
    if (onRelease.isEmpty()) {
      return Optional.of(Proposal.of(Kind.RECALLED, "no available node runs " + view.version() + " any more", null));
    }
    int from = view.recallFrom();
    boolean laterWavesBack = onRelease.keySet().stream().allMatch(w -> w < from);
    if (laterWavesBack && from > 0) {
      return Optional.of(Proposal.of(Kind.RECALL_WAVE, waveName(from, schedule) + " and later switched back",
          from - 1));
    }
    return Optional.empty();
  }

  /** How wave {@code w} stands: committed, failed, pending, skipped (unavailable, never started). */
  public static WaveTally tally(RolloutView view, FleetSnapshot fleet, int w) {
    Schedule schedule = view.schedule();
    int size = 0;
    int committed = 0;
    int failed = 0;
    int pending = 0;
    int skipped = 0;
    int updating = 0;
    List<String> failedNodes = new ArrayList<>();
    boolean baking = view.waveDoneAt(w) != null;
    for (NodeFacts n : fleet.nodes()) {
      if (schedule.waveOf(n.id()) != w) {
        continue;
      }
      size++;
      FleetSnapshot.Outcome outcome = n.outcome();
      if (outcome != null && view.retriedSince(n.id(), n.outcomeAt())) {
        outcome = null; // retried since: its earlier failure no longer counts
      }
      if (n.updating()) {
        updating++;
      } else if (n.lostSlot() || (outcome != null && outcome.failure())) {
        failed++;
        failedNodes.add(n.id());
      } else if (outcome == FleetSnapshot.Outcome.COMMITTED
          || (view.version().equals(n.version()) && outcome == null)) {
        if (baking && (!n.available() || !n.healthy())) {
          failed++; // went down or unhealthy after it committed
          failedNodes.add(n.id() + (n.available() ? " (unhealthy)" : " (unavailable)"));
        } else {
          committed++;
        }
      } else if (!n.available()) {
        skipped++;
      } else {
        pending++;
      }
    }
    return new WaveTally(w, size, committed, failed, pending, skipped, updating, failedNodes.size() > 20
        ? List.copyOf(failedNodes.subList(0, 20)) : List.copyOf(failedNodes));
  }

  static String waveName(int w, Schedule schedule) {
    return w == 0 && schedule.canary() > 0 ? "the canary wave" : "wave " + (w + 1) + " of " + schedule.size();
  }

  /** The bake left for the current wave, zero when none is running. */
  public static Duration bakeLeft(RolloutView view, RolloutPlan plan, Instant now) {
    if (view.openWaves() == 0) {
      return Duration.ZERO;
    }
    Instant doneAt = view.waveDoneAt(view.openWaves() - 1);
    if (doneAt == null) {
      return Duration.ZERO;
    }
    Duration left = Duration.between(now, doneAt.plusSeconds(plan.bakeSecondsOrDefault()));
    return left.isNegative() ? Duration.ZERO : left;
  }
}
