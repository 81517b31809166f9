package io.upgradekit.schema.model;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.time.Instant;

/**
 * A line a node wrote about an update event while it was in one state: what it waited for,
 * noticed or did differently than usual ("waiting at the rollout gate", "regression seen, not
 * acted on", a delta that fell back to the full package, damaged state that was recovered). The
 * node keeps an event's notes in its history and sends them in the event's report ({@link
 * Feedback#notes()}), so an operator sees them where the steps are, not only in the node's log.
 *
 * @param at when the node wrote it
 * @param state the state the event was in ({@code GATE}, {@code VERIFY}, ...)
 * @param level {@code INFO}, {@code WARNING} or {@code ERROR}; readers accept any code-shaped
 *     level, so that a later node may add one
 * @param message the sentence, at most {@value #MAX_MESSAGE_LENGTH} characters
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record EventNote(Instant at, String state, String level, String message) {
  /** Longest note; the node cuts longer lines (its log has them whole). */
  public static final int MAX_MESSAGE_LENGTH = 1000;

  public EventNote {
    Checks.required(at, "at");
    Names.requireMatch("state", state, StepReport.CODE);
    Names.requireMatch("level", level, StepReport.CODE);
    Checks.text(Checks.required(message, "message"), "message", MAX_MESSAGE_LENGTH);
  }
}
