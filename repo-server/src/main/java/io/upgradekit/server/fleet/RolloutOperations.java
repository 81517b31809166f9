package io.upgradekit.server.fleet;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.api.RolloutAction;
import io.upgradekit.schema.api.RolloutList;
import io.upgradekit.server.core.FleetIndex;
import io.upgradekit.schema.api.RolloutReport;
import io.upgradekit.schema.model.LeaseGrant;
import io.upgradekit.schema.model.RolloutDecision;
import io.upgradekit.schema.model.RolloutDecision.Kind;
import io.upgradekit.schema.model.RolloutState;
import io.upgradekit.server.core.Caller;
import io.upgradekit.server.rollout.Controller;
import io.upgradekit.server.rollout.FleetSnapshot;
import io.upgradekit.server.rollout.Judge;
import io.upgradekit.server.rollout.RolloutView;
import io.upgradekit.server.rollout.RolloutView.Status;
import io.upgradekit.server.rollout.Schedule;
import java.io.IOException;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * What operators see and do ({@code GET /v1/rollouts}, {@code GET /v1/rollouts/<app>/<version>},
 * {@code POST /v1/rollouts/<app>/<version>/actions}): every action is checked against the
 * rollout's state (a sentence says why one does not apply) and stored as a decision with the
 * operator's name and reason, exclusively under the next sequence number like the controller's;
 * the next signed state carries it to the nodes.
 *
 * <p>Thread-safe.
 */
public final class RolloutOperations {
  /** A stored action and its decision. */
  public record Acted(RolloutDecision decision) {}

  private final LiveRollouts rollouts;
  private final Decisions decisions;
  private final RolloutController controller;
  private final LeaseService leases;
  private final RolloutStates states;
  private final Clock clock;
  private final FleetIndex reports;

  /**
   * @param states the signed states, or null when this server holds no rollout key
   * @param reports the stored reports, for the nodes' rollback drills
   */
  public RolloutOperations(LiveRollouts rollouts, Decisions decisions, RolloutController controller,
      LeaseService leases, RolloutStates states, Clock clock, FleetIndex reports) {
    this.reports = reports;
    this.rollouts = rollouts;
    this.decisions = decisions;
    this.controller = controller;
    this.leases = leases;
    this.states = states;
    this.clock = clock;
  }

  static String status(Status status) {
    return status.name().toLowerCase(Locale.ROOT).replace('_', '-');
  }

  /** {@code GET /v1/rollouts}. */
  public RolloutList list() throws IOException {
    List<RolloutList.Summary> out = new ArrayList<>();
    for (LiveRollouts.Rollout r : rollouts.refresh()) {
      RolloutView view = decisions.view(r.app(), r.version());
      RolloutDecision last = view.last();
      out.add(new RolloutList.Summary(r.app(), r.version(), status(view.status()), view.paused(), view.openWaves(),
          view.schedule() == null ? null : view.schedule().size(), view.lastSequence(),
          last == null ? null : last.kind().name().toLowerCase(Locale.ROOT).replace('_', '-') + ": " + last.reason(),
          last == null ? null : last.at()));
    }
    return new RolloutList(clock.instant(), states != null, out);
  }

