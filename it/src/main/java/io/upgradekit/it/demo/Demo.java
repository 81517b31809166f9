package io.upgradekit.it.demo;

import io.upgradekit.it.Artifacts;
import io.upgradekit.it.Command;
import io.upgradekit.it.Fleet;
import io.upgradekit.it.HelloBuild;
import io.upgradekit.it.MavenReleaser;
import io.upgradekit.it.Node;
import io.upgradekit.it.NodeConfig;
import io.upgradekit.it.NodeConfig.Strategy;
import io.upgradekit.it.Ports;
import io.upgradekit.it.ProcessReaper;
import io.upgradekit.it.RepoServer;
import io.upgradekit.it.UpdateRecord;
import io.upgradekit.it.Workspace;
import io.upgradekit.it.load.LoadGenerator;
import io.upgradekit.it.load.LoadReport;
import io.upgradekit.plugin.release.ReleaseResult;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The README's first command ({@code ./demo.sh}, after the build): hello-service released with
 * {@code mvn upgrade:release}, served by repo-server, installed on three nodes (one {@code restart},
 * two {@code overlap}) from the full package, then upgraded to 2.0.0 by delta under load. Ends with,
 * per node, the download, the time in each state and the requests that failed during the switch.
 *
 * <p>Options: {@code --work DIR} (default: a new temporary directory), {@code --keep} (keep it),
 * {@code --rate N} (requests per second, default 200; 20 with {@code --set}), {@code --set} (the
 * release-set example instead: {@link SetDemo}), {@code --first-phase N} and {@code --started-at
 * EPOCH_MS} (set by {@code demo.sh}, which runs the build as phase 1).
 */
public final class Demo {
  static final List<String> STATES = List.of("BEGIN", "RESOLVE", "DOWNLOAD", "STAGE", "GATE", "STOP", "SWITCH",
      "START", "VERIFY", "COMMIT", "END_ACTION");
  private static final Duration WAIT = Duration.ofMinutes(3);
  private static final Pattern KEY_ID = Pattern.compile("Created signing key ([0-9a-f]{12})");

  /** @param rate requests per second; 0 for the run's default (200, or 20 with {@code set}) */
  record Options(Path work, boolean keep, int rate, int firstPhase, long startedAtMillis, boolean set) {
    static Options parse(String[] args) {
      Path work = null;
      boolean keep = false;
      boolean set = false;
      int rate = 0;
      int first = 1;
      long started = System.currentTimeMillis();
      for (int i = 0; i < args.length; i++) {
        switch (args[i]) {
          case "--work" -> work = Path.of(value(args, ++i, "--work"));
          case "--keep" -> keep = true;
          case "--set" -> set = true;
          case "--rate" -> rate = Integer.parseInt(value(args, ++i, "--rate"));
          case "--first-phase" -> first = Integer.parseInt(value(args, ++i, "--first-phase"));
          case "--started-at" -> started = Long.parseLong(value(args, ++i, "--started-at"));
          default -> throw new IllegalArgumentException("unknown option " + args[i]
              + "; use --work DIR, --keep, --rate N, --set");
        }
      }
      if (rate < 0 || rate > 5000) {
        throw new IllegalArgumentException("--rate must be 1..5000 requests per second");
      }
      return new Options(work, keep, rate, first, started, set);
    }

    private static String value(String[] args, int i, String option) {
      if (i >= args.length) {
        throw new IllegalArgumentException(option + " needs a value");
      }
      return args[i];
    }
  }

  private final Options options;
  private final Terminal out;

  Demo(Options options, PrintStream stream) {
    this.options = options;
    this.out = new Terminal(stream);
    for (int i = 1; i < options.firstPhase(); i++) {
      out.skipPhase();
    }
  }

  public static void main(String[] args) {
    Options options;
    try {
      options = Options.parse(args);
    } catch (IllegalArgumentException e) {
      System.err.println("demo: " + e.getMessage());
      System.exit(2);
      return;
    }
    System.exit(new Demo(options, System.out).run());
  }

  int run() {
    Workspace ws = options.work() == null ? Workspace.create("demo").keep(options.keep())
        : Workspace.at(options.work()).keep(true);
    try {
      return options.set() ? new SetDemo(options, out).runIn(ws) : runIn(ws);
    } catch (RuntimeException e) {
      if (ProcessReaper.shuttingDown()) {
        out.line("Stopped by a signal: every process it started is stopped.");
        return 130;
      }
      out.blank();
      out.line("FAILED: " + e.getMessage());
      out.line("The logs are in " + ws.logs() + (options.work() == null && !options.keep()
          ? " (run with --keep to keep them)" : ""));
      return 1;
    } finally {
      try {
        ws.close();
      } catch (RuntimeException e) {
        out.line("cleaning up: " + e.getMessage());
      }
    }
  }

