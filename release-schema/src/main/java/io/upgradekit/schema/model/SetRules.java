package io.upgradekit.schema.model;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The rules of a release set, as a list of every problem (the plugin refuses on any, {@code
 * upgrade:plan} prints them all): no component twice, every {@code depends_on} names a listed
 * component, no cycle, sizes within the caps, and every contract binds a listed component and can be
 * met by the set. Linear in the set's size and free of recursion, so a hostile set of any shape is
 * checked in bounded time and stack.
 */
public final class SetRules {
  /** Problems reported at most (the rest are counted in the last one). */
  public static final int MAX_PROBLEMS = 50;
  /** Names a message lists at most. */
  private static final int MAX_LISTED = 10;

  /**
   * One broken rule: its code and a sentence with the fix.
   *
   * @param code {@code SET_CYCLE}, {@code SET_UNKNOWN_COMPONENT}, {@code SET_DUPLICATE_COMPONENT},
   *     {@code SET_TOO_LARGE}, {@code CONTRACT_INVALID} or {@code METADATA_MALFORMED}
   */
  public record Problem(ErrorCode code, String message) {
    public UpgradeException exception() {
      return new UpgradeException(code, message);
    }

    @Override
    public String toString() {
      return code + ": " + message;
    }
  }

  private SetRules() {}

  /**
   * Every problem of a set of {@code components} with {@code contracts} (at most {@value
   * #MAX_PROBLEMS}); empty when the set is sound.
   */
  public static List<Problem> check(List<ReleaseSet.Component> components, List<ReleaseSet.Contract> contracts) {
    Problems problems = new Problems();
    if (components.isEmpty()) {
      problems.add(ErrorCode.METADATA_MALFORMED, "the release set lists no component: list at least one under"
          + " components");
      return problems.list();
    }
    if (components.size() > ReleaseSet.MAX_COMPONENTS) {
      problems.add(ErrorCode.SET_TOO_LARGE, "the release set lists " + components.size() + " components, more than "
          + ReleaseSet.MAX_COMPONENTS + ": split the system into several sets (a set that depends on another is"
          + " released after it)");
      return problems.list();
    }
    if (contracts.size() > ReleaseSet.MAX_CONTRACTS) {
      problems.add(ErrorCode.SET_TOO_LARGE, "the release set carries " + contracts.size() + " contracts, more than "
          + ReleaseSet.MAX_CONTRACTS + ": keep the contracts a node must check, drop the ones the order already"
          + " guarantees");
      return problems.list();
    }
    Map<String, ReleaseSet.Component> byApp = new LinkedHashMap<>();
    for (ReleaseSet.Component c : components) {
      if (byApp.putIfAbsent(c.app(), c) != null) {
        problems.add(ErrorCode.SET_DUPLICATE_COMPONENT, "component '" + c.app() + "' is listed twice: list each"
            + " component once (a set installs one version of each app)");
      }
    }
    for (ReleaseSet.Component c : byApp.values()) {
      Set<String> seen = new HashSet<>();
      for (String dependency : c.dependsOn()) {
        if (dependency.equals(c.app())) {
          problems.add(ErrorCode.SET_CYCLE, "component '" + c.app() + "' depends on itself: remove '" + c.app()
              + "' from its depends_on");
        } else if (!seen.add(dependency)) {
          problems.add(ErrorCode.SET_DUPLICATE_COMPONENT, "component '" + c.app() + "' lists '" + dependency
              + "' twice in depends_on: list it once");
        } else if (!byApp.containsKey(dependency)) {
          problems.add(ErrorCode.SET_UNKNOWN_COMPONENT, "component '" + c.app() + "' depends on '" + dependency
              + "', which the set does not list: add '" + dependency + "' to components, or correct the name"
              + " (listed: " + listed(byApp.keySet()) + ")");
        }
      }
    }
    List<String> cycle = findCycle(byApp);
    if (cycle != null) {
      problems.add(ErrorCode.SET_CYCLE, "components depend on each other in a cycle (" + String.join(" -> ", cycle)
          + "): " + describeCycle(cycle) + ", so none could ever start: remove one of these depends_on");
    }
    for (ReleaseSet.Contract contract : contracts) {
      checkContract(contract, byApp, cycle == null, problems);
    }
    return problems.list();
  }

  private static void checkContract(ReleaseSet.Contract contract, Map<String, ReleaseSet.Component> byApp,
      boolean acyclic, Problems problems) {
    ReleaseSet.Component bound = byApp.get(contract.app());
    if (bound == null) {
      problems.add(ErrorCode.SET_UNKNOWN_COMPONENT, "the contract '" + contract + "' binds '" + contract.app()
          + "', which the set does not list: add it to components, or remove the contract");
      return;
    }
    ReleaseSet.Component required = byApp.get(contract.requires());
    if (required == null || !contract.binds(bound.version())) {
      return; // an app outside the set is checked against the fleet (upgrade:plan, nodes)
    }
    if (!contract.servedBy(required.version())) {
      problems.add(ErrorCode.CONTRACT_INVALID, "the contract '" + contract + "' can never be met by this set: it"
          + " installs " + required.app() + " " + required.version() + ", outside '" + contract.range() + "': raise "
          + required.app() + "'s version in the set, or correct the contract");
    } else if (acyclic && !upstream(byApp, bound.app(), required.app())) {
      problems.add(ErrorCode.CONTRACT_INVALID, "the contract '" + contract + "' needs " + required.app()
          + " upgraded before " + bound.app() + ", but " + bound.app() + " does not depend on " + required.app()
          + ": add " + required.app() + " to " + bound.app() + "'s depends_on (directly, or through a component "
          + bound.app() + " depends on)");
    }
  }

