package io.upgradekit.updater.cli;

import io.upgradekit.updater.engine.PayloadApplier;
import io.upgradekit.updater.event.AgentEvent;
import java.util.function.Consumer;
import picocli.CommandLine;

/**
 * The agent's subcommands ({@code run}, {@code status}, {@code history}, {@code rollback}, {@code drill}), added
 * to the {@code updater} root command in one call so the root stays a list of registrations.
 */
public final class UpdaterCommands {
  private UpdaterCommands() {}

  /**
   * Adds the agent's subcommands with the production payload applier (and the end-to-end tests'
   * {@link PauseHook}, inert unless {@code UPGRADEKIT_TEST_PAUSE_AT} is set).
   */
  public static CommandLine addTo(CommandLine root) {
    return addTo(root, PayloadAppliers.standard(), PauseHook.fromEnvironment(System.getenv(), System.err));
  }

  /** Adds the agent's subcommands with a given applier and extra event listener (tests, embedders). */
  public static CommandLine addTo(CommandLine root, PayloadApplier applier, Consumer<AgentEvent> listener) {
    return root.addSubcommand("run", new RunCommand(applier, listener, System.err))
        .addSubcommand("status", new StatusCommand())
        .addSubcommand("history", new HistoryCommand())
        .addSubcommand("rollback", new RollbackCommand(System.err, listener))
        .addSubcommand("drill", new DrillCommand(System.err, listener));
  }
}