  private int runIn(Workspace ws) {
    Artifacts artifacts = Artifacts.locate();
    Path repository = ws.dir("repository");
    Path key = ws.dir("keys").resolve("release.pem");
    MavenReleaser maven = MavenReleaser.create(artifacts, ws.dir("build"), key, repository.toString(), ws.logs());

    out.phase("Create a release key and trust root: mvn upgrade:keygen");
    Command.Result keygen = maven.keygen();
    Matcher keyId = KEY_ID.matcher(readQuietly(keygen.logFile()));
    out.done();
    out.detail((keyId.find() ? "key " + keyId.group(1) + "..., " : "") + "trust root repository/root.json");

    HelloBuild v1 = HelloBuild.of("1.0.0");
    out.phase("Release hello 1.0.0: mvn package upgrade:release");
    ReleaseResult r1 = maven.release(v1);
    out.done();
    out.detail("full package " + Terminal.bytes(r1.packageBlob().size()) + " (a distribution tree: bin/, lib/, conf/)");

    List<NodeConfig> configs = List.of(
        NodeConfig.defaults("node-1", Strategy.RESTART, Ports.freeLoopbackPort()),
        NodeConfig.defaults("node-2", Strategy.OVERLAP, Ports.freeLoopbackPort()),
        NodeConfig.defaults("node-3", Strategy.OVERLAP, Ports.freeLoopbackPort()));
    out.phase("Start repo-server and set up 3 nodes");
    Fleet fleet = Fleet.start(ws, artifacts, repository, configs, RepoServer.Options.defaults());
    out.done();
    out.detail("repo-server on " + fleet.server().url());
    for (Node n : fleet.nodes()) {
      out.detail(String.format(Locale.ROOT, "%-7s %-8s hello-service on 127.0.0.1:%d", n.id(),
          n.config().strategy().yaml(), n.config().servicePort()));
    }

    out.phase("Start the node updaters (bin/updater run): they install 1.0.0");
    fleet.startDaemons();
    awaitAll(fleet, "1.0.0", fleet.marks());
    out.done("3 of 3 run 1.0.0");

    int rate = options.rate() > 0 ? options.rate() : 200;
    out.phase("Load the nodes: " + rate + " requests/s, a new connection each");
    LoadGenerator load = fleet.load(rate).build().start();
    ws.own(load);
    sleep(1000);
    out.done();

    HelloBuild v2 = HelloBuild.of("2.0.0").withGreeting("Hi");
    Map<String, Long> marks = fleet.marks();
    out.phase("Release hello 2.0.0: mvn package upgrade:release");
    ReleaseResult r2 = maven.release(v2);
    long published = load.nanosSinceStart();
    ReleaseResult.Delta delta = r2.deltas().stream().filter(d -> d.fromVersion().equals("1.0.0")).findFirst()
        .orElseThrow(() -> new IllegalStateException("2.0.0 was published without a delta from 1.0.0"));
    out.done();
    out.detail("-Dupgrade.version=2.0.0 -Dhello.greeting=Hi");
    out.detail(String.format(Locale.ROOT, "delta from 1.0.0: %s, %s of the %s package",
        Terminal.bytes(delta.blob().size()), percent(delta.ratio()), Terminal.bytes(r2.packageBlob().size())));

    out.phase("The nodes upgrade to 2.0.0 by delta, under load");
    awaitAll(fleet, "2.0.0", marks);
    sleep(1000); // a second of load after the last switch
    LoadReport report = load.stop();
    out.done("3 of 3 run 2.0.0");

    Map<String, UpdateRecord> upgrades = fleet.forEachNode(n -> n.lastEventTo("2.0.0").orElseThrow());
    Map<String, RepoServer.BlobDownloads> downloads = fleet.server().blobDownloads();
    results(fleet, r1, r2, delta, upgrades, report, published, downloads);

    out.phase("Stop everything");
    ws.close();
    out.done();
    out.blank();
    out.line("Total " + Terminal.seconds(Duration.ofMillis(System.currentTimeMillis() - options.startedAtMillis()))
        + ". Machine: " + Runtime.getRuntime().availableProcessors() + " cores, load average " + loadAverage()
        + " (other work on this machine shows in the timings).");
    return 0;
  }

  /** Waits for every node to commit {@code version}, printing each as it does. */
  private void awaitAll(Fleet fleet, String version, Map<String, Long> marks) {
    long start = System.nanoTime();
    fleet.forEachNode(n -> {
      n.awaitCommitted(version, marks.get(n.id()), WAIT);
      synchronized (out) {
        out.detail(String.format(Locale.ROOT, "%-7s %-8s runs %s  (+%s)", n.id(), n.config().strategy().yaml(),
            version, Terminal.seconds(Duration.ofNanos(System.nanoTime() - start))));
      }
      return true;
    });
  }

