package io.upgradekit.updater.testsupport;

import io.upgradekit.updater.cli.UpdaterCommands;
import io.upgradekit.updater.event.AgentEvent;
import picocli.CommandLine.Command;
import picocli.CommandLine;

/**
 * The updater's command line as a separate process in tests, with the test payload applier and a
 * crash hook: {@code UPGRADEKIT_TEST_HALT_AT=<STATE>} halts the JVM (no shutdown hooks, like
 * {@code kill -9}) right after the transition into that state was journaled.
 */
@Command(name = "updater", mixinStandardHelpOptions = true)
public final class TestUpdaterMain {
  public static final int HALTED = 137;

  public static void main(String[] args) {
    String haltAt = System.getenv("UPGRADEKIT_TEST_HALT_AT");
    CommandLine cl = new CommandLine(new TestUpdaterMain());
    UpdaterCommands.addTo(cl, new FakeApplier(), event -> {
      if (event instanceof AgentEvent.Transition t && t.to().name().equals(haltAt)) {
        System.err.println("test hook: halting at " + haltAt);
        System.err.flush();
        Runtime.getRuntime().halt(HALTED);
      }
    });
    System.exit(cl.execute(args));
  }
}
