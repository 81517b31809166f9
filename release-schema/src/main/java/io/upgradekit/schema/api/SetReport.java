package io.upgradekit.schema.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.upgradekit.schema.model.Names;
import io.upgradekit.schema.model.ReleaseSet;
import io.upgradekit.schema.model.SetDecision;
import java.time.Instant;
import java.util.List;

/**
 * {@code GET /v1/sets/<name>/<version>}: one release set as an operator reads it (what {@code
 * repo-server rollout status --set} prints): where each component is and what it waits for, its
 * own rollout's status, every contract with whether the fleet meets it, the signed set state and
 * the set's action log. Schema {@code set-report.schema.json}.
 *
 * @param generatedAt when the server answered
 * @param status as in {@link SetList.Summary#status()}
 * @param paused an operator paused the set
 * @param strategy {@code rolling} or {@code sequential}
 * @param rollbackPolicy {@code auto} or {@code manual}
 * @param reason what the set does now and why, in one sentence
 * @param steps the components in dependency order, in steps (a step's components do not depend on each other)
 * @param components each component, in dependency order
 * @param contracts each compatibility contract of the set
 * @param stateSequence the signed set state's sequence, or null if none is stored
 * @param stateExpires when it expires, or null
 * @param decisions the set's action log, oldest first (the newest {@value #MAX_DECISIONS} at most)
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record SetReport(Instant generatedAt, String name, String version, String status, boolean paused,
    String strategy, String rollbackPolicy, String reason, List<List<String>> steps, List<Component> components,
    List<Contract> contracts, Long stateSequence, Instant stateExpires, List<SetDecision> decisions) {
  public static final int MAX_DECISIONS = 1000;

  /**
   * One component.
   *
   * @param status {@code waiting}, {@code starting}, {@code blocked}, {@code rolling}, {@code paused},
   *     {@code complete}, {@code halted}, {@code recalling} or {@code recalled} (as in the signed set state)
   * @param waitingFor the components it still waits for
   * @param rollout its own rollout's status ({@code not-started}, {@code active}, ... as in {@code GET
   *     /v1/rollouts}), or null when it has none yet
   * @param rolloutPaused its own rollout is paused
   * @param openWaves waves of its rollout open
   * @param waves waves in all, or null before its start
   * @param channels the channels that name the release (empty: none does, so its nodes do not see it)
   * @param note why it is where it is (blocked, held, not on a channel), or null
   */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record Component(String app, String version, List<String> dependsOn, String status,
      List<String> waitingFor, String rollout, boolean rolloutPaused, int openWaves, Integer waves,
      List<String> channels, String note) {
    public Component {
      Names.requireApp(app);
      Names.requireVersion(version);
      dependsOn = List.copyOf(Wire.required(dependsOn, "dependsOn"));
      Wire.required(status, "status");
      waitingFor = List.copyOf(Wire.required(waitingFor, "waitingFor"));
      Wire.nonNegative(openWaves, "openWaves");
      channels = List.copyOf(Wire.required(channels, "channels"));
      Wire.text(note, "note", 2100);
    }
  }

  /**
   * One compatibility contract and the fleet now.
   *
   * @param contract its text, {@code api 2.x requires cache >= 2.0}
   * @param binds whether it binds the set's version of {@code app}
   * @param met whether every available node of {@code requires} runs a version inside {@code range}
   * @param nodes available nodes of {@code requires}
   * @param outside those of them that run a version outside {@code range}
   * @param detail the sentence nodes show ({@code waiting for cache >= 2.0: 1 of 2 cache nodes run 1.4})
   */
  public record Contract(String contract, String app, String versions, String requires, String range,
      boolean binds, boolean met, int nodes, int outside, String detail) {
    public Contract {
      Wire.required(contract, "contract");
      Names.requireApp(app);
      Names.requireApp(requires);
      Wire.required(versions, "versions");
      Wire.required(range, "range");
      Wire.nonNegative(nodes, "nodes");
      Wire.nonNegative(outside, "outside");
      Wire.text(Wire.required(detail, "detail"), "detail", 2100);
    }
  }

  public SetReport {
    Wire.required(generatedAt, "generatedAt");
    Names.requireSetName(name);
    Names.requireVersion(version);
    Wire.required(status, "status");
    Wire.required(strategy, "strategy");
    Wire.required(rollbackPolicy, "rollbackPolicy");
    Wire.text(reason, "reason", 2100);
    steps = Wire.required(steps, "steps").stream().map(List::copyOf).toList();
    components = List.copyOf(Wire.required(components, "components"));
    if (components.size() > ReleaseSet.MAX_COMPONENTS) {
      throw Wire.malformed("at most " + ReleaseSet.MAX_COMPONENTS + " components");
    }
    contracts = List.copyOf(Wire.required(contracts, "contracts"));
    decisions = List.copyOf(Wire.required(decisions, "decisions"));
    if (decisions.size() > MAX_DECISIONS) {
      throw Wire.malformed("at most " + MAX_DECISIONS + " decisions");
    }
  }
}
