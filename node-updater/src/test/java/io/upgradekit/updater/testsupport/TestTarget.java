package io.upgradekit.updater.testsupport;

import io.upgradekit.updater.config.ConfigLoader;
import io.upgradekit.updater.config.UpdaterConfig;
import io.upgradekit.updater.engine.Home;
import io.upgradekit.updater.engine.UpdateEngine;
import io.upgradekit.updater.event.AgentEvent;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * One managed target for a test: a repository served on loopback, a home directory, a YAML
 * configuration, the tiny test service on an ephemeral port, and helpers to run the updater
 * in-process or as a separate JVM. {@link #close()} stops every process it started, by pid.
 */
public final class TestTarget implements AutoCloseable {
  /**
   * Health attempts (100 ms apart) for tests of a release that never turns healthy: it fails its
   * check within about 4 s, and the rollback's restart of the previous version, which must pass the
   * same check, has as long for a JVM start on a busy machine (with 5 or 10 it failed under load).
   */
  public static final String FEW_HEALTH_ATTEMPTS = "attempts: 40";

  /** JVM flags that keep the test's extra JVMs small and quick on a shared 2-core machine. */
  public static final List<String> SMALL_JVM = List.of("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xmx64m",
      "-Xss512k", "-XX:-UsePerfData");

  public final Path dir;
  public final Path home;
  public final TestRepo repo;
  public final TestRepoServer server;
  public final int port;
  public final Path configFile;
  /** The transitions of the engines made by {@link #engine()}. */
  public final List<AgentEvent.Transition> events = Collections.synchronizedList(new ArrayList<>());
  /** Put before the updater's command line (e.g. to enter the mount namespace of a {@link SmallFileSystem}). */
  public List<String> launcher = List.of();
  private final List<Process> updaters = new ArrayList<>();
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  public TestTarget(Path dir, String strategy, String extraYaml) throws IOException {
    this.dir = dir;
    this.home = dir.resolve("home");
    Files.createDirectories(home);
    this.repo = new TestRepo(dir.resolve("repo"));
    this.server = new TestRepoServer(dir.resolve("repo"));
    this.port = freePort();
    this.configFile = dir.resolve("updater.yaml");
    writeConfig(strategy, extraYaml);
  }

  public void writeConfig(String strategy, String extraYaml) throws IOException {
    String java = javaBinary();
    String testClasses = Path.of(URI.create(TestService.class.getProtectionDomain().getCodeSource().getLocation()
        .toString())).toString();
    List<String> command = new ArrayList<>();
    command.add(java);
    command.addAll(SMALL_JVM);
    command.addAll(List.of("-cp", testClasses, TestService.class.getName(), Integer.toString(port),
        home.resolve("current/app.properties").toString()));
    StringBuilder yaml = new StringBuilder();
    yaml.append("repository:\n  url: ").append(server.base()).append("\n  trustRoot: ").append(repo.pinnedRoot())
        .append("\napp: demo\nchannel: stable\nhome: ").append(home)
        .append("\nnode:\n  id: node-1\n  credential: test-credential\n")
        .append("poll:\n  interval: 1s\n  jitter: 0s\n")
        .append("limits:\n  requestTimeout: 5s\n  stallTimeout: 2s\n  minFreeDisk: 1MB\n")
        .append("service:\n  strategy: ").append(strategy).append("\n  stopTimeout: 10s\n  startGrace: 200ms\n")
        .append("  process:\n    command: [");
    for (int i = 0; i < command.size(); i++) {
      yaml.append(i == 0 ? "" : ", ").append('"').append(command.get(i)).append('"');
    }
    yaml.append("]\n    workingDir: ").append(home).append('\n')
        .append("health:\n  url: http://127.0.0.1:").append(port).append("/health\n")
        .append("  timeout: 2s\n  attempts: 150\n  interval: 100ms\n");
    yaml.append(extraYaml == null ? "" : extraYaml);
    Files.writeString(configFile, yaml.toString());
  }

  public UpdaterConfig config() {
    return ConfigLoader.load(configFile);
  }

  /** An in-process engine with the test applier; its transitions land in {@link #events}, its notes on stdout. */
  public UpdateEngine engine() {
    Consumer<AgentEvent> notes = notes(line -> System.out.println("[updater] " + line));
    return new UpdateEngine(config(), new FakeApplier(), Clock.systemUTC(), event -> {
      if (event instanceof AgentEvent.Transition t) {
        events.add(t);
      }
      notes.accept(event);
    });
  }

  /** A listener that gives the lines of notes (as the console shows them) to {@code lines}. */
  public static Consumer<AgentEvent> notes(Consumer<String> lines) {
    return event -> {
      if (event instanceof AgentEvent.Note note) {
        lines.accept(note.describe());
      }
    };
  }

  public Home homeDirs() {
    return new Home(home);
  }

  /** Files of a test version: behaviour in app.properties plus a payload file. */
  public static Map<String, byte[]> files(String version, String properties) {
    Map<String, byte[]> files = new LinkedHashMap<>();
    files.put("app.properties", ("version=" + version + "\n" + properties).getBytes(StandardCharsets.UTF_8));
    files.put("lib/shared.txt", "the same in every version\n".repeat(200).getBytes(StandardCharsets.UTF_8));
    files.put("lib/app-" + version + ".txt", ("code of " + version + "\n").repeat(50).getBytes(StandardCharsets.UTF_8));
    return files;
  }

  /** Starts the updater as its own JVM; {@code haltAt} names the state at which it halts, or null. */
  public Process startUpdater(String haltAt, String... args) throws IOException {
    return startUpdaterWith(Map.of(), haltAt, args);
  }

  /** As {@link #startUpdater(String, String...)}, with extra environment variables. */
  public Process startUpdaterWith(Map<String, String> environment, String haltAt, String... args) throws IOException {
    List<String> command = new ArrayList<>(launcher);
    command.add(javaBinary());
    command.addAll(SMALL_JVM);
    command.addAll(List.of("-cp", System.getProperty("java.class.path"), TestUpdaterMain.class.getName()));
    command.addAll(List.of(args));
    command.addAll(List.of("--config", configFile.toString()));
    ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("updater.log").toFile()));
    builder.environment().remove("UPGRADEKIT_TEST_HALT_AT");
    builder.environment().remove("UPGRADEKIT_LAUNCHER");
    builder.environment().putAll(environment);
    if (haltAt != null) {
      builder.environment().put("UPGRADEKIT_TEST_HALT_AT", haltAt);
    }
    Process p = builder.start();
    updaters.add(p);
    return p;
  }

  /** Runs the updater JVM to its end (bounded) and returns its exit status. */
  public int runUpdater(String haltAt, String... args) throws IOException, InterruptedException {
    Process p = startUpdater(haltAt, args);
    if (!p.waitFor(120, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError("the updater did not finish in 120 s; see " + dir.resolve("updater.log"));
    }
    return p.exitValue();
  }

  public String updaterLog() {
    try {
      return Files.exists(dir.resolve("updater.log")) ? Files.readString(dir.resolve("updater.log")) : "";
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** GETs a path of the service; null when it does not answer. */
  public String get(String path) {
    try {
      HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
          .timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.ofString());
      return r.statusCode() + " " + r.body();
    } catch (IOException e) {
      return null;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    }
  }

  /** The version the service answers with, or null. */
  public String servedVersion() {
    String r = get("/");
    return r != null && r.startsWith("200 ") ? r.substring(4) : null;
  }

  /** Live test-service processes of this target (found by pid among all processes). */
  public List<ProcessHandle> serviceProcesses() {
    String marker = home.resolve("current/app.properties").toString();
    return ProcessHandle.allProcesses()
        .filter(p -> p.info().arguments().map(a -> List.of(a).contains(marker)).orElse(false))
        .filter(ProcessHandle::isAlive)
        .toList();
  }

  @Override
  public void close() {
    for (Process p : updaters) {
      p.destroyForcibly();
    }
    for (ProcessHandle p : serviceProcesses()) {
      p.destroyForcibly();
      p.onExit().orTimeout(10, TimeUnit.SECONDS).exceptionally(t -> null).join();
    }
    server.close();
  }

  private static String javaBinary() {
    return ProcessHandle.current().info().command().orElse("java");
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }
}
