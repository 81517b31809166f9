package io.upgradekit.examples.hello;

import java.io.IOException;
import java.io.InputStream;
import java.io.Reader;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Properties;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.thread.QueuedThreadPool;

/**
 * A small real HTTP service to upgrade: {@code /} answers with its greeting and version,
 * {@code /health} with 200 or 503, {@code /metrics} with Prometheus text.
 *
 * <p>It listens with {@code SO_REUSEPORT}, so a new version can start on the same port while the old
 * one still serves (the updater's {@code overlap} strategy), and on SIGTERM it drains: closes its
 * listening socket (new connections go to the other process on the port), keeps serving requests on
 * open connections with {@code Connection: close}, and stops once they are closed or quiet.
 *
 * <p>When {@code UPGRADEKIT_PORT_FILE} is set (the Upgradekit updater sets it for every process it
 * starts), it also listens on a private port: loopback only, an ephemeral port, without {@code
 * SO_REUSEPORT}, and writes that port's number to the file. The updater's health check and metrics
 * watch ({@code http://127.0.0.1:{processPort}/health}) then reach this process alone, even while
 * another version shares the public port.
 *
 * <p>Arguments: {@code --config FILE}, {@code --port N}, {@code --bind ADDR}, {@code --port-file
 * FILE} (writes the bound port, useful with port 0). Environment: {@code HELLO_PORT}, {@code
 * HELLO_BIND}, {@code UPGRADEKIT_PORT_FILE}; for experiments, {@code HELLO_ERROR_RATE} (0–1, share
 * of {@code /} answered 500) and {@code HELLO_EXTRA_LATENCY_MS}.
 */
public final class HelloService {
  /** Connections without a request for this long are idle keep-alives: closing them is safe. */
  static final long QUIET_MILLIS = 500;

  private final Server server;
  private final ServerConnector connector;
  private final ServerConnector privateConnector;
  private final Settings settings;
  private final BuildInfo build;
  private final Drain drain;
  private final long drainMillis;

  public HelloService(Settings settings, BuildInfo build) {
    this.build = build;
    this.settings = settings;
    QueuedThreadPool threads = new QueuedThreadPool(32, 4);
    threads.setName("hello");
    server = new Server(threads);
    connector = new ServerConnector(server, 1, 1);
    connector.setHost(settings.bind());
    connector.setPort(settings.port());
    connector.setReusePort(true); // two versions share the port during an overlap switch
    connector.setReuseAddress(true);
    server.addConnector(connector);
    if (settings.privatePortFile() != null) {
      // This process alone: no SO_REUSEPORT, so no other version can share it.
      privateConnector = new ServerConnector(server, 1, 1);
      privateConnector.setHost(InetAddress.getLoopbackAddress().getHostAddress());
      privateConnector.setPort(0);
      privateConnector.setReusePort(false);
      server.addConnector(privateConnector);
    } else {
      privateConnector = null;
    }
    drain = new Drain(new HelloHandler(build, new Metrics(build.version()), settings.errorRate(),
        settings.extraLatencyMillis()));
    server.setHandler(drain);
    drainMillis = settings.drainSeconds() * 1000L;
    server.setStopTimeout(drainMillis);
  }

  /** Starts listening; then writes the port files ({@code --port-file}, {@code UPGRADEKIT_PORT_FILE}). */
  public void start() throws Exception {
    server.start();
    if (settings.portFile() != null) {
      writePort(Path.of(settings.portFile()), port());
    }
    if (privateConnector != null) {
      writePort(Path.of(settings.privatePortFile()), privatePort());
    }
  }

  public int port() {
    return connector.getLocalPort();
  }

  /** The private loopback port, or -1 without {@code UPGRADEKIT_PORT_FILE}. */
  public int privatePort() {
    return privateConnector == null ? -1 : privateConnector.getLocalPort();
  }

  /** Temp file, force, atomic rename: a reader sees no file or the whole number. */
  private static void writePort(Path file, int port) throws IOException {
    Path temp = file.resolveSibling(file.getFileName() + ".tmp");
    try (FileChannel channel = FileChannel.open(temp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
        StandardOpenOption.TRUNCATE_EXISTING)) {
      channel.write(ByteBuffer.wrap(Integer.toString(port).getBytes(StandardCharsets.US_ASCII)));
      channel.force(true);
    }
    Files.move(temp, file, StandardCopyOption.ATOMIC_MOVE);
  }

