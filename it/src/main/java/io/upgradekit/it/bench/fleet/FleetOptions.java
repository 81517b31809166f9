package io.upgradekit.it.bench.fleet;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * What {@code bench/fleet.sh} runs: how many simulated nodes against how many repo-server
 * processes on which store, with which plan and which node timings.
 *
 * @param nodes simulated nodes
 * @param servers repo-server processes on the one repository (nodes are spread over them, as a load
 *     balancer would)
 * @param store {@code dir} (a directory, the default) or a store URL passed to repo-server's
 *     {@code --store} (a later option: this repo-server must know it)
 * @param minAvailablePercent the plan's {@code minAvailable}
 * @param bake the plan's {@code bakeTime}
 * @param update simulated time from STOP to healthy
 * @param poll the nodes' poll interval (channel pointer and rollout state, with ETag)
 * @param pollJitter ± around the poll interval (uniform)
 * @param heartbeat the nodes' heartbeat interval
 * @param steady how long the idle fleet is measured before the publication
 * @param timeout the longest a rollout may take before the run gives up
 * @param verifyEvery every how many nodes verifies the signature of its grant (1: all; Ed25519
 *     verification in the JDK costs about a millisecond of the machine the server shares)
 * @param serverJar repo-server's runnable jar
 * @param serverJvm the server processes' JVM options
 * @param work where the repository, secrets and logs go
 * @param keep keep {@code work} after the run
 * @param nodesCsv where to write every node's timeline (CSV), or null
 * @param calls the nodes hold {@code GET /v1/calls} between polls, as updaters do ({@code poll.calls});
 *     {@code --no-calls}: they learn of the rollout at their polls only
 */
