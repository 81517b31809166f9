package io.upgradekit.plugin.release;

import java.util.Objects;

/**
 * What the library reports while it works. Library code never prints: it hands events to a {@code
 * Consumer<Event>}, and each adapter renders them for its audience (the Maven log, a progress bar on
 * a terminal, plain periodic lines in CI).
 */
public sealed interface Event {
  /** A step or result worth one line in a normal build log. */
  record Info(String message) implements Event {
    public Info {
      Objects.requireNonNull(message, "message");
    }
  }

  /** Something the user should look at, though the work goes on. */
  record Warning(String message) implements Event {
    public Warning {
      Objects.requireNonNull(message, "message");
    }
  }

  /** Detail for a debug log ({@code mvn -X}). */
  record Detail(String message) implements Event {
    public Detail {
      Objects.requireNonNull(message, "message");
    }
  }

  /**
   * Progress of a long step: {@code done} of {@code total} units (bytes or items) of {@code task}.
   * A step reports {@code done == total} once at its end.
   */
  record Progress(String task, long done, long total) implements Event {
    public Progress {
      Objects.requireNonNull(task, "task");
    }
  }

  static Event info(String message) {
    return new Info(message);
  }

  static Event warning(String message) {
    return new Warning(message);
  }

  static Event detail(String message) {
    return new Detail(message);
  }
}
