package io.upgradekit.it.bench;

import io.upgradekit.it.Artifacts;
import io.upgradekit.it.Fleet;
import io.upgradekit.it.HarnessException;
import io.upgradekit.it.HelloBuild;
import io.upgradekit.it.LibraryReleaser;
import io.upgradekit.it.ManagedProcess;
import io.upgradekit.it.Node;
import io.upgradekit.it.NodeConfig;
import io.upgradekit.it.NodeConfig.HealthTarget;
import io.upgradekit.it.NodeConfig.Strategy;
import io.upgradekit.it.Ports;
import io.upgradekit.it.ProcessReaper;
import io.upgradekit.it.UpdateRecord;
import io.upgradekit.it.Workspace;
import io.upgradekit.it.load.LoadGenerator;
import io.upgradekit.it.load.LoadReport;
import io.upgradekit.schema.io.DurableFiles;
import io.upgradekit.schema.layout.RepositoryLayout;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;

/**
 * {@code bench/upgrade.sh}: hello-service upgraded by real node updaters under load, per switch
 * strategy, several rounds, each figure printed beside its reference.
 *
 * <p>Set-up (not measured): every release is built first with the plugin's library ({@link
 * LibraryReleaser}: real packages and deltas, signed) and its channel pointer kept aside; one
 * repo-server serves the repository; the nodes run the real distribution's {@code bin/updater run}
 * (poll every 1 s ± 200 ms, health every 250 ms on each process's own port, a 3 s watch window:
 * {@link NodeConfig#defaults}). The strategies run one after the other, so that one strategy's JVM
 * starts never compete with another's: each starts its nodes, lets them install the current
 * release, then runs its rounds.
 *
 * <p>A round: hello-service's own start is measured beside the first node while nothing else runs
 * ({@link OwnStart}: the strictest reference); then load at {@code --rate} requests/s per node
 * starts (a new connection per request, no retries); after 1 s the next release is published by
 * renaming its channel pointer into place (the moment "publish" counts from); when every node
 * committed it, the load runs 1 s more and stops.
 * Per node: failed requests by kind, the longest gap without a successful answer, publish → first
 * answer from the new version, publish → committed, the time per state ({@code history --json}),
 * and for {@code restart} where the gap went ({@link SwitchTimeline}). The next round waits until
 * each updater's fresh JVM (it restarts itself after an update) has polled once.
 *
 * <p>Options: {@code --rounds N} (3), {@code --rate N} requests/s per node (500), {@code --nodes N}
 * per strategy (1), {@code --strategies LIST} ({@code restart,restart-held-socket,restart-gated-held-socket,
 * overlap,overlap-held-socket}: each strategy with and without the service's listening socket held by
 * the updater's launcher, {@code service.socket}, and restart with {@code service.startGate}; also
 * {@code overlap-shared-port}: overlap with health checks on the shared service port, for comparison),
 * {@code --keep} (keep the work directory and its logs).
 */
public final class UpgradeBench {
  private static final Duration WAIT = Duration.ofMinutes(3);
  private static final String APP = "hello";
  private static final String CHANNEL = "stable";

  /**
   * A benchmarked configuration: the updater's strategy, where it checks health, and whether the
   * service's listening socket is held by the updater's launcher ({@code service.socket}).
   */
  enum Variant {
    RESTART("restart", Strategy.RESTART, HealthTarget.PROCESS_PORT, false),
    RESTART_HELD_SOCKET("restart-held-socket", Strategy.RESTART, HealthTarget.PROCESS_PORT, true),
    /** restart with service.startGate: the new version starts while the old one serves, accepts once it stopped. */
    RESTART_GATED_HELD_SOCKET("restart-gated-held-socket", Strategy.RESTART_GATED, HealthTarget.PROCESS_PORT, true),
    OVERLAP("overlap", Strategy.OVERLAP, HealthTarget.PROCESS_PORT, false),
    OVERLAP_HELD_SOCKET("overlap-held-socket", Strategy.OVERLAP, HealthTarget.PROCESS_PORT, true),
    OVERLAP_SHARED_PORT("overlap-shared-port", Strategy.OVERLAP, HealthTarget.SERVICE_PORT, false);

