package io.upgradekit.server.rollout;

import io.upgradekit.schema.model.ReleaseSet;
import io.upgradekit.schema.model.RolloutDecision;
import io.upgradekit.schema.model.SetDecision;
import io.upgradekit.schema.model.SetState;
import io.upgradekit.server.rollout.RolloutView.Status;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * A release set's controller logic: from the set, its decisions so far ({@link SetView}) and each
 * component's own rollout ({@link RolloutView}), the next step, if any. Pure, like {@link
 * Controller}: the server stores what it proposes exclusively under the next sequence number (of
 * the set, or of the component) and asks again, so every step takes effect once whichever process
 * takes it, and a process that died between two steps leaves the rest to the next pass.
 *
 * <p>A step is either a set decision ({@link SetStep}) or a component's part of one ({@link
 * ComponentStep}): a set's pause, halt, resume or recall acts on its components through decisions
 * of their own rollouts, each referring back to the set decision it carries out. A component's part
 * is <em>owed</em> while no decision of its rollout refers to the set decision and the action still
 * applies to it; owed parts come before anything else, so the set never judges a component it has
 * halted itself as failed.
 *
 * <p>The order ({@link SetPlanner}): a component starts when its dependencies completed healthy (the
 * set stores {@code start-components}; the component's own controller then starts its rollout); a
 * failed component under {@code manual} halts the set (its rolling components are halted), under
 * {@code auto} recalls it: the components rolled go back top-down, each when every started component
 * that depends on it is back. Paused or halted, the set starts nothing; only a resume goes on.
 */
public final class SetController {
  /** A step of the set's controller. */
  public sealed interface Step permits SetStep, ComponentStep {}

  /** A set decision to store. */
  public record SetStep(SetDecision.Kind kind, String reason, List<String> apps) implements Step {
    public SetStep {
      apps = List.copyOf(apps);
    }
  }

  /**
   * A component's part of set decision {@code setDecision}: a decision of {@code app}'s rollout.
   *
   * @param actor who took the set decision (the component's decision is theirs too)
   */
  public record ComponentStep(String app, RolloutDecision.Kind kind, String reason, long setDecision, String actor)
      implements Step {}

  private static final Set<Status> NOT_STARTED = EnumSet.of(Status.NOT_STARTED, Status.BLOCKED);
  private static final Set<Status> ROLLED = EnumSet.of(Status.ACTIVE, Status.HALTED, Status.COMPLETE);

  private SetController() {}

  /**
   * The next step of {@code set}.
   *
   * @param components each component's rollout by app (a rollout without decisions: not started)
   */
  public static Optional<Step> decide(ReleaseSet set, SetView view, Map<String, RolloutView> components) {
    if (view.status() == SetView.Status.NOT_STARTED) {
      return Optional.of(new SetStep(SetDecision.Kind.START, "the set runs: " + String.join(" -> ",
          set.graph().order()) + " (" + set.strategy().wire() + ", rollback_policy " + set.rollbackPolicy().wire()
          + ")", List.of()));
    }
    Optional<Step> owed = owed(set, view, components);
    if (owed.isPresent()) {
      return owed;
    }
    Map<String, Status> effective = effective(set, view, components);
    switch (view.status()) {
      case RECALLING -> {
        SetPlanner.Recall recall = SetPlanner.recall(set, effective);
        if (!recall.rolledLeft()) {
          return Optional.of(new SetStep(SetDecision.Kind.RECALLED, "every component the set rolled is back",
              List.of()));
        }
        List<String> now = recall.now().stream().filter(app -> !view.recallAsked().contains(app)).toList();
        if (!now.isEmpty()) {
          return Optional.of(new SetStep(SetDecision.Kind.RECALL_COMPONENTS, "recalling " + String.join(", ", now)
              + " (every started component that depends on " + (now.size() == 1 ? "it" : "them") + " is back)",
              now));
        }
        return Optional.empty();
      }
      case RUNNING -> {
        if (view.paused()) {
          return Optional.empty();
        }
        SetPlanner.Next next = SetPlanner.next(set, effective);
        return switch (next.status()) {
          case COMPLETE -> Optional.of(new SetStep(SetDecision.Kind.COMPLETE, next.reason(), List.of()));
          case HALTED -> Optional.of(new SetStep(SetDecision.Kind.HALT, next.reason(), next.halt()));
          case RECALLING, RECALLED -> Optional.of(new SetStep(SetDecision.Kind.RECALL, next.reason(), List.of()));
          case RUNNING -> {
            List<String> start = next.start().stream().filter(app -> !view.started().contains(app)).toList();
            yield start.isEmpty() ? Optional.empty()
                : Optional.of(new SetStep(SetDecision.Kind.START_COMPONENTS, startReason(set, start), start));
          }
        };
      }
      default -> {
        return Optional.empty(); // halted: an operator decides; complete or recalled: the end
      }
    }
  }

  /**
   * The components' parts of the set's standing pause, halt or resume, and of its recall orders, not
   * yet carried out by a decision of their rollout and still applying to them. A pause or halt acts
   * on every component of the set (one that started in the moment of the decision too); a resume on
   * those it names (paused or halted when it was taken).
   */
  private static Optional<Step> owed(ReleaseSet set, SetView view, Map<String, RolloutView> components) {
    List<String> order = set.graph().order();
    SetDecision standing = view.standing();
    if (standing != null) {
      RolloutDecision.SetRef ref = ref(set, standing);
      List<String> apps = standing.kind() == SetDecision.Kind.RESUME ? standing.apps() : order;
      for (String app : apps) {
        RolloutView c = component(components, app, set);
        if (c.carried(ref)) {
          continue;
        }
        RolloutDecision.Kind kind = switch (standing.kind()) {
          case PAUSE -> (c.status() == Status.ACTIVE || c.status() == Status.COMPLETE) && !c.paused()
              ? RolloutDecision.Kind.PAUSE : null;
          case HALT -> c.status() == Status.ACTIVE ? RolloutDecision.Kind.HALT : null;
          case RESUME -> c.paused() || c.status() == Status.HALTED ? RolloutDecision.Kind.RESUME : null;
          default -> null;
        };
        if (kind != null) {
          return Optional.of(part(set, standing, app, kind));
        }
      }
    }
    for (SetDecision recall : view.recallOrders()) {
      RolloutDecision.SetRef ref = ref(set, recall);
      for (String app : recall.apps()) {
        RolloutView c = component(components, app, set);
        if (c.carried(ref) || !ROLLED.contains(c.status())) {
          continue;
        }
        if (c.fromVersion() != null) {
          return Optional.of(part(set, recall, app, RolloutDecision.Kind.RECALL));
        }
        if (c.status() == Status.ACTIVE) {
          // Its fleet ran no earlier version: nothing to go back to, so nobody else installs it.
          return Optional.of(part(set, recall, app, RolloutDecision.Kind.HALT));
        }
      }
    }
    return Optional.empty();
  }

  private static ComponentStep part(ReleaseSet set, SetDecision d, String app, RolloutDecision.Kind kind) {
    String reason = "release set " + set.name() + " " + set.version() + ", " + d.kindName() + " by " + d.actor()
        + (d.reason() == null ? "" : ": " + d.reason());
    if (reason.length() > RolloutDecision.MAX_REASON_LENGTH) {
      reason = reason.substring(0, RolloutDecision.MAX_REASON_LENGTH - 3) + "...";
    }
    return new ComponentStep(app, kind, reason, d.sequence(), d.actor());
  }

  /** The reference a component's decision carries for set decision {@code d}. */
  public static RolloutDecision.SetRef ref(ReleaseSet set, SetDecision d) {
    return new RolloutDecision.SetRef(set.name(), set.version(), d.sequence());
  }

  /**
   * Each component's status as the set judges it: a component the set halted itself is not a
   * failure (it counts as active until the set resumes it), and one a recall of the set asked back
   * that has nothing to go back to counts as recalled.
   */
  public static Map<String, Status> effective(ReleaseSet set, SetView view, Map<String, RolloutView> components) {
    Map<String, Status> out = new LinkedHashMap<>();
    for (String app : set.graph().order()) {
      RolloutView c = component(components, app, set);
      Status s = c.status();
      if (s == Status.HALTED && c.haltedBy() != null) {
        s = Status.ACTIVE;
      }
      if (view.recallAsked().contains(app) && c.fromVersion() == null && ROLLED.contains(c.status())) {
        s = Status.RECALLED;
      }
      out.put(app, s);
    }
    return out;
  }

  /** Where each component is, in the set's order, as the signed set state and the report say. */
  public static Map<String, SetState.Component> components(ReleaseSet set, SetView view,
      Map<String, RolloutView> components) {
    Map<String, List<String>> waiting = SetPlanner.next(set, effective(set, view, components)).waitingFor();
    Map<String, SetState.Component> out = new LinkedHashMap<>();
    for (String app : set.graph().order()) {
      RolloutView c = component(components, app, set);
      boolean released = view.started().contains(app);
      SetState.ComponentStatus status = switch (c.status()) {
        case NOT_STARTED -> released ? SetState.ComponentStatus.STARTING : SetState.ComponentStatus.WAITING;
        case BLOCKED -> released ? SetState.ComponentStatus.BLOCKED : SetState.ComponentStatus.WAITING;
        case ACTIVE -> c.paused() ? SetState.ComponentStatus.PAUSED : SetState.ComponentStatus.ROLLING;
        case COMPLETE -> SetState.ComponentStatus.COMPLETE;
        case HALTED -> SetState.ComponentStatus.HALTED;
        case RECALLING -> SetState.ComponentStatus.RECALLING;
        case RECALLED -> SetState.ComponentStatus.RECALLED;
      };
      List<String> waitingFor = status == SetState.ComponentStatus.WAITING
          ? waiting.getOrDefault(app, List.of()) : List.of();
      out.put(app, new SetState.Component(app, set.component(app).version(), status, waitingFor));
    }
    return out;
  }

  /** What the set does now and why, in one sentence. */
  public static String reason(ReleaseSet set, SetView view, Map<String, RolloutView> components) {
    return switch (view.status()) {
      case NOT_STARTED -> "not started yet: the controller starts it at its next pass";
      case RUNNING -> view.paused() ? "paused by " + actorOf(view.lastOf(SetDecision.Kind.PAUSE))
          + ": no component starts, the rolling ones are paused"
          : SetPlanner.next(set, effective(set, view, components)).reason();
      case HALTED -> "halted: " + reasonOf(view.lastOf(SetDecision.Kind.HALT))
          + " (resume the set to go on, recall it to go back)";
      case RECALLING -> {
        List<String> going = new ArrayList<>();
        for (String app : set.graph().order()) {
          if (component(components, app, set).status() == Status.RECALLING) {
            going.add(app);
          }
        }
        yield "recalling: " + reasonOf(view.lastOf(SetDecision.Kind.RECALL))
            + (going.isEmpty() ? "" : "; " + String.join(", ", going) + " going back");
      }
      case RECALLED -> "recalled: every component the set rolled is back";
      case COMPLETE -> "complete: every component completed healthy";
    };
  }

  private static String actorOf(SetDecision d) {
    return d == null ? "an operator" : d.actor();
  }

  private static String reasonOf(SetDecision d) {
    return d == null || d.reason() == null ? "by an operator" : d.reason() + " (" + d.actor() + ")";
  }

  private static String startReason(ReleaseSet set, List<String> start) {
    List<String> parts = new ArrayList<>();
    for (String app : start) {
      List<String> deps = set.graph().dependencies(app);
      parts.add(deps.isEmpty() ? app + " depends on nothing"
          : app + " after " + String.join(", ", deps) + " completed healthy");
    }
    return (set.strategy() == ReleaseSet.Strategy.SEQUENTIAL ? "next in order: " : "may start: ")
        + String.join("; ", parts);
  }

  private static RolloutView component(Map<String, RolloutView> components, String app, ReleaseSet set) {
    RolloutView c = components.get(app);
    return c != null ? c : RolloutView.fold(app, set.component(app).version(), List.of());
  }
}
