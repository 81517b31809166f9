package io.upgradekit.server.fleet;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.api.RolloutAction;
import io.upgradekit.schema.api.SetList;
import io.upgradekit.schema.api.SetReport;
import io.upgradekit.schema.model.ReleaseSet;
import io.upgradekit.schema.model.SetDecision;
import io.upgradekit.schema.model.SetState;
import io.upgradekit.server.core.Caller;
import io.upgradekit.server.rollout.RolloutView;
import io.upgradekit.server.rollout.SetController;
import io.upgradekit.server.rollout.SetView;
import java.io.IOException;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;

/**
 * What operators see and do with release sets ({@code GET /v1/sets}, {@code GET
 * /v1/sets/<name>/<version>}, {@code POST /v1/sets/<name>/<version>/actions}): every action is
 * checked against the set's state (a sentence says why one does not apply) and stored as a set
 * decision with the operator's name and reason, exclusively under the next sequence number; the
 * controller's next pass carries its part out on each component (a decision of the component's
 * rollout that refers back to it), and the next signed states carry it to the nodes.
 *
 * <p>Thread-safe.
 */
public final class SetOperations {
  private final LiveRollouts rollouts;
  private final SetRuns sets;
  private final SetStates states;
  private final RolloutController controller;
  private final Clock clock;

  /** @param states the signed set states, or null when this server holds no rollout key */
  public SetOperations(LiveRollouts rollouts, SetRuns sets, SetStates states, RolloutController controller,
      Clock clock) {
    this.rollouts = rollouts;
    this.sets = sets;
    this.states = states;
    this.controller = controller;
    this.clock = clock;
  }

  static String status(SetView.Status status) {
    return status.name().toLowerCase(Locale.ROOT).replace('_', '-');
  }

  /** {@code GET /v1/sets}. */
  public SetList list() throws IOException {
    sets.refresh(rollouts.refresh());
    List<SetList.Summary> out = new ArrayList<>();
    for (ReleaseSet set : sets.running()) {
      SetView view = sets.decisions().view(set.name(), set.version());
      Map<String, RolloutView> components = sets.componentViews(set);
      int complete = (int) components.values().stream().filter(v -> v.status() == RolloutView.Status.COMPLETE)
          .count();
      SetDecision last = view.last();
      out.add(new SetList.Summary(set.name(), set.version(), status(view.status()), view.paused(),
          set.components().size(), complete, clip(SetController.reason(set, view, components)), view.lastSequence(),
          last == null ? null : clip(last.kindName() + ": " + last.reason()), last == null ? null : last.at()));
    }
    return new SetList(clock.instant(), states != null, out);
  }

  /** {@code GET /v1/sets/<name>/<version>}. */
  public SetReport report(String name, String version) throws IOException {
    ReleaseSet set = set(name, version);
    SetView view = sets.decisions().view(name, version);
    Map<String, RolloutView> components = sets.componentViews(set);
    Map<String, SetState.Component> where = SetController.components(set, view, components);
    List<SetReport.Component> out = new ArrayList<>();
    for (String app : set.graph().order()) {
      ReleaseSet.Component c = set.component(app);
      RolloutView r = components.get(app);
      Optional<LiveRollouts.Rollout> live = rollouts.get(app, c.version());
      String note = null;
      if (live.isEmpty()) {
        note = "no channel names " + app + " " + c.version() + " with a rollout plan: its nodes do not see it";
      } else if (r.status() == RolloutView.Status.BLOCKED) {
        note = r.blockedReason();
      } else if (r.schedule() == null) {
        SetRuns.Hold hold = sets.hold(live.get());
        note = hold == null ? null : hold.reason();
      }
      out.add(new SetReport.Component(app, c.version(), c.dependsOn(), wire(where.get(app).status()),
          where.get(app).waitingFor(), r.lastSequence() == 0 ? null : RolloutOperations.status(r.status()),
          r.paused(), r.openWaves(), r.schedule() == null ? null : r.schedule().size(),
          live.map(l -> List.copyOf(new TreeSet<>(l.channels()))).orElse(List.of()), clip(note)));
    }
    List<SetReport.Contract> contracts = new ArrayList<>();
    Instant now = clock.instant();
    for (ReleaseSet.Contract contract : set.contracts()) {
      SetState.AppFleet fleet = sets.fleetOf(contract.requires(), now);
      String unmet = fleet.unmet(contract);
      ReleaseSet.Component bound = set.component(contract.app());
      contracts.add(new SetReport.Contract(contract.toString(), contract.app(), contract.versions(),
          contract.requires(), contract.range(), bound != null && contract.binds(bound.version()), unmet == null,
          fleet.nodes(), fleet.outside(contract), unmet != null ? unmet : "met: " + fleet.nodes() + " of "
              + fleet.nodes() + " " + contract.requires() + " nodes run versions inside '" + contract.range() + "'"));
    }
    Optional<SetState> state = states == null ? Optional.empty() : states.current(name, version);
    List<SetDecision> log = view.log();
    if (log.size() > SetReport.MAX_DECISIONS) {
      log = log.subList(log.size() - SetReport.MAX_DECISIONS, log.size());
    }
    return new SetReport(now, name, version, status(view.status()), view.paused(), set.strategy().wire(),
        set.rollbackPolicy().wire(), clip(SetController.reason(set, view, components)), set.graph().steps(), out,
        contracts, state.map(SetState::sequence).orElse(null), state.map(SetState::expires).orElse(null), log);
  }