    final String label;
    final Strategy strategy;
    final HealthTarget health;
    final boolean heldSocket;

    Variant(String label, Strategy strategy, HealthTarget health, boolean heldSocket) {
      this.label = label;
      this.strategy = strategy;
      this.health = health;
      this.heldSocket = heldSocket;
    }

    static Variant of(String label) {
      for (Variant v : values()) {
        if (v.label.equals(label)) {
          return v;
        }
      }
      throw new IllegalArgumentException("unknown strategy '" + label
          + "'; use restart, restart-held-socket, restart-gated-held-socket, overlap, overlap-held-socket or "
          + "overlap-shared-port");
    }
  }

  record Options(int rounds, int rate, int nodes, List<Variant> variants, boolean keep) {
    static Options parse(String[] args) {
      int rounds = 3;
      int rate = 500;
      int nodes = 1;
      List<Variant> variants = List.of(Variant.RESTART, Variant.RESTART_HELD_SOCKET,
          Variant.RESTART_GATED_HELD_SOCKET, Variant.OVERLAP, Variant.OVERLAP_HELD_SOCKET);
      boolean keep = false;
      for (int i = 0; i < args.length; i++) {
        switch (args[i]) {
          case "--rounds" -> rounds = number(args, ++i, "--rounds", 1, 100);
          case "--rate" -> rate = number(args, ++i, "--rate", 1, 5000);
          case "--nodes" -> nodes = number(args, ++i, "--nodes", 1, 10);
          case "--strategies" -> variants = List.of(value(args, ++i, "--strategies").split(",")).stream()
              .map(String::strip).map(Variant::of).distinct().toList();
          case "--keep" -> keep = true;
          default -> throw new IllegalArgumentException("unknown option " + args[i]
              + "; use --rounds N, --rate N, --nodes N, --strategies restart,restart-held-socket,"
              + "restart-gated-held-socket,overlap,overlap-held-socket[,overlap-shared-port], --keep");
        }
      }
      return new Options(rounds, rate, nodes, variants, keep);
    }

    private static int number(String[] args, int i, String option, int min, int max) {
      String text = value(args, i, option);
      try {
        int n = Integer.parseInt(text);
        if (n >= min && n <= max) {
          return n;
        }
      } catch (NumberFormatException e) {
        // below
      }
      throw new IllegalArgumentException(option + " takes a whole number from " + min + " to " + max + ", not '"
          + text + "'");
    }

    private static String value(String[] args, int i, String option) {
      if (i >= args.length) {
        throw new IllegalArgumentException(option + " needs a value");
      }
      return args[i];
    }
  }

  private final Options options;
  private final PrintStream out;
  private final Map<String, byte[]> pointers = new LinkedHashMap<>();
  private final List<String> versions = new ArrayList<>();
  private Path repository;
  private Workspace ws;

  UpgradeBench(Options options, PrintStream out) {
    this.options = options;
    this.out = out;
  }

  public static void main(String[] args) {
    Options options;
    try {
      options = Options.parse(args);
    } catch (IllegalArgumentException e) {
      System.err.println("upgrade bench: " + e.getMessage());
      System.exit(2);
      return;
    }
    System.exit(new UpgradeBench(options, System.out).run());
  }

  int run() {
    ws = Workspace.create("upgrade-bench").keep(options.keep());
    try {
      out.println(Machine.describe());
      List<BenchReport.NodeRound> results = runIn();
      out.println();
      out.println("Results (min / median / max over the switches; \"own start\" is hello-service's exec → first 200"
          + " on /health, measured beside the node at the start of each round, before its load):");
      BenchReport.print(out, results);
      out.println();
      out.println("Finished " + Instant.now().truncatedTo(ChronoUnit.SECONDS) + ", load average "
          + Machine.loadAverage() + ".");
      return 0;
    } catch (RuntimeException e) {
      if (ProcessReaper.shuttingDown()) {
        out.println("Stopped by a signal: every process it started is stopped.");
        return 130;
      }
      ws.keep(true);
      out.println("FAILED: " + e.getMessage());
      e.printStackTrace(out);
      out.println("The work directory and its logs stay: " + ws.root());
      return 1;
    } finally {
      try {
        ws.close();
      } catch (RuntimeException e) {
        out.println("cleaning up: " + e.getMessage());
      }
      if (ws.keep()) {
        out.println("Work directory (kept): " + ws.root());
      }
    }
  }