record FleetOptions(int nodes, int servers, String store, int minAvailablePercent, Duration bake, Duration update,
    Duration poll, Duration pollJitter, Duration heartbeat, Duration steady, Duration timeout, int verifyEvery,
    Path serverJar, List<String> serverJvm, Path work, boolean keep, Path nodesCsv, boolean calls) {

  static final String USAGE = """
      usage: FleetBench --server-jar JAR [--nodes 1000] [--servers 1] [--store dir|URL]
                        [--min-available 90] [--bake 10s] [--update 5s] [--poll 30s] [--jitter 3s]
                        [--heartbeat 30s] [--steady 30s] [--timeout 10m] [--verify-every 10]
                        [--server-jvm "-Xmx1g"] [--work DIR] [--keep] [--nodes-csv FILE] [--no-calls]""";

  FleetOptions {
    if (nodes < 2) {
      throw new IllegalArgumentException("--nodes must be at least 2");
    }
    if (servers < 1 || servers > 16) {
      throw new IllegalArgumentException("--servers must be between 1 and 16");
    }
    if (minAvailablePercent < 0 || minAvailablePercent > 99) {
      throw new IllegalArgumentException("--min-available must be a percentage between 0 and 99");
    }
    if (poll.compareTo(pollJitter) <= 0) {
      throw new IllegalArgumentException("--jitter must be shorter than --poll");
    }
    if (verifyEvery < 1) {
      throw new IllegalArgumentException("--verify-every must be at least 1");
    }
    serverJvm = List.copyOf(serverJvm);
  }

  static FleetOptions parse(String[] args) {
    int nodes = 1000;
    int servers = 1;
    String store = "dir";
    int minAvailable = 90;
    Duration bake = Duration.ofSeconds(10);
    Duration update = Duration.ofSeconds(5);
    Duration poll = Duration.ofSeconds(30);
    Duration jitter = Duration.ofSeconds(3);
    Duration heartbeat = Duration.ofSeconds(30);
    Duration steady = Duration.ofSeconds(30);
    Duration timeout = Duration.ofMinutes(10);
    int verifyEvery = 10;
    Path jar = null;
    List<String> jvm = List.of("-Xms256m", "-Xmx1g");
    Path work = null;
    boolean keep = false;
    Path nodesCsv = null;
    boolean calls = true;
    for (int i = 0; i < args.length; i++) {
      String a = args[i];
      switch (a) {
        case "--nodes" -> nodes = Integer.parseInt(value(args, ++i, a));
        case "--servers" -> servers = Integer.parseInt(value(args, ++i, a));
        case "--store" -> store = value(args, ++i, a);
        case "--min-available" -> minAvailable = Integer.parseInt(value(args, ++i, a).replace("%", ""));
        case "--bake" -> bake = duration(value(args, ++i, a));
        case "--update" -> update = duration(value(args, ++i, a));
        case "--poll" -> poll = duration(value(args, ++i, a));
        case "--jitter" -> jitter = duration(value(args, ++i, a));
        case "--heartbeat" -> heartbeat = duration(value(args, ++i, a));
        case "--steady" -> steady = duration(value(args, ++i, a));
        case "--timeout" -> timeout = duration(value(args, ++i, a));
        case "--verify-every" -> verifyEvery = Integer.parseInt(value(args, ++i, a));
        case "--server-jar" -> jar = Path.of(value(args, ++i, a)).toAbsolutePath();
        case "--server-jvm" -> jvm = List.of(value(args, ++i, a).trim().split("\\s+"));
        case "--work" -> work = Path.of(value(args, ++i, a));
        case "--keep" -> keep = true;
        case "--nodes-csv" -> nodesCsv = Path.of(value(args, ++i, a));
        case "--no-calls" -> calls = false;
        default -> throw new IllegalArgumentException("unknown option " + a + "\n" + USAGE);
      }
    }
    if (jar == null) {
      throw new IllegalArgumentException("--server-jar is required (repo-server/target/repo-server-<v>.jar)\n" + USAGE);
    }
    return new FleetOptions(nodes, servers, store, minAvailable, bake, update, poll, jitter, heartbeat, steady,
        timeout, verifyEvery, jar, jvm, work, keep, nodesCsv, calls);
  }

  boolean directoryStore() {
    return store.equals("dir");
  }

  private static String value(String[] args, int i, String option) {
    if (i >= args.length) {
      throw new IllegalArgumentException(option + " needs a value\n" + USAGE);
    }
    return args[i];
  }

  /** {@code 500ms}, {@code 30s}, {@code 10m}. */
  static Duration duration(String text) {
    String t = text.trim().toLowerCase(Locale.ROOT);
    try {
      if (t.endsWith("ms")) {
        return Duration.ofMillis(Long.parseLong(t.substring(0, t.length() - 2)));
      }
      long n = Long.parseLong(t.substring(0, t.length() - 1));
      return switch (t.charAt(t.length() - 1)) {
        case 's' -> Duration.ofSeconds(n);
        case 'm' -> Duration.ofMinutes(n);
        case 'h' -> Duration.ofHours(n);
        default -> throw new IllegalArgumentException();
      };
    } catch (RuntimeException e) {
      throw new IllegalArgumentException("'" + text + "' is not a duration: write 500ms, 30s, 10m or 1h", e);
    }
  }

  /** The options as one line, for the report's header. */
  String describe() {
    List<String> parts = new ArrayList<>();
    parts.add(nodes + " nodes");
    parts.add(servers + (servers == 1 ? " repo-server" : " repo-servers"));
    parts.add(directoryStore() ? "directory store" : "store " + store);
    parts.add("minAvailable " + minAvailablePercent + "%");
    parts.add("update " + seconds(update));
    parts.add("bake " + seconds(bake));
    parts.add("poll " + seconds(poll) + " ± " + seconds(pollJitter));
    parts.add("heartbeat " + seconds(heartbeat));
    parts.add(calls ? "calls held between polls" : "no calls (polls only)");
    return String.join(", ", parts);
  }

  static String seconds(Duration d) {
    return d.toMillis() % 1000 == 0 ? d.toSeconds() + " s" : String.format(Locale.ROOT, "%.1f s", d.toMillis() / 1000.0);
  }
}
