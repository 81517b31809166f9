package io.upgradekit.updater.cli;

import io.upgradekit.updater.engine.UpdateEvent;
import java.io.PrintStream;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.function.Consumer;
import java.util.function.LongConsumer;

/**
 * The terminal and log rendering of the engine's events: one line per transition. Download
 * progress is a redrawn bar on an interactive terminal and a plain line every few seconds
 * otherwise (systemd, CI), and nothing with {@code --quiet}.
 */
final class Console {
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

  Consumer<UpdateEvent> events() {
    return event -> {
      if (!quiet) {
        endProgress();
        out.println(stamp() + " [" + event.eventId().substring(0, 8) + "] " + event.describe());
      }
    };
  }

  Consumer<String> log() {
    return line -> {
      if (!quiet) {
        endProgress();
        out.println(stamp() + " " + line);
      }
    };
  }

  LongConsumer progress() {
    return bytes -> {
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
    };
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
