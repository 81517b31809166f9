package io.upgradekit.schema.model;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;

/**
 * The dependency order of a release set's components, which the controller follows and {@code
 * upgrade:plan} shows: bottom-up to roll out ({@link #order()}), top-down to recall ({@link
 * #recallOrder()}), and in steps of components that may run in parallel ({@link #steps()}). The
 * order is deterministic: among components that are ready together, the one listed first in the
 * set comes first. Immutable.
 */
public final class SetGraph {
  private final Map<String, ReleaseSet.Component> byApp;
  private final Map<String, List<String>> dependents;
  private final List<String> order;
  private final Map<String, Integer> step;

  private SetGraph(Map<String, ReleaseSet.Component> byApp) {
    this.byApp = byApp;
    Map<String, Integer> index = new HashMap<>();
    Map<String, List<String>> dependents = new LinkedHashMap<>();
    Map<String, Integer> waitingFor = new HashMap<>();
    for (ReleaseSet.Component c : byApp.values()) {
      index.put(c.app(), index.size());
      dependents.put(c.app(), new ArrayList<>());
    }
    for (ReleaseSet.Component c : byApp.values()) {
      waitingFor.put(c.app(), c.dependsOn().size());
      c.dependsOn().forEach(d -> dependents.get(d).add(c.app()));
    }
    PriorityQueue<String> ready = new PriorityQueue<>((a, b) -> Integer.compare(index.get(a), index.get(b)));
    waitingFor.forEach((app, n) -> {
      if (n == 0) {
        ready.add(app);
      }
    });
    List<String> order = new ArrayList<>();
    Map<String, Integer> step = new HashMap<>();
    while (!ready.isEmpty()) {
      String app = ready.poll();
      order.add(app);
      int s = 0;
      for (String d : byApp.get(app).dependsOn()) {
        s = Math.max(s, step.get(d) + 1);
      }
      step.put(app, s);
      for (String dependent : dependents.get(app)) {
        if (waitingFor.merge(dependent, -1, Integer::sum) == 0) {
          ready.add(dependent);
        }
      }
    }
    this.dependents = Map.copyOf(dependents);
    this.order = List.copyOf(order);
    this.step = Map.copyOf(step);
  }

  /**
   * The graph of a sound set's components.
   *
   * @throws io.upgradekit.schema.UpgradeException the first of {@link SetRules#check}'s problems
   */
  public static SetGraph of(List<ReleaseSet.Component> components) {
    List<SetRules.Problem> problems = SetRules.check(components, List.of());
    if (!problems.isEmpty()) {
      throw problems.get(0).exception();
    }
    Map<String, ReleaseSet.Component> byApp = new LinkedHashMap<>();
    components.forEach(c -> byApp.put(c.app(), c));
    return new SetGraph(byApp);
  }

  /** Every component, dependencies before their dependents. */
  public List<String> order() {
    return order;
  }

  /** Every component, dependents before their dependencies: the order of a recall. */
  public List<String> recallOrder() {
    List<String> reversed = new ArrayList<>(order);
    java.util.Collections.reverse(reversed);
    return List.copyOf(reversed);
  }

  /**
   * The components in steps: step 0 depends on nothing, step k on components of earlier steps, at
   * least one of step k-1 (its longest chain of dependencies has k links). Components of one step
   * do not depend on each other.
   */
  public List<List<String>> steps() {
    List<List<String>> steps = new ArrayList<>();
    for (String app : order) {
      int s = step.get(app);
      while (steps.size() <= s) {
        steps.add(new ArrayList<>());
      }
      steps.get(s).add(app);
    }
    return steps.stream().map(List::copyOf).toList();
  }

  /** The step of {@code app} (see {@link #steps()}). */
  public int step(String app) {
    return step.get(requireListed(app));
  }

  /** The components {@code app} depends on directly. */
  public List<String> dependencies(String app) {
    return byApp.get(requireListed(app)).dependsOn();
  }

  /** The components that depend on {@code app} directly, in the set's listing order. */
  public List<String> dependents(String app) {
    return List.copyOf(dependents.get(requireListed(app)));
  }

  /** Whether {@code app} depends on {@code dependency}, directly or through other components. */
  public boolean dependsOn(String app, String dependency) {
    return SetRules.upstream(byApp, requireListed(app), dependency);
  }

  /** Whether the set lists {@code app}. */
  public boolean contains(String app) {
    return byApp.containsKey(app);
  }

  private String requireListed(String app) {
    if (!byApp.containsKey(app)) {
      throw new IllegalArgumentException("the set does not list " + app);
    }
    return app;
  }
}
