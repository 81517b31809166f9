package io.upgradekit.plugin.plan;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.List;

/**
 * What {@code upgrade:plan} shows, and writes as JSON ({@code -Dupgrade.json}, {@code
 * target/upgrade/plan.json}) for tools: the components' order, each component's waves with their
 * nodes and slots, the expected durations, and every problem. Nothing in it was changed anywhere.
 *
 * @param kind {@code release} (one release's rollout) or {@code set} (a release set)
 * @param name the set's name, or the app for a release
 * @param version the set's or the release's version
 * @param channel the channel whose nodes were considered
 * @param strategy the set's strategy ({@code rolling}, {@code sequential}), or null for a release
 * @param rollbackPolicy the set's rollback policy, or null for a release
 * @param nodeSeconds the time assumed for one node's update (STOP to healthy)
 * @param steps the components in steps of the dependency order (each step's may run in parallel);
 *     empty when the order cannot be computed (a cycle)
 * @param components each component, in the set's order
 * @param expectedSeconds the expected duration of the whole rollout (0 when it cannot run)
 * @param problems every problem found; empty when the rollout can run as shown
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record Preview(String kind, String name, String version, String channel, String strategy,
    String rollbackPolicy, long nodeSeconds, List<List<String>> steps, List<Component> components,
    long expectedSeconds, List<Problem> problems) {
  public Preview {
    steps = steps.stream().map(List::copyOf).toList();
    components = List.copyOf(components);
    problems = List.copyOf(problems);
  }

  /**
   * One component (for a release: the release).
   *
   * @param plan the rollout plan described (as the release summary does), or null without one
   * @param source where the plan came from: {@code published} (the signed manifest) or {@code pom}
   *     (a release not published yet), or null without one
   * @param fleet the app's nodes on the channel, or null when no waves could be computed
   * @param unavailable of those, nodes down or unhealthy now (they use up the budget)
   * @param budget nodes that may update at once
   * @param waves the waves, as the controller would assign them now
   * @param manualApproval every next wave waits for an operator
   * @param startsAtSeconds when its rollout would start, from the set's start
   * @param expectedSeconds how long its rollout would take
   */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record Component(String app, String version, List<String> dependsOn, String plan, String source,
      Integer fleet, Integer unavailable, Integer minAvailable, Integer budget, Integer canary, List<Wave> waves,
      boolean manualApproval, long startsAtSeconds, long expectedSeconds) {
    public Component {
      dependsOn = List.copyOf(dependsOn);
      waves = List.copyOf(waves);
    }
  }

  /**
   * One wave.
   *
   * @param wave its index, from 0
   * @param name {@code the canary wave} or {@code wave k of n}, as {@code rollout status} names it
   * @param nodes its nodes, in the order they were drawn
   * @param slots how many of them may update at once (the budget, less nodes down now)
   * @param seconds expected: its rounds of updates, then the bake time
   */
  public record Wave(int wave, String name, List<Node> nodes, int slots, long seconds) {
    public Wave {
      nodes = List.copyOf(nodes);
    }
  }

  /**
   * One node of a wave.
   *
   * @param version what it runs now, or null
   * @param available heard of lately (an unavailable node uses up the budget)
   */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record Node(String id, String version, boolean available) {}

  /**
   * One problem.
   *
   * @param code the error code ({@code SET_CYCLE}, {@code CONTRACT_UNMET}, {@code SCOPE_FULL}, ...)
   * @param component the component it is about, or null for the set
   * @param message what is wrong and how to fix it
   */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record Problem(String code, String component, String message) {}
}
