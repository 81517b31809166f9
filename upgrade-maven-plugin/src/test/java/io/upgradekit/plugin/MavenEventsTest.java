package io.upgradekit.plugin;

import static org.assertj.core.api.Assertions.assertThat;

import io.upgradekit.plugin.release.Event;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.maven.monitor.logging.DefaultLog;
import org.codehaus.plexus.logging.AbstractLogger;
import org.codehaus.plexus.logging.Logger;
import org.junit.jupiter.api.Test;

class MavenEventsTest {
  final List<String> lines = new ArrayList<>();
  final AtomicLong clock = new AtomicLong();
  final ByteArrayOutputStream terminal = new ByteArrayOutputStream();

  private MavenEvents events(int threshold, boolean interactive) {
    Logger logger = new AbstractLogger(threshold, "test") {
      @Override
      public void debug(String message, Throwable t) {
        if (isDebugEnabled()) { // like Maven's own logger, which -q turns down
          lines.add("DEBUG " + message);
        }
      }

      @Override
      public void info(String message, Throwable t) {
        if (isInfoEnabled()) { // like Maven's own logger, which -q turns down
          lines.add("INFO " + message);
        }
      }

      @Override
      public void warn(String message, Throwable t) {
        if (isWarnEnabled()) { // like Maven's own logger, which -q turns down
          lines.add("WARN " + message);
        }
      }

      @Override
      public void error(String message, Throwable t) {
        if (isErrorEnabled()) { // like Maven's own logger, which -q turns down
          lines.add("ERROR " + message);
        }
      }

      @Override
      public void fatalError(String message, Throwable t) {
        lines.add("FATAL " + message);
      }

      @Override
      public Logger getChildLogger(String name) {
        return this;
      }
    };
    return new MavenEvents(new DefaultLog(logger), interactive, new PrintStream(terminal, true, StandardCharsets.UTF_8),
        clock::get);
  }

  @Test
  void batchModeWritesPlainProgressLinesAtMostEveryTenSeconds() {
    MavenEvents events = events(Logger.LEVEL_INFO, false);
    events.accept(new Event.Progress("deltas", 0, 4));
    clock.addAndGet(5_000_000_000L);
    events.accept(new Event.Progress("deltas", 1, 4));
    clock.addAndGet(6_000_000_000L);
    events.accept(new Event.Progress("deltas", 2, 4));
    events.accept(new Event.Progress("deltas", 3, 4));
    events.accept(new Event.Progress("deltas", 4, 4));

    assertThat(lines).containsExactly("INFO deltas: 2 of 4");
    assertThat(terminal.size()).isZero();
  }

  @Test
  void anInteractiveTerminalGetsABarInPlaceAndNoLogLines() {
    MavenEvents events = events(Logger.LEVEL_INFO, true);
    events.accept(new Event.Progress("deltas", 1, 2));
    events.accept(new Event.Info("done"));

    assertThat(terminal.toString(StandardCharsets.UTF_8)).contains("\r[", "deltas 1/2");
    assertThat(lines).containsExactly("INFO done");
  }

  @Test
  void quietShowsWarningsOnly() {
    MavenEvents events = events(Logger.LEVEL_WARN, true);
    events.accept(new Event.Info("step"));
    events.accept(new Event.Progress("deltas", 1, 2));
    events.accept(new Event.Detail("detail"));
    events.accept(new Event.Warning("look"));

    assertThat(lines).containsExactly("WARN look");
    assertThat(terminal.size()).isZero();
  }

  @Test
  void detailsOnlyInDebug() {
    MavenEvents events = events(Logger.LEVEL_DEBUG, false);
    events.accept(new Event.Detail("detail"));

    assertThat(lines).containsExactly("DEBUG detail");
  }
}
