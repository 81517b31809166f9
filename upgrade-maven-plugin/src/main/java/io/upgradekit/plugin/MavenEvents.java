package io.upgradekit.plugin;

import io.upgradekit.plugin.release.Event;
import java.io.PrintStream;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import org.apache.maven.execution.MavenSession;
import org.apache.maven.plugin.logging.Log;

/**
 * Renders library events into the Maven log: info, warning and debug lines as such; progress as a
 * bar redrawn in place on an interactive terminal, and as a plain line at most every {@value
 * #PLAIN_INTERVAL_SECONDS} seconds otherwise (batch mode, CI, a log file). {@code -q} hides all but
 * warnings, since it disables the info level.
 */
final class MavenEvents implements Consumer<Event> {
  static final long PLAIN_INTERVAL_SECONDS = 10;

  private final Log log;
  private final boolean interactive;
  private final PrintStream terminal;
  private final LongSupplier nanoTime;
  private final Map<String, Long> lastPlainLine = new HashMap<>();
  private boolean barShown;

  MavenEvents(Log log, boolean interactive, PrintStream terminal, LongSupplier nanoTime) {
    this.log = log;
    this.interactive = interactive;
    this.terminal = terminal;
    this.nanoTime = nanoTime;
  }

  /** Progress bars only when Maven is interactive (no {@code -B}) and a console is attached. */
  static MavenEvents forSession(Log log, MavenSession session) {
    boolean interactiveMode = session != null && session.getRequest() != null && session.getRequest().isInteractiveMode();
    return new MavenEvents(log, interactiveMode && System.console() != null, System.out, System::nanoTime);
  }

  @Override
  public synchronized void accept(Event event) {
    if (event instanceof Event.Info info) {
      endBar();
      log.info(info.message());
    } else if (event instanceof Event.Warning warning) {
      endBar();
      log.warn(warning.message());
    } else if (event instanceof Event.Detail detail) {
      if (log.isDebugEnabled()) {
        endBar();
        log.debug(detail.message());
      }
    } else if (event instanceof Event.Progress progress) {
      progress(progress);
    }
  }

  private void progress(Event.Progress progress) {
    if (!log.isInfoEnabled() || progress.total() <= 0) {
      return;
    }
    if (interactive) {
      int width = 30;
      int filled = (int) Math.min(width, progress.done() * width / progress.total());
      terminal.print("\r[" + "=".repeat(filled) + " ".repeat(width - filled) + "] " + progress.task() + " "
          + progress.done() + "/" + progress.total());
      terminal.flush();
      barShown = progress.done() < progress.total();
      if (!barShown) {
        terminal.print("\r" + " ".repeat(width + progress.task().length() + 24) + "\r");
        terminal.flush();
      }
      return;
    }
    if (progress.done() >= progress.total()) {
      lastPlainLine.remove(progress.task());
      return; // the step's own info line reports its end
    }
    long now = nanoTime.getAsLong();
    Long last = lastPlainLine.get(progress.task());
    if (last == null) {
      lastPlainLine.put(progress.task(), now); // a step that ends within the interval prints nothing
    } else if (now - last >= PLAIN_INTERVAL_SECONDS * 1_000_000_000L) {
      lastPlainLine.put(progress.task(), now);
      log.info(progress.task() + ": " + progress.done() + " of " + progress.total());
    }
  }

  private void endBar() {
    if (barShown) {
      terminal.println();
      barShown = false;
    }
  }
}
