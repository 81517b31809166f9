package io.upgradekit.updater.cli;

import io.upgradekit.updater.event.AgentEvent;
import java.io.PrintStream;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.function.Consumer;

/**
 * The terminal and log rendering of the agent's events: one line per transition and per note
 * (marked {@code warning:} or {@code error:} when it is one, with the event's short id when it
 * belongs to one). Download progress is a redrawn counter on an interactive terminal and a plain
 * line every few seconds otherwise (systemd, CI). With {@code --quiet} only errors are printed.
 */
final class Console implements Consumer<AgentEvent> {
  private final PrintStream out;
  private final boolean interactive;
  private final boolean quiet;
  private long lastProgressLine;
  private boolean progressShown;

  Console(PrintStream out, boolean quiet) {
    this.out = out;
    this.interactive = System.console() != null;
    this.quiet = quiet;
    this.lastProgressLine = System.nanoTime();
  }

  @Override
  public void accept(AgentEvent event) {
    if (event instanceof AgentEvent.Progress p) {
      progress(p.bytes());
      return;
    }
    boolean error = event instanceof AgentEvent.Note n && n.level() == AgentEvent.Level.ERROR;
    if (quiet && !error) {
      return;
    }
    endProgress();
    String id = event.eventId();
    id = id == null ? "" : " [" + id.substring(0, Math.min(8, id.length())) + "]";
    out.println(stamp() + id + " " + event.describe());
  }

  /** Plain lines as INFO notes (for the few renderers that write one themselves). */
  Consumer<String> log() {
    return line -> accept(new AgentEvent.Note(null, null, AgentEvent.Level.INFO, line, Instant.now()));
  }

  private void progress(long bytes) {
    if (quiet) {
      return;
    }
    long now = System.nanoTime();
    if (interactive) {
      if (now - lastProgressLine > 100_000_000L) {
        out.print("\rdownloading: " + (bytes / 1024) + " KiB");
        out.flush();
        lastProgressLine = now;
        progressShown = true;
      }
    } else if (now - lastProgressLine > 5_000_000_000L) {
      out.println(stamp() + " downloaded " + (bytes / 1024) + " KiB");
      lastProgressLine = now;
    }
  }

  private void endProgress() {
    if (progressShown) {
      out.println();
      progressShown = false;
    }
  }

  private static String stamp() {
    return Instant.now().truncatedTo(ChronoUnit.MILLIS).toString();
  }
}
