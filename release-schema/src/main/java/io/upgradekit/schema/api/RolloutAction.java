package io.upgradekit.schema.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import io.upgradekit.schema.model.Names;

/**
 * An operator's action on a rollout: {@code POST /v1/rollouts/<app>/<version>/actions}, with the
 * operator credential. Recorded as a decision with who, when and why. Schema {@code
 * rollout-action.schema.json}.
 *
 * @param action what to do
 * @param reason why (required: it is the audit log's "why")
 * @param node for {@code retry}: the node that may try again
 * @param wave for {@code approve}: the wave to open (absent: the next one)
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record RolloutAction(Action action, String reason, String node, Integer wave) {
  public static final int MAX_REASON_LENGTH = 500;

  public enum Action {
    @JsonProperty("start")
    START,
    @JsonProperty("pause")
    PAUSE,
    @JsonProperty("resume")
    RESUME,
    @JsonProperty("approve")
    APPROVE,
    @JsonProperty("halt")
    HALT,
    @JsonProperty("recall")
    RECALL,
    @JsonProperty("retry")
    RETRY
  }

  public RolloutAction {
    Wire.required(action, "action");
    Wire.required(reason, "reason");
    if (reason.isBlank()) {
      throw Wire.malformed("say why: the reason is kept with the action");
    }
    Wire.text(reason, "reason", MAX_REASON_LENGTH);
    if (reason.chars().anyMatch(c -> c < 0x20 || c == 0x7f)) {
      throw Wire.malformed("the reason is one line of text");
    }
    if (action == Action.RETRY) {
      Names.requireNodeId(Wire.required(node, "node"));
    } else if (node != null) {
      throw Wire.malformed("only retry names a node");
    }
    if (wave != null) {
      Wire.nonNegative(wave, "wave");
    }
  }
}
