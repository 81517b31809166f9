package io.upgradekit.schema.model;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.time.Instant;
import java.util.regex.Pattern;

/**
 * One state of a node's update, as reported in feedback.
 *
 * @param state the state's name ({@code DOWNLOAD}, {@code SWITCH}, ...)
 * @param startedAt when the state began
 * @param durationMillis how long it took
 * @param outcome {@code OK}, {@code FAILED} or {@code SKIPPED}
 * @param errorCode the {@link io.upgradekit.schema.ErrorCode} name on failure, else null
 * @param message a human sentence on failure, else null
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record StepReport(
    String state, Instant startedAt, long durationMillis, String outcome, String errorCode, String message) {
  static final Pattern CODE = Pattern.compile("[A-Z][A-Z0-9_]{0,47}");

  public StepReport {
    Names.requireMatch("state", state, CODE);
    Checks.required(startedAt, "startedAt");
    Checks.nonNegative(durationMillis, "durationMillis");
    Names.requireMatch("outcome", outcome, CODE);
    if (errorCode != null) {
      Names.requireMatch("errorCode", errorCode, CODE);
    }
    Checks.text(message, "message", Feedback.MAX_MESSAGE_LENGTH);
  }
}
