package io.upgradekit.it;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A long-running process the harness started: its output (stdout and stderr) goes to a log file,
 * it is registered with {@link ProcessReaper}, and {@link #close()} stops its whole tree (SIGTERM,
 * then SIGKILL after a grace period), including processes it started that a supplier names (for
 * the node updater: the service pids recorded in {@code state/service.json}).
 */
public final class ManagedProcess implements AutoCloseable {
  /** Grace period of {@link #close()}. */
  public static final Duration DEFAULT_GRACE = Duration.ofSeconds(10);

  private final String name;
  private final Process process;
  private final Path logFile;
  private volatile Supplier<Collection<Long>> extraPids = List::of;
  private boolean closed;

  private ManagedProcess(String name, Process process, Path logFile) {
    this.name = name;
    this.process = process;
    this.logFile = logFile;
  }

  /**
   * Starts {@code command} with the harness's environment plus {@code environment}, output appended
   * to {@code logFile}, standard input from {@code /dev/null}.
   */
  public static ManagedProcess start(String name, List<String> command, Map<String, String> environment,
      Path workingDir, Path logFile) {
    Objects.requireNonNull(name, "name");
    try {
      Files.createDirectories(logFile.toAbsolutePath().getParent());
      Files.writeString(logFile, "# " + String.join(" ", command) + System.lineSeparator(), StandardCharsets.UTF_8);
      ProcessBuilder builder = new ProcessBuilder(command)
          .directory(workingDir.toFile())
          .redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile()))
          .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
      environment.forEach((k, v) -> {
        if (v == null) {
          builder.environment().remove(k); // null: not inherited from the harness
        } else {
          builder.environment().put(k, v);
        }
      });
      ManagedProcess started = new ManagedProcess(name, builder.start(), logFile);
      ProcessReaper.register(started);
      return started;
    } catch (IOException e) {
      throw new HarnessException("cannot start " + name + " (" + String.join(" ", command) + "): " + e, e);
    }
  }

  public String name() {
    return name;
  }

  public long pid() {
    return process.pid();
  }

  public Path logFile() {
    return logFile;
  }

  public boolean isAlive() {
    return process.isAlive();
  }

  /** Processes outside this process's tree that {@link #close()} must stop too. */
  public void alsoStop(Supplier<Collection<Long>> pids) {
    this.extraPids = Objects.requireNonNull(pids, "pids");
  }

  /** The log's current size: pass it to {@link #awaitLog(Pattern, long, Duration)} to see only later lines. */
  public long logSize() {
    try {
      return Files.size(logFile);
    } catch (IOException e) {
      return 0;
    }
  }

  /** The first log line matching {@code pattern}; see {@link #awaitLog(Pattern, long, Duration)}. */
  public Matcher awaitLog(Pattern pattern, Duration timeout) {
    return awaitLog(pattern, 0, timeout);
  }

  /**
   * Waits for a log line, at or after byte {@code from}, that contains a match of {@code pattern}.
   *
   * @return the match
   * @throws HarnessException when the process exits or the time runs out first, with the log's tail
   */
  public Matcher awaitLog(Pattern pattern, long from, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      boolean aliveBefore = process.isAlive();
      for (String line : linesFrom(from)) {
        Matcher m = pattern.matcher(line);
        if (m.find()) {
          return m;
        }
      }
      if (!aliveBefore) {
        throw new HarnessException(name + " exited with status " + process.exitValue() + " before its log showed /"
            + pattern + "/; " + describeLog());
      }
      if (System.nanoTime() > deadline) {
        throw new HarnessException(name + " did not log /" + pattern + "/ within " + timeout.toSeconds() + " s; "
            + describeLog());
      }
      sleep(100);
    }
  }

  /** Waits for the process to exit; returns its status, or -1 if it still runs after {@code timeout}. */
  public int awaitExit(Duration timeout) {
    try {
      return process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS) ? process.exitValue() : -1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return -1;
    }
  }

  /** The last {@code lines} lines of the log. */
  public String logTail(int lines) {
    return tail(logFile, lines);
  }

  /** "log: FILE" and its last lines, for error messages. */
  public String describeLog() {
    return "log " + logFile + ", last lines:" + System.lineSeparator() + logTail(15);
  }

  /**
   * Stops the process tree (and {@link #alsoStop} processes): SIGTERM to all, SIGKILL to what is left
   * after {@code grace}.
   */
  public synchronized void stop(Duration grace) {
    if (closed) {
      return;
    }
    closed = true;
    ProcessReaper.unregister(this);
    List<ProcessHandle> survivors = ProcessTrees.terminateTree(process.toHandle(), extraPids.get(), grace);
    if (!survivors.isEmpty()) {
      throw new HarnessException(name + ": processes " + survivors + " survived SIGKILL");
    }
  }

  /**
   * Stops the process tree except the processes {@code spare} names and their descendants (a node
   * updater stopped while the service it started keeps running, as under systemd).
   */
  public synchronized void stopSparing(Duration grace, Collection<Long> spare) {
    if (closed) {
      return;
    }
    closed = true;
    ProcessReaper.unregister(this);
    java.util.Set<Long> spared = new java.util.HashSet<>(spare);
    for (long pid : spare) {
      ProcessHandle.of(pid).ifPresent(p -> p.descendants().forEach(d -> spared.add(d.pid())));
    }
    List<ProcessHandle> tree = ProcessTrees.snapshot(process.toHandle()).stream()
        .filter(p -> !spared.contains(p.pid())).toList();
    List<ProcessHandle> survivors = ProcessTrees.terminate(tree, grace);
    if (!survivors.isEmpty()) {
      throw new HarnessException(name + ": processes " + survivors + " survived SIGKILL");
    }
  }

  /** SIGKILL to the process tree except {@code spare} (and their descendants): a crash. */
  public synchronized void killSparing(Collection<Long> spare) {
    java.util.Set<Long> spared = new java.util.HashSet<>(spare);
    for (long pid : spare) {
      ProcessHandle.of(pid).ifPresent(p -> p.descendants().forEach(d -> spared.add(d.pid())));
    }
    List<ProcessHandle> tree = ProcessTrees.snapshot(process.toHandle()).stream()
        .filter(p -> !spared.contains(p.pid())).toList();
    // Deepest first, so that no process outlives its parent long enough to be re-parented and missed.
    for (int i = tree.size() - 1; i >= 0; i--) {
      tree.get(i).destroyForcibly();
    }
    stopSparing(Duration.ofSeconds(5), spare);
  }

  @Override
  public void close() {
    stop(DEFAULT_GRACE);
  }

  @Override
  public String toString() {
    return name + " (pid " + process.pid() + ")";
  }

  private List<String> linesFrom(long from) {
    try {
      byte[] bytes = Files.readAllBytes(logFile);
      int start = (int) Math.min(from, bytes.length);
      return new String(bytes, start, bytes.length - start, StandardCharsets.UTF_8).lines().toList();
    } catch (IOException e) {
      return List.of();
    }
  }

  static String tail(Path file, int lines) {
    try {
      List<String> all = Files.readAllLines(file, StandardCharsets.UTF_8);
      List<String> last = new ArrayList<>(all.subList(Math.max(0, all.size() - lines), all.size()));
      return "  " + String.join(System.lineSeparator() + "  ", last);
    } catch (IOException | java.io.UncheckedIOException e) {
      return "  (cannot read " + file + ": " + e + ")";
    }
  }

  static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new HarnessException("interrupted", e);
    }
  }
}