  private void results(Fleet fleet, ReleaseResult r1, ReleaseResult r2, ReleaseResult.Delta delta,
      Map<String, UpdateRecord> upgrades, LoadReport report, long publishedNanos,
      Map<String, RepoServer.BlobDownloads> downloads) {
    List<Node> nodes = fleet.nodes();
    out.blank();
    out.line("Results");
    out.blank();

    // ---- download
    RepoServer.BlobDownloads deltaGets = downloads.getOrDefault(delta.blob().sha256(), new RepoServer.BlobDownloads(0, 0));
    RepoServer.BlobDownloads packageGets = downloads.getOrDefault(r2.packageBlob().sha256(),
        new RepoServer.BlobDownloads(0, 0));
    out.line(String.format(Locale.ROOT, "  Download for 2.0.0: the delta from 1.0.0 is %s, the full package %s (%s).",
        Terminal.bytes(delta.blob().size()), Terminal.bytes(r2.packageBlob().size()), percent(delta.ratio())));
    out.line(String.format(Locale.ROOT, "  repo-server's access log: the delta was sent %d times, the 2.0.0 package %d times.",
        deltaGets.requests(), packageGets.requests()));
    out.blank();

    // ---- states
    out.line("  Time in each state, 1.0.0 -> 2.0.0 (updater history --json), in ms");
    StringBuilder header = new StringBuilder(String.format(Locale.ROOT, "  %-12s", ""));
    StringBuilder strategies = new StringBuilder(String.format(Locale.ROOT, "  %-12s", ""));
    for (Node n : nodes) {
      header.append(String.format(Locale.ROOT, "%10s", n.id()));
      strategies.append(String.format(Locale.ROOT, "%10s", n.config().strategy().yaml()));
    }
    out.line(header.toString());
    out.line(strategies.toString());
    List<String> states = new ArrayList<>(STATES);
    for (UpdateRecord u : upgrades.values()) {
      u.millisByState().keySet().stream().filter(s -> !states.contains(s)).forEach(states::add);
    }
    for (String state : states) {
      StringBuilder row = new StringBuilder(String.format(Locale.ROOT, "  %-12s", state));
      for (Node n : nodes) {
        Long ms = upgrades.get(n.id()).millisByState().get(state);
        row.append(String.format(Locale.ROOT, "%10s", ms == null ? "-" : String.format(Locale.ROOT, "%,d", ms)));
      }
      out.line(row.toString());
    }
    StringBuilder total = new StringBuilder(String.format(Locale.ROOT, "  %-12s", "total"));
    StringBuilder outcome = new StringBuilder(String.format(Locale.ROOT, "  %-12s", "outcome"));
    for (Node n : nodes) {
      UpdateRecord u = upgrades.get(n.id());
      total.append(String.format(Locale.ROOT, "%10s", String.format(Locale.ROOT, "%,d", u.duration().toMillis())));
      outcome.append(String.format(Locale.ROOT, "%10s", u.outcome()));
    }
    out.line(total.toString());
    out.line(outcome.toString());
    out.blank();

    // ---- load
    out.line(String.format(Locale.ROOT, "  Requests during the upgrade: %d/s for %s, a new connection each, no retries",
        report.rate(), Terminal.seconds(report.duration())));
    out.line(String.format(Locale.ROOT, "  %-12s%10s%8s%13s%9s%9s%14s", "", "requests", "failed", "longest gap",
        "p50", "p99", "2.0.0 from"));
    List<LoadReport.Stats> rows = new ArrayList<>(report.targets());
    rows.add(report.overall());
    Map<String, String> failureKinds = new LinkedHashMap<>();
    for (LoadReport.Stats s : rows) {
      LoadReport.VersionSeen seen = s.versions().get("2.0.0");
      String switched = seen == null || s.name().equals("all") ? ""
          : "+" + Terminal.seconds(seen.first().minusNanos(publishedNanos));
      out.line(String.format(Locale.ROOT, "  %-12s%10d%8d%13s%9s%9s%14s", s.name(), s.total(), s.failed(),
          LoadReport.millis(s.longestGap()), LoadReport.millis(s.p50()), LoadReport.millis(s.p99()), switched)
          .stripTrailing());
      if (s.failed() > 0 && !s.name().equals("all")) {
        failureKinds.put(s.name(), s.failureSummary());
      }
    }
    out.line("  (\"2.0.0 from\": first answer from 2.0.0, counted from the publication of 2.0.0)");
    if (!failureKinds.isEmpty()) {
      out.line("  Failed requests by kind:");
      failureKinds.forEach((node, kind) -> out.line(String.format(Locale.ROOT, "  %-12s%s", node, kind)));
    }
    if (report.overall().lateStarts() > 0) {
      out.line("  The load generator fell behind: " + report.overall().lateStarts()
          + " requests started over 50 ms late (the machine was busy).");
    }
    out.line("  net.ipv4.tcp_migrate_req = " + sysctl("net/ipv4/tcp_migrate_req")
        + " (1: connections queued on a closing SO_REUSEPORT listener move to another)");
    out.blank();
  }

  private static String percent(double ratio) {
    double p = ratio * 100;
    return p >= 1 ? String.format(Locale.ROOT, "%.1f%%", p) : String.format(Locale.ROOT, "%.3f%%", p);
  }

  private static String sysctl(String name) {
    return readQuietly(Path.of("/proc/sys", name)).strip();
  }

  static String loadAverage() {
    String[] parts = readQuietly(Path.of("/proc/loadavg")).split("\\s+");
    return parts.length >= 3 ? parts[0] + " " + parts[1] + " " + parts[2] : "unknown";
  }

  private static String readQuietly(Path file) {
    try {
      return Files.readString(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      return "unknown";
    }
  }

  static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