  /** {@code GET /v1/rollouts/<app>/<version>}. */
  public RolloutReport report(String app, String version) throws IOException {
    LiveRollouts.Rollout r = leases.rollout(app, version);
    RolloutView view = decisions.view(app, version);
    Instant now = clock.instant();
    FleetSnapshot fleet = controller.snapshot(r, view, now);
    Schedule schedule = view.schedule();
    List<RolloutReport.Wave> waves = new ArrayList<>();
    int busy = 0;
    RolloutReport.JudgeFigures judge = null;
    if (schedule != null) {
      Map<String, FleetSnapshot.NodeFacts> facts = new HashMap<>();
      fleet.nodes().forEach(n -> facts.put(n.id(), n));
      List<List<String>> members = new ArrayList<>();
      schedule.waves().forEach(w -> members.add(new ArrayList<>(w)));
      for (FleetSnapshot.NodeFacts n : fleet.nodes()) {
        if (!schedule.assigned(n.id())) {
          members.get(schedule.size() - 1).add(n.id()); // joined later: the last wave
        }
      }
      for (int w = 0; w < schedule.size(); w++) {
        Controller.WaveTally tally = Controller.tally(view, fleet, w);
        List<RolloutReport.Node> nodes = new ArrayList<>();
        for (String id : members.get(w)) {
          nodes.add(node(id, facts.get(id), view));
        }
        waves.add(new RolloutReport.Wave(w, LeaseService.waveName(w, schedule), waveStatus(view, w), tally.size(),
            tally.committed(), tally.failed(), tally.pending(), tally.skipped(), tally.updating(), nodes));
      }
      for (LeaseGrant.Kind kind : LeaseGrant.Kind.values()) {
        for (LeaseService.Holding h : leases.scan(r, schedule, kind, now)) {
          busy += h.active() ? 1 : 0;
        }
      }
      for (FleetSnapshot.NodeFacts n : fleet.nodes()) {
        busy += !n.updating() && !n.healthy() ? 1 : 0;
      }
      Judge.Verdict v = Controller.judge(view, fleet, r.plan().rollbackOrDefault(), now);
      judge = new RolloutReport.JudgeFigures(v.outcome().name(), finite(v.upgradedErrorRate()),
          finite(v.baselineErrorRate()), finite(v.upgradedLatency()), finite(v.baselineLatency()), v.upgradedNodes(),
          v.baselineNodes(), v.reason());
    }
    Optional<RolloutState> state = states == null ? Optional.empty() : states.current(app, version);
    List<RolloutDecision> log = view.log();
    if (log.size() > RolloutReport.MAX_DECISIONS) {
      log = log.subList(log.size() - RolloutReport.MAX_DECISIONS, log.size());
    }
    return new RolloutReport(now, app, version, status(view.status()), view.paused(), view.blockedReason(),
        List.copyOf(new java.util.TreeSet<>(r.channels())), r.plan(), view.fromVersion(),
        schedule == null ? null : schedule.fleet(), schedule == null ? null : schedule.minAvailable(),
        schedule == null ? null : schedule.budget(), busy, view.openWaves(),
        view.status() == Status.RECALLING || view.status() == Status.RECALLED ? view.recallFrom() : null,
        Controller.bakeLeft(view, r.plan(), now).toSeconds(), waves, judge,
        state.map(RolloutState::sequence).orElse(null), state.map(RolloutState::expires).orElse(null), log)
        .withDrills(reports.drills(app, version));
  }

  private static RolloutReport.Node node(String id, FleetSnapshot.NodeFacts n, RolloutView view) {
    if (n == null) {
      return new RolloutReport.Node(id, "unknown", null, false, false);
    }
    String state;
    if (n.updating()) {
      state = "updating";
    } else if (n.lostSlot() || (n.outcome() != null && n.outcome().failure() && !retriedSince(n, view))) {
      state = "failed";
    } else if (n.outcome() == FleetSnapshot.Outcome.COMMITTED || view.version().equals(n.version())) {
      state = "committed";
    } else if (!n.available()) {
      state = "unavailable";
    } else {
      state = "pending";
    }
    return new RolloutReport.Node(id, state, n.version(), n.available(), n.healthy());
  }

  private static boolean retriedSince(FleetSnapshot.NodeFacts n, RolloutView view) {
    return view.retriedSince(n.id(), n.outcomeAt());
  }

  private static String waveStatus(RolloutView view, int w) {
    if (w >= view.openWaves()) {
      return "waiting";
    }
    if (view.waveDoneAt(w) == null) {
      return "open";
    }
    return w == view.openWaves() - 1 && view.status() == Status.ACTIVE ? "baking" : "passed";
  }

  private static Double finite(double d) {
    return Double.isFinite(d) ? d : null;
  }

