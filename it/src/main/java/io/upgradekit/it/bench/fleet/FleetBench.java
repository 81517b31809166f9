package io.upgradekit.it.bench.fleet;

import io.upgradekit.it.HarnessException;
import io.upgradekit.schema.api.ApiBody;
import io.upgradekit.schema.api.RolloutReport;
import io.upgradekit.schema.model.RolloutDecision;
import io.upgradekit.schema.sign.MetadataVerifier;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The fleet benchmark ({@code bench/fleet.sh}; results in docs/performance.md and
 * docs/scaling.md): N simulated nodes ({@link Simulator}) against real repo-server processes on one
 * repository. A run:
 *
 * <ol>
 *   <li><b>set-up</b>: keys, trust root, secrets; the servers start; {@code 1.0.0} (no plan) is
 *       published through the API and every node's credential is issued by {@code repo-server
 *       node-credential};
 *   <li><b>warm-up</b> (one heartbeat interval and a little): nodes start at random moments, poll
 *       and announce themselves; {@code 2.0.0}'s blob and manifest (with the plan) are uploaded;
 *   <li><b>steady</b>: the idle fleet is measured (CPU, requests, latencies);
 *   <li><b>rollout</b>: the channel pointer moves to {@code 2.0.0} (the publication), and the run
 *       measures until every node runs it healthy;
 *   <li>the servers' rollout report gives the decisions; the lease files are checked on disk.
 * </ol>
 *
 * Prints Markdown tables ({@link FleetReport}); exit status 0 when the rollout finished, 1 when it
 * did not, 2 for bad options.
 */
public final class FleetBench {
  private FleetBench() {}

  public static void main(String[] args) throws Exception {
    FleetOptions options;
    try {
      options = FleetOptions.parse(args);
    } catch (IllegalArgumentException e) {
      System.err.println("FleetBench: " + e.getMessage());
      System.exit(2);
      return;
    }
    Path work = options.work() != null ? Files.createDirectories(options.work())
        : Files.createTempDirectory("fleet-bench-");
    try {
      System.exit(run(options, work) ? 0 : 1);
    } finally {
      if (!options.keep()) {
        deleteTree(work);
      } else {
        System.err.println("kept " + work);
      }
    }
  }

  static boolean run(FleetOptions options, Path work) throws Exception {
    String loadBefore = Files.readString(Path.of("/proc/loadavg")).split(" 1?\\d+/")[0].trim();
    String machine = machine();
    BenchRepository repo = new BenchRepository(work.resolve("secrets"));
    Path root = work.resolve("repo");
    Files.createDirectories(root);
    Path logs = work.resolve("logs");
    List<String> storeArguments = options.directoryStore() ? List.of("--root", root.toString())
        : List.of("--store", options.store());
    Duration warmup = options.heartbeat().plusSeconds(3);
    List<ServerProcess> servers = new ArrayList<>();
    try {
      for (int i = 1; i <= options.servers(); i++) {
        servers.add(ServerProcess.start(options, repo, storeArguments, "s" + i, warmup, logs));
        log("repo-server s" + i + " listens on " + servers.get(i - 1).url);
      }
      URI first = servers.get(0).url;
      BenchRepository.Release current = repo.release(BenchRepository.FROM, 1, null);
      repo.upload(first, current);
      repo.point(first, current, null);

      List<String> ids = new ArrayList<>();
      for (int i = 1; i <= options.nodes(); i++) {
        ids.add(String.format(Locale.ROOT, "node-%05d", i));
      }
      Map<String, String> credentials = ServerProcess.credentials(options, repo, ids, logs);
      List<URI> urls = servers.stream().map(s -> s.url).toList();
      List<SimNode> nodes = new ArrayList<>();
      for (int i = 0; i < ids.size(); i++) {
        nodes.add(new SimNode(i, ids.get(i), Simulator.basic(ids.get(i), credentials.get(ids.get(i))),
            Simulator.serverFor(urls, i), Simulator.labels(i)));
      }
      Recorder recorder = new Recorder();
      try (Simulator sim = new Simulator(options, recorder, nodes, new MetadataVerifier(repo.trust,
          Simulator.clock()))) {
        log(options.nodes() + " nodes start; warm-up " + FleetOptions.seconds(warmup));
        sim.start();
        BenchRepository.Release next = repo.release(BenchRepository.TO, 2,
            BenchRepository.plan(options.minAvailablePercent(), options.bake()));
        repo.upload(first, next);
        Thread.sleep(warmup.toMillis());

        log("steady: the idle fleet for " + FleetOptions.seconds(options.steady()));
        recorder.phase(Recorder.Phase.STEADY);
        List<Long> cpu0 = cpu(servers);
        long own0 = Simulator.ownCpuMillis();
        long t0 = System.nanoTime();
        Thread.sleep(options.steady().toMillis());
        List<Long> cpu1 = cpu(servers);
        long own1 = Simulator.ownCpuMillis();
        double steadySeconds = (System.nanoTime() - t0) / 1e9;

        String etag = repo.pointerEtag(first);
        sim.published(System.nanoTime());
        Instant publishedAt = Instant.now();
        repo.point(first, next, etag);
        log("published " + BenchRepository.TO + "; waiting for every node to run it healthy");
        long p0 = System.nanoTime();
        boolean finished = sim.awaitAllHealthy(options.timeout());
        double rolloutSeconds = (System.nanoTime() - p0) / 1e9;
        recorder.phase(Recorder.Phase.AFTER);
        List<Long> cpu2 = cpu(servers);
        long own2 = Simulator.ownCpuMillis();
        log((finished ? "every node is healthy on " : "timed out waiting for ") + BenchRepository.TO + " after "
            + FleetReport.secs(rolloutSeconds));

        List<RolloutDecision> decisions = decisions(repo, first);
        List<long[]> memory = servers.stream().map(ServerProcess::memoryMiB).toList();
        List<double[]> pauses = servers.stream().map(ServerProcess::gcPauses).toList();
        sim.close();
        servers.forEach(ServerProcess::close);
        LeaseFiles.Summary disk = options.directoryStore()
            ? LeaseFiles.read(root, BenchRepository.APP, BenchRepository.TO) : null;
        String loadAfter = Files.readString(Path.of("/proc/loadavg")).split(" 1?\\d+/")[0].trim();
        if (options.nodesCsv() != null) {
          writeCsv(options.nodesCsv(), sim.outcome());
        }
        new FleetReport(options, machine, loadBefore, loadAfter, finished, steadySeconds, rolloutSeconds,
            minus(cpu1, cpu0), minus(cpu2, cpu1), own1 - own0, own2 - own1, memory, recorder, sim.outcome(), decisions,
            publishedAt, disk, pauses).print(System.out);
        return finished;
      }
    } finally {
      servers.forEach(ServerProcess::close);
    }
  }

