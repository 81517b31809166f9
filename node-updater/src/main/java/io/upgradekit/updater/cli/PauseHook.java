package io.upgradekit.updater.cli;

import io.upgradekit.updater.event.AgentEvent;
import io.upgradekit.updater.event.UpdateState;
import java.io.PrintStream;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.function.Consumer;

/**
 * A test hook for crash tests with the real distribution: {@code UPGRADEKIT_TEST_PAUSE_AT=STATE} (or
 * {@code STATE:SECONDS}, default 30) makes the updater sleep right after the transition into {@code
 * STATE} was journaled, before the state's work begins, so that an end-to-end test can {@code kill -9}
 * it while {@code state/journal.json} says {@code STATE} (the window of {@code SWITCH} is otherwise a
 * rename). It prints one line when it pauses and does nothing else; unset, it does nothing at all.
 * The unit tests' {@code TestUpdaterMain} halts instead of pausing, but it runs a fake applier and
 * is not in the distribution.
 */
final class PauseHook {
  static final String VARIABLE = "UPGRADEKIT_TEST_PAUSE_AT";
  static final Duration DEFAULT_PAUSE = Duration.ofSeconds(30);

  private PauseHook() {}

  /** The hook the environment asks for, or a listener that does nothing. */
  static Consumer<AgentEvent> fromEnvironment(Map<String, String> environment, PrintStream out) {
    String value = environment.get(VARIABLE);
    if (value == null || value.isBlank()) {
      return event -> { };
    }
    String[] parts = value.strip().split(":", 2);
    UpdateState state;
    Duration pause;
    try {
      state = UpdateState.valueOf(parts[0].toUpperCase(Locale.ROOT));
      pause = parts.length == 2 ? Duration.ofSeconds(Long.parseLong(parts[1])) : DEFAULT_PAUSE;
    } catch (IllegalArgumentException e) {
      out.println("warning: " + VARIABLE + "=" + value + " is not STATE or STATE:SECONDS; ignored");
      return event -> { };
    }
    return event -> {
      if (event instanceof AgentEvent.Transition t && t.to() == state) {
        out.println("test hook: paused at " + state + " for " + pause.toSeconds() + " s (" + VARIABLE + ")");
        out.flush();
        try {
          Thread.sleep(pause.toMillis());
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
    };
  }
}
