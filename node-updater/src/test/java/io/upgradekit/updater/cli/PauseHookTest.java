package io.upgradekit.updater.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.upgradekit.updater.event.AgentEvent;
import io.upgradekit.updater.event.UpdateState;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

class PauseHookTest {
  private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
  private final PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);

  private static AgentEvent into(UpdateState state) {
    return new AgentEvent.Transition("e1", null, null, Duration.ZERO, state, null, null, Instant.EPOCH);
  }

  private String printed() {
    return bytes.toString(StandardCharsets.UTF_8);
  }

  @Test
  void unsetDoesNothing() {
    Consumer<AgentEvent> hook = PauseHook.fromEnvironment(Map.of(), out);
    long start = System.nanoTime();
    hook.accept(into(UpdateState.SWITCH));
    assertThat(System.nanoTime() - start).isLessThan(500_000_000L);
    assertThat(printed()).isEmpty();
  }

  @Test
  void pausesOnlyAtTheNamedState() {
    Consumer<AgentEvent> hook = PauseHook.fromEnvironment(Map.of(PauseHook.VARIABLE, "switch:1"), out);
    long start = System.nanoTime();
    hook.accept(into(UpdateState.STAGE));
    assertThat(System.nanoTime() - start).isLessThan(500_000_000L);
    assertThat(printed()).isEmpty();

    hook.accept(into(UpdateState.SWITCH));
    assertThat(System.nanoTime() - start).isGreaterThanOrEqualTo(1_000_000_000L);
    assertThat(printed()).contains("test hook: paused at SWITCH for 1 s");
  }

  @Test
  void aBadValueIsIgnoredWithAWarning() {
    Consumer<AgentEvent> hook = PauseHook.fromEnvironment(Map.of(PauseHook.VARIABLE, "NOWHERE:x"), out);
    long start = System.nanoTime();
    hook.accept(into(UpdateState.SWITCH));
    assertThat(System.nanoTime() - start).isLessThan(500_000_000L);
    assertThat(printed()).contains("warning: UPGRADEKIT_TEST_PAUSE_AT=NOWHERE:x is not STATE or STATE:SECONDS");
  }
}
