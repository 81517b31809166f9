package io.upgradekit.schema.model;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.time.Instant;
import java.util.List;

/**
 * One decision of a rollout's controller or operator, stored as {@code
 * rollouts/<app>/<version>/decisions/<sequence>.json} and created exclusively under the next
 * sequence number, so that each takes effect once even with several repo-server processes on one
 * repository (DESIGN section 7, "Exactly once"). A rollout's state is the fold of its decisions in
 * sequence order; they are never changed or deleted, so they are also its audit log.
 *
 * @param type always {@code "decision"}
 * @param app the app
 * @param version the release being rolled out
 * @param sequence 1, 2, 3, ... without gaps
 * @param at when it was taken
 * @param actor {@code controller}, or the operator who acted
 * @param kind what was decided
 * @param reason why, in a sentence (an operator's reason, the gate that passed, the judge's figures)
 * @param wave the wave concerned (from 0), for wave decisions
 * @param node the node concerned, for {@code retry}
 * @param fromVersion for {@code start}: the version most of the fleet ran (where a recall goes back to)
 * @param waves for {@code start}: the node ids of each wave
 * @param fleet for {@code start}: the fleet size the waves were computed for
 * @param minAvailable for {@code start}: nodes that stay up and healthy
 * @param budget for {@code start}: nodes that may be between STOP and healthy at once
 * @param canary for {@code start}: the canary wave's size (0 without one)
 * @param set the release set decision this one carries out (a set's halt, pause, resume or recall of
 *     this component), or null
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record RolloutDecision(
    String type, String app, String version, long sequence, Instant at, String actor, Kind kind, String reason,
    Integer wave, String node, String fromVersion, List<List<String>> waves, Integer fleet, Integer minAvailable,
    Integer budget, Integer canary, SetRef set) {
  public static final int MAX_REASON_LENGTH = 2000;
  public static final int MAX_WAVES = 10_000;
  public static final int MAX_NODES = 500_000;

  /** The actor of decisions the controller takes by itself. */
  public static final String CONTROLLER = "controller";

  /**
   * The release set decision a component's decision carries out: {@code
   * set-rollouts/<name>/<version>/decisions/<decision>.json}.
   */
  public record SetRef(String name, String version, long decision) {
    public SetRef {
      Names.requireSetName(name);
      Names.requireVersion(version);
      Checks.positive(decision, "decision");
    }
  }

  public enum Kind {
    /** The rollout starts: the waves are fixed. */
    @JsonProperty("start")
    START,
    /** The plan cannot hold its promise for the fleet as it is (the reason says why): nothing opens. */
    @JsonProperty("blocked")
    BLOCKED,
    /** Nodes of {@code wave} may update (within the availability budget). */
    @JsonProperty("open-wave")
    OPEN_WAVE,
    /** Every node of {@code wave} committed or failed: its bake time starts now. */
    @JsonProperty("wave-done")
    WAVE_DONE,
    /** The canary judge saw the release do worse, and the policy only reports (manual). */
    @JsonProperty("judged")
    JUDGED,
    /** No node starts an update; running ones finish. */
    @JsonProperty("pause")
    PAUSE,
    /** Undoes {@code pause} or {@code halt}. */
    @JsonProperty("resume")
    RESUME,
    /** An operator lets {@code wave} open (plans with manual approval). */
    @JsonProperty("approve")
    APPROVE,
    /** Nobody else installs the release; nodes that have it keep it. */
    @JsonProperty("halt")
    HALT,
    /** Halt, and every node on the release switches back to the version it came from. */
    @JsonProperty("recall")
    RECALL,
    /** During a recall: the nodes of {@code wave} may switch back (waves go back in reverse order). */
    @JsonProperty("recall-wave")
    RECALL_WAVE,
    /** A failed node may try the release again. */
    @JsonProperty("retry")
    RETRY,
    /** Every wave passed its gate: the rollout is over. */
    @JsonProperty("complete")
    COMPLETE,
    /** After a recall, no node runs the release any more. */
    @JsonProperty("recalled")
    RECALLED
  }

  public RolloutDecision {
    Checks.type(type, DocumentType.DECISION);
    Names.requireApp(app);
    Names.requireVersion(version);
    Checks.positive(sequence, "sequence");
    Checks.required(at, "at");
    Checks.required(actor, "actor");
    Checks.text(actor, "actor", 64);
    Checks.required(kind, "kind");
    Checks.text(reason, "reason", MAX_REASON_LENGTH);
    if (wave != null) {
      Checks.nonNegative(wave, "wave");
    }
    if (node != null) {
      Names.requireNodeId(node);
    }
    if (fromVersion != null) {
      Names.requireVersion(fromVersion);
    }
    switch (kind) {
      case OPEN_WAVE, WAVE_DONE, APPROVE, RECALL_WAVE -> Checks.required(wave, "wave");
      case RETRY -> Checks.required(node, "node");
      case START -> {
        Checks.required(waves, "waves");
        Checks.required(fleet, "fleet");
        Checks.required(minAvailable, "minAvailable");
        Checks.required(budget, "budget");
        Checks.required(canary, "canary");
      }
      default -> { }
    }
    if (waves != null) {
      if (waves.isEmpty() || waves.size() > MAX_WAVES) {
        throw Checks.malformed("a schedule has 1 to " + MAX_WAVES + " waves");
      }
      long nodes = 0;
      for (List<String> w : waves) {
        if (w == null || w.isEmpty()) {
          throw Checks.malformed("a wave has at least one node");
        }
        nodes += w.size();
        if (nodes > MAX_NODES) {
          throw Checks.malformed("a schedule has at most " + MAX_NODES + " nodes");
        }
        w.forEach(Names::requireNodeId);
      }
      waves = waves.stream().map(List::copyOf).toList();
    }
  }

  /** The sixteen-argument form of earlier releases (no release set). */
  public RolloutDecision(String type, String app, String version, long sequence, Instant at, String actor, Kind kind,
      String reason, Integer wave, String node, String fromVersion, List<List<String>> waves, Integer fleet,
      Integer minAvailable, Integer budget, Integer canary) {
    this(type, app, version, sequence, at, actor, kind, reason, wave, node, fromVersion, waves, fleet, minAvailable,
        budget, canary, null);
  }

  /** A decision without schedule fields that carries out the release set decision {@code set}. */
  public static RolloutDecision of(String app, String version, long sequence, Instant at, String actor, Kind kind,
      String reason, SetRef set) {
    return new RolloutDecision(DocumentType.DECISION.typeName(), app, version, sequence, at, actor, kind, reason, null,
        null, null, null, null, null, null, null, set);
  }

  /** A decision without schedule fields. */
  public static RolloutDecision of(String app, String version, long sequence, Instant at, String actor, Kind kind,
      String reason, Integer wave, String node) {
    return new RolloutDecision(DocumentType.DECISION.typeName(), app, version, sequence, at, actor, kind, reason, wave,
        node, null, null, null, null, null, null, null);
  }

  /** The {@code start} decision with its schedule. */
  public static RolloutDecision start(String app, String version, long sequence, Instant at, String reason,
      String fromVersion, List<List<String>> waves, int fleet, int minAvailable, int budget, int canary) {
    return new RolloutDecision(DocumentType.DECISION.typeName(), app, version, sequence, at, CONTROLLER, Kind.START,
        reason, null, null, fromVersion, waves, fleet, minAvailable, budget, canary, null);
  }
}
