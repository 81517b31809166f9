package io.upgradekit.schema.model;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * How a release rolls out over the nodes that follow its channel (DESIGN section 7), carried in the
 * signed release manifest and configured in the pom's {@code <rollout>}. Optional parts are null when
 * absent; the {@code ...OrDefault} methods and {@link #minAvailable(int)}, {@link #canary(int)} and
 * {@link #maxFailures(int)} resolve them with the documented defaults.
 *
 * <p>"Nodes or percent" settings are two fields of which at most one is set, so the JSON stays typed:
 * {@code canaryNodes} or {@code canaryPercent}, {@code minAvailableNodes} or {@code
 * minAvailablePercent}, {@code maxFailures} or {@code maxFailuresPercent}. Percentages resolve
 * against the fleet (or the wave) when the rollout starts, always on the safe side: canary and
 * minimum availability round up, tolerated failures round down.
 *
 * @param components reserved for release sets (several components in dependency order); a DAG when
 *     present
 * @param strategy {@code all} (one wave), {@code canary} (a canary wave, then the rest), {@code
 *     batches} (a canary wave, then waves as large as the availability budget)
 * @param minAvailablePercent share of the fleet that stays up and healthy at every moment (0–99)
 * @param bakeSeconds how long a finished wave must stay healthy before the next one opens
 * @param rollback the rollback policy: {@code auto} halts and recalls when the canary judge or a node
 *     sees the release do worse than the baseline; {@code manual} reports and waits for an operator
 * @param minAvailableNodes like {@code minAvailablePercent}, in nodes
 * @param canaryNodes nodes in the canary wave
 * @param canaryPercent share of the fleet in the canary wave (1–100)
 * @param maxFailures failed nodes tolerated per wave before the rollout halts
 * @param maxFailuresPercent like {@code maxFailures}, as a share of the wave (0–100)
 * @param approval {@code auto}, or {@code manual}: an operator approves every next wave
 * @param waveLabel a node label key (e.g. {@code zone}): after the canary, one wave per value of it
 * @param set the release set that rolls this release out ({@link ReleaseSet#name()}), or null: a
 *     release that names a set never starts by itself when its channel pointer moves; it waits until
 *     a published set of that name lists it and the set's order lets it start (the set may be
 *     published after the release)
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record RolloutPlan(
    List<Component> components, Strategy strategy, Integer minAvailablePercent, Long bakeSeconds,
    RollbackPolicy rollback, Integer minAvailableNodes, Integer canaryNodes, Integer canaryPercent,
    Integer maxFailures, Integer maxFailuresPercent, Approval approval, String waveLabel, String set) {
  public static final int MAX_COMPONENTS = 256;

  /** Default minimum availability for {@code canary} and {@code batches}: three quarters of the fleet. */
  public static final int DEFAULT_MIN_AVAILABLE_PERCENT = 75;

  /** Bake times beyond a week are a mistake in the pom, not a plan. */
  public static final long MAX_BAKE_SECONDS = 7L * 24 * 3600;

  public enum Strategy {
    @JsonProperty("all")
    ALL,
    @JsonProperty("canary")
    CANARY,
    @JsonProperty("batches")
    BATCHES
  }

  public enum Approval {
    @JsonProperty("auto")
    AUTO,
    @JsonProperty("manual")
    MANUAL
  }

  /**
   * One component of a release set.
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
   * The rollback policy. With {@code auto}, a node switches back by itself when its own metrics go
   * beyond the factors against its pre-switch baseline within the window, and the controller halts
   * and recalls the release when the canary judge sees the upgraded nodes do worse than the nodes
   * still on the old version over the same minutes.
   *
   * @param combine {@code any} (error rate OR latency beyond its factor) or {@code all} (both);
   *     null: the node's configured {@code watch.policy.combine} on the node, {@code any} for the judge
   */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record RollbackPolicy(String mode, Double errorRateFactor, Double latencyFactor, Long windowSeconds,
      String combine) {
    public static final double DEFAULT_ERROR_RATE_FACTOR = 3.0;
    public static final double DEFAULT_LATENCY_FACTOR = 2.0;
    public static final long DEFAULT_WINDOW_SECONDS = 300;

    public RollbackPolicy {
      if (!"auto".equals(mode) && !"manual".equals(mode)) {
        throw Checks.malformed("rollback mode must be 'auto' or 'manual', was '" + mode + "'");
      }
      if (errorRateFactor != null && !(errorRateFactor >= 1.0 && errorRateFactor <= 1000)) {
        throw Checks.malformed("errorRateFactor must be between 1 and 1000");
      }
      if (latencyFactor != null && !(latencyFactor >= 1.0 && latencyFactor <= 1000)) {
        throw Checks.malformed("latencyFactor must be between 1 and 1000");
      }
      if (windowSeconds != null) {
        Checks.positive(windowSeconds, "windowSeconds");
        if (windowSeconds > MAX_BAKE_SECONDS) {
          throw Checks.malformed("windowSeconds must be at most " + MAX_BAKE_SECONDS);
        }
      }
      if (combine != null && !combine.equals("any") && !combine.equals("all")) {
        throw Checks.malformed("combine must be 'any' or 'all', was '" + combine + "'");
      }
    }

    /** The four-argument form of earlier releases (no {@code combine}). */
    public RollbackPolicy(String mode, Double errorRateFactor, Double latencyFactor, Long windowSeconds) {
      this(mode, errorRateFactor, latencyFactor, windowSeconds, null);
    }

    public boolean auto() {
      return "auto".equals(mode);
    }

    public double errorRateFactorOrDefault() {
      return errorRateFactor == null ? DEFAULT_ERROR_RATE_FACTOR : errorRateFactor;
    }

    public double latencyFactorOrDefault() {
      return latencyFactor == null ? DEFAULT_LATENCY_FACTOR : latencyFactor;
    }

    public long windowSecondsOrDefault() {
      return windowSeconds == null ? DEFAULT_WINDOW_SECONDS : windowSeconds;
    }
  }

  public RolloutPlan {
    components = components == null ? null : List.copyOf(components);
    Checks.required(strategy, "strategy");
    if (components != null) {
      if (components.size() > MAX_COMPONENTS) {
        throw Checks.malformed("a plan has at most " + MAX_COMPONENTS + " components");
      }
      requireAcyclic(components);
    }
    if (minAvailablePercent != null && minAvailableNodes != null) {
      throw Checks.malformed("give minAvailable in nodes or in percent, not both");
    }
    if (minAvailablePercent != null && (minAvailablePercent < 0 || minAvailablePercent > 99)) {
      throw Checks.malformed("minAvailablePercent must be between 0 and 99: at 100 no node could ever update");
    }
    if (minAvailableNodes != null && minAvailableNodes < 0) {
      throw Checks.malformed("minAvailableNodes must not be negative");
    }
    if (bakeSeconds != null) {
      Checks.nonNegative(bakeSeconds, "bakeSeconds");
      if (bakeSeconds > MAX_BAKE_SECONDS) {
        throw Checks.malformed("bakeSeconds must be at most " + MAX_BAKE_SECONDS + " (a week)");
      }
    }
    if (canaryNodes != null && canaryPercent != null) {
      throw Checks.malformed("give the canary in nodes or in percent, not both");
    }
    if (strategy == Strategy.ALL && (canaryNodes != null || canaryPercent != null)) {
      throw Checks.malformed("strategy 'all' has no canary wave: use 'canary' or 'batches', or drop the canary");
    }
    if (canaryNodes != null && canaryNodes < 1) {
      throw Checks.malformed("canaryNodes must be at least 1");
    }
    if (canaryPercent != null && (canaryPercent < 1 || canaryPercent > 100)) {
      throw Checks.malformed("canaryPercent must be between 1 and 100");
    }
    if (maxFailures != null && maxFailuresPercent != null) {
      throw Checks.malformed("give maxFailures in nodes or in percent, not both");
    }
    if (maxFailures != null && maxFailures < 0) {
      throw Checks.malformed("maxFailures must not be negative");
    }
    if (maxFailuresPercent != null && (maxFailuresPercent < 0 || maxFailuresPercent > 100)) {
      throw Checks.malformed("maxFailuresPercent must be between 0 and 100");
    }
    if (waveLabel != null) {
      Names.requireLabelKey(waveLabel);
    }
    if (set != null) {
      Names.requireSetName(set);
    }
  }

  /** The twelve-argument form of earlier releases (no {@code set}). */
  public RolloutPlan(List<Component> components, Strategy strategy, Integer minAvailablePercent, Long bakeSeconds,
      RollbackPolicy rollback, Integer minAvailableNodes, Integer canaryNodes, Integer canaryPercent,
      Integer maxFailures, Integer maxFailuresPercent, Approval approval, String waveLabel) {
    this(components, strategy, minAvailablePercent, bakeSeconds, rollback, minAvailableNodes, canaryNodes,
        canaryPercent, maxFailures, maxFailuresPercent, approval, waveLabel, null);
  }

  /** This plan, rolled out by the release set {@code name} (null: by itself). */
  public RolloutPlan withSet(String name) {
    return new RolloutPlan(components, strategy, minAvailablePercent, bakeSeconds, rollback, minAvailableNodes,
        canaryNodes, canaryPercent, maxFailures, maxFailuresPercent, approval, waveLabel, name);
  }

  /** The five-argument form of earlier releases. */
  public RolloutPlan(List<Component> components, Strategy strategy, Integer minAvailablePercent, Long bakeSeconds,
      RollbackPolicy rollback) {
    this(components, strategy, minAvailablePercent, bakeSeconds, rollback, null, null, null, null, null, null, null, null);
  }

  /** A plan for one release with the given strategy and everything else at its default. */
  public static RolloutPlan of(Strategy strategy) {
    return new RolloutPlan(null, strategy, null, null, null);
  }

  /** Whether an operator approves every next wave. */
  public boolean manualApproval() {
    return approval == Approval.MANUAL;
  }

  /** The bake time, 0 when absent. */
  public long bakeSecondsOrDefault() {
    return bakeSeconds == null ? 0 : bakeSeconds;
  }

  /** The rollback policy, {@code manual} with default factors when absent. */
  public RollbackPolicy rollbackOrDefault() {
    return rollback == null ? new RollbackPolicy("manual", null, null, null, null) : rollback;
  }

  /**
   * The nodes that must stay up and healthy in a fleet of {@code fleet} nodes: percent rounded up;
   * the default is 0 for {@code all} and {@value #DEFAULT_MIN_AVAILABLE_PERCENT}% otherwise.
   */
  public int minAvailable(int fleet) {
    if (minAvailableNodes != null) {
      return minAvailableNodes;
    }
    int percent = minAvailablePercent != null ? minAvailablePercent
        : strategy == Strategy.ALL ? 0 : DEFAULT_MIN_AVAILABLE_PERCENT;
    return ceilPercent(percent, fleet);
  }

  /** The canary wave's size in a fleet of {@code fleet}: 0 for {@code all}, else at least 1 (default 1). */
  public int canary(int fleet) {
    if (strategy == Strategy.ALL || fleet == 0) {
      return 0;
    }
    if (canaryNodes != null) {
      return canaryNodes;
    }
    if (canaryPercent != null) {
      return Math.max(1, ceilPercent(canaryPercent, fleet));
    }
    return 1;
  }

  /** Failed nodes tolerated in a wave of {@code waveSize} nodes (percent rounded down; default 0). */
  public int maxFailures(int waveSize) {
    if (maxFailures != null) {
      return maxFailures;
    }
    if (maxFailuresPercent != null) {
      return (int) ((long) maxFailuresPercent * waveSize / 100);
    }
    return 0;
  }

  private static int ceilPercent(int percent, int of) {
    return (int) (((long) percent * of + 99) / 100);
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
