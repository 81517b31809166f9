package io.upgradekit.server.cli;

import picocli.CommandLine;

/** Lets tests in other packages run the command line as {@code main} does. */
public final class ServerMainAccess {
  private ServerMainAccess() {}

  public static CommandLine commandLine() {
    return ServerMain.commandLine();
  }
}
