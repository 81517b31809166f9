package io.upgradekit.updater.event;

import io.upgradekit.schema.ErrorCode;
import java.time.Duration;
import java.time.Instant;
import java.util.Locale;
import java.util.Objects;

/**
 * What the agent tells the world, as one stream: every transition of an event's state machine,
 * every note (a line with a level), and download progress. The engine and the daemon emit these
 * and print nothing; the console, the metrics file ({@code TransitionMetrics}), test hooks and
 * embedders each render the same stream. Notes written while an event runs are also kept in its
 * journal record (bounded) and so reach {@code history} and the event's report.
 */
public sealed interface AgentEvent permits AgentEvent.Transition, AgentEvent.Note, AgentEvent.Progress {
  /** The update event this belongs to, or null for lines outside one (the daemon, delivery). */
  String eventId();

  /** When it happened. */
  Instant at();

  /** One line for logs. */
  String describe();

  /** How much a note matters: the console marks warnings and errors, dashboards may filter. */
  enum Level {
    /** What the agent did or waits for. */
    INFO,
    /** Something went differently than usual but was handled (a fallback, a recovery, a regression not acted on). */
    WARNING,
    /** A failure the agent could not handle in the event itself (a poll that failed outright). */
    ERROR
  }

  /**
   * One transition: the state that was left (with how it went) and the state entered. Emitted
   * exactly once per transition, after the journal has it.
   *
   * @param eventId the update event
   * @param from the state that ended, or null for the first transition
   * @param fromOutcome how {@code from} ended; null when {@code from} is null
   * @param fromDuration how long {@code from} took
   * @param to the state entered
   * @param errorCode the failure's code when {@code fromOutcome} is FAILED (or a code a step that
   *     went well carries, such as STATE_RECOVERED), else null
   * @param message a sentence about the failure or the step, or null
   * @param at when the transition happened
   */
  record Transition(
      String eventId,
      UpdateState from,
      StepOutcome fromOutcome,
      Duration fromDuration,
      UpdateState to,
      ErrorCode errorCode,
      String message,
      Instant at) implements AgentEvent {
    public Transition {
      Objects.requireNonNull(eventId, "eventId");
      Objects.requireNonNull(to, "to");
      Objects.requireNonNull(at, "at");
      fromDuration = fromDuration == null ? Duration.ZERO : fromDuration;
    }

    /** {@code "DOWNLOAD ok 120 ms -> STAGE"}. */
    @Override
    public String describe() {
      StringBuilder line = new StringBuilder();
      if (from != null) {
        line.append(from).append(' ').append(fromOutcome.name().toLowerCase(Locale.ROOT)).append(' ')
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

  /**
   * A line with a level.
   *
   * @param eventId the event it was written in, or null outside one
   * @param state the state that event was in, or null outside one
   * @param level how much it matters
   * @param message the sentence
   * @param at when it was written
   */
  record Note(String eventId, UpdateState state, Level level, String message, Instant at) implements AgentEvent {
    public Note {
      Objects.requireNonNull(level, "level");
      Objects.requireNonNull(message, "message");
      Objects.requireNonNull(at, "at");
    }

    /** The message, prefixed with {@code warning: } or {@code error: } when it is one. */
    @Override
    public String describe() {
      return level == Level.INFO ? message : level.name().toLowerCase(Locale.ROOT) + ": " + message;
    }
  }

  /**
   * Bytes of a download on disk so far.
   *
   * @param eventId the event downloading
   * @param bytes bytes on disk so far (a resumed download starts above zero)
   * @param total the blob's signed size
   * @param at when
   */
  record Progress(String eventId, long bytes, long total, Instant at) implements AgentEvent {
    @Override
    public String describe() {
      return "downloaded " + (bytes / 1024) + " of " + (total / 1024) + " KiB";
    }
  }
}
