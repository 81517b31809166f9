package io.upgradekit.updater.engine;

import io.upgradekit.updater.event.AgentEvent;
import io.upgradekit.updater.event.AgentEvent.Level;
import java.time.Clock;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * Where the engine's events go: to the listener (console, metrics, hooks), and, for a note written
 * while an event runs, also into that event's journal record, so that it reaches history and the
 * report. Components that only know how to write a line ({@code ServiceController}, {@code Gate},
 * {@code Outbox}, ...) are given {@link #info()}.
 */
final class EventSink {
  private final Consumer<AgentEvent> listener;
  private final Clock clock;
  private EventRun active;

  EventSink(Consumer<AgentEvent> listener, Clock clock) {
    this.listener = Objects.requireNonNull(listener, "listener");
    this.clock = Objects.requireNonNull(clock, "clock");
  }

  void emit(AgentEvent event) {
    listener.accept(event);
  }

  /** A note at {@code level}; kept in the running event's record, if there is one. */
  void note(Level level, String message) {
    EventRun run = active;
    AgentEvent.Note note = run == null ? new AgentEvent.Note(null, null, level, message, clock.instant())
        : run.keep(level, message);
    listener.accept(note);
  }

  void info(String message) {
    note(Level.INFO, message);
  }

  void warn(String message) {
    note(Level.WARNING, message);
  }

  void error(String message) {
    note(Level.ERROR, message);
  }

  /** INFO notes, for components that write plain lines. */
  Consumer<String> info() {
    return this::info;
  }

  /** Download progress of the running event. */
  void progress(long bytes, long total) {
    EventRun run = active;
    listener.accept(new AgentEvent.Progress(run == null ? null : run.eventId(), bytes, total, clock.instant()));
  }

  /** From now on notes belong to {@code run} (until it ends). */
  void activate(EventRun run) {
    active = run;
  }

  void deactivate(EventRun run) {
    if (active == run) {
      active = null;
    }
  }

  /** No event runs any more (a call ended, however). */
  void reset() {
    active = null;
  }
}