  private List<BenchReport.NodeRound> runIn() {
    Artifacts artifacts = Artifacts.locate();
    repository = ws.dir("repository");
    buildReleases(artifacts, 1 + options.variants().size() * options.rounds());
    publish(versions.get(0));

    List<NodeConfig> configs = new ArrayList<>();
    Map<Variant, List<String>> ids = new LinkedHashMap<>();
    for (Variant v : options.variants()) {
      for (int i = 1; i <= options.nodes(); i++) {
        NodeConfig config = NodeConfig.defaults(v.label + "-" + i, v.strategy, Ports.freeLoopbackPort())
            .withHealthTarget(v.health);
        configs.add(v.heldSocket ? config.withHeldSocket() : config);
        ids.computeIfAbsent(v, k -> new ArrayList<>()).add(v.label + "-" + i);
      }
    }
    Fleet fleet = Fleet.start(ws, artifacts, repository, configs);
    out.println("repo-server on " + fleet.server().url() + "; work directory " + ws.root());

    List<BenchReport.NodeRound> results = new ArrayList<>();
    int next = 1;
    for (Variant v : options.variants()) {
      List<Node> nodes = ids.get(v).stream().map(fleet::node).toList();
      String installed = versions.get(next - 1);
      out.printf(Locale.ROOT, "%n%s: %d node%s install %s (full package) ...%n", v.label, nodes.size(),
          nodes.size() == 1 ? "" : "s", installed);
      nodes.forEach(Node::startDaemon);
      each(nodes, n -> {
        n.awaitCommitted(installed, 0, WAIT);
        awaitFreshPoll(n, 0, installed);
        return true;
      });
      for (int round = 1; round <= options.rounds(); round++, next++) {
        results.addAll(round(v, round, nodes, versions.get(next - 1), versions.get(next)));
      }
      each(nodes, n -> {
        n.close(); // its daemon and services: the next strategy has the machine to itself
        return true;
      });
    }
    return results;
  }

  private List<BenchReport.NodeRound> round(Variant variant, int round, List<Node> nodes, String from, String to) {
    Map<String, Long> marks = new LinkedHashMap<>();
    nodes.forEach(n -> marks.put(n.id(), n.mark()));
    // The reference first, while nothing else runs: the strictest moment for the target.
    OwnStart.Result own = OwnStart.measure(nodes.get(0), ws.dir("scratch"),
        ws.logs().resolve("own-start-" + variant.label + "-" + round + ".log"));
    sleep(300);
    LoadGenerator.Builder builder = LoadGenerator.builder().rate(options.rate() * nodes.size());
    nodes.forEach(n -> builder.target(n.id(), n.serviceUrl()));
    LoadGenerator load = ws.own(builder.build().start());
    sleep(1000); // the old version under load first
    double loadAverage = Machine.loadAverage1();
    long publishedNanos = load.nanosSinceStart();
    Instant published = publish(to);
    each(nodes, n -> n.awaitCommitted(to, marks.get(n.id()), WAIT));
    sleep(1000); // a second of load on the new version
    LoadReport report = load.stop();

    List<BenchReport.NodeRound> out = new ArrayList<>();
    for (int i = 0; i < nodes.size(); i++) {
      Node n = nodes.get(i);
      UpdateRecord event = n.lastEventTo(to).orElseThrow(() -> new HarnessException(n.id() + ": no event to " + to));
      LoadReport.Stats stats = report.target(n.id());
      LoadReport.VersionSeen seen = stats.versions().get(to);
      Duration firstAnswer = seen == null ? null : seen.first().minusNanos(publishedNanos);
      SwitchTimeline timeline = SwitchTimeline.of(from, to, read(n.serviceLog()),
          n.daemon().map(d -> read(d.logFile())).orElse(""), report, i, published);
      out.add(new BenchReport.NodeRound(variant.label, round, n.id(), from, to, loadAverage, options.rate(), stats,
          own, firstAnswer, event.endedAt() == null ? null : Duration.between(published, event.endedAt()),
          event.millisByState(), timeline));
    }
    for (BenchReport.NodeRound r : out) {
      this.out.printf(Locale.ROOT, "  round %d, %s %s → %s: %d of %d requests failed%s, longest gap %s (own start %s),"
          + " committed %s after the publication%n", round, r.node(), from, to, r.load().failed(), r.load().total(),
          r.load().failed() == 0 ? "" : " (" + r.load().failureSummary() + ")", LoadReport.millis(r.load().longestGap()),
          LoadReport.millis(own.toHealthy()), LoadReport.millis(r.publishToCommitted()));
    }
    each(nodes, n -> {
      awaitFreshPoll(n, marks.get(n.id()), to);
      return true;
    });
    return out;
  }

