package io.upgradekit.updater.process;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.io.BoundedFiles;
import io.upgradekit.schema.json.Json;
import io.upgradekit.updater.config.UpdaterConfig;
import io.upgradekit.schema.model.Names;
import io.upgradekit.updater.journal.StateFiles;
import java.io.File;
import java.io.IOException;
import java.nio.channels.Channel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * Starts and stops the service, in one of two modes:
 *
 * <ul>
 *   <li><b>process</b>: the updater starts the command line itself (output appended to {@code
 *       state/service.log}) and records the pid. The parameters of the first start are kept in
 *       {@code state/service.json} and every later start uses them again. If a pid file names a
 *       process the updater did not start, its command line, working directory and environment are
 *       read from {@code /proc} and adopted, so a restart starts it exactly as before.
 *   <li><b>commands</b>: {@code service.start} / {@code service.stop} (e.g. {@code systemctl});
 *       a pid file, when set, is what the updater kills if the stop command does not work in time.
 * </ul>
 *
 * <p>Stopping sends SIGTERM (or runs the stop command), waits up to the stop timeout, then kills.
 *
 * <p>Every process started in process mode gets {@value ProcessPort#ENVIRONMENT_VARIABLE}, a file
 * {@code state/process-<id>.port} of its own. A service that supports it binds an extra loopback
 * port there (port 0, without {@code SO_REUSEPORT}) and writes the number; {@link
 * #privatePort(String)} reads it, so a health check reaches that one process even while two versions
 * share the service's port. Files of processes that are gone are deleted.
 */
public final class ServiceController {
  private static final Duration KILL_WAIT = Duration.ofSeconds(10);
  /**
   * Names a gated process's start gate, a directory ({@link #startGated}): the process creates
   * {@value #GATE_READY} there once it could accept, and accepts once {@value #GATE_OPEN} appears.
   */
  public static final String START_GATE_VARIABLE = "UPGRADEKIT_START_GATE";
  /** Whole seconds a gated process waits for its gate to open before it gives up and exits. */
  public static final String START_GATE_TIMEOUT_VARIABLE = "UPGRADEKIT_START_GATE_TIMEOUT";
  public static final String GATE_READY = "ready";
  public static final String GATE_OPEN = "open";
  private static final String GATE_SUFFIX = ".gate";
  /** How often the updater looks for a gated process's {@value #GATE_READY}. */
  private static final long GATE_POLL_MILLIS = 5;
  private static final String PORT_FILE_PREFIX = "process-";
  private static final String PORT_FILE_SUFFIX = ".port";
  private static final java.security.SecureRandom RANDOM = new java.security.SecureRandom();
  /** A port file or pid file holds one decimal number; anything longer is not one. */
  private static final int SMALL_FILE_BYTES = 64;
  /** {@code /proc/<pid>/stat} is one line of a few hundred bytes. */
  private static final int PROC_STAT_BYTES = 4096;
  /** A command line or environment read to adopt a process; larger ones are not adopted. */
  private static final int PROC_ADOPT_BYTES = 256 * 1024;

  /**
   * Moves the held socket from standard input to descriptor 3 and sets systemd's variables, then
   * runs the service in its place ({@code exec}, so {@code LISTEN_PID} is the service's pid).
   */
  private static final String LISTEN_FDS_WRAPPER = "exec 3<&0 </dev/null; LISTEN_FDS=1; LISTEN_PID=$$; "
      + "LISTEN_FDNAMES=service; export LISTEN_FDS LISTEN_PID LISTEN_FDNAMES; exec \"$@\"";
  /** systemd's variables: a process that carries them was handed a socket that way, not configured so. */
  private static final List<String> LISTEN_VARIABLES = List.of("LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES");

  private final UpdaterConfig.Service config;
  private final Path recordFile;
  private final Path logFile;
  private final Path workingDirDefault;
  private final Consumer<String> log;
  private final String configFile;
  private final Supplier<Channel> inherited;
  private String heldSocket;

  public ServiceController(UpdaterConfig.Service config, Path recordFile, Path logFile, Path workingDirDefault,
      Consumer<String> log) {
    this(config, recordFile, logFile, workingDirDefault, log, "the configuration", HeldSocket::standardInput);
  }

  /**
   * @param configFile names the configuration in errors
   * @param inherited this process's standard input as a channel ({@code System.inheritedChannel()}),
   *     where {@code service.socket} expects the held socket
   */
  public ServiceController(UpdaterConfig.Service config, Path recordFile, Path logFile, Path workingDirDefault,
      Consumer<String> log, String configFile, Supplier<Channel> inherited) {
    this.config = config;
    this.recordFile = recordFile;
    this.logFile = logFile;
    this.workingDirDefault = workingDirDefault;
    this.log = log;
    this.configFile = configFile;
    this.inherited = inherited;
  }

  /**
   * With {@code service.socket}: checks (once per process) that this updater holds the socket, so
   * that a missing one fails before anything is stopped.
   *
   * @return what is held, for the log; null without {@code service.socket}
   * @throws UpgradeException CONFIG_INVALID when standard input is not that listening socket
   */
  public String requireHeldSocket() {
    if (config.socket() == null) {
      return null;
    }
    if (heldSocket == null) {
      heldSocket = HeldSocket.check(inherited.get(), config.socket(), configFile);
    }
    return heldSocket;
  }

  /** True when the service is known to run (a recorded or pid-file process is alive). */
  public boolean isRunning() {
    if (config.process() != null) {
      return !alive(record()).isEmpty();
    }
    return pidFromFile().map(pid -> ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)).orElse(false);
  }

  /** Versions of the recorded processes that are alive. */
  public List<String> runningVersions() {
    return alive(record()).stream().map(ServiceRecord.RunningProcess::version).toList();
  }

  /**
   * Starts the service for {@code version} (the {@code current} link already points at it).
   *
   * @throws UpgradeException START_FAILED when the command cannot run or the process exits at once
   */
  public void start(String version) {
    if (config.process() == null) {
      runCommand(config.start(), config.stopTimeout(), "service.start", ErrorCode.START_FAILED);
      return;
    }
    Process process = launch(version, null);
    awaitStartGrace(process);
  }

  /**
   * Starts {@code version} behind a start gate ({@code service.startGate}) and returns once it is
   * ready, while the old version keeps serving: the process gets {@value #START_GATE_VARIABLE}, an
   * empty directory; it loads and warms up, creates {@value #GATE_READY} there, and accepts
   * connections (and takes whatever two versions must not hold at once) only once {@value
   * #GATE_OPEN} appears, which {@link StartGate#open()} creates after the caller stopped the old
   * version. The restart's gap is then the old version's drain and the new one's first accept,
   * not a JVM start.
   *
   * @throws UpgradeException START_FAILED when the process exits, or is not ready within {@code
   *     service.startGate} (it is stopped then; the old version still serves)
   */
  public StartGate startGated(String version) {
    if (config.process() == null || config.startGate() == null) {
      throw new IllegalStateException("a start gate needs service.process and service.startGate");
    }
    deleteOldGates();
    Path gate = newProcessFile(GATE_SUFFIX);
    try {
      Files.createDirectories(gate.getParent());
      Files.createDirectory(gate);
    } catch (IOException e) {
      throw new UpgradeException(ErrorCode.START_FAILED, "cannot create the start gate " + gate + ": " + e.getMessage(),
          e);
    }
    Process process = launch(version, gate);
    long deadline = System.nanoTime() + config.startGate().toNanos();
    Path ready = gate.resolve(GATE_READY);
    while (!Files.exists(ready)) {
      if (!process.isAlive()) {
        throw new UpgradeException(ErrorCode.START_FAILED, "the service exited with status " + process.exitValue()
            + " before it was ready at its start gate; see " + logFile);
      }
      if (System.nanoTime() > deadline) {
        terminate(process.toHandle(), "pid " + process.pid() + " (" + version + ", not ready at its start gate)");
        throw new UpgradeException(ErrorCode.START_FAILED, version + " was not ready at its start gate within "
            + config.startGate().toMillis() + " ms (service.startGate); does the service support "
            + START_GATE_VARIABLE + "? See " + logFile);
      }
      sleep(GATE_POLL_MILLIS);
    }
    log.accept(version + " (pid " + process.pid() + ") is ready at its start gate");
    return new StartGate(gate, version, process.pid());
  }

  /** A started process waiting at its gate; {@link #open()} lets it accept. */
  public final class StartGate {
    private final Path dir;
    private final String version;
    private final long pid;

    private StartGate(Path dir, String version, long pid) {
      this.dir = dir;
      this.version = version;
      this.pid = pid;
    }

    /**
     * Lets the process accept connections.
     *
     * @throws UpgradeException START_FAILED when it exited while it waited, or the gate cannot be opened
     */
    public void open() {
      if (ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false) == Boolean.FALSE) {
        throw new UpgradeException(ErrorCode.START_FAILED, version + " (pid " + pid + ") exited while it waited at "
            + "its start gate; see " + logFile);
      }
      try {
        Files.createFile(dir.resolve(GATE_OPEN));
      } catch (java.nio.file.FileAlreadyExistsException e) {
        // opened already
      } catch (IOException e) {
        throw new UpgradeException(ErrorCode.START_FAILED, "cannot open the start gate " + dir + ": " + e.getMessage(),
            e);
      }
      log.accept("opened the start gate of " + version + " (pid " + pid + ")");
    }
  }

  /** Gates of earlier starts: their processes accepted long ago, or gave up waiting. */
  private void deleteOldGates() {
    if (!Files.isDirectory(recordFile.toAbsolutePath().getParent())) {
      return;
    }
    try (var gates = Files.newDirectoryStream(recordFile.toAbsolutePath().getParent(),
        PORT_FILE_PREFIX + "*" + GATE_SUFFIX)) {
      for (Path gate : gates) {
        Files.deleteIfExists(gate.resolve(GATE_READY));
        Files.deleteIfExists(gate.resolve(GATE_OPEN));
        Files.deleteIfExists(gate);
      }
    } catch (IOException e) {
      log.accept("cannot clean up start gates in " + recordFile.getParent() + ": " + e);
    }
  }

  /** Starts the recorded command for {@code version}; {@code gate}: its start gate, or null. */
  private Process launch(String version, Path gate) {
    String socket = requireHeldSocket();
    ServiceRecord record = recordOrAdopt();
    List<String> command = record.command();
    if (socket != null && config.socket().pass() == UpdaterConfig.Pass.LISTEN_FDS) {
      command = new ArrayList<>(List.of("/bin/sh", "-c", LISTEN_FDS_WRAPPER, "upgradekit-listen-fds"));
      command.addAll(record.command());
    }
    ProcessBuilder builder = new ProcessBuilder(command)
        .directory(new File(record.workingDir()))
        .redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile()))
        // The held socket is this process's standard input; the JDK passes no other descriptor on.
        .redirectInput(socket == null ? ProcessBuilder.Redirect.from(new File("/dev/null"))
            : ProcessBuilder.Redirect.INHERIT);
    builder.environment().putAll(record.environment());
    LISTEN_VARIABLES.forEach(builder.environment()::remove);
    builder.environment().remove(START_GATE_VARIABLE);
    builder.environment().remove(START_GATE_TIMEOUT_VARIABLE);
    builder.environment().put("UPGRADEKIT_VERSION", version);
    Path portFile = newProcessFile(PORT_FILE_SUFFIX);
    builder.environment().put(ProcessPort.ENVIRONMENT_VARIABLE, portFile.toString());
    if (gate != null) {
      builder.environment().put(START_GATE_VARIABLE, gate.toString());
      // Long enough for the old version's stop (and its kill), so only a gone updater leaves it waiting.
      long waitSeconds = config.stopTimeout().plus(KILL_WAIT).toSeconds() + 60;
      builder.environment().put(START_GATE_TIMEOUT_VARIABLE, Long.toString(waitSeconds));
    }
    Process process;
    try {
      Files.createDirectories(logFile.getParent());
      Files.deleteIfExists(portFile);
      process = builder.start();
    } catch (IOException e) {
      throw new UpgradeException(ErrorCode.START_FAILED, "cannot start " + String.join(" ", record.command())
          + ": " + e.getMessage(), e);
    }
    List<ServiceRecord.RunningProcess> processes = new ArrayList<>(alive(record));
    processes.add(new ServiceRecord.RunningProcess(process.pid(), startInstant(process.toHandle()), version,
        portFile.toString()));
    save(record.withProcesses(processes));
    log.accept("started " + version + " as pid " + process.pid() + (socket == null ? "" : " on the held socket "
        + socket) + (gate == null ? "" : " behind its start gate " + gate));
    return process;
  }

  private void awaitStartGrace(Process process) {
    try {
      if (process.waitFor(config.startGrace().toMillis(), TimeUnit.MILLISECONDS)) {
        throw new UpgradeException(ErrorCode.START_FAILED, "the service exited with status " + process.exitValue()
            + " right after starting; see " + logFile);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new UpgradeException(ErrorCode.START_FAILED, "interrupted while waiting for the service to start", e);
    }
  }

  /**
   * The private port of the newest running process of {@code version}, read from the file named by
   * its {@value ProcessPort#ENVIRONMENT_VARIABLE}.
   */
  public ProcessPort privatePort(String version) {
    List<ServiceRecord.RunningProcess> running = alive(record());
    ServiceRecord.RunningProcess process = null;
    for (ServiceRecord.RunningProcess p : running) {
      if (p.version().equals(version)) {
        process = p;
      }
    }
    if (process == null) {
      return ProcessPort.notYet(version, "no process of " + version + " is running");
    }
    String what = "pid " + process.pid() + " (" + version + ")";
    if (process.portFile() == null) {
      return ProcessPort.never(version, what + " was started without " + ProcessPort.ENVIRONMENT_VARIABLE
          + " (adopted, or started by an older updater), so {processPort} cannot reach it");
    }
    Path file = Path.of(process.portFile());
    String text;
    try {
      text = new String(BoundedFiles.read(file, SMALL_FILE_BYTES), StandardCharsets.US_ASCII).strip();
    } catch (NoSuchFileException e) {
      return ProcessPort.notYet(version, what + " has not written its private port to " + file + " yet: a "
          + "service must bind a loopback port and write its number there when " + ProcessPort.ENVIRONMENT_VARIABLE
          + " is set, or health.url and watch.metrics.url must not use {processPort}");
    } catch (IOException e) {
      return ProcessPort.notYet(version, "cannot read " + file + ": " + e);
    }
    try {
      int port = Integer.parseInt(text);
      if (port > 0 && port < 65536) {
        return ProcessPort.known(version, port);
      }
    } catch (NumberFormatException e) {
      // below
    }
    return ProcessPort.notYet(version, what + " wrote '" + (text.length() > 20 ? text.substring(0, 20) + "..." : text)
        + "' to " + file + ", not a port number (1-65535)");
  }

  /** Stops every running instance of the service. */
  public void stopAll() {
    if (config.process() == null) {
      stopByCommand();
      return;
    }
    ServiceRecord record = record();
    if (record == null) {
      return;
    }
    for (ServiceRecord.RunningProcess p : alive(record)) {
      stopProcess(p);
    }
    save(forget(record, v -> true));
  }

  /** Stops recorded instances that run anything but {@code version}. */
  public void stopAllBut(String version) {
    ServiceRecord record = record();
    if (record == null) {
      return;
    }
    for (ServiceRecord.RunningProcess p : alive(record)) {
      if (!p.version().equals(version)) {
        stopProcess(p);
      }
    }
    save(forget(record, v -> !v.equals(version)));
  }

  private void stopProcess(ServiceRecord.RunningProcess p) {
    Optional<ProcessHandle> handle = ProcessHandle.of(p.pid());
    if (handle.isEmpty() || !handle.get().isAlive()) {
      return;
    }
    terminate(handle.get(), "pid " + p.pid() + " (" + p.version() + ")");
  }

  private void terminate(ProcessHandle handle, String what) {
    handle.destroy(); // SIGTERM: the service drains and exits
    if (waitExit(handle, config.stopTimeout())) {
      log.accept("stopped " + what);
      return;
    }
    log.accept(what + " did not stop within " + config.stopTimeout().toMillis() + " ms; killing it");
    handle.destroyForcibly();
    if (!waitExit(handle, KILL_WAIT)) {
      throw new UpgradeException(ErrorCode.STOP_FAILED, what + " is still running after SIGKILL");
    }
  }

  private void stopByCommand() {
    Optional<Long> pid = pidFromFile();
    if (config.stop() != null) {
      try {
        runCommand(config.stop(), config.stopTimeout(), "service.stop", ErrorCode.STOP_FAILED);
      } catch (UpgradeException e) {
        if (pid.isEmpty()) {
          throw e;
        }
        log.accept(e.getMessage() + "; killing pid " + pid.get());
      }
    }
    if (pid.isPresent()) {
      Optional<ProcessHandle> handle = ProcessHandle.of(pid.get());
      if (handle.isPresent() && handle.get().isAlive()) {
        terminate(handle.get(), "pid " + pid.get());
      }
    }
  }

  private void runCommand(List<String> command, Duration timeout, String key, ErrorCode code) {
    try {
      Files.createDirectories(logFile.getParent());
      Process p = new ProcessBuilder(command).directory(workingDirDefault.toFile()).redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile())).start();
      if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        p.destroyForcibly();
        throw new UpgradeException(code, key + " (" + String.join(" ", command) + ") did not finish within "
            + timeout.toMillis() + " ms");
      }
      if (p.exitValue() != 0) {
        throw new UpgradeException(code, key + " (" + String.join(" ", command) + ") exited with status "
            + p.exitValue() + "; see " + logFile);
      }
    } catch (IOException e) {
      throw new UpgradeException(code, "cannot run " + key + " (" + String.join(" ", command) + "): " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new UpgradeException(code, "interrupted while running " + key, e);
    }
  }

  /**
   * Polls every {@value #EXIT_POLL_MILLIS} ms until the process is gone or a zombie. The service
   * outlives the updater, which runs in a fresh JVM after every update, so the process stopped here
   * is usually not this JVM's child: when it exits it stays a zombie until init reaps it, which
   * some inits do seconds later, and the JDK ({@code isAlive()}, {@code onExit()}) counts a zombie
   * as alive; {@code onExit()} also sleeps 300 ms and more between its looks. With the restart
   * strategy every one of those milliseconds is downtime: measured, the exit was noticed 1.6 to
   * 2.2 s late. A zombie holds no port, file or memory any more: for the switch it is gone.
   */
  private static boolean waitExit(ProcessHandle handle, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (running(handle)) {
      if (System.nanoTime() - deadline >= 0) {
        return false;
      }
      try {
        Thread.sleep(EXIT_POLL_MILLIS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return !handle.isAlive();
      }
    }
    return true;
  }

  private static final long EXIT_POLL_MILLIS = 10;

  /**
   * Alive ({@code isAlive()} also compares the start time, so a reused pid does not count) and not a
   * zombie (the state in {@code /proc/<pid>/stat}; where there is no {@code /proc}, the JDK's answer).
   */
  private static boolean running(ProcessHandle handle) {
    if (!handle.isAlive()) {
      return false;
    }
    try {
      String stat = new String(BoundedFiles.read(Path.of("/proc", Long.toString(handle.pid()), "stat"),
          PROC_STAT_BYTES), StandardCharsets.US_ASCII);
      int name = stat.lastIndexOf(')'); // "pid (name) state ...": the name may hold anything
      char state = name >= 0 && name + 2 < stat.length() ? stat.charAt(name + 2) : 'R';
      return state != 'Z' && state != 'X';
    } catch (IOException e) {
      return handle.isAlive();
    }
  }

  private ServiceRecord forget(ServiceRecord record, java.util.function.Predicate<String> version) {
    List<ServiceRecord.RunningProcess> keep = new ArrayList<>();
    for (ServiceRecord.RunningProcess p : alive(record)) {
      if (!version.test(p.version())) {
        keep.add(p);
      }
    }
    return record.withProcesses(keep);
  }

  private static List<ServiceRecord.RunningProcess> alive(ServiceRecord record) {
    if (record == null) {
      return List.of();
    }
    List<ServiceRecord.RunningProcess> out = new ArrayList<>();
    for (ServiceRecord.RunningProcess p : record.processes()) {
      Optional<ProcessHandle> handle = ProcessHandle.of(p.pid());
      if (handle.isPresent() && handle.get().isAlive()
          && (p.startedAt() == null || p.startedAt().equals(startInstant(handle.get())))) {
        out.add(p);
      }
    }
    return out;
  }

  private static Instant startInstant(ProcessHandle handle) {
    return handle.info().startInstant().orElse(null);
  }

  /** The recorded parameters; else adopted from a pid-file process; else the configuration's. */
  private ServiceRecord recordOrAdopt() {
    ServiceRecord record = record();
    if (record != null) {
      return record.adopted() ? record : followConfiguration(record);
    }
    Optional<ServiceRecord> adopted = pidFromFile().flatMap(this::adopt);
    if (adopted.isPresent()) {
      save(adopted.get());
      return adopted.get();
    }
    UpdaterConfig.ProcessSpec spec = config.process();
    Path dir = spec.workingDir() == null ? workingDirDefault : spec.workingDir();
    ServiceRecord fresh = new ServiceRecord(spec.command(), dir.toString(), spec.environment(), List.of());
    save(fresh);
    return fresh;
  }

  /**
   * A record whose parameters came from the configuration, with the configuration's parameters
   * now: an operator who changes {@code service.process} (a JVM option, an environment variable)
   * gets it at the next start, rollbacks included.
   */
  private ServiceRecord followConfiguration(ServiceRecord record) {
    UpdaterConfig.ProcessSpec spec = config.process();
    String dir = (spec.workingDir() == null ? workingDirDefault : spec.workingDir()).toString();
    if (record.command().equals(spec.command()) && record.workingDir().equals(dir)
        && record.environment().equals(spec.environment())) {
      return record;
    }
    log.accept("service.process changed in the configuration since the service was last started: this start uses"
        + " the configuration's command, working directory and environment");
    ServiceRecord followed = new ServiceRecord(spec.command(), dir, spec.environment(), record.processes());
    save(followed);
    return followed;
  }

  /** Reads a running process's command line, working directory and environment from /proc. */
  private Optional<ServiceRecord> adopt(long pid) {
    Path proc = Path.of("/proc", Long.toString(pid));
    try {
      List<String> command = splitNul(BoundedFiles.read(proc.resolve("cmdline"), PROC_ADOPT_BYTES));
      String cwd = Files.readSymbolicLink(proc.resolve("cwd")).toString();
      Map<String, String> env = new LinkedHashMap<>();
      for (String pair : splitNul(BoundedFiles.read(proc.resolve("environ"), PROC_ADOPT_BYTES))) {
        int eq = pair.indexOf('=');
        if (eq > 0) {
          env.put(pair.substring(0, eq), pair.substring(eq + 1));
        }
      }
      if (command.isEmpty()) {
        return Optional.empty();
      }
      ProcessHandle handle = ProcessHandle.of(pid).orElseThrow();
      String version = "adopted";
      log.accept("adopted the running service pid " + pid + " (" + String.join(" ", command) + ")");
      return Optional.of(new ServiceRecord(command, cwd, env,
          List.of(new ServiceRecord.RunningProcess(pid, startInstant(handle), version)), true));
    } catch (IOException | RuntimeException e) {
      return Optional.empty();
    }
  }

  private static List<String> splitNul(byte[] bytes) {
    List<String> out = new ArrayList<>();
    int start = 0;
    for (int i = 0; i < bytes.length; i++) {
      if (bytes[i] == 0) {
        out.add(new String(bytes, start, i - start, StandardCharsets.UTF_8));
        start = i + 1;
      }
    }
    if (start < bytes.length) {
      out.add(new String(bytes, start, bytes.length - start, StandardCharsets.UTF_8));
    }
    return out;
  }

  private Optional<Long> pidFromFile() {
    if (config.pidFile() == null) {
      return Optional.empty();
    }
    try {
      return Optional.of(Long.parseLong(new String(BoundedFiles.read(config.pidFile(), SMALL_FILE_BYTES),
          StandardCharsets.US_ASCII).strip()));
    } catch (NoSuchFileException | NumberFormatException e) {
      return Optional.empty();
    } catch (IOException e) {
      throw new UpgradeException(ErrorCode.IO_ERROR, "cannot read service.pidFile " + config.pidFile() + ": " + e, e);
    }
  }

  /**
   * The recorded service, or null.
   *
   * @throws StateFiles.DamagedStateException when {@code state/service.json} cannot be used: not
   *     JSON, wrong types, or values no updater writes (a version that is no version name, a port
   *     file outside {@code state/}); the engine moves it aside and calls {@link #rebuild}
   */
  public ServiceRecord record() {
    ServiceRecord record = StateFiles.read(recordFile, ServiceRecord.class, "service record");
    if (record == null) {
      return null;
    }
    String problem = problemWith(record);
    if (problem != null) {
      throw new StateFiles.DamagedStateException(recordFile, "service record", problem, null);
    }
    return record;
  }

  private String problemWith(ServiceRecord record) {
    if (record.command().isEmpty() || record.command().stream().anyMatch(java.util.Objects::isNull)) {
      return "its command is empty";
    }
    if (record.workingDir() == null) {
      return "it names no working directory";
    }
    for (ServiceRecord.RunningProcess p : record.processes()) {
      if (p == null || p.pid() <= 0) {
        return "a process without a valid pid";
      }
      if (p.version() == null || !(Names.isVersion(p.version()))) {
        return "a process of version " + (p.version() == null ? "null" : Names.quote(p.version()));
      }
      if (p.portFile() != null && !isOwnPortFile(Path.of(p.portFile()))) {
        return "a port file outside " + recordFile.toAbsolutePath().getParent() + ": " + Names.quote(p.portFile());
      }
    }
    return null;
  }

  private boolean isOwnPortFile(Path file) {
    String name = file.getFileName() == null ? "" : file.getFileName().toString();
    return file.isAbsolute() && recordFile.toAbsolutePath().getParent().equals(file.getParent())
        && name.startsWith(PORT_FILE_PREFIX) && name.endsWith(PORT_FILE_SUFFIX);
  }

  /**
   * Rebuilds {@code state/service.json} after it was lost or damaged, from the processes
   * themselves: every process the updater starts carries {@code UPGRADEKIT_PORT_FILE} (a file in
   * this target's {@code state/}) and {@code UPGRADEKIT_VERSION} in its environment, so {@code
   * /proc} tells which of them belong to this target, which version each runs, and the exact
   * command line, working directory and environment to start it with again. Without such a
   * process nothing is written: the next start uses the configuration (or adopts {@code
   * service.pidFile}'s process) as on a first start.
   *
   * @return the rebuilt record, or null when no process of this target was found
   */
  public ServiceRecord rebuild() {
    if (config.process() == null) {
      return null;
    }
    List<ServiceRecord.RunningProcess> found = new ArrayList<>();
    ServiceRecord template = null;
    Instant newest = null;
    for (ProcessHandle handle : (Iterable<ProcessHandle>) ProcessHandle.allProcesses()::iterator) {
      Path proc = Path.of("/proc", Long.toString(handle.pid()));
      Map<String, String> env = new LinkedHashMap<>();
      List<String> command;
      String cwd;
      try {
        for (String pair : splitNul(Files.readAllBytes(proc.resolve("environ")))) {
          int eq = pair.indexOf('=');
          if (eq > 0) {
            env.put(pair.substring(0, eq), pair.substring(eq + 1));
          }
        }
        String portFile = env.get(ProcessPort.ENVIRONMENT_VARIABLE);
        String version = env.get("UPGRADEKIT_VERSION");
        if (portFile == null || version == null || !Names.isVersion(version) || !isOwnPortFile(Path.of(portFile))) {
          continue;
        }
        command = splitNul(Files.readAllBytes(proc.resolve("cmdline")));
        cwd = Files.readSymbolicLink(proc.resolve("cwd")).toString();
        if (command.isEmpty()) {
          continue;
        }
        Instant started = startInstant(handle);
        found.add(new ServiceRecord.RunningProcess(handle.pid(), started, version, portFile));
        if (template == null || (started != null && (newest == null || started.isAfter(newest)))) {
          env.remove(ProcessPort.ENVIRONMENT_VARIABLE);
          env.remove("UPGRADEKIT_VERSION");
          LISTEN_VARIABLES.forEach(env::remove);
          template = new ServiceRecord(command, cwd, env, List.of());
          newest = started;
        }
      } catch (IOException | RuntimeException e) {
        // gone meanwhile, or not ours to read
      }
    }
    if (template == null) {
      return null;
    }
    ServiceRecord rebuilt = new ServiceRecord(template.command(), template.workingDir(), template.environment(), found);
    save(rebuilt);
    return rebuilt;
  }

  private void save(ServiceRecord record) {
    StateFiles.write(recordFile, Json.canonicalBytes(record));
    deleteUnusedPortFiles(record);
  }

  /** {@code process-<random id><suffix>} beside the record: a port file or a start gate. */
  private Path newProcessFile(String suffix) {
    byte[] id = new byte[6];
    RANDOM.nextBytes(id);
    StringBuilder name = new StringBuilder(PORT_FILE_PREFIX);
    for (byte b : id) {
      name.append(Character.forDigit((b >> 4) & 0xf, 16)).append(Character.forDigit(b & 0xf, 16));
    }
    return recordFile.toAbsolutePath().getParent().resolve(name.append(suffix).toString());
  }

  /** Port files (and a service's temp files beside them) of processes no longer recorded. */
  private void deleteUnusedPortFiles(ServiceRecord record) {
    List<String> used = new ArrayList<>();
    for (ServiceRecord.RunningProcess p : record.processes()) {
      if (p.portFile() != null) {
        used.add(Path.of(p.portFile()).getFileName().toString());
      }
    }
    try (var files = Files.newDirectoryStream(recordFile.toAbsolutePath().getParent(), PORT_FILE_PREFIX + "*")) {
      for (Path f : files) {
        String name = f.getFileName().toString();
        if (name.contains(PORT_FILE_SUFFIX) && used.stream().noneMatch(name::startsWith)) {
          Files.deleteIfExists(f);
        }
      }
    } catch (IOException e) {
      log.accept("cannot clean up port files in " + recordFile.getParent() + ": " + e);
    }
  }
}
