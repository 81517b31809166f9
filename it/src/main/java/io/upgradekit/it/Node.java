package io.upgradekit.it;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One node: a node updater with its own directory, configuration and target home, managing its own
 * hello-service on its own port. The updater runs as an operator runs it, through the
 * distribution's {@code bin/updater}: as a daemon ({@link #startDaemon()}, {@code run}) or once
 * ({@link #runOnce}, {@code run --once}); {@link #status()} and {@link #history()} are its
 * {@code status --json} and {@code history --json}.
 *
 * <p>Layout of {@link #directory()}: {@code updater.yaml}, {@code credential}, {@code home/} (the
 * target: {@code current}, {@code versions/}, {@code state/}, the service's log in {@code
 * state/service.log}), {@code tmp/} (the updater's native-library directory). Logs of the updater
 * itself go to the scenario's log directory as {@code <node>-*.log}.
 *
 * <p>{@link #close()} stops the daemon and every service process the updater recorded, whether it
 * still runs or not (services outlive the updater by design).
 */
public final class Node implements AutoCloseable {
  /**
   * The daemon's line after each update: {@code committed: now running 2.0.0}, {@code rolled back
   * [HEALTH_CHECK_FAILED]: ...}, {@code refused [HASH_MISMATCH]: ...}, {@code failed [...]: ...}.
   */
  static final Pattern RESULT_LINE = Pattern.compile(
      "^(committed|rolled back|refused|failed|staged)(?: \\[([A-Z0-9_]+)\\])?: (.*)$");

  private NodeConfig config;
  private URI repository;
  private final UpdaterInstall updater;
  private final Path directory;
  private final Path logs;
  private ManagedProcess daemon;
  private int daemonStarts;
  private int commands;

  private Node(NodeConfig config, UpdaterInstall updater, Path directory, Path logs) {
    this.config = config;
    this.updater = updater;
    this.directory = directory;
    this.logs = logs;
  }

  /**
   * Creates the node's directory and configuration; nothing runs yet.
   *
   * @param directory the node's own directory (created)
   * @param credential its credential from repo-server ({@link RepoServer#nodeCredentials})
   * @param trustRoot the pinned trust root (copied into the node's directory, as an operator would)
   */
  public static Node create(NodeConfig config, UpdaterInstall updater, Path directory, URI repository,
      Path trustRoot, String credential, Path logs) {
    try {
      Files.createDirectories(directory.resolve("home"));
      Files.createDirectories(directory.resolve("tmp"));
      Path credentialFile = directory.resolve("credential");
      if (!Files.exists(credentialFile)) {
        Files.createFile(credentialFile, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
      }
      Files.writeString(credentialFile, credential + "\n", StandardCharsets.US_ASCII);
      Path pinned = directory.resolve("root.json");
      Files.copy(trustRoot, pinned, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
      Node node = new Node(config, updater, directory.toRealPath(), logs);
      node.writeConfig(repository);
      ProcessReaper.register(node);
      return node;
    } catch (IOException e) {
      throw new HarnessException("cannot set up node " + config.nodeId() + " in " + directory + ": " + e, e);
    }
  }

  /** Rewrites {@code updater.yaml} (e.g. after the server moved); takes effect on the next updater start. */
  public synchronized void writeConfig(URI repository) {
    this.repository = repository;
    try {
      Files.writeString(configFile(), config.toYaml(repository, directory.resolve("root.json"), home(),
          directory.resolve("credential")), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new HarnessException("cannot write " + configFile() + ": " + e, e);
    }
  }

  /**
   * Replaces the configuration (same node id and service port: it is the same node) and rewrites
   * {@code updater.yaml}; takes effect on the next updater start, like an operator's edit.
   */
  public synchronized void reconfigure(NodeConfig newConfig) {
    if (!newConfig.nodeId().equals(config.nodeId()) || newConfig.servicePort() != config.servicePort()) {
      throw new IllegalArgumentException("reconfigure keeps the node id and service port: " + newConfig);
    }
    config = newConfig;
    writeConfig(repository);
  }

  /** The repository URL {@code updater.yaml} names. */
  public synchronized URI repository() {
    return repository;
  }

  public String id() {
    return config.nodeId();
  }

  public synchronized NodeConfig config() {
    return config;
  }

  public Path directory() {
    return directory;
  }

  public Path configFile() {
    return directory.resolve("updater.yaml");
  }

  /** The target's home: {@code current}, {@code versions/}, {@code state/}. */
  public Path home() {
    return directory.resolve("home");
  }

  /** The service's output ({@code home/state/service.log}). */
  public Path serviceLog() {
    return home().resolve("state/service.log");
  }

  /** {@code http://127.0.0.1:<servicePort>/}. */
  public URI serviceUrl() {
    return config.serviceUrl();
  }

  /** Where {@code current} points ({@code versions/<v>} → {@code v}), without asking the updater. */
  public Optional<String> currentVersion() {
    try {
      Path link = Files.readSymbolicLink(home().resolve("current"));
      return Optional.of(link.getFileName().toString());
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  /**
   * The state {@code state/journal.json} records for the unfinished event ({@code STAGE}, {@code
   * SWITCH}, ...), read without the updater; empty when no event is unfinished.
   */
  public Optional<String> journalState() {
    Path journal = home().resolve("state/journal.json");
    try {
      String json = Files.readString(journal, StandardCharsets.UTF_8);
      return Optional.ofNullable(JsonSupport.text(JsonSupport.tree(json, journal.toString()), "state"));
    } catch (NoSuchFileException e) {
      return Optional.empty();
    } catch (IOException | HarnessException e) {
      return Optional.empty(); // replaced while read: the next look sees the new one
    }
  }

  // ---------------------------------------------------------------- commands

  /** {@code bin/updater run --once}: one poll and the update it finds. */
  public Command.Result runOnce(Duration timeout) {
    return updater("run", timeout, List.of("run", "--once"));
  }

  /** {@code bin/updater <arguments> -c updater.yaml}, bounded by {@code timeout}. */
  public Command.Result updater(String logName, Duration timeout, List<String> arguments) {
    List<String> args = new ArrayList<>(arguments);
    args.add("-c");
    args.add(configFile().toString());
    Path log = logs.resolve(id() + "-" + (++commands) + "-" + logName + ".log");
    return Command.run(updater.command(args), environment(), directory, log, timeout);
  }

  /** {@code status --json}. */
  public NodeStatus status() {
    Command.Result r = updater("status", Duration.ofSeconds(60), List.of("status", "--json")).requireSuccess(
        id() + ": updater status");
    return JsonSupport.read(r.stdout(), NodeStatus.class, id() + ": updater status --json");
  }

  /** {@code history --json}: every event, oldest first (an unfinished one last). */
  public List<UpdateRecord> history() {
    Command.Result r = updater("history", Duration.ofSeconds(60), List.of("history", "--json")).requireSuccess(
        id() + ": updater history");
    return JsonSupport.read(r.stdout(), new TypeReference<List<UpdateRecord>>() { }, id() + ": updater history --json");
  }

  /** The last event of {@link #history()} that aimed at {@code version}. */
  public Optional<UpdateRecord> lastEventTo(String version) {
    List<UpdateRecord> all = history();
    for (int i = all.size() - 1; i >= 0; i--) {
      if (version.equals(all.get(i).toVersion())) {
        return Optional.of(all.get(i));
      }
    }
    return Optional.empty();
  }

  // ---------------------------------------------------------------- daemon

  /** Starts {@code bin/updater run} (the daemon); its output goes to {@code <node>-daemon-<n>.log}. */
  public synchronized ManagedProcess startDaemon() {
    return startDaemon(Map.of());
  }

  /**
   * Starts the daemon with {@code extraEnvironment} added to the updater's environment, e.g. the
   * crash tests' {@code UPGRADEKIT_TEST_PAUSE_AT=SWITCH} (docs/node-updater.md, "Test hook").
   */
  public synchronized ManagedProcess startDaemon(Map<String, String> extraEnvironment) {
    if (daemon != null && daemon.isAlive()) {
      throw new HarnessException(id() + ": the daemon already runs");
    }
    List<String> args = List.of("run", "-c", configFile().toString());
    Map<String, String> env = environment();
    if (config.heldSocket()) {
      env.put("UPDATER_LISTEN", config.listen()); // the launcher binds it and holds it for the daemon's life
    }
    env.putAll(extraEnvironment);
    daemon = ManagedProcess.start(id() + " updater", updater.command(args), env, directory,
        logs.resolve(id() + "-daemon-" + (++daemonStarts) + ".log"));
    daemon.alsoStop(this::servicePids);
    return daemon;
  }

  /** The running daemon, if any. */
  public synchronized Optional<ManagedProcess> daemon() {
    return Optional.ofNullable(daemon);
  }

  /** The daemon log's current size, to {@linkplain #awaitResult(long, Duration) wait} for later lines only. */
  public synchronized long mark() {
    return daemon == null ? 0 : daemon.logSize();
  }

  /**
   * Waits for the daemon's next result line after {@code mark}: {@code committed: now running
   * 2.0.0}, {@code rolled back [CODE]: ...} and so on.
   */
  public Result awaitResult(long mark, Duration timeout) {
    ManagedProcess d;
    synchronized (this) {
      d = daemon;
    }
    if (d == null) {
      throw new HarnessException(id() + ": no daemon runs; startDaemon() first");
    }
    Matcher m = d.awaitLog(RESULT_LINE, mark, timeout);
    return new Result(m.group(1), m.group(2), m.group(3));
  }

  /**
   * Waits until the daemon reports {@code committed: now running <version>} after {@code mark} (0:
   * since it started); a {@code rolled back}, {@code refused} or {@code failed} line before that
   * fails the wait.
   */
  public Result awaitCommitted(String version, long mark, Duration timeout) {
    ManagedProcess d;
    synchronized (this) {
      d = daemon;
    }
    if (d == null) {
      throw new HarnessException(id() + ": no daemon runs; startDaemon() first");
    }
    Pattern wanted = Pattern.compile("^(?:committed: now running " + Pattern.quote(version)
        + "$|(rolled back|refused|failed)(?: \\[([A-Z0-9_]+)\\])?: (.*)$)");
    Matcher m = d.awaitLog(wanted, mark, timeout);
    if (m.group(1) != null) {
      Result r = new Result(m.group(1), m.group(2), m.group(3));
      throw new HarnessException(id() + ": expected to commit " + version + " but the updater reported '" + r
          + "'; " + d.describeLog());
    }
    return new Result("committed", null, "now running " + version);
  }

  /**
   * An update's result line.
   *
   * @param outcome {@code committed}, {@code rolled back}, {@code refused}, {@code failed} or {@code staged}
   * @param code the error code, or null
   * @param message the rest of the line
   */
  public record Result(String outcome, String code, String message) {
    public boolean committed() {
      return outcome.equals("committed");
    }

    @Override
    public String toString() {
      return outcome + (code == null ? "" : " [" + code + "]") + ": " + message;
    }
  }

  /** Stops the daemon (SIGTERM, SIGKILL after {@code grace}); the service keeps running. */
  public synchronized void stopDaemon(Duration grace) {
    if (daemon != null) {
      daemon.stopSparing(grace, servicePids());
    }
  }

  /** SIGKILL to the updater at once (a crash, like {@code kill -9}); the service keeps running. */
  public synchronized void killDaemon() {
    if (daemon != null) {
      daemon.killSparing(servicePids());
    }
  }

  // ---------------------------------------------------------------- services

  /**
   * The service processes the updater recorded ({@code state/service.json}) that are still alive
   * and are the processes it started (start times compared, so a reused pid is never touched).
   */
  public List<Long> servicePids() {
    Path file = home().resolve("state/service.json");
    List<Long> out = new ArrayList<>();
    try {
      if (!Files.exists(file)) {
        return out;
      }
      JsonNode record = JsonSupport.tree(Files.readString(file, StandardCharsets.UTF_8), file.toString());
      for (JsonNode p : record.path("processes")) {
        long pid = p.path("pid").asLong();
        String started = JsonSupport.text(p, "startedAt");
        Optional<ProcessHandle> handle = ProcessHandle.of(pid);
        if (handle.isPresent() && handle.get().isAlive() && (started == null
            || handle.get().info().startInstant().map(i -> i.equals(Instant.parse(started))).orElse(false))) {
          out.add(pid);
        }
      }
    } catch (IOException | RuntimeException e) {
      // a half-written or missing record: nothing to stop from it
    }
    return out;
  }

  @Override
  public synchronized void close() {
    ProcessReaper.unregister(this);
    List<Long> services = servicePids();
    if (daemon != null) {
      daemon.alsoStop(this::servicePids);
      daemon.stop(ManagedProcess.DEFAULT_GRACE);
    }
    List<ProcessHandle> rest = new ArrayList<>();
    for (long pid : services) {
      ProcessHandle.of(pid).ifPresent(rest::add);
    }
    for (long pid : servicePids()) {
      ProcessHandle.of(pid).ifPresent(rest::add);
    }
    ProcessTrees.terminate(rest, ManagedProcess.DEFAULT_GRACE);
  }

  @Override
  public String toString() {
    return "node " + id() + " (" + config.strategy().yaml() + (config.heldSocket() ? ", held socket" : "")
        + ", port " + config.servicePort() + ")";
  }

  private Map<String, String> environment() {
    Map<String, String> env = new HashMap<>();
    env.put("JAVA_HOME", Jvm.home());
    env.put("JAVA", Jvm.java());
    env.put("UPDATER_NATIVE_TMP", directory.resolve("tmp").toString());
    return env;
  }
}