  // ------------------------------------------------------------------------------------- releases

  /** Releases 1.0.0 ... {@code count}.0.0 with real deltas; keeps each one's channel pointer. */
  private void buildReleases(Artifacts artifacts, int count) {
    out.printf(Locale.ROOT, "Building %d releases of hello-service (the plugin's library: packages, deltas, "
        + "signatures) ...%n", count);
    long start = System.nanoTime();
    Path key = ws.dir("keys").resolve("release.pem");
    LibraryReleaser.keygen(key, repository, ws.logs().resolve("keygen.log"));
    LibraryReleaser releaser = new LibraryReleaser(artifacts.helloDist(), ws.dir("releases"), key,
        repository.toString(), null, ws.logs().resolve("releases.log"));
    Path pointer = repository.resolve(RepositoryLayout.channelPointer(APP, CHANNEL));
    for (int i = 1; i <= count; i++) {
      String version = i + ".0.0";
      releaser.release(HelloBuild.of(version));
      versions.add(version);
      try {
        pointers.put(version, Files.readAllBytes(pointer));
      } catch (IOException e) {
        throw new HarnessException("cannot read " + pointer + ": " + e, e);
      }
    }
    out.printf(Locale.ROOT, "  %d releases in %.1f s%n", count, (System.nanoTime() - start) / 1e9);
  }

  /** Makes {@code version} the channel's release: its signed pointer, renamed into place. */
  private Instant publish(String version) {
    Path pointer = repository.resolve(RepositoryLayout.channelPointer(APP, CHANNEL));
    try {
      DurableFiles.writeAtomically(pointer, pointers.get(version));
    } catch (IOException e) {
      throw new HarnessException("cannot publish " + version + ": " + e, e);
    }
    return Instant.now();
  }

  // ---------------------------------------------------------------------------------- helpers

  /**
   * Waits until the daemon polled again after committing {@code version} (after its log position
   * {@code mark}): after an update it exits and bin/updater starts a fresh JVM, whose first poll
   * says "up to date". Until then the JVM start would compete with the next round.
   */
  private static void awaitFreshPoll(Node node, long mark, String version) {
    ManagedProcess daemon = node.daemon().orElseThrow(() -> new HarnessException(node.id() + ": no daemon"));
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (true) {
      String log = read(daemon.logFile());
      String after = log.substring((int) Math.min(mark, log.length()));
      int committed = after.indexOf("committed: now running " + version);
      if (committed >= 0 && after.indexOf("\nup to date", committed) >= 0) {
        return;
      }
      if (System.nanoTime() > deadline) {
        throw new HarnessException(node.id() + ": the updater did not poll again after committing " + version
            + "; " + daemon.describeLog());
      }
      sleep(100);
    }
  }

  /** Runs {@code action} on every node in parallel; the first failure is thrown. */
  private static <T> Map<String, T> each(List<Node> nodes, Function<Node, T> action) {
    Map<String, CompletableFuture<T>> futures = new LinkedHashMap<>();
    nodes.forEach(n -> futures.put(n.id(), CompletableFuture.supplyAsync(() -> action.apply(n))));
    Map<String, T> results = new LinkedHashMap<>();
    futures.forEach((id, f) -> results.put(id, f.join()));
    return results;
  }

  private static String read(Path file) {
    try {
      return Files.readString(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      return "";
    }
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new HarnessException("interrupted", e);
    }
  }
}