  /**
   * Drains, then stops: the listening socket is closed first; open connections are served (each
   * response closing its connection) until none is left, or none has had a request for
   * {@link #QUIET_MILLIS} with nothing in flight, or the drain time is up.
   */
  public void stop() throws Exception {
    long began = System.nanoTime();
    drain.begin();
    connector.close();
    log("draining: listener closed, " + connector.getConnectedEndPoints().size() + " connections open");
    long deadline = began + drainMillis * 1_000_000L;
    while (System.nanoTime() < deadline && !connector.getConnectedEndPoints().isEmpty()
        && (drain.inFlight() > 0 || drain.quietNanos() < QUIET_MILLIS * 1_000_000L)) {
      Thread.sleep(10);
    }
    log("drained after " + millisSince(began) + " ms (" + connector.getConnectedEndPoints().size()
        + " connections left); stopping");
    server.stop();
    log("stopped " + millisSince(began) + " ms after the drain began");
  }

  /**
   * One line on standard output (the updater appends it to {@code state/service.log}), stamped with
   * the time in milliseconds so that a switch can be timed from the log: when the process listened,
   * when its drain began and when it stopped.
   */
  void log(String message) {
    System.out.println(Instant.now().truncatedTo(ChronoUnit.MILLIS) + " hello-service " + build.version() + " "
        + message);
  }

  private static long millisSince(long nanos) {
    return (System.nanoTime() - nanos) / 1_000_000;
  }

  public void join() throws InterruptedException {
    server.join();
  }

  public static void main(String[] args) throws Exception {
    Settings settings = Settings.parse(args, System.getenv());
    BuildInfo build = BuildInfo.load();
    HelloService service = new HelloService(settings, build);
    service.start();
    Runtime.getRuntime().addShutdownHook(new Thread(() -> { // SIGTERM -> drain, then exit 143
      try {
        service.stop();
      } catch (Exception e) {
        System.err.println("hello-service: drain failed: " + e);
      }
    }, "drain"));
    service.log("listening on " + settings.bind() + ":" + service.port()
        + (service.privatePort() < 0 ? "" : " and privately on 127.0.0.1:" + service.privatePort())
        + " (pid " + ProcessHandle.current().pid() + ")");
    service.join();
  }

  /** What the build baked in: the release version, the greeting, and whether health passes. */
  public record BuildInfo(String version, String greeting, boolean healthy) {
    static BuildInfo load() throws IOException {
      Properties properties = new Properties();
      try (InputStream in = HelloService.class.getResourceAsStream("build.properties")) {
        if (in == null) {
          throw new IOException("build.properties is missing from the jar");
        }
        properties.load(new java.io.InputStreamReader(in, StandardCharsets.UTF_8));
      }
      return new BuildInfo(properties.getProperty("version"), properties.getProperty("greeting"),
          Boolean.parseBoolean(properties.getProperty("healthy", "true")));
    }
  }

  /** Settings from the config file, then the environment, then arguments (last wins). */
  public record Settings(String bind, int port, int drainSeconds, String portFile, String privatePortFile,
      double errorRate, long extraLatencyMillis) {
    /** Without a private port (no {@code UPGRADEKIT_PORT_FILE}). */
    public Settings(String bind, int port, int drainSeconds, String portFile, double errorRate,
        long extraLatencyMillis) {
      this(bind, port, drainSeconds, portFile, null, errorRate, extraLatencyMillis);
    }

    static Settings parse(String[] args, java.util.Map<String, String> env) throws IOException {
      Properties properties = new Properties();
      String portFile = null;
      for (int i = 0; i < args.length; i++) {
        if (args[i].equals("--config") && i + 1 < args.length) {
          try (Reader reader = Files.newBufferedReader(Path.of(args[++i]))) {
            properties.load(reader);
          }
        }
      }
      String bind = env.getOrDefault("HELLO_BIND", properties.getProperty("bind", "127.0.0.1"));
      String port = env.getOrDefault("HELLO_PORT", properties.getProperty("port", "8080"));
      for (int i = 0; i < args.length - 1; i++) {
        switch (args[i]) {
          case "--port" -> port = args[++i];
          case "--bind" -> bind = args[++i];
          case "--port-file" -> portFile = args[++i];
          case "--config" -> i++;
          default -> throw new IllegalArgumentException("unknown argument " + args[i]
              + "; use --config FILE, --port N, --bind ADDR, --port-file FILE");
        }
      }
      String privatePortFile = env.get("UPGRADEKIT_PORT_FILE");
      return new Settings(bind, Integer.parseInt(port),
          Integer.parseInt(properties.getProperty("drainSeconds", "10")), portFile,
          privatePortFile == null || privatePortFile.isBlank() ? null : privatePortFile,
          Double.parseDouble(env.getOrDefault("HELLO_ERROR_RATE", "0")),
          Long.parseLong(env.getOrDefault("HELLO_EXTRA_LATENCY_MS", "0")));
    }
  }
}
