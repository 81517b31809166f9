package io.upgradekit.updater.process;

import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * What {@code state/service.json} remembers about the service: the parameters it is started with
 * and the processes the updater started. The parameters are the configuration's
 * ({@code service.process}), followed when it changes; for a service adopted through {@code
 * service.pidFile} they are the ones read from {@code /proc}, kept so that every restart starts it
 * exactly as it was started before the updater took it over.
 *
 * @param command the command line
 * @param workingDir the working directory
 * @param environment variables added to the updater's environment
 * @param processes the processes started and not yet seen stopped
 * @param adopted whether the parameters were read from an adopted process (absent in older files: false)
 */
public record ServiceRecord(List<String> command, String workingDir, Map<String, String> environment,
    List<RunningProcess> processes, boolean adopted) {
  public ServiceRecord {
    command = List.copyOf(command);
    environment = environment == null ? Map.of() : Map.copyOf(environment);
    processes = processes == null ? List.of() : List.copyOf(processes);
  }

  /** Parameters from the configuration (not adopted). */
  public ServiceRecord(List<String> command, String workingDir, Map<String, String> environment,
      List<RunningProcess> processes) {
    this(command, workingDir, environment, processes, false);
  }

  /** The same parameters with other processes. */
  public ServiceRecord withProcesses(List<RunningProcess> running) {
    return new ServiceRecord(command, workingDir, environment, running, adopted);
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
