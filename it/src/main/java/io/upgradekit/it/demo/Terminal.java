package io.upgradekit.it.demo;

import java.io.PrintStream;
import java.time.Duration;
import java.util.Locale;

/**
 * The demo's output: numbered phases, each one line with its duration at the right, detail lines
 * under it. Plain text that reads the same in a terminal, a CI log or a file.
 */
final class Terminal {
  static final int WIDTH = 78;

  private final PrintStream out;
  private int phase;
  private long phaseStart;
  private String open;

  Terminal(PrintStream out) {
    this.out = out;
  }

  void line(String text) {
    closeOpenLine();
    out.println(text);
    out.flush();
  }

  void blank() {
    line("");
  }

  /** Counts a phase someone else printed (demo.sh's build). */
  void skipPhase() {
    phase++;
  }

  /** Starts phase N: prints its title and leaves the line open for {@link #done}. */
  void phase(String title) {
    if (io.upgradekit.it.ProcessReaper.shuttingDown()) {
      throw new io.upgradekit.it.HarnessException("stopped by a signal");
    }
    closeOpenLine();
    phase++;
    phaseStart = System.nanoTime();
    open = String.format(Locale.ROOT, "%2d. %s", phase, title);
    out.print(open);
    out.flush();
  }

  /** Ends the phase's line with dots and the time it took. */
  void done() {
    done("");
  }

  /** Ends the phase's line with a short result, dots and the time it took. */
  void done(String result) {
    String time = seconds(Duration.ofNanos(System.nanoTime() - phaseStart));
    StringBuilder b = new StringBuilder(" ");
    // After detail lines the phase's own line is closed: the result goes on a line of its own.
    String head = open == null ? "     " : open;
    if (!result.isEmpty()) {
      b.append(result).append(' ');
    }
    int dots = WIDTH - head.length() - b.length() - time.length() - 1;
    b.append(".".repeat(Math.max(3, dots))).append(' ').append(time);
    if (open == null) {
      out.print(head);
    }
    out.println(b);
    out.flush();
    open = null;
  }

  /** A detail line under the current phase. */
  void detail(String text) {
    line("      " + text);
  }

  private void closeOpenLine() {
    if (open != null) {
      out.println();
      open = null;
    }
  }

  static String seconds(Duration d) {
    double s = d.toNanos() / 1e9;
    if (s >= 60) {
      long whole = Math.round(s);
      return whole / 60 + " min " + String.format(Locale.ROOT, "%02d", whole % 60) + " s";
    }
    return String.format(Locale.ROOT, "%.1f s", s);
  }

  static String bytes(long n) {
    if (n < 1024) {
      return n + " B";
    }
    if (n < 1024 * 1024) {
      return String.format(Locale.ROOT, "%.1f KiB", n / 1024.0);
    }
    return String.format(Locale.ROOT, "%.1f MiB", n / (1024.0 * 1024));
  }
}
