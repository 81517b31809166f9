package io.upgradekit.updater.process;

/**
 * The private loopback port of the one process that runs a version, as that process wrote it to its
 * {@code UPGRADEKIT_PORT_FILE}; or why it is not known.
 *
 * @param version the version looked up
 * @param port the port, or 0 when not known
 * @param problem null when {@code port} is known; else a sentence saying why not
 * @param addressable false for a process that was started without a port file (adopted, or started
 *     by an updater that did not set one): it can never be reached alone, so waiting is pointless
 */
public record ProcessPort(String version, int port, String problem, boolean addressable) {
  /** The environment variable naming the file a service writes its private port to. */
  public static final String ENVIRONMENT_VARIABLE = "UPGRADEKIT_PORT_FILE";

  public static ProcessPort known(String version, int port) {
    return new ProcessPort(version, port, null, true);
  }

  public static ProcessPort notYet(String version, String problem) {
    return new ProcessPort(version, 0, problem, true);
  }

  public static ProcessPort never(String version, String problem) {
    return new ProcessPort(version, 0, problem, false);
  }

  public boolean known() {
    return problem == null;
  }
}
