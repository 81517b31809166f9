package io.upgradekit.server.rollout;

import io.upgradekit.schema.model.ReleaseSet;
import io.upgradekit.schema.model.SetGraph;
import io.upgradekit.server.rollout.RolloutView.Status;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The orchestration of a release set (DESIGN 7b), as a pure function of the set and where each
 * component's own rollout is: which components may start now, and, after a failure, which to halt
 * or to recall. Like {@link Controller} it keeps nothing between calls, so every server process
 * that sees the same rollouts takes the same steps.
 *
 * <p>The rules:
 *
 * <ul>
 *   <li>A component's rollout may start when every component it depends on completed healthy
 *       ({@link Status#COMPLETE}); components that do not depend on each other run in parallel.
 *       With strategy {@code sequential}, only when every component listed before it in the set's
 *       order ({@link SetGraph#order()}) completed.
 *   <li>A component whose own rollout is halted, recalling or recalled has <em>failed</em>. Then no
 *       further component starts, and with {@code rollback_policy: manual} the components still
 *       rolling out are halted (an operator decides), while with {@code auto} every component
 *       already rolled (or rolling) is recalled in reverse dependency order: a component is recalled
 *       once every component that depends on it and had started is recalled, so a set that failed
 *       at api goes back api, then cache, then database, each within its own availability budget.
 *   <li>An operator who resumes the failed component (its rollout active again) lifts the failure,
 *       and the set goes on.
 * </ul>
 */
public final class SetPlanner {
  /** Where the set as a whole is. */
  public enum SetStatus {
    /** Components roll out (or wait for their dependencies). */
    RUNNING,
    /** Every component completed healthy. */
    COMPLETE,
    /** A component failed under {@code manual}: nothing starts or proceeds; an operator decides. */
    HALTED,
    /** A component failed under {@code auto}: the rolled components go back, top-down. */
    RECALLING,
    /** A component failed under {@code auto} and every rolled component is recalled (end). */
    RECALLED
  }

  /**
   * The next steps.
   *
   * @param status where the set is
   * @param start components whose rollout may start now (not started, or blocked by their fleet), in
   *     dependency order
   * @param halt components to halt now (a failure under {@code manual})
   * @param recall components to recall now (a failure under {@code auto}), top-down
   * @param waitingFor per component that has not started: the components it still waits for (empty
   *     once it may start; under {@code sequential} also the components listed before it)
   * @param failed the components whose rollout failed, in dependency order
   * @param reason one sentence for the operator: what the set does and why
   */
  public record Next(SetStatus status, List<String> start, List<String> halt, List<String> recall,
      Map<String, List<String>> waitingFor, List<String> failed, String reason) {
    public Next {
      start = List.copyOf(start);
      halt = List.copyOf(halt);
      recall = List.copyOf(recall);
      waitingFor = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(waitingFor));
      failed = List.copyOf(failed);
    }
  }

  private static final Set<Status> NOT_STARTED = Set.of(Status.NOT_STARTED, Status.BLOCKED);
  private static final Set<Status> FAILED = Set.of(Status.HALTED, Status.RECALLING, Status.RECALLED);

  private SetPlanner() {}

  /**
   * The next steps of {@code set}.
   *
   * @param statuses each component's rollout status by app; a component without one has not started
   */
  public static Next next(ReleaseSet set, Map<String, Status> statuses) {
    SetGraph graph = set.graph();
    List<String> order = graph.order();
    Map<String, Status> status = new LinkedHashMap<>();
    for (String app : order) {
      status.put(app, statuses.getOrDefault(app, Status.NOT_STARTED));
    }
    List<String> failed = order.stream().filter(app -> FAILED.contains(status.get(app))).toList();
    Map<String, List<String>> waitingFor = waitingFor(set, graph, status);
    if (failed.isEmpty()) {
      List<String> start = order.stream()
          .filter(app -> NOT_STARTED.contains(status.get(app)) && waitingFor.get(app).isEmpty()).toList();
      boolean complete = status.values().stream().allMatch(s -> s == Status.COMPLETE);
      return new Next(complete ? SetStatus.COMPLETE : SetStatus.RUNNING, start, List.of(), List.of(), waitingFor,
          failed, complete ? "every component completed healthy" : running(start, status));
    }
    String failure = String.join(", ", failed) + " failed";
    if (set.rollbackPolicy() == ReleaseSet.Rollback.MANUAL) {
      List<String> halt = order.stream().filter(app -> status.get(app) == Status.ACTIVE).toList();
      return new Next(SetStatus.HALTED, List.of(), halt, List.of(), waitingFor, failed, failure
          + ": the set is halted (rollback_policy manual); nothing else starts" + (halt.isEmpty() ? ""
          : ", halting " + String.join(", ", halt)) + "; recall, retry or resume by hand");
    }
    Recall step = recall(set, status);
    List<String> recall = step.now();
    boolean rolledLeft = step.rolledLeft();
    if (!rolledLeft) {
      return new Next(SetStatus.RECALLED, List.of(), List.of(), List.of(), waitingFor, failed, failure
          + ": every component the set rolled is recalled");
    }
    List<String> going = order.stream().filter(app -> status.get(app) == Status.RECALLING).toList();
    return new Next(SetStatus.RECALLING, List.of(), List.of(), recall, waitingFor, failed, failure
        + ": the set goes back in reverse dependency order (rollback_policy auto)"
        + (recall.isEmpty() ? "" : "; recalling " + String.join(", ", recall) + " now")
        + (going.isEmpty() ? "" : "; " + String.join(", ", going) + " going back"));
  }

  /**
   * One step of a set's recall, top-down.
   *
   * @param now components to recall now: rolled (or rolling), not going back yet, and every
   *     component that depends on them and had started is recalled
   * @param rolledLeft whether any component is still rolled (not recalled, and it had started)
   */
  public record Recall(List<String> now, boolean rolledLeft) {
    public Recall {
      now = List.copyOf(now);
    }
  }

  /**
   * The components to recall now when the whole set goes back (a failure under {@code auto}, or an
   * operator's recall of the set), in reverse dependency order.
   *
   * @param statuses each component's rollout status by app; a component without one has not started
   */
  public static Recall recall(ReleaseSet set, Map<String, Status> statuses) {
    SetGraph graph = set.graph();
    List<String> recall = new ArrayList<>();
    boolean rolledLeft = false;
    for (String app : graph.recallOrder()) {
      Status s = statuses.getOrDefault(app, Status.NOT_STARTED);
      if (NOT_STARTED.contains(s) || s == Status.RECALLED) {
        continue;
      }
      rolledLeft = true;
      if (s != Status.RECALLING && graph.dependents(app).stream().allMatch(d -> {
        Status ds = statuses.getOrDefault(d, Status.NOT_STARTED);
        return NOT_STARTED.contains(ds) || ds == Status.RECALLED;
      })) {
        recall.add(app);
      }
    }
    return new Recall(recall, rolledLeft);
  }

  private static Map<String, List<String>> waitingFor(ReleaseSet set, SetGraph graph, Map<String, Status> status) {
    Map<String, List<String>> waiting = new LinkedHashMap<>();
    List<String> before = new ArrayList<>();
    for (String app : graph.order()) {
      if (NOT_STARTED.contains(status.get(app))) {
        List<String> open = new ArrayList<>();
        List<String> ahead = set.strategy() == ReleaseSet.Strategy.SEQUENTIAL ? before : graph.dependencies(app);
        for (String d : ahead) {
          if (status.get(d) != Status.COMPLETE) {
            open.add(d);
          }
        }
        waiting.put(app, open);
      }
      before.add(app);
    }
    return waiting;
  }

  private static String running(List<String> start, Map<String, Status> status) {
    List<String> active = status.entrySet().stream().filter(e -> e.getValue() == Status.ACTIVE).map(Map.Entry::getKey)
        .toList();
    StringBuilder out = new StringBuilder();
    if (!start.isEmpty()) {
      out.append("starting ").append(String.join(", ", start));
    }
    if (!active.isEmpty()) {
      out.append(out.length() == 0 ? "" : "; ").append("rolling out ").append(String.join(", ", active));
    }
    return out.length() == 0 ? "waiting for the components' rollouts" : out.toString();
  }
}
