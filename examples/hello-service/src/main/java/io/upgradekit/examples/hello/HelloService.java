package io.upgradekit.examples.hello;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.Reader;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.ServerSocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Locale;
import java.util.Properties;
import org.eclipse.jetty.io.EndPoint;
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
 * <p>When its standard input is a listening socket (the Upgradekit updater's {@code service.socket},
 * systemd's {@code StandardInput=socket}), it accepts on that socket instead of binding the port: the
 * socket outlives the process, so during a restart connections wait in the kernel's queue for the
 * next version instead of being refused, and the drain's close resets nothing.
 *
 * <p>When the updater starts it behind a start gate ({@code UPGRADEKIT_START_GATE}, the {@code
 * restart} strategy with {@code service.startGate}), it starts everything but its public listener
 * while the old version still serves, and accepts once the updater has stopped the old one ({@link
 * StartGate}).
 *
 * <p>With a downstream ({@code downstream} in the config file, {@code HELLO_DOWNSTREAM}, or {@code
 * --downstream URL[,URL...]}) every {@code /} asks that service first and fails with 502 when it
 * fails ({@link Downstream}): the example system of {@code examples/shop} (database, cache, api,
 * gateway) is this service four times, each calling the one below.
 *
 * <p>Arguments: {@code --config FILE}, {@code --port N}, {@code --bind ADDR}, {@code --port-file
 * FILE} (writes the bound port, useful with port 0), {@code --downstream URLS}, {@code --build-info
 * RESOURCE} (the class path resource with the build's version and behaviour; default hello-service's).
 * Environment: {@code HELLO_PORT}, {@code HELLO_BIND}, {@code HELLO_DOWNSTREAM}, {@code
 * UPGRADEKIT_PORT_FILE}; for experiments, {@code HELLO_ERROR_RATE} (0–1, share of {@code /} answered
 * 500) and {@code HELLO_EXTRA_LATENCY_MS}. A build can be bad by itself ({@link BuildInfo#errorRate()},
 * from {@code -Dhello.errorRate}).
 */
public final class HelloService {
  /** Connections without a request for this long are idle keep-alives: closing them is safe. */
  static final long QUIET_MILLIS = 500;
  /**
   * The same when no other process listens on the port (a restart, not an overlap): nobody can take
   * over, so every millisecond is downtime; this is only long enough for a request already on its
   * way over a kept-alive connection to arrive and be answered.
   */
  static final long QUIET_MILLIS_ALONE = 50;
  /** Connections the kernel holds for the shared port until this process accepts them. */
  static final int ACCEPT_QUEUE = 1024;

  static {
    // Jetty sizes its padded arrays by references per cache line. Unless told, it asks the platform
    // MBean server whether oops are compressed, which initialises JMX: measured on 2 cores, the
    // first answer after exec came about 90 ms later (0.39 s instead of 0.30 s).
    // 64-byte lines of 4-byte references (compressed oops: any heap under 32 GB); a wrong guess
    // only changes padding, never behaviour.
    if (System.getProperty("org.eclipse.jetty.util.referencesPerCacheLine") == null) {
      System.setProperty("org.eclipse.jetty.util.referencesPerCacheLine", "16");
    }
  }

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
    if (settings.inheritSocket()) {
      // The socket outlives this process (the updater's launcher or systemd holds it): every version
      // accepts from the same queue, and connections wait there while none does.
      connector.setInheritChannel(true);
    } else {
      connector.setReusePort(true); // two versions share the port during an overlap switch
      connector.setReuseAddress(true);
      // The kernel hashes new connections over every socket of the SO_REUSEPORT group, so the new
      // version gets its share from the moment it binds, while its JVM is still cold. A full accept
      // queue drops the SYN and the client retries a second later: Java's default of 50 is a quarter
      // second at 200 connections/s. The kernel caps this at net.core.somaxconn (4096 since Linux 5.4).
      connector.setAcceptQueueSize(ACCEPT_QUEUE);
    }
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
        settings.extraLatencyMillis(), settings.downstream() == null ? null : new Downstream(settings.downstream())));
    server.setHandler(drain);
    drainMillis = settings.drainSeconds() * 1000L;
    server.setStopTimeout(drainMillis);
  }

  /** Starts listening; then writes the port files ({@code --port-file}, {@code UPGRADEKIT_PORT_FILE}). */
  public void start() throws Exception {
    start(null);
  }

  /**
   * Starts; with a {@link StartGate}, everything but the public connector first (the private port
   * answers the updater's checks), then waits at the gate and accepts on the public port once the
   * old version has stopped.
   */
  void start(StartGate gate) throws Exception {
    if (gate != null) {
      server.removeConnector(connector);
    }
    server.start();
    if (privateConnector != null) {
      writePort(Path.of(settings.privatePortFile()), privatePort());
    }
    if (gate != null) {
      gate.ready();
      log("ready at the start gate " + gate.dir() + "; waiting for the old version to stop");
      gate.awaitOpen();
      server.addConnector(connector);
      if (!connector.isStarted()) {
        connector.start();
      }
      log("the start gate opened: accepting");
    }
    if (settings.portFile() != null) {
      writePort(Path.of(settings.portFile()), port());
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
   * Drains, then stops: the listening sockets are closed first (the private one too); open
   * connections are served (each response closing its connection) until none is left, or none has
   * had a request for {@link #QUIET_MILLIS} with nothing in flight ({@link #QUIET_MILLIS_ALONE}
   * when no other process listens on the port), or the drain time is up. What is left then are idle
   * keep-alive connections, such as the updater's health and metrics client on the private port:
   * they are closed at once, so that Jetty's own graceful stop has nothing to wait for (with one
   * idle connection open it waited 1 to 1.5 s, all of it downtime for the restart strategy).
   */
  public void stop() throws Exception {
    long began = System.nanoTime();
    int port = port();
    drain.begin();
    connector.close();
    if (privateConnector != null) {
      privateConnector.close();
    }
    // With an inherited socket the listener stays open for the next version, which takes the clients
    // over from its queue: nobody else serves them meanwhile, so no reason to wait longer.
    boolean alone = settings.inheritSocket() || !othersListenOn(port);
    long quietNanos = (alone ? QUIET_MILLIS_ALONE : QUIET_MILLIS) * 1_000_000L;
    log("draining: listener closed, " + connector.getConnectedEndPoints().size() + " connections open, "
        + (settings.inheritSocket() ? "the inherited socket on port " + port + " queues new connections"
            : alone ? "no other process listens on port " + port : "another process listens on port " + port));
    long deadline = began + drainMillis * 1_000_000L;
    while (System.nanoTime() < deadline && !connector.getConnectedEndPoints().isEmpty()
        && (drain.inFlight() > 0 || drain.quietNanos() < quietNanos)) {
      Thread.sleep(10);
    }
    while (System.nanoTime() < deadline && drain.inFlight() > 0) { // e.g. a metrics request on the private port
      Thread.sleep(10);
    }
    int left = closeConnections(connector) + (privateConnector == null ? 0 : closeConnections(privateConnector));
    log("drained after " + millisSince(began) + " ms (closed the " + left + " connections left); stopping");
    server.stop();
    log("stopped " + millisSince(began) + " ms after the drain began");
  }

  /**
   * Whether a socket listens on {@code port} (any address), from Linux's {@code /proc/net/tcp} and
   * {@code tcp6}: after this process closed its own listener, that is another version sharing the
   * port ({@code SO_REUSEPORT}). True when it cannot tell (no {@code /proc}): the careful answer.
   * The kernel lists listening sockets before all others (kernels before 4.4 put each listener's
   * half-open connections, SYN_RECV, right after it), so the reading stops at the first socket in
   * another state: under load the tables hold tens of thousands of connections in TIME_WAIT.
   */
  static boolean othersListenOn(int port) {
    String hexPort = String.format(Locale.ROOT, ":%04X ", port);
    boolean readable = false;
    for (String table : List.of("/proc/net/tcp", "/proc/net/tcp6")) {
      try (BufferedReader reader = Files.newBufferedReader(Path.of(table), StandardCharsets.US_ASCII)) {
        readable = true;
        reader.readLine(); // the header
        for (String line = reader.readLine(); line != null; line = reader.readLine()) {
          // "  sl  local_address rem_address   st ...": "0: 0100007F:1F90 00000000:0000 0A ..."
          String[] f = line.trim().split(" +", 5);
          if (f.length < 4 || !(f[3].equals("0A") || f[3].equals("03"))) { // TCP_LISTEN, TCP_SYN_RECV
            break;
          }
          if (f[3].equals("0A") && (f[1] + " ").endsWith(hexPort)) {
            return true;
          }
        }
      } catch (IOException e) {
        // not Linux, or no such table
      }
    }
    return !readable;
  }

  private static int closeConnections(ServerConnector connector) {
    int closed = 0;
    for (EndPoint endPoint : List.copyOf(connector.getConnectedEndPoints())) {
      endPoint.close();
      closed++;
    }
    return closed;
  }

  /**
   * One line on standard output (the updater appends it to {@code state/service.log}), stamped with
   * the time in milliseconds so that a switch can be timed from the log: when the process listened,
   * when its drain began and when it stopped.
   */
  void log(String message) {
    System.out.println(Instant.now().truncatedTo(ChronoUnit.MILLIS) + " " + build.name() + " " + build.version() + " "
        + message);
  }

  private static long millisSince(long nanos) {
    return (System.nanoTime() - nanos) / 1_000_000;
  }

  /**
   * When an inherited channel is closed, the JDK points descriptors 0, 1 and 2 at /dev/null: it
   * assumes inetd, where all three are the connection. Here 1 and 2 are the log (the updater's
   * {@code state/service.log}), and the drain closes the channel before it logs what it does; so the
   * output goes through descriptors of its own, opened on the same files. Where they cannot be
   * opened again (a socket, such as journald's stream) the output after the close is lost.
   */
  private static void keepOutputAfterTheInheritedChannelCloses() {
    try {
      System.setOut(new java.io.PrintStream(new java.io.FileOutputStream("/proc/self/fd/1", true), true,
          StandardCharsets.UTF_8));
      System.setErr(new java.io.PrintStream(new java.io.FileOutputStream("/proc/self/fd/2", true), true,
          StandardCharsets.UTF_8));
    } catch (IOException e) {
      System.err.println("hello-service: output after the drain begins is lost: cannot open it again (" + e + ")");
    }
  }

  public void join() throws InterruptedException {
    server.join();
  }

  public static void main(String[] args) throws Exception {
    Settings settings = Settings.parse(args, System.getenv());
    if (settings.inheritSocket()) {
      keepOutputAfterTheInheritedChannelCloses();
    }
    BuildInfo build = BuildInfo.load(settings.buildInfo());
    HelloService service = new HelloService(settings, build);
    service.start(StartGate.fromEnvironment(System.getenv()));
    Runtime.getRuntime().addShutdownHook(new Thread(() -> { // SIGTERM -> drain, then exit 143
      try {
        service.stop();
      } catch (Exception e) {
        System.err.println("hello-service: drain failed: " + e);
      }
    }, "drain"));
    service.log("listening on " + (settings.inheritSocket() ? "the inherited socket, port " + service.port()
            : settings.bind() + ":" + service.port())
        + (service.privatePort() < 0 ? "" : " and privately on 127.0.0.1:" + service.privatePort())
        + (settings.downstream() == null ? "" : ", calling " + settings.downstream().targets())
        + " (pid " + ProcessHandle.current().pid() + ")");
    service.join();
  }

  /**
   * What the build baked in: the release version, the greeting, whether health passes, for a bad
   * release the share of {@code /} answered 500 ({@code hello.errorRate}) from {@code
   * errorsAfterSeconds} after the start on ({@code hello.errorsAfter}; 0: at once), and the
   * service's name in its log lines ({@code hello-service}, or a component of the example system).
   */
  public record BuildInfo(String version, String greeting, boolean healthy, double errorRate,
      long errorsAfterSeconds, String name) {
    /** The class path resource hello-service's own build writes. */
    static final String DEFAULT_RESOURCE = "io/upgradekit/examples/hello/build.properties";

    public BuildInfo {
      if (name == null || name.isBlank()) {
        throw new IllegalArgumentException("a build needs a name");
      }
      if (!(errorRate >= 0 && errorRate <= 1)) {
        throw new IllegalArgumentException("errorRate must be between 0 and 1, not " + errorRate);
      }
      if (errorsAfterSeconds < 0) {
        throw new IllegalArgumentException("errorsAfter must not be negative, not " + errorsAfterSeconds);
      }
    }

    /** hello-service's build. */
    public BuildInfo(String version, String greeting, boolean healthy, double errorRate, long errorsAfterSeconds) {
      this(version, greeting, healthy, errorRate, errorsAfterSeconds, "hello-service");
    }

    /** A build of hello-service that fails no request by itself. */
    public BuildInfo(String version, String greeting, boolean healthy) {
      this(version, greeting, healthy, 0, 0);
    }

    /** Reads {@code resource} from the class path ({@code version}, {@code greeting}, ..., {@code name}). */
    static BuildInfo load(String resource) throws IOException {
      Properties properties = new Properties();
      try (InputStream in = HelloService.class.getClassLoader().getResourceAsStream(resource)) {
        if (in == null) {
          throw new IOException(resource + " is missing from the class path: is --build-info right?");
        }
        properties.load(new java.io.InputStreamReader(in, StandardCharsets.UTF_8));
      }
      return new BuildInfo(properties.getProperty("version"), properties.getProperty("greeting"),
          Boolean.parseBoolean(properties.getProperty("healthy", "true")),
          Double.parseDouble(properties.getProperty("errorRate", "0")),
          Long.parseLong(properties.getProperty("errorsAfter", "0")),
          properties.getProperty("name", "hello-service"));
    }
  }

  /**
   * Settings from the config file, then the environment, then arguments (last wins).
   *
   * @param downstream the service {@code /} calls, or null for none
   * @param buildInfo the class path resource holding the build's {@link BuildInfo}
   */
  public record Settings(String bind, int port, int drainSeconds, String portFile, String privatePortFile,
      double errorRate, long extraLatencyMillis, boolean inheritSocket, Downstream.Settings downstream,
      String buildInfo) {
    public Settings {
      if (buildInfo == null || buildInfo.isBlank()) {
        buildInfo = BuildInfo.DEFAULT_RESOURCE;
      }
    }

    /** Without a downstream, hello-service's own build. */
    public Settings(String bind, int port, int drainSeconds, String portFile, String privatePortFile,
        double errorRate, long extraLatencyMillis, boolean inheritSocket) {
      this(bind, port, drainSeconds, portFile, privatePortFile, errorRate, extraLatencyMillis, inheritSocket, null,
          null);
    }

    /** Without a private port (no {@code UPGRADEKIT_PORT_FILE}), binding its own socket. */
    public Settings(String bind, int port, int drainSeconds, String portFile, double errorRate,
        long extraLatencyMillis) {
      this(bind, port, drainSeconds, portFile, null, errorRate, extraLatencyMillis, false);
    }

    static Settings parse(String[] args, java.util.Map<String, String> env) throws IOException {
      return parse(args, env, inheritedListener());
    }

    /**
     * Whether standard input is a listening socket: the Upgradekit updater's {@code service.socket},
     * systemd's {@code StandardInput=socket}, inetd with {@code wait}. Then the service accepts on it
     * instead of binding the port ({@code --port} and {@code --bind} only name it in the log).
     */
    static boolean inheritedListener() {
      try {
        return System.inheritedChannel() instanceof ServerSocketChannel;
      } catch (IOException e) {
        return false;
      }
    }

    static Settings parse(String[] args, java.util.Map<String, String> env, boolean inheritSocket) throws IOException {
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
      String downstream = env.getOrDefault("HELLO_DOWNSTREAM", properties.getProperty("downstream", ""));
      String buildInfo = null;
      for (int i = 0; i < args.length; i++) {
        String value = i + 1 < args.length ? args[i + 1] : null;
        switch (args[i]) {
          case "--port" -> port = value;
          case "--bind" -> bind = value;
          case "--port-file" -> portFile = value;
          case "--downstream" -> downstream = value;
          case "--build-info" -> buildInfo = value;
          case "--config" -> { }
          default -> throw new IllegalArgumentException("unknown argument " + args[i]
              + "; use --config FILE, --port N, --bind ADDR, --port-file FILE, --downstream URLS, --build-info RESOURCE");
        }
        if (value == null) {
          throw new IllegalArgumentException(args[i] + " needs a value");
        }
        i++;
      }
      String privatePortFile = env.get("UPGRADEKIT_PORT_FILE");
      return new Settings(bind, Integer.parseInt(port),
          Integer.parseInt(properties.getProperty("drainSeconds", "10")), portFile,
          privatePortFile == null || privatePortFile.isBlank() ? null : privatePortFile,
          Double.parseDouble(env.getOrDefault("HELLO_ERROR_RATE", "0")),
          Long.parseLong(env.getOrDefault("HELLO_EXTRA_LATENCY_MS", "0")), inheritSocket,
          Downstream.Settings.parse(downstream, Duration.ofMillis(Long.parseLong(
              properties.getProperty("downstreamTimeoutMillis", Long.toString(Downstream.Settings.DEFAULT_TIMEOUT.toMillis()))))),
          buildInfo);
    }
  }
}
