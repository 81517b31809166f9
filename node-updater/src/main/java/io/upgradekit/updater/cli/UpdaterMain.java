package io.upgradekit.updater.cli;

import io.upgradekit.schema.UpgradeException;
import io.upgradekit.updater.engine.ExitStatus;
import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The node updater's command line. Commands are thin adapters over library code; failures print
 * {@code CODE: sentence} on stderr and exit with an {@link ExitStatus} status.
 */
@Command(
    name = "updater",
    mixinStandardHelpOptions = true,
    versionProvider = VersionProvider.class,
    description = "Upgradekit node updater.",
    subcommands = {DeltaCommand.class})
public final class UpdaterMain {
  public static void main(String[] args) {
    System.exit(commandLine().execute(args));
  }

  /** The configured command line (also what tests drive). */
  public static CommandLine commandLine() {
    CommandLine commandLine = new CommandLine(new UpdaterMain())
        .setExecutionExceptionHandler(UpdaterMain::handle)
        .setParameterExceptionHandler(UpdaterMain::usage);
    UpdaterCommands.addTo(commandLine);
    return commandLine;
  }

  private static int handle(Exception e, CommandLine cmd, CommandLine.ParseResult parsed) {
    PrintWriter err = cmd.getErr();
    if (e instanceof UpgradeException u) {
      err.println(u.code() + ": " + u.getMessage());
      err.flush();
      return ExitStatus.of(u.code());
    }
    err.println("ERROR: " + e);
    err.flush();
    return ExitStatus.FAILED;
  }

  private static int usage(CommandLine.ParameterException e, String[] args) {
    CommandLine cmd = e.getCommandLine();
    PrintWriter err = cmd.getErr();
    err.println("USAGE: " + e.getMessage());
    err.println("Try '" + cmd.getCommandSpec().qualifiedName() + " --help' for more information.");
    err.flush();
    return ExitStatus.USAGE;
  }
}
