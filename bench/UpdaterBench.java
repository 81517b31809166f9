import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.upgradekit.plugin.release.KeyGenerator;
import io.upgradekit.plugin.release.ReleaseBuilder;
import io.upgradekit.plugin.release.ReleaseRequest;
import io.upgradekit.plugin.release.ReleaseResult;
import io.upgradekit.plugin.release.Repositories;
import io.upgradekit.plugin.release.SchemaDeltaEngine;
import io.upgradekit.plugin.release.SigningKeys;
import io.upgradekit.schema.layout.RepositoryLayout;
import io.upgradekit.schema.sign.SigningKey;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;

/**
 * {@code bench/updater.sh}'s driver: the real node-updater distribution ({@code bin/updater}, the
 * shaded jar, the real delta engine) updating examples/hello-service's distribution tree, with
 * releases built by the plugin's release library (real packages and deltas, signed) and served by
 * the real repo-server jar.
 *
 * <p>Per target: a repository copy served by its own repo-server, {@code bin/updater run --once}
 * to install 1.0.0, then the daemon ({@code bin/updater run}, poll interval 1 s, no jitter). Each
 * round makes the next release visible (its signed channel pointer, built beforehand, renamed into
 * the served repository), and measures until the service answers with it and until the updater
 * verified it (its COMMIT began), split by state from the event's history; a client sends {@code
 * GET /} on a fresh connection every ~5 ms meanwhile and counts failures. The daemon's idle RSS is
 * read from /proc after its first polls, and before each later round (bin/updater starts a fresh
 * JVM after each update: this is that JVM after two polls); after the overlap rounds it is sampled
 * for a while longer. Prints Markdown tables.
 *
 * <p>Usage (see bench/updater.sh): {@code UpdaterBench WORK ROUNDS UPDATER_TARBALL REPO_SERVER_JAR
 * HELLO_TREE}. Environment: {@code BENCH_STRATEGIES} (default "restart overlap"), {@code
 * BENCH_REFERENCE_ROUNDS} (rounds of the reference target with the JVM's default flags, default 2; 0
 * skips it), {@code BENCH_LONG_IDLE} (seconds of idle RSS sampling after the overlap rounds, default
 * 300; 0 skips it).
 */
