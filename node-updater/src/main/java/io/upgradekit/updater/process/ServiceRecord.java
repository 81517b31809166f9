package io.upgradekit.updater.process;

import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * What {@code state/service.json} remembers about the service: the exact parameters it was
 * started with (reused for every restart, so the service always starts as it did the first time)
 * and the processes the updater started.
 *
 * @param command the command line
 * @param workingDir the working directory
 * @param environment variables added to the updater's environment
 * @param processes the processes started and not yet seen stopped
 */
public record ServiceRecord(
    List<String> command, String workingDir, Map<String, String> environment, List<RunningProcess> processes) {
  public ServiceRecord {
    command = List.copyOf(command);
    environment = environment == null ? Map.of() : Map.copyOf(environment);
    processes = processes == null ? List.of() : List.copyOf(processes);
  }

  /**
   * @param pid the process id
   * @param startedAt the process's start time as the OS reports it (guards against pid reuse), or null
   * @param version the version it runs
   * @param portFile the {@code UPGRADEKIT_PORT_FILE} it was started with (where it writes its private
   *     loopback port), or null for a process started without one (adopted, or by an older updater)
   */
  public record RunningProcess(long pid, Instant startedAt, String version, String portFile) {
    public RunningProcess(long pid, Instant startedAt, String version) {
      this(pid, startedAt, version, null);
    }
  }
}
