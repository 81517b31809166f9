package io.upgradekit.updater.engine;

import io.upgradekit.schema.ErrorCode;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;

/**
 * One transition of an update: the state that was left (with how it went) and the state entered.
 * The engine emits exactly one per transition after journaling it; renderers (log lines, metrics,
 * feedback) consume the same events.
 *
 * @param eventId the update event
 * @param from the state that ended, or null for the first transition
 * @param fromOutcome {@code OK}, {@code FAILED} or {@code SKIPPED}; null when {@code from} is null
 * @param fromDuration how long {@code from} took
 * @param to the state entered
 * @param errorCode the failure's code when {@code fromOutcome} is FAILED, else null
 * @param message a sentence about the failure or the step, or null
 * @param at when the transition happened
 */
public record UpdateEvent(
    String eventId,
    UpdateState from,
    String fromOutcome,
    Duration fromDuration,
    UpdateState to,
    ErrorCode errorCode,
    String message,
    Instant at) {
  public UpdateEvent {
    Objects.requireNonNull(eventId, "eventId");
    Objects.requireNonNull(to, "to");
    Objects.requireNonNull(at, "at");
  }

  /** One line for logs: {@code "DOWNLOAD ok 120 ms -> STAGE"}. */
  public String describe() {
    StringBuilder line = new StringBuilder();
    if (from != null) {
      line.append(from).append(' ').append(fromOutcome.toLowerCase(java.util.Locale.ROOT)).append(' ')
          .append(fromDuration.toMillis()).append(" ms");
      if (errorCode != null) {
        line.append(" [").append(errorCode).append(']');
      }
      if (message != null) {
        line.append(": ").append(message);
      }
      line.append(" -> ");
    }
    return line.append(to).toString();
  }
}