  /** Whether {@code dependency} is reached from {@code app} over depends_on (set known acyclic). */
  static boolean upstream(Map<String, ReleaseSet.Component> byApp, String app, String dependency) {
    Deque<String> todo = new ArrayDeque<>(List.of(app));
    Set<String> seen = new HashSet<>();
    while (!todo.isEmpty()) {
      ReleaseSet.Component c = byApp.get(todo.pop());
      if (c == null) {
        continue;
      }
      for (String d : c.dependsOn()) {
        if (d.equals(dependency)) {
          return true;
        }
        if (seen.add(d)) {
          todo.push(d);
        }
      }
    }
    return false;
  }

  /**
   * A cycle among the listed components (self-loops and unknown names aside, which are reported on
   * their own), as {@code a -> b -> ... -> a} where each depends on the next; null when there is
   * none. Kahn's algorithm removes every component whose dependencies can all complete; what
   * remains holds a cycle, found by walking remaining dependencies until one repeats.
   */
  static List<String> findCycle(Map<String, ReleaseSet.Component> byApp) {
    Map<String, Integer> waitingFor = new HashMap<>();
    Map<String, List<String>> dependents = new HashMap<>();
    for (ReleaseSet.Component c : byApp.values()) {
      int n = 0;
      for (String d : new HashSet<>(c.dependsOn())) {
        if (!d.equals(c.app()) && byApp.containsKey(d)) {
          n++;
          dependents.computeIfAbsent(d, k -> new ArrayList<>()).add(c.app());
        }
      }
      waitingFor.put(c.app(), n);
    }
    Deque<String> ready = new ArrayDeque<>();
    waitingFor.forEach((app, n) -> {
      if (n == 0) {
        ready.add(app);
      }
    });
    while (!ready.isEmpty()) {
      String done = ready.poll();
      waitingFor.remove(done);
      for (String dependent : dependents.getOrDefault(done, List.of())) {
        if (waitingFor.merge(dependent, -1, Integer::sum) == 0) {
          ready.add(dependent);
        }
      }
    }
    if (waitingFor.isEmpty()) {
      return null;
    }
    // Every remaining component waits for at least one remaining dependency: walk until a repeat.
    String start = byApp.keySet().stream().filter(waitingFor::containsKey).findFirst().orElseThrow();
    List<String> path = new ArrayList<>();
    Map<String, Integer> position = new HashMap<>();
    String at = start;
    while (!position.containsKey(at)) {
      position.put(at, path.size());
      path.add(at);
      String next = null;
      for (String d : byApp.get(at).dependsOn()) {
        if (!d.equals(at) && waitingFor.containsKey(d)) {
          next = d;
          break;
        }
      }
      at = next;
    }
    List<String> cycle = new ArrayList<>(path.subList(position.get(at), path.size()));
    cycle.add(at);
    return cycle;
  }

  /** {@code a depends on b, b on c, c on a}, cut after a few steps. */
  private static String describeCycle(List<String> cycle) {
    StringBuilder out = new StringBuilder(cycle.get(0) + " depends on " + cycle.get(1));
    int steps = Math.min(cycle.size() - 1, MAX_LISTED);
    for (int i = 1; i < steps; i++) {
      out.append(", ").append(cycle.get(i)).append(" on ").append(cycle.get(i + 1));
    }
    if (steps < cycle.size() - 1) {
      out.append(", ... (").append(cycle.size() - 1).append(" components in the cycle)");
    }
    return out.toString();
  }

  static String listed(Set<String> names) {
    List<String> shown = names.stream().limit(MAX_LISTED).toList();
    return String.join(", ", shown) + (names.size() > MAX_LISTED ? ", ... (" + names.size() + " in all)" : "");
  }

  /** A bounded list of problems. */
  private static final class Problems {
    private final List<Problem> list = new ArrayList<>();
    private int dropped;

    void add(ErrorCode code, String message) {
      if (list.size() < MAX_PROBLEMS) {
        list.add(new Problem(code, message));
      } else {
        dropped++;
      }
    }

    List<Problem> list() {
      if (dropped > 0) {
        Problem last = list.remove(list.size() - 1);
        list.add(new Problem(last.code(), last.message() + " (and " + dropped + " more problems)"));
        dropped = 0;
      }
      return List.copyOf(list);
    }
  }
}
