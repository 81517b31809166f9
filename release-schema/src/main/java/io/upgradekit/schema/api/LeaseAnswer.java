package io.upgradekit.schema.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * The answer to a {@link LeaseRequest} (200). {@code granted} carries the signed {@link
 * io.upgradekit.schema.model.LeaseGrant} (an envelope, as text); {@code wait} says why the node
 * must wait and how long, with the figures a status line shows ("waiting for wave 3 of 5",
 * "waiting for a slot: 2 of 2 busy"); {@code confirmed} and {@code released} acknowledge; {@code
 * lost} means the slot went to another holder (the node goes back to waiting). Schema {@code
 * lease-answer.schema.json}.
 *
 * @param status what happened
 * @param code for {@code wait} and {@code lost}: why ({@code WAVE_NOT_OPEN}, {@code SCOPE_FULL},
 *     {@code ROLLOUT_PAUSED}, {@code ROLLOUT_HALTED}, {@code LEASE_LOST}, ...)
 * @param message a sentence for the node's status and history
 * @param wave the node's wave (from 0), when the rollout has started
 * @param waves how many waves the rollout has
 * @param openWaves how many are open
 * @param busy slots in use (and nodes unavailable that use up the budget)
 * @param budget nodes that may update at once
 * @param retryAfterSeconds when to ask again
 * @param grant for {@code granted}: the signed lease envelope
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record LeaseAnswer(Status status, String code, String message, Integer wave, Integer waves, Integer openWaves,
    Integer busy, Integer budget, Long retryAfterSeconds, String grant) {
  /** The largest grant envelope an answer carries. */
  public static final int MAX_GRANT_LENGTH = 16 * 1024;

  public enum Status {
    @JsonProperty("granted")
    GRANTED,
    @JsonProperty("wait")
    WAIT,
    @JsonProperty("confirmed")
    CONFIRMED,
    @JsonProperty("released")
    RELEASED,
    @JsonProperty("lost")
    LOST
  }

  public LeaseAnswer {
    Wire.required(status, "status");
    if (code != null) {
      Wire.code(code, "code");
    }
    Wire.text(message, "message", 2000);
    if ((status == Status.GRANTED) != (grant != null)) {
      throw Wire.malformed("a grant comes with status granted, and only then");
    }
    Wire.text(grant, "grant", MAX_GRANT_LENGTH);
    if (retryAfterSeconds != null) {
      Wire.nonNegative(retryAfterSeconds, "retryAfterSeconds");
    }
  }
}