  /**
   * {@code POST /v1/sets/<name>/<version>/actions}: stores the action as a set decision.
   *
   * @throws UpgradeException NOT_FOUND (no such running set), REQUEST_INVALID (the action does not
   *     apply now, with why)
   */
  public SetDecision act(Caller.Operator operator, String name, String version, RolloutAction action)
      throws IOException {
    ReleaseSet set = set(name, version);
    for (int attempt = 0; attempt < 10; attempt++) {
      SetView view = sets.decisions().view(name, version);
      Map<String, RolloutView> components = sets.componentViews(set);
      SetDecision d = decision(set, view, components, operator.name(), action);
      if (sets.decisions().append(d).isPresent()) {
        controller.wake(); // its part on the components: at the loop's next look
        return d;
      }
      // another decision came first: check the action against the new state
    }
    throw new UpgradeException(ErrorCode.IO_ERROR, "the set changed ten times while the action was stored; try again");
  }

  private SetDecision decision(ReleaseSet set, SetView view, Map<String, RolloutView> components, String actor,
      RolloutAction action) {
    SetView.Status s = view.status();
    List<String> apps = new ArrayList<>();
    SetDecision.Kind kind;
    switch (action.action()) {
      case PAUSE -> {
        if (s != SetView.Status.RUNNING || view.paused()) {
          throw refused(view.paused() ? "it is paused already" : "it is " + status(s));
        }
        kind = SetDecision.Kind.PAUSE;
        components.forEach((app, r) -> {
          if (r.status() == RolloutView.Status.ACTIVE && !r.paused()) {
            apps.add(app);
          }
        });
      }
      case RESUME -> {
        if (!view.paused() && s != SetView.Status.HALTED) {
          throw refused("it is neither paused nor halted");
        }
        kind = SetDecision.Kind.RESUME;
        components.forEach((app, r) -> {
          if (r.paused() && r.pausedBy() != null || r.status() == RolloutView.Status.HALTED) {
            apps.add(app); // what the set paused, and every halted component: the operator says go on
          }
        });
      }
      case HALT -> {
        if (s != SetView.Status.RUNNING) {
          throw refused("it is " + status(s));
        }
        kind = SetDecision.Kind.HALT;
        components.forEach((app, r) -> {
          if (r.status() == RolloutView.Status.ACTIVE) {
            apps.add(app);
          }
        });
      }
      case RECALL -> {
        if (s != SetView.Status.RUNNING && s != SetView.Status.HALTED && s != SetView.Status.COMPLETE) {
          throw refused("it is " + status(s));
        }
        kind = SetDecision.Kind.RECALL;
      }
      default -> throw refused("a set's actions are pause, resume, halt and recall; "
          + action.action().name().toLowerCase(Locale.ROOT) + " acts on one component's rollout"
          + " (repo-server rollout " + action.action().name().toLowerCase(Locale.ROOT) + " --app A --version V)");
    }
    return SetDecision.of(set.name(), set.version(), view.lastSequence() + 1,
        clock.instant().truncatedTo(ChronoUnit.MILLIS), actor, kind, action.reason(), apps);
  }

  private ReleaseSet set(String name, String version) throws IOException {
    Optional<ReleaseSet> found = sets.running().stream()
        .filter(s -> s.name().equals(name) && s.version().equals(version)).findFirst();
    if (found.isEmpty()) {
      sets.refresh(rollouts.refresh());
      found = sets.running().stream().filter(s -> s.name().equals(name) && s.version().equals(version)).findFirst();
    }
    return found.orElseThrow(() -> new UpgradeException(ErrorCode.NOT_FOUND, "release set " + name + " " + version
        + " is not running: it is not published (sets/" + name + "/" + version + ".json), does not verify, expired,"
        + " or no channel names any of its components' releases"));
  }

  private static String wire(SetState.ComponentStatus status) {
    return status.name().toLowerCase(Locale.ROOT);
  }

  private static String clip(String text) {
    return text == null || text.length() <= 2100 ? text : text.substring(0, 2097) + "...";
  }

  private static UpgradeException refused(String why) {
    return new UpgradeException(ErrorCode.REQUEST_INVALID, "the action does not apply to the set: " + why);
  }
}