  /** Every node's timeline, seconds after the publication (empty when it did not happen). */
  private static void writeCsv(Path file, Simulator.Outcome outcome) throws IOException {
    StringBuilder out = new StringBuilder("node,wave,noticed,granted,stopped,healthy,asks,last_wait\n");
    for (SimNode n : outcome.nodes()) {
      synchronized (n) {
        out.append(n.id).append(',').append(n.wave + 1).append(',').append(rel(n.noticedNanos, outcome)).append(',')
            .append(rel(n.grantedNanos, outcome)).append(',').append(rel(n.stoppedNanos, outcome)).append(',')
            .append(rel(n.healthyNanos, outcome)).append(',').append(n.asks).append(',')
            .append(n.lastWait == null ? "" : n.lastWait).append('\n');
      }
    }
    Files.writeString(file, out);
  }

  private static String rel(long nanos, Simulator.Outcome outcome) {
    return nanos == 0 ? "" : String.format(Locale.ROOT, "%.2f", (nanos - outcome.publishedNanos()) / 1e9);
  }

  private static List<RolloutDecision> decisions(BenchRepository repo, URI server) {
    try {
      RolloutReport report = ApiBody.ROLLOUT_REPORT.read(repo.report(server).getBytes(StandardCharsets.UTF_8));
      return report.decisions().stream().sorted(Comparator.comparingLong(RolloutDecision::sequence)).toList();
    } catch (RuntimeException e) {
      log("no rollout report: " + e.getMessage());
      return List.of();
    }
  }

  private static List<Long> cpu(List<ServerProcess> servers) {
    return servers.stream().map(ServerProcess::cpuMillis).toList();
  }

  private static List<Long> minus(List<Long> a, List<Long> b) {
    List<Long> out = new ArrayList<>();
    for (int i = 0; i < a.size(); i++) {
      out.add(a.get(i) - b.get(i));
    }
    return out;
  }

  static String machine() throws IOException {
    String cpu = Files.readAllLines(Path.of("/proc/cpuinfo")).stream().filter(l -> l.startsWith("model name"))
        .findFirst().map(l -> l.substring(l.indexOf(':') + 1).strip()).orElse("unknown CPU");
    long kib = Files.readAllLines(Path.of("/proc/meminfo")).stream().filter(l -> l.startsWith("MemTotal:"))
        .findFirst().map(l -> Long.parseLong(l.replaceAll("\\D", ""))).orElse(0L);
    return "Date: " + Instant.now().truncatedTo(ChronoUnit.SECONDS) + "\nMachine: "
        + Runtime.getRuntime().availableProcessors() + " cores, " + cpu + ", "
        + String.format(Locale.ROOT, "%.1f GiB", kib / 1024.0 / 1024.0) + "; servers and simulator on the same cores\n"
        + "Java: " + System.getProperty("java.vm.name") + " " + System.getProperty("java.runtime.version");
  }

  private static void log(String line) {
    System.err.println("[" + Instant.now().truncatedTo(ChronoUnit.SECONDS) + "] " + line);
  }

  private static void deleteTree(Path dir) {
    try (var walk = Files.walk(dir)) {
      walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      throw new HarnessException("cannot delete " + dir + ": " + e, e);
    }
  }
}