  /**
   * {@code POST /v1/rollouts/<app>/<version>/actions}: stores the action as a decision.
   *
   * @throws UpgradeException NOT_FOUND (no such rollout), REQUEST_INVALID (the action does not apply
   *     now, with why)
   */
  public Acted act(Caller.Operator operator, String app, String version, RolloutAction action) throws IOException {
    LiveRollouts.Rollout r = leases.rollout(app, version);
    for (int attempt = 0; attempt < 10; attempt++) {
      RolloutView view = decisions.view(app, version);
      Instant now = clock.instant();
      Controller.Proposal proposal = proposal(r, view, action, now);
      Optional<RolloutView> stored = controller.propose(r, view, proposal, operator.name(), action.node(),
          now);
      if (stored.isPresent()) {
        return new Acted(stored.get().last());
      }
      // another decision came first: check the action against the new state
    }
    throw new UpgradeException(ErrorCode.IO_ERROR, "the rollout changed ten times while the action was stored;"
        + " try again");
  }

  private Controller.Proposal proposal(LiveRollouts.Rollout r, RolloutView view, RolloutAction action, Instant now)
      throws IOException {
    Status s = view.status();
    String reason = action.reason();
    return switch (action.action()) {
      case START -> {
        if (s != Status.NOT_STARTED && s != Status.BLOCKED) {
          throw refused("it started already (" + status(s) + ")");
        }
        SetRuns.Hold hold = controller.sets().hold(r);
        if (hold != null && !hold.mayStart()) {
          throw refused(hold.reason() + ": a release of a set starts in the set's order");
        }
        Controller.Proposal p = Controller.decide(view, r.plan(), controller.snapshot(r, view, now), now)
            .orElseThrow(() -> refused("the plan cannot start: " + view.blockedReason()));
        if (p.kind() != Kind.START) {
          throw refused("the plan cannot start: " + p.reason());
        }
        yield new Controller.Proposal(Kind.START, reason + " (" + p.reason() + ")", null, p.assignment());
      }
      case PAUSE -> {
        if (s != Status.ACTIVE && s != Status.COMPLETE || view.paused()) {
          throw refused(view.paused() ? "it is paused already" : "it is " + status(s));
        }
        yield new Controller.Proposal(Kind.PAUSE, reason, null, null);
      }
      case RESUME -> {
        if (!view.paused() && s != Status.HALTED) {
          throw refused("it is neither paused nor halted");
        }
        yield new Controller.Proposal(Kind.RESUME, reason, null, null);
      }
      case APPROVE -> {
        if (s != Status.ACTIVE) {
          throw refused("it is " + status(s));
        }
        int wave = action.wave() != null ? action.wave() : view.openWaves();
        if (wave < view.openWaves() || wave >= view.schedule().size()) {
          throw refused("wave " + (wave + 1) + " is open already or does not exist (" + view.openWaves() + " of "
              + view.schedule().size() + " open)");
        }
        yield new Controller.Proposal(Kind.APPROVE, reason, wave, null);
      }
      case HALT -> {
        if (s != Status.ACTIVE) {
          throw refused("it is " + status(s));
        }
        yield new Controller.Proposal(Kind.HALT, reason, null, null);
      }
      case RECALL -> {
        if (s != Status.ACTIVE && s != Status.HALTED && s != Status.COMPLETE) {
          throw refused("it is " + status(s));
        }
        if (view.fromVersion() == null) {
          throw refused("the fleet ran no earlier version to go back to; halt it instead");
        }
        yield new Controller.Proposal(Kind.RECALL, reason, Math.max(0, view.openWaves() - 1), null);
      }
      case RETRY -> {
        if (view.schedule() == null) {
          throw refused("it has not started");
        }
        yield new Controller.Proposal(Kind.RETRY, reason, null, null);
      }
    };
  }

  private static UpgradeException refused(String why) {
    return new UpgradeException(ErrorCode.REQUEST_INVALID, "the action does not apply: " + why);
  }
}
