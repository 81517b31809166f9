package io.upgradekit.schema.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.upgradekit.schema.model.Names;
import io.upgradekit.schema.model.RolloutDecision;
import io.upgradekit.schema.model.RolloutPlan;
import java.time.Instant;
import java.util.List;

/**
 * {@code GET /v1/rollouts/<app>/<version>}: one rollout as an operator reads it (what {@code
 * repo-server rollout status} prints): the plan, every wave with each node's state, the slots in
 * use against the budget, the canary judge's figures and the action log. Schema {@code
 * rollout-report.schema.json}.
 *
 * @param generatedAt when the server answered
 * @param status as in {@link RolloutList.Summary#status()}
 * @param blockedReason why the plan cannot start, or null
 * @param channels the channels that name the release
 * @param plan the manifest's plan
 * @param fromVersion the version the fleet ran at the start (where a recall goes back), or null
 * @param fleet nodes the waves were computed for, or null before the start
 * @param minAvailable nodes that stay up and healthy, or null before the start
 * @param budget nodes that may update at once, or null before the start
 * @param busy slots held now plus nodes down or unhealthy without one
 * @param recallFrom during a recall: waves from this one may switch back, or null
 * @param bakeLeftSeconds the bake left of the current wave (0 when none runs)
 * @param waves the waves (empty before the start)
 * @param judge the canary judge now, or null before the start
 * @param stateSequence the signed rollout state's sequence, or null if none is stored
 * @param stateExpires when it expires, or null
 * @param decisions the action log, oldest first (the newest {@value #MAX_DECISIONS} at most)
 * @param drills the rollback drills of this release's nodes ({@code updater drill}), the newest per
 *     node, newest first, at most {@value #MAX_DRILLS}; null (absent) from servers before drills
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record RolloutReport(Instant generatedAt, String app, String version, String status, boolean paused,
    String blockedReason, List<String> channels, RolloutPlan plan, String fromVersion, Integer fleet,
    Integer minAvailable, Integer budget, int busy, int openWaves, Integer recallFrom, long bakeLeftSeconds,
    List<Wave> waves, JudgeFigures judge, Long stateSequence, Instant stateExpires, List<RolloutDecision> decisions,
    List<Drill> drills) {
  public static final int MAX_DECISIONS = 1000;
  public static final int MAX_DRILLS = 1000;

  /** A report without drills (what servers before drills answered). */
  public RolloutReport(Instant generatedAt, String app, String version, String status, boolean paused,
      String blockedReason, List<String> channels, RolloutPlan plan, String fromVersion, Integer fleet,
      Integer minAvailable, Integer budget, int busy, int openWaves, Integer recallFrom, long bakeLeftSeconds,
      List<Wave> waves, JudgeFigures judge, Long stateSequence, Instant stateExpires, List<RolloutDecision> decisions) {
    this(generatedAt, app, version, status, paused, blockedReason, channels, plan, fromVersion, fleet, minAvailable,
        budget, busy, openWaves, recallFrom, bakeLeftSeconds, waves, judge, stateSequence, stateExpires, decisions,
        null);
  }

  /** This report with {@code drills}. */
  public RolloutReport withDrills(List<Drill> list) {
    return new RolloutReport(generatedAt, app, version, status, paused, blockedReason, channels, plan, fromVersion,
        fleet, minAvailable, budget, busy, openWaves, recallFrom, bakeLeftSeconds, waves, judge, stateSequence,
        stateExpires, decisions, list);
  }

  /**
   * One node's rollback drill: back from the release to its previous version through ROLLBACK, then
   * forward again through an ordinary update, as the node reported them.
   *
   * @param node the node
   * @param previous the version it went back to
   * @param at when the drill's first leg was reported
   * @param backOutcome {@code ROLLED_BACK} (back on the previous version) or {@code FAILED}
   * @param backSeconds how long the switch back took: the time to recover in an incident
   * @param forwardOutcome the forward update's outcome ({@code COMMITTED}, ...), or null while it has
   *     not been reported (it waits for the rollout, or still runs)
   * @param forwardSeconds how long the forward update took, or null
   * @param requests the probe's requests over both legs, or null without a probe
   * @param requestsFailed of those, the ones that failed
   * @param longestGapSeconds the longest time without a good answer, or null
   */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record Drill(String node, String previous, Instant at, String backOutcome, double backSeconds,
      String forwardOutcome, Double forwardSeconds, Long requests, Long requestsFailed, Double longestGapSeconds) {
    public Drill {
      Names.requireNodeId(node);
      Names.requireVersion(previous);
      Wire.required(at, "at");
      Wire.code(backOutcome, "backOutcome");
      if (forwardOutcome != null) {
        Wire.code(forwardOutcome, "forwardOutcome");
      }
    }
  }

  /**
   * One wave.
   *
   * @param wave its index, from 0
   * @param name {@code the canary wave} or {@code wave k of n}
   * @param status {@code waiting}, {@code open}, {@code baking} or {@code passed}
   * @param nodes each node of it
   */
  public record Wave(int wave, String name, String status, int size, int committed, int failed, int pending,
      int skipped, int updating, List<Node> nodes) {
    public Wave {
      Wire.nonNegative(wave, "wave");
      Wire.required(name, "name");
      Wire.required(status, "status");
      nodes = List.copyOf(Wire.required(nodes, "nodes"));
    }
  }

  /**
   * One node of a wave.
   *
   * @param state {@code committed}, {@code failed}, {@code updating}, {@code pending}, {@code
   *     unavailable} or {@code unknown} (not heard of since the start)
   * @param version the version its last heartbeat named, or null
   */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record Node(String node, String state, String version, boolean available, boolean healthy) {
    public Node {
      Names.requireNodeId(node);
      Wire.required(state, "state");
    }
  }

  /**
   * The canary judge's figures (null where a group has no samples).
   *
   * @param outcome {@code NO_VERDICT}, {@code OK} or {@code WORSE}
   */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record JudgeFigures(String outcome, Double upgradedErrorRate, Double baselineErrorRate,
      Double upgradedLatency, Double baselineLatency, int upgradedNodes, int baselineNodes, String reason) {
    public JudgeFigures {
      Wire.code(outcome, "outcome");
    }
  }

  public RolloutReport {
    Wire.required(generatedAt, "generatedAt");
    Names.requireApp(app);
    Names.requireVersion(version);
    Wire.required(status, "status");
    channels = List.copyOf(Wire.required(channels, "channels"));
    waves = List.copyOf(Wire.required(waves, "waves"));
    decisions = List.copyOf(Wire.required(decisions, "decisions"));
    if (decisions.size() > MAX_DECISIONS) {
      throw Wire.malformed("at most " + MAX_DECISIONS + " decisions");
    }
    if (drills != null) {
      drills = List.copyOf(drills);
      if (drills.size() > MAX_DRILLS) {
        throw Wire.malformed("at most " + MAX_DRILLS + " drills");
      }
    }
  }
}