public final class UpdaterBench {
  private static final String APP = "hello";
  private static final String NODE = "bench-node";
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP = HttpClient.newBuilder()
      .version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(2)).build();
  /** Idle time after the last round, sampling RSS (overlap with the documented flags only). */
  private static final int LONG_IDLE_SECONDS = Integer.parseInt(System.getenv().getOrDefault("BENCH_LONG_IDLE", "300"));
  private static final List<String> STATES = List.of("RESOLVE", "DOWNLOAD", "STAGE", "GATE", "STOP", "SWITCH",
      "START", "VERIFY", "COMMIT");

  private final Path work;
  private final Path updaterDist;
  private final Path serverJar;
  private final Path buildRepo;
  private final Map<String, byte[]> pointers = new LinkedHashMap<>();
  private final Map<String, ReleaseResult> releases = new LinkedHashMap<>();
  private final List<String> versions = new ArrayList<>();
  private final Path nodeSecret;
  private String credential;
  private final String java = ProcessHandle.current().info().command().orElse("java");
  private final List<String> rows = new ArrayList<>();
  private final List<String> rssRows = new ArrayList<>();

  private UpdaterBench(Path work, Path updaterDist, Path serverJar) {
    this.work = work;
    this.updaterDist = updaterDist;
    this.serverJar = serverJar;
    this.buildRepo = work.resolve("build-repo");
    this.nodeSecret = work.resolve("node-secret");
  }

  public static void main(String[] args) throws Exception {
    Path work = Path.of(args[0]).toAbsolutePath();
    int rounds = Integer.parseInt(args[1]);
    Path tarball = Path.of(args[2]).toAbsolutePath();
    Path serverJar = Path.of(args[3]).toAbsolutePath();
    Path helloTree = Path.of(args[4]).toAbsolutePath();
    Path dist = work.resolve("updater");
    Files.createDirectories(dist);
    run(List.of("tar", "-xzf", tarball.toString(), "-C", dist.toString(), "--strip-components=1"));
    UpdaterBench bench = new UpdaterBench(work, dist, serverJar);
    int referenceRounds = Integer.parseInt(System.getenv().getOrDefault("BENCH_REFERENCE_ROUNDS", "2"));
    bench.buildReleases(helloTree, Math.max(rounds, referenceRounds) + 1);
    String documented = documentedFlags(dist.resolve("bin/updater"));
    System.out.println();
    System.out.println("bin/updater's JVM flags: " + documented + " (" + launcherDefault(dist.resolve("bin/updater"),
        "export MALLOC_ARENA_MAX=") + ", fresh JVM after " + launcherDefault(dist.resolve("bin/updater"),
        "export UPGRADEKIT_FRESH_JVM_POLLS=") + " polls)");
    for (String strategy : System.getenv().getOrDefault("BENCH_STRATEGIES", "restart overlap").split("\\s+")) {
      if (!strategy.isEmpty()) {
        bench.target(strategy, strategy, null, rounds);
      }
    }
    if (referenceRounds > 0) {
      // The JVM's defaults: no flags at all (-Xshare:auto is the default; it only keeps the variable
      // non-empty, which bin/updater would replace), no class data archive of our own, and glibc's
      // default arenas (8 per core).
      bench.target("overlap, JVM defaults", "overlap", Map.of("UPDATER_JAVA_OPTS", "-Xshare:auto",
          "MALLOC_ARENA_MAX", Integer.toString(8 * Runtime.getRuntime().availableProcessors()), "UPDATER_CDS", "off"),
          referenceRounds);
    }
    bench.print();
  }

  // ------------------------------------------------------------------------------------- releases

  /** Releases 1.0.0 ... n.0.0 of hello-service into the build repository; keeps each channel pointer. */
  private void buildReleases(Path helloTree, int count) throws Exception {
    Path key = work.resolve("keys/release.pem");
    new KeyGenerator(Clock.systemUTC(), e -> { }).generate(new KeyGenerator.Request(key, buildRepo, null,
        Duration.ofDays(30)));
    SigningKey signingKey = SigningKeys.load(key, null, e -> { });
    ReleaseBuilder builder = new ReleaseBuilder(new SchemaDeltaEngine(e -> { }),
        (location, token) -> Repositories.open(location, token, work), Clock.systemUTC(), e -> { });
    for (int i = 1; i <= count; i++) {
      String version = i + ".0.0";
      Path tree = helloVersion(helloTree, version);
      long start = System.nanoTime();
      ReleaseResult result = builder.release(new ReleaseRequest(APP, version, "stable", tree, buildRepo.toString(),
          null, signingKey, 3, Instant.now(), Duration.ofDays(30), Duration.ofDays(30), Map.of(),
          work.resolve("release-work"), work.resolve("release-work/" + version + ".json"), 5));
      long ms = (System.nanoTime() - start) / 1_000_000;
      versions.add(version);
      releases.put(version, result);
      pointers.put(version, Files.readAllBytes(buildRepo.resolve(RepositoryLayout.channelPointer(APP, "stable"))));
      Files.createDirectories(work.resolve("pointers"));
      Files.write(work.resolve("pointers/" + version + ".json"), pointers.get(version)); // for manual runs
      String base = (i - 1) + ".0.0";
      String delta = result.deltas().stream().filter(d -> d.fromVersion().equals(base)).findFirst()
          .map(d -> ", delta from " + d.fromVersion() + " " + d.blob().size() + " bytes").orElse("");
      System.out.printf(Locale.ROOT, "released %s %s: payload %d bytes, package %d bytes%s (%d ms)%n", APP, version,
          result.payloadSize(), result.packageBlob().size(), delta, ms);
    }
    Files.delete(buildRepo.resolve(RepositoryLayout.channelPointer(APP, "stable")));
    // Generate the secret the served repositories' repo-server derives node credentials from.
    Files.writeString(nodeSecret, "bench-node-secret-" + Long.toHexString(System.nanoTime()) + "0123456789\n");
    credential = output(List.of(java, "-jar", serverJar.toString(), "node-credential", "--node-secret-file",
        nodeSecret.toString(), NODE)).strip();
  }

  /**
   * The hello-service tree with {@code version} in its jar's build.properties: a code-sized change
   * in one jar of the distribution, the other jars (Jetty) unchanged.
   */
  private Path helloVersion(Path helloTree, String version) throws IOException {
    Path tree = work.resolve("trees/" + version);
    copyTree(helloTree, tree);
    Path jar;
    try (Stream<Path> libs = Files.list(tree.resolve("lib"))) {
      jar = libs.filter(p -> p.getFileName().toString().startsWith("hello-service-")).findFirst().orElseThrow();
    }
    Path rewritten = jar.resolveSibling(jar.getFileName() + ".new");
    try (ZipFile in = new ZipFile(jar.toFile()); OutputStream file = Files.newOutputStream(rewritten);
        ZipOutputStream zip = new ZipOutputStream(file)) {
      for (Enumeration<? extends ZipEntry> entries = in.entries(); entries.hasMoreElements(); ) {
        ZipEntry entry = entries.nextElement();
        byte[] bytes;
        try (InputStream data = in.getInputStream(entry)) {
          bytes = data.readAllBytes();
        }
        if (entry.getName().endsWith("hello/build.properties")) {
          bytes = ("version=" + version + "\ngreeting=Hello from hello-service\nhealthy=true\n")
              .getBytes(StandardCharsets.ISO_8859_1);
        }
        ZipEntry copy = new ZipEntry(entry.getName());
        copy.setTime(entry.getTime());
        copy.setMethod(entry.getMethod());
        if (entry.getMethod() == ZipEntry.STORED) {
          CRC32 crc = new CRC32();
          crc.update(bytes);
          copy.setSize(bytes.length);
          copy.setCompressedSize(bytes.length);
          copy.setCrc(crc.getValue());
        }
        zip.putNextEntry(copy);
        zip.write(bytes);
        zip.closeEntry();
      }
    }
    Files.move(rewritten, jar, StandardCopyOption.REPLACE_EXISTING);
    return tree;
  }

  // ------------------------------------------------------------------------------------- a target

  private void target(String name, String strategy, Map<String, String> env, int rounds) throws Exception {
    Path dir = work.resolve("targets/" + name.replaceAll("[^a-z0-9]+", "-"));
    Path repo = dir.resolve("repo");
    copyTree(buildRepo, repo);
    Path home = dir.resolve("home");
    Files.createDirectories(home);
    Files.copy(repo.resolve("root.json"), dir.resolve("root.json"));
    int serverPort = freePort();
    int servicePort = freePort();
    String load = loadAverage();
    Process server = new ProcessBuilder(java, "-Xmx256m", "-XX:+UseSerialGC", "-jar", serverJar.toString(),
        "--root", repo.toString(), "--port", Integer.toString(serverPort), "--bind", "127.0.0.1",
        "--node-secret-file", nodeSecret.toString(), "--rate-limit", "0", "--access-log", "off")
        .redirectErrorStream(true).redirectOutput(dir.resolve("repo-server.log").toFile()).start();
    Process daemon = null;
    try {
      waitFor(() -> get("http://127.0.0.1:" + serverPort + "/root.json") != null, 60_000, "repo-server to start");
      publish(repo, "1.0.0");
      Path config = dir.resolve("updater.yaml");
      Files.writeString(config, config(dir, home, serverPort, servicePort, strategy));
      Process once = launch(config, env, dir.resolve("install.log"), "run", "--once");
      if (!once.waitFor(180, TimeUnit.SECONDS) || once.exitValue() != 0) {
        throw new IllegalStateException("installing 1.0.0 failed; see " + dir.resolve("install.log"));
      }
      daemon = launch(config, env, dir.resolve("daemon.log"), "run");
      Process launcher = daemon;
      // The first poll finds 1.0.0 installed; then at least one more poll cycle.
      waitFor(() -> read(dir.resolve("daemon.log")).contains("up to date"), 60_000, "the daemon's first poll");
      Thread.sleep(2500);
      double polledRss = rssMb(jvm(launcher));
      List<Double> idle = new ArrayList<>();
      List<Long> firstServed = new ArrayList<>();
      List<Long> verified = new ArrayList<>();
      int failedTotal = 0;
      int sentTotal = 0;
      for (int round = 1; round <= rounds; round++) {
        String version = versions.get(round);
        double rss = rssMb(jvm(launcher));
        if (round > 1) {
          idle.add(rss);
        }
        Load clients = new Load(servicePort);
        Thread.sleep(200);
        long visibleNanos = System.nanoTime();
        long visibleMillis = System.currentTimeMillis();
        publish(repo, version);
        waitFor(() -> version.equals(served(servicePort)), 120_000, version + " to be served");
        long served = (System.nanoTime() - visibleNanos) / 1_000_000;
        JsonNode event = waitForValue(() -> committed(home, version), 120_000, "the commit of " + version);
        Thread.sleep(500); // the old process has drained
        clients.close();
        long beginAt = Instant.parse(event.get("startedAt").asText()).toEpochMilli();
        long commitAt = Instant.parse(step(event, "COMMIT").get("startedAt").asText()).toEpochMilli();
        StringBuilder row = new StringBuilder(String.format(Locale.ROOT, "| %s | %s | %d | %d | %d |", name,
            versions.get(round - 1) + " → " + version, commitAt - visibleMillis, served,
            Math.max(0, beginAt - visibleMillis)));
        for (String state : STATES) {
          JsonNode s = step(event, state);
          row.append(' ').append(s == null ? "-" : s.get("durationMillis").asText()).append(" |");
        }
        row.append(String.format(Locale.ROOT, " %.1f | %d / %d |", rss, clients.failed.get(), clients.sent.get()));
        rows.add(row.toString());
        firstServed.add(served);
        verified.add(commitAt - visibleMillis);
        failedTotal += clients.failed.get();
        sentTotal += clients.sent.get();
        // Under bin/updater the agent restarts its JVM after an update: wait for the fresh one's polls.
        int polls = countOf(read(dir.resolve("daemon.log")), "up to date");
        waitFor(() -> countOf(read(dir.resolve("daemon.log")), "up to date") >= polls + 2, 60_000, "two idle polls");
        Thread.sleep(500);
      }
      double afterUpdates = rssMb(jvm(launcher));
      idle.add(afterUpdates);
      String longIdle = "-";
      if (env == null && LONG_IDLE_SECONDS > 0 && strategy.equals("overlap")) {
        // The idle agent over many polls: compiled code grows until the fresh JVM after
        // UPDATER_FRESH_JVM_POLLS polls. Sampled every 5 s: the highest and the mean.
        List<Double> samples = new ArrayList<>();
        long end = System.currentTimeMillis() + LONG_IDLE_SECONDS * 1000L;
        while (System.currentTimeMillis() < end) {
          Thread.sleep(5000);
          try {
            samples.add(rssMb(jvm(launcher)));
          } catch (IOException | IllegalStateException e) {
            // between two JVMs
          }
        }
        longIdle = String.format(Locale.ROOT, "%.1f (mean %.1f)", samples.stream().mapToDouble(d -> d).max()
            .orElse(0), samples.stream().mapToDouble(d -> d).average().orElse(0));
        int fresh = countOf(read(dir.resolve("daemon.log")), "starting a fresh agent JVM");
        longIdle += ", " + fresh + " fresh JVMs";
      }
      rssRows.add(String.format(Locale.ROOT, "| %s | %s | %.1f | %.1f | %.1f | %s | %s |", name,
          env == null ? "bin/updater's" : "JVM defaults", polledRss, idle.get(0),
          idle.stream().mapToDouble(Double::doubleValue).max().orElse(0), longIdle, load + " / " + loadAverage()));
      System.out.printf(Locale.ROOT, "%s: %d rounds, verified median %d ms, first served median %d ms, "
          + "failed requests %d of %d; load before/after %s / %s%n", name, rounds, median(verified),
          median(firstServed), failedTotal, sentTotal, load, loadAverage());
    } finally {
      if (daemon != null) {
        daemon.children().forEach(ProcessHandle::destroy); // SIGTERM: the updater exits after its cycle
        if (!daemon.waitFor(120, TimeUnit.SECONDS)) {
          daemon.descendants().forEach(ProcessHandle::destroyForcibly);
          daemon.destroyForcibly();
        }
      }
      stopServices(home);
      server.destroy();
      server.waitFor(30, TimeUnit.SECONDS);
    }
  }

  /** The launcher's current JVM (it starts a new one on status 75; it also forks helpers such as date). */
  private ProcessHandle jvmOf(Process launcher) throws Exception {
    return waitForValue(() -> launcher.children()
        .filter(p -> p.info().command().map(c -> c.endsWith("/java") || c.equals(java)).orElse(false))
        .findFirst(), 30_000, "the updater JVM");
  }

  private long jvm(Process launcher) throws Exception {
    return jvmOf(launcher).pid();
  }

  private static int countOf(String text, String what) {
    int n = 0;
    for (int i = text.indexOf(what); i >= 0; i = text.indexOf(what, i + 1)) {
      n++;
    }
    return n;
  }

  private String config(Path dir, Path home, int serverPort, int servicePort, String strategy) {
    return "repository:\n  url: http://127.0.0.1:" + serverPort + "/\n  trustRoot: " + dir.resolve("root.json")
        + "\napp: " + APP + "\nchannel: stable\nhome: " + home + "\n"
        + "node:\n  id: " + NODE + "\n  credential: " + credential + "\n"
        + "poll:\n  interval: 1s\n  jitter: 0s\n"
        + "limits:\n  minFreeDisk: 64MB\n"
        + "service:\n  strategy: " + strategy + "\n  stopTimeout: 15s\n  startGrace: 200ms\n"
        + "  process:\n    command: [" + home.resolve("current/bin/hello-service") + ", --port, \"" + servicePort
        + "\"]\n    workingDir: " + home + "\n"
        + "health:\n  url: http://127.0.0.1:{processPort}/health\n  timeout: 2s\n  attempts: 1000\n"
        + "  interval: 20ms\n";
  }

  /** Makes {@code version} visible: its signed channel pointer, renamed over the served one. */
  private void publish(Path repo, String version) throws IOException {
    Path pointer = repo.resolve(RepositoryLayout.channelPointer(APP, "stable"));
    Files.createDirectories(pointer.getParent());
    Path temp = pointer.resolveSibling(".bench-pointer.tmp");
    Files.write(temp, pointers.get(version));
    Files.move(temp, pointer, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
  }

  private Process launch(Path config, Map<String, String> env, Path log, String... args) throws IOException {
    List<String> command = new ArrayList<>(List.of("sh", updaterDist.resolve("bin/updater").toString()));
    command.addAll(List.of(args));
    ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
    builder.environment().remove("JAVA_HOME");
    builder.environment().remove("UPDATER_JAVA_OPTS");
    builder.environment().remove("MALLOC_ARENA_MAX");
    builder.environment().put("JAVA", java);
    builder.environment().put("UPGRADEKIT_CONFIG", config.toString());
    if (env != null) {
      builder.environment().putAll(env);
    }
    return builder.start();
  }

  /** The finished COMMITTED event that installed {@code version}, from state/history, if there is one yet. */
  private static Optional<JsonNode> committed(Path home, String version) {
    Path history = home.resolve("state/history");
    if (!Files.isDirectory(history)) {
      return Optional.empty();
    }
    try (Stream<Path> files = Files.list(history)) {
      for (Path f : files.sorted().toList()) {
        JsonNode event = JSON.readTree(f.toFile());
        if (version.equals(event.path("toVersion").asText()) && "COMMITTED".equals(event.path("outcome").asText())) {
          return Optional.of(event);
        }
      }
    } catch (IOException e) {
      return Optional.empty(); // being written
    }
    return Optional.empty();
  }

  private static JsonNode step(JsonNode event, String state) {
    for (JsonNode s : event.get("steps")) {
      if (s.get("state").asText().equals(state)) {
        return s;
      }
    }
    return null;
  }

  private static void stopServices(Path home) {
    try {
      JsonNode record = JSON.readTree(home.resolve("state/service.json").toFile());
      for (JsonNode p : record.path("processes")) {
        ProcessHandle.of(p.get("pid").asLong()).ifPresent(h -> {
          h.destroy();
          h.onExit().orTimeout(20, TimeUnit.SECONDS).exceptionally(t -> null).join();
        });
      }
    } catch (IOException e) {
      System.err.println("cannot read " + home.resolve("state/service.json") + ": " + e);
    }
  }

  // ------------------------------------------------------------------------------------- output

  private void print() {
    System.out.println();
    System.out.println("Idle RSS of `updater run` (MB), read from /proc/<pid>/status while the daemon idles between "
        + "polls:");
    System.out.println();
    System.out.println("| target | JVM flags | after polls only | after 1 update | highest after 1+ updates | "
        + "highest in " + LONG_IDLE_SECONDS + " s more idle (1 poll/s) | load average before / after |");
    System.out.println("|---|---|---:|---:|---:|---:|---|");
    rssRows.forEach(System.out::println);
    System.out.println();
    System.out.println("Release visible → new version verified (COMMIT began) and → first answer from it on the "
        + "service port, ms; the event's steps, ms; idle RSS before the round, MB; failed / sent requests:");
    System.out.println();
    StringBuilder head = new StringBuilder("| target | update | visible → verified | visible → first answer | "
        + "poll wait |");
    StringBuilder line = new StringBuilder("|---|---|---:|---:|---:|");
    for (String state : STATES) {
      head.append(' ').append(state).append(" |");
      line.append("---:|");
    }
    head.append(" idle RSS | failed / sent |");
    line.append("---:|---|");
    System.out.println(head);
    System.out.println(line);
    rows.forEach(System.out::println);
  }

  // ------------------------------------------------------------------------------------- helpers

  /** {@code GET /} on a fresh connection every ~5 ms; a failure is no 200 answer. */
  private static final class Load implements AutoCloseable {
    final AtomicInteger sent = new AtomicInteger();
    final AtomicInteger failed = new AtomicInteger();
    private final Thread thread;
    private volatile boolean stop;

    Load(int port) {
      thread = new Thread(() -> {
        while (!stop) {
          sent.incrementAndGet();
          if (served(port) == null) {
            failed.incrementAndGet();
          }
          try {
            Thread.sleep(5);
          } catch (InterruptedException e) {
            return;
          }
        }
      }, "load");
      thread.setDaemon(true);
      thread.start();
    }

    @Override
    public void close() throws InterruptedException {
      stop = true;
      thread.join();
    }
  }

  /** The version hello-service answers {@code GET /} with (fresh connection), or null. */
  static String served(int port) {
    String body = get("http://127.0.0.1:" + port + "/");
    if (body == null) {
      return null;
    }
    String[] words = body.strip().split(" ");
    return words[words.length - 1];
  }

  private static String get(String url) {
    try {
      HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(url)).header("Connection", "close")
          .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
      return r.statusCode() == 200 ? r.body() : null;
    } catch (IOException e) {
      return null;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    }
  }

  private interface Check {
    boolean ok() throws Exception;
  }

  private interface Probe<T> {
    Optional<T> get() throws Exception;
  }

  private static void waitFor(Check check, long timeoutMs, String what) throws Exception {
    waitForValue(() -> check.ok() ? Optional.of(Boolean.TRUE) : Optional.empty(), timeoutMs, what);
  }

  private static <T> T waitForValue(Probe<T> probe, long timeoutMs, String what) throws Exception {
    long end = System.currentTimeMillis() + timeoutMs;
    while (true) {
      Optional<T> value = probe.get();
      if (value.isPresent()) {
        return value.get();
      }
      if (System.currentTimeMillis() > end) {
        throw new IllegalStateException("timed out waiting for " + what);
      }
      Thread.sleep(5);
    }
  }

  private static double rssMb(long pid) throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
      if (line.startsWith("VmRSS:")) {
        return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024.0;
      }
    }
    throw new IllegalStateException("no VmRSS for pid " + pid);
  }

  private static String loadAverage() {
    try {
      String[] parts = Files.readString(Path.of("/proc/loadavg")).split(" ");
      return parts[0];
    } catch (IOException e) {
      return "?";
    }
  }

  private static long median(List<Long> values) {
    List<Long> sorted = values.stream().sorted().toList();
    return sorted.isEmpty() ? 0 : sorted.get(sorted.size() / 2);
  }

  private static String documentedFlags(Path launcher) throws IOException {
    for (String line : Files.readAllLines(launcher)) {
      if (line.startsWith("UPDATER_JAVA_OPTS=")) {
        return line.substring(line.indexOf(":-") + 2, line.lastIndexOf('}'));
      }
    }
    return "?";
  }

  /** "NAME=default" of a launcher line {@code prefix${VAR:-default}}. */
  private static String launcherDefault(Path launcher, String prefix) throws IOException {
    for (String line : Files.readAllLines(launcher)) {
      if (line.startsWith(prefix)) {
        String name = prefix.substring(prefix.indexOf(' ') + 1, prefix.length() - 1);
        return name + "=" + line.substring(line.indexOf(":-") + 2, line.lastIndexOf('}'));
      }
    }
    return "?";
  }

  private static String read(Path file) {
    try {
      return Files.exists(file) ? Files.readString(file) : "";
    } catch (IOException e) {
      return "";
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  private static void copyTree(Path from, Path to) throws IOException {
    try (Stream<Path> all = Files.walk(from)) {
      for (Path p : all.toList()) {
        Path target = to.resolve(from.relativize(p).toString());
        if (Files.isDirectory(p)) {
          Files.createDirectories(target);
        } else {
          Files.copy(p, target, StandardCopyOption.COPY_ATTRIBUTES);
        }
      }
    }
  }

  private static void run(List<String> command) throws Exception {
    Process p = new ProcessBuilder(command).inheritIO().start();
    if (p.waitFor() != 0) {
      throw new IllegalStateException(String.join(" ", command) + " failed");
    }
  }

  private static String output(List<String> command) throws Exception {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (p.waitFor() != 0) {
      throw new IllegalStateException(String.join(" ", command) + " failed: " + out);
    }
    return out;
  }
}
