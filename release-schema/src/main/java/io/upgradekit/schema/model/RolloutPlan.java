package io.upgradekit.schema.model;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * How a release rolls out over a fleet: components in dependency order, a strategy, a bake time
 * and a rollback policy. Optional parts are null when absent.
 *
 * @param components the components and their dependencies (a DAG: no cycles, no unknown names)
 * @param strategy all at once, a canary first, or batches bounded by minimum availability
 * @param minAvailablePercent for {@code batches}: the share of nodes that stays up (0–99)
 * @param bakeSeconds how long a wave must stay healthy before the next opens
 * @param rollback when to stop and recall the release, or null for "never automatically"
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record RolloutPlan(
    List<Component> components, Strategy strategy, Integer minAvailablePercent, Long bakeSeconds,
    RollbackPolicy rollback) {
  public static final int MAX_COMPONENTS = 256;

  public enum Strategy {
    @JsonProperty("all")
    ALL,
    @JsonProperty("canary")
    CANARY,
    @JsonProperty("batches")
    BATCHES
  }

  /**
   * One component of the plan.
   *
   * @param name the component (an app name)
   * @param version the version of it this plan installs
   * @param dependsOn components whose rollout must finish first (absent means none)
   */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record Component(String name, String version, List<String> dependsOn) {
    public Component {
      Names.requireApp(name);
      Names.requireVersion(version);
      dependsOn = dependsOn == null ? List.of() : List.copyOf(dependsOn);
      dependsOn.forEach(Names::requireApp);
    }
  }

  /**
   * Automatic rollback: recall when the error rate exceeds {@code errorRateFactor} times the
   * baseline and latency exceeds {@code latencyFactor} times the baseline within the window.
   */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record RollbackPolicy(String mode, Double errorRateFactor, Double latencyFactor, Long windowSeconds) {
    public RollbackPolicy {
      if (!"auto".equals(mode) && !"manual".equals(mode)) {
        throw Checks.malformed("rollback mode must be 'auto' or 'manual', was '" + mode + "'");
      }
      if (errorRateFactor != null && !(errorRateFactor >= 1.0)) {
        throw Checks.malformed("errorRateFactor must be at least 1");
      }
      if (latencyFactor != null && !(latencyFactor >= 1.0)) {
        throw Checks.malformed("latencyFactor must be at least 1");
      }
      if (windowSeconds != null) {
        Checks.positive(windowSeconds, "windowSeconds");
      }
    }
  }

  public RolloutPlan {
    components = List.copyOf(Checks.required(components, "components"));
    Checks.required(strategy, "strategy");
    if (components.size() > MAX_COMPONENTS) {
      throw Checks.malformed("a plan has at most " + MAX_COMPONENTS + " components");
    }
    if (minAvailablePercent != null && (minAvailablePercent < 0 || minAvailablePercent > 99)) {
      throw Checks.malformed("minAvailablePercent must be between 0 and 99");
    }
    if (bakeSeconds != null) {
      Checks.nonNegative(bakeSeconds, "bakeSeconds");
    }
    requireAcyclic(components);
  }

  private static void requireAcyclic(List<Component> components) {
    Map<String, Component> byName = new HashMap<>();
    for (Component c : components) {
      if (byName.put(c.name(), c) != null) {
        throw Checks.malformed("component '" + c.name() + "' is listed twice");
      }
    }
    for (Component c : components) {
      for (String dependency : c.dependsOn()) {
        if (!byName.containsKey(dependency)) {
          throw Checks.malformed("component '" + c.name() + "' depends on unknown '" + dependency + "'");
        }
      }
    }
    Set<String> done = new HashSet<>();
    Set<String> visiting = new HashSet<>();
    for (Component c : components) {
      visit(c.name(), byName, done, visiting);
    }
  }

  // Depth is bounded by MAX_COMPONENTS, so recursion is safe here.
  private static void visit(String name, Map<String, Component> byName, Set<String> done, Set<String> visiting) {
    if (done.contains(name)) {
      return;
    }
    if (!visiting.add(name)) {
      throw Checks.malformed("components depend on each other in a cycle through '" + name + "'");
    }
    for (String dependency : byName.get(name).dependsOn()) {
      visit(dependency, byName, done, visiting);
    }
    visiting.remove(name);
    done.add(name);
  }
}
