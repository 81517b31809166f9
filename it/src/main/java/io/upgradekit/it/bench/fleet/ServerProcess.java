package io.upgradekit.it.bench.fleet;

import io.upgradekit.it.Command;
import io.upgradekit.it.HarnessException;
import io.upgradekit.it.Jvm;
import io.upgradekit.it.ManagedProcess;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One repo-server process of the benchmark, as operators run it (its jar, a rollout key, operator
 * credentials), on an ephemeral loopback port; its CPU time and memory read from {@code /proc}.
 * Several processes share the repository and the secrets, each with its own {@code --instance}.
 */
final class ServerProcess implements AutoCloseable {
  private static final Pattern LISTENING = Pattern.compile("listening on (http://\\S+/)");

  final String instance;
  final ManagedProcess process;
  final URI url;
  final Path gcLog;

  private ServerProcess(String instance, ManagedProcess process, URI url, Path gcLog) {
    this.instance = instance;
    this.process = process;
    this.url = url;
    this.gcLog = gcLog;
  }

  /** The collector's pauses so far, from its log: their number, their sum and the longest, in ms. */
  double[] gcPauses() {
    double count = 0;
    double sum = 0;
    double max = 0;
    try {
      Matcher m = Pattern.compile("Pause.* (\\d+\\.\\d+)ms$").matcher("");
      for (String line : Files.readAllLines(gcLog, StandardCharsets.UTF_8)) {
        if (m.reset(line).find()) {
          double ms = Double.parseDouble(m.group(1));
          count++;
          sum += ms;
          max = Math.max(max, ms);
        }
      }
    } catch (java.io.IOException e) {
      return new double[] {0, 0, 0};
    }
    return new double[] {count, sum, max};
  }

  /**
   * Starts one process.
   *
   * @param storeArguments {@code --root DIR}, or {@code --store URL}
   * @param startDelay {@code --rollout-start-delay}
   */
  static ServerProcess start(FleetOptions options, BenchRepository repo, List<String> storeArguments, String instance,
      Duration startDelay, Path logs) {
    List<String> command = new ArrayList<>();
    command.add(Jvm.java());
    command.addAll(options.serverJvm());
    command.add("-Xlog:gc:file=" + logs.resolve(instance + "-gc.log"));
    command.addAll(List.of("-jar", options.serverJar().toString()));
    command.addAll(storeArguments);
    command.addAll(List.of("--port", "0", "--bind", "127.0.0.1",
        "--trust-root", repo.trustRootFile.toString(),
        "--publish-token-file", repo.publishTokenFile.toString(),
        "--node-secret-file", repo.nodeSecretFile.toString(),
        "--rollout-key-file", repo.rolloutKeyFile.toString(),
        "--operator-credentials", repo.operatorsFile.toString(),
        "--rollout-start-delay", startDelay.toMillis() + "ms",
        "--instance", instance,
        // Every simulated node comes from 127.0.0.1: a per-address limit would limit the whole fleet.
        "--rate-limit", "0",
        "--access-log", "off",
        "--max-nodes", Integer.toString(Math.max(100_000, options.nodes() * 2))));
    ManagedProcess process = ManagedProcess.start(instance, command, Map.of(), repo.secrets,
        logs.resolve(instance + ".log"));
    try {
      Matcher m = process.awaitLog(LISTENING, Duration.ofSeconds(90));
      return new ServerProcess(instance, process, URI.create(m.group(1)), logs.resolve(instance + "-gc.log"));
    } catch (RuntimeException e) {
      process.close();
      throw e;
    }
  }

  /**
   * The nodes' credentials from the server's own {@code node-credential} command (one JVM for
   * all): what an operator installs on each node.
   */
  static Map<String, String> credentials(FleetOptions options, BenchRepository repo, List<String> nodes, Path logs) {
    List<String> command = new ArrayList<>(List.of(Jvm.java(), "-XX:TieredStopAtLevel=1", "-jar",
        options.serverJar().toString(), "node-credential", "--node-secret-file", repo.nodeSecretFile.toString()));
    command.addAll(nodes);
    Command.Result result = Command.run(command, Map.of(), repo.secrets, logs.resolve("node-credential.log"),
        Duration.ofMinutes(2)).requireSuccess("repo-server node-credential");
    Map<String, String> out = new HashMap<>();
    for (String line : result.stdout().split("\n")) {
      String[] parts = line.strip().split("\\s+");
      if (parts.length == 2) {
        out.put(parts[0], parts[1]);
      }
    }
    if (!out.keySet().containsAll(nodes)) {
      throw new HarnessException("node-credential printed no credential for some nodes; see "
          + logs.resolve("node-credential.log"));
    }
    return out;
  }

  /** User plus system CPU time of the process so far, in milliseconds. */
  long cpuMillis() {
    return cpuMillis(process.pid());
  }

  /** The process's resident memory now and at its peak, in MiB ({@code VmRSS}, {@code VmHWM}). */
  long[] memoryMiB() {
    long rss = 0;
    long hwm = 0;
    try {
      for (String line : Files.readAllLines(Path.of("/proc/" + process.pid() + "/status"), StandardCharsets.US_ASCII)) {
        if (line.startsWith("VmRSS:")) {
          rss = Long.parseLong(line.replaceAll("\\D", "")) / 1024;
        } else if (line.startsWith("VmHWM:")) {
          hwm = Long.parseLong(line.replaceAll("\\D", "")) / 1024;
        }
      }
    } catch (java.io.IOException | RuntimeException e) {
      return new long[] {0, 0};
    }
    return new long[] {rss, hwm};
  }

  static long cpuMillis(long pid) {
    try {
      String stat = Files.readString(Path.of("/proc/" + pid + "/stat"), StandardCharsets.US_ASCII);
      String[] f = stat.substring(stat.lastIndexOf(')') + 2).trim().split("\\s+");
      long ticks = Long.parseLong(f[11]) + Long.parseLong(f[12]); // utime, stime (fields 14 and 15)
      return ticks * 1000 / ClockTicks.PER_SECOND;
    } catch (java.io.IOException | RuntimeException e) {
      throw new HarnessException("cannot read the CPU time of process " + pid + " from /proc: " + e, e);
    }
  }

  /** {@code getconf CLK_TCK}: the unit of {@code /proc/<pid>/stat}'s times (100 on Linux almost always). */
  private static final class ClockTicks {
    static final long PER_SECOND = read();

    private static long read() {
      try {
        Process p = new ProcessBuilder("getconf", "CLK_TCK").redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.US_ASCII).strip();
        p.waitFor();
        return Long.parseLong(out);
      } catch (java.io.IOException | RuntimeException e) {
        return 100;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return 100;
      }
    }
  }

  @Override
  public void close() {
    process.stop(Duration.ofSeconds(10));
  }
}
