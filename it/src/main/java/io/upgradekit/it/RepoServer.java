package io.upgradekit.it;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * repo-server as a process: {@code java -jar repo-server.jar --root DIR --port 0} on 127.0.0.1
 * (or {@code --store s3://...}: {@link #startOnStore}) with a fresh publisher token and node secret,
 * its trust root pinned. The port the kernel chose is read from the log line {@code listening on
 * http://127.0.0.1:PORT/}. Node credentials come from the server's own {@code node-credential}
 * command.
 */
public final class RepoServer implements AutoCloseable {
  private static final Pattern LISTENING = Pattern.compile("listening on (http://\\S+/)");
  private static final Pattern ACCESS = Pattern.compile("\"GET /blobs/sha256/../([0-9a-f]{64}) HTTP/[0-9.]+\" (\\d{3}) (\\d+)");

  /**
   * How to start it.
   *
   * @param port 0 for an ephemeral port
   * @param rateLimit requests per second per client address ({@code --rate-limit}); 0 turns it off
   * @param claimCapacity slots per claim scope ({@code --claim-capacity})
   * @param extraArguments more options, as on the command line
   * @param startTimeout how long to wait for the "listening" line
   * @param rollouts the rollout controller's settings, or null for a server without one
   * @param instance {@code --instance} (the process's name among the servers of one repository), or null
   */
  public record Options(int port, int rateLimit, int claimCapacity, List<String> extraArguments, Duration startTimeout,
      Rollouts rollouts, String instance) {
    public Options {
      extraArguments = List.copyOf(extraArguments);
    }

    public Options(int port, int rateLimit, int claimCapacity, List<String> extraArguments, Duration startTimeout) {
      this(port, rateLimit, claimCapacity, extraArguments, startTimeout, null, null);
    }

    public static Options defaults() {
      return new Options(0, 500, 1, List.of(), Duration.ofSeconds(60));
    }

    public Options withPort(int newPort) {
      return new Options(newPort, rateLimit, claimCapacity, extraArguments, startTimeout, rollouts, instance);
    }

    public Options withClaimCapacity(int capacity) {
      return new Options(port, rateLimit, capacity, extraArguments, startTimeout, rollouts, instance);
    }

    public Options withExtraArguments(List<String> arguments) {
      return new Options(port, rateLimit, claimCapacity, arguments, startTimeout, rollouts, instance);
    }

    /** With the rollout controller ({@code --rollout-key-file} and the rest) and the operators' API. */
    public Options withRollouts(Rollouts settings) {
      return new Options(port, rateLimit, claimCapacity, extraArguments, startTimeout, settings, instance);
    }

    public Options withInstance(String name) {
      return new Options(port, rateLimit, claimCapacity, extraArguments, startTimeout, rollouts, name);
    }
  }

  /**
   * The rollout controller's options (docs/rollouts.md, "Setting up the server"). The server also
   * gets {@code --operator-credentials}: an operator {@value #OPERATOR} (acts) and a viewer {@value
   * #VIEWER} (reads), each with a fresh token ({@link #operatorTokenFile}).
   *
   * @param keyFile {@code --rollout-key-file}: a key the trust root's rollout role names (mode 0600)
   * @param startDelay {@code --rollout-start-delay}
   * @param controllerInterval {@code --controller-interval}
   * @param stateTtl {@code --rollout-state-ttl}
   */
  public record Rollouts(Path keyFile, Duration startDelay, Duration controllerInterval, Duration stateTtl) {
    public Rollouts {
      java.util.Objects.requireNonNull(keyFile, "keyFile");
      java.util.Objects.requireNonNull(startDelay, "startDelay");
      java.util.Objects.requireNonNull(controllerInterval, "controllerInterval");
      java.util.Objects.requireNonNull(stateTtl, "stateTtl");
    }

    List<String> arguments(Path operators) {
      return List.of("--rollout-key-file", keyFile.toString(), "--operator-credentials", operators.toString(),
          "--rollout-start-delay", millis(startDelay), "--controller-interval", millis(controllerInterval),
          "--rollout-state-ttl", millis(stateTtl));
    }

    private static String millis(Duration d) {
      return d.toMillis() + "ms";
    }
  }

  /** The operator {@link Rollouts} sets up: may act on rollouts. */
  public static final String OPERATOR = "ops";
  /** The viewer {@link Rollouts} sets up: may only read them. */
  public static final String VIEWER = "watcher";

  /**
   * Where a server process keeps its repository and log.
   *
   * @param root the repository directory, or null for a store
   * @param store the store address ({@code --store}), or null for a directory
   * @param trustRoot the trust root to pin
   * @param environment added to the process's environment (the store's keys)
   */
  private record Place(Path root, String store, Path trustRoot, Map<String, String> environment) {}

  private final Artifacts artifacts;
  private final Place place;
  private final Path secrets;
  private final Path logs;
  private final Options options;
  private final ManagedProcess process;
  private final URI url;

  private RepoServer(Artifacts artifacts, Place place, Path secrets, Path logs, Options options, ManagedProcess process,
      URI url) {
    this.artifacts = artifacts;
    this.place = place;
    this.secrets = secrets;
    this.logs = logs;
    this.options = options;
    this.process = process;
    this.url = url;
  }

  /**
   * Starts the server on repository {@code root} (which must hold a trust root: {@code root.json}),
   * with secrets in {@code secrets} and its log in {@code logs/repo-server.log}.
   */
  public static RepoServer start(Artifacts artifacts, Path root, Path secrets, Path logs, Options options) {
    Path trustRoot = root.resolve("root.json");
    if (!Files.exists(trustRoot)) {
      throw new HarnessException(root + " has no root.json: create the release key and trust root first"
          + " (Releasers.keygen or mvn upgrade:keygen)");
    }
    writeSecrets(secrets, options);
    return launch(artifacts, new Place(root, null, trustRoot, Map.of()), secrets, logs, options);
  }

  /**
   * Starts a server on the repository in an object store ({@code --store ADDRESS}), which must hold
   * a trust root; {@code trustRoot} is the copy to pin. Servers given the same {@code secrets}
   * share the publisher token and the node secret, as the servers of one store behind a load
   * balancer would.
   *
   * @param name the process's {@code --instance} (its log is {@code logs/repo-server-<name>.log})
   * @param environment added to the process's environment: the store's keys
   *     ({@code AWS_ACCESS_KEY_ID}, {@code AWS_SECRET_ACCESS_KEY})
   */
  public static RepoServer startOnStore(Artifacts artifacts, String store, Path trustRoot, Path secrets, Path logs,
      String name, Map<String, String> environment, Options options) {
    writeSecrets(secrets, options);
    return launch(artifacts, new Place(null, store, trustRoot, Map.copyOf(environment)), secrets, logs,
        options.withInstance(name));
  }

  private static void writeSecrets(Path secrets, Options options) {
    try {
      Files.createDirectories(secrets);
      writeSecret(secrets.resolve("publish-token"));
      writeSecret(secrets.resolve("node-secret"));
      if (options.rollouts() != null) {
        writeSecret(secrets.resolve(OPERATOR + ".token"));
        writeSecret(secrets.resolve(VIEWER + ".token"));
        Path operators = secrets.resolve("operators");
        if (!Files.exists(operators)) {
          Files.createFile(operators, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
          Files.writeString(operators, "# written by the end-to-end harness (RepoServer.Rollouts)\n"
              + OPERATOR + " operator " + token(secrets, OPERATOR) + "\n"
              + VIEWER + " viewer " + token(secrets, VIEWER) + "\n", StandardCharsets.US_ASCII);
        }
      }
    } catch (IOException e) {
      throw new HarnessException("cannot write the server's secrets into " + secrets + ": " + e, e);
    }
  }

  private static RepoServer launch(Artifacts artifacts, Place place, Path secrets, Path logs, Options options) {
    List<String> command = new ArrayList<>(List.of(Jvm.java(), "-Xmx256m", "-XX:+UseSerialGC", "-jar",
        artifacts.repoServerJar().toString()));
    command.addAll(place.root() != null ? List.of("--root", place.root().toString()) : List.of("--store", place.store()));
    command.addAll(List.of("--port", Integer.toString(options.port()), "--bind", "127.0.0.1",
        "--trust-root", place.trustRoot().toString(),
        "--publish-token-file", secrets.resolve("publish-token").toString(),
        "--node-secret-file", secrets.resolve("node-secret").toString(),
        "--rate-limit", Integer.toString(options.rateLimit()),
        "--claim-capacity", Integer.toString(options.claimCapacity()),
        "--stop-timeout", "2s"));
    if (options.rollouts() != null) {
      command.addAll(options.rollouts().arguments(secrets.resolve("operators")));
    }
    if (options.instance() != null) {
      command.addAll(List.of("--instance", options.instance()));
    }
    command.addAll(options.extraArguments());
    // One log per process: a restarted (or a second) server must not overwrite the first one's.
    String name = "repo-server" + (options.instance() == null ? "" : "-" + options.instance());
    Path log = logs.resolve(name + ".log");
    for (int n = 2; Files.exists(log); n++) {
      log = logs.resolve(name + "-" + n + ".log");
    }
    ManagedProcess process = ManagedProcess.start(name, command, place.environment(), workingDirectory(place, secrets),
        log);
    try {
      Matcher m = process.awaitLog(LISTENING, options.startTimeout());
      return new RepoServer(artifacts, place, secrets, logs, options, process, URI.create(m.group(1)));
    } catch (RuntimeException e) {
      process.close();
      throw e;
    }
  }

  /**
   * Stops this server and starts it again on the same port, root and secrets (a server restart during
   * a rollout). The returned server replaces this one.
   */
  public RepoServer restart() {
    process.stop(Duration.ofSeconds(10));
    return launch(artifacts, place, secrets, logs, options.withPort(url.getPort()));
  }

  /**
   * Stops this server, leaves the port closed for {@code downtime}, and starts it again on the same
   * port, root and secrets. The returned server replaces this one.
   */
  public RepoServer restart(Duration downtime) {
    process.stop(Duration.ofSeconds(10));
    ManagedProcess.sleep(downtime.toMillis());
    return launch(artifacts, place, secrets, logs, options.withPort(url.getPort()));
  }

  private static Path workingDirectory(Place place, Path secrets) {
    return place.root() != null ? place.root() : secrets;
  }

  /**
   * SIGKILL to the server at once ({@code kill -9}): no shutdown hook runs, nothing is flushed.
   * {@link #restartAfterKill} starts it again.
   */
  public void kill() {
    process.killSparing(List.of());
  }

  /** Starts the server again on the same port, root, secrets and options after {@link #kill}. */
  public RepoServer restartAfterKill() {
    if (process.isAlive()) {
      throw new HarnessException(this + " still runs; kill() it first");
    }
    return launch(artifacts, place, secrets, logs, options.withPort(url.getPort()));
  }

  /**
   * A second server process on the same repository, secrets and options, on its own ephemeral port
   * and under its own {@code --instance} (several processes of one repository, docs/rollouts.md).
   */
  public RepoServer another(String instance) {
    if (instance.equals(options.instance())) {
      throw new IllegalArgumentException("a second server needs its own --instance, not " + instance);
    }
    return launch(artifacts, place, secrets, logs, options.withPort(0).withInstance(instance));
  }

  /** The file holding {@code name}'s operator token ({@link #OPERATOR} or {@link #VIEWER}), for {@code --operator-token-file}. */
  public Path operatorTokenFile(String name) {
    Path file = secrets.resolve(name + ".token");
    if (options.rollouts() == null || !Files.exists(file)) {
      throw new HarnessException(this + " was started without rollouts (Options.withRollouts): it has no operator " + name);
    }
    return file;
  }

  public Options options() {
    return options;
  }

  /**
   * {@code repo-server rollout <arguments> --server URL --operator-token-file F} (the operators'
   * command, {@code status}, {@code approve}, {@code pause}, ...), as {@code operator}; not required
   * to succeed (exit 2 is a refused action).
   */
  public Command.Result rollout(String operator, List<String> arguments) {
    List<String> command = new ArrayList<>(List.of(Jvm.java(), "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-jar",
        artifacts.repoServerJar().toString(), "rollout"));
    command.addAll(arguments);
    command.addAll(List.of("--server", url.toString(), "--operator-token-file", operatorTokenFile(operator).toString()));
    String name = "rollout-" + arguments.get(0) + "-" + ROLLOUT_COMMANDS.incrementAndGet() + ".log";
    return Command.run(command, Map.of(), workingDirectory(place, secrets), logs.resolve(name), Duration.ofSeconds(60));
  }

  private static final java.util.concurrent.atomic.AtomicInteger ROLLOUT_COMMANDS =
      new java.util.concurrent.atomic.AtomicInteger();

  /**
   * {@code GET path} with {@code name}'s operator token ({@code Authorization: Bearer}), e.g. {@code
   * v1/rollouts/hello/2.0.0}: the status and the body.
   */
  public HttpAnswer getAsOperator(String name, String path) {
    String token;
    try {
      token = Files.readString(operatorTokenFile(name), StandardCharsets.US_ASCII).strip();
    } catch (IOException e) {
      throw new HarnessException("cannot read " + name + "'s token: " + e, e);
    }
    HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    try {
      HttpResponse<String> response = client.send(HttpRequest.newBuilder(url.resolve(path))
          .header("Authorization", "Bearer " + token).timeout(Duration.ofSeconds(10)).build(),
          HttpResponse.BodyHandlers.ofString());
      return new HttpAnswer(response.statusCode(), response.body());
    } catch (IOException e) {
      throw new HarnessException("GET " + url.resolve(path) + " failed: " + e, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new HarnessException("interrupted", e);
    }
  }

  /**
   * {@code POST /v1/rollouts/<app>/<version>/actions} with {@code name}'s operator token: what
   * {@code repo-server rollout ACTION} sends, without a JVM start (for actions whose moment
   * matters). {@code body} is the {@code RolloutAction} JSON.
   */
  public HttpAnswer actAsOperator(String name, String app, String version, String body) {
    HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    URI target = url.resolve("v1/rollouts/" + app + "/" + version + "/actions");
    try {
      HttpResponse<String> response = client.send(HttpRequest.newBuilder(target)
          .header("Authorization", "Bearer " + Files.readString(operatorTokenFile(name), StandardCharsets.US_ASCII).strip())
          .header("Content-Type", "application/json")
          .POST(HttpRequest.BodyPublishers.ofString(body)).timeout(Duration.ofSeconds(10)).build(),
          HttpResponse.BodyHandlers.ofString());
      return new HttpAnswer(response.statusCode(), response.body());
    } catch (IOException e) {
      throw new HarnessException("POST " + target + " failed: " + e, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new HarnessException("interrupted", e);
    }
  }

  /** An HTTP answer: its status and body. */
  public record HttpAnswer(int status, String body) {}

  /**
   * The feedback reports stored for {@code node}, read from the repository ({@code
   * feedback/<app>/<node>/<eventId>/<sequence>.json}): per event id, the stored file names.
   */
  public Map<String, List<String>> storedReports(String app, String node) {
    Path dir = root().resolve("feedback").resolve(app).resolve(node);
    Map<String, List<String>> out = new TreeMap<>();
    if (!Files.isDirectory(dir)) {
      return out;
    }
    try (var events = Files.list(dir)) {
      for (Path event : events.filter(Files::isDirectory).toList()) {
        try (var files = Files.list(event)) {
          out.put(event.getFileName().toString(), files.map(f -> f.getFileName().toString())
              .filter(n -> n.endsWith(".json") && !n.startsWith(".")).sorted().toList());
        }
      }
    } catch (IOException e) {
      throw new HarnessException("cannot list " + dir + ": " + e, e);
    }
    return out;
  }

  /** {@code http://127.0.0.1:PORT/}, with the trailing slash. */
  public URI url() {
    return url;
  }

  /** The repository directory; null for a server on a store. */
  public Path root() {
    return place.root();
  }

  public ManagedProcess process() {
    return process;
  }

  /** The publisher's bearer token (for {@code UPGRADE_TOKEN} when releasing over HTTP). */
  public String publishToken() {
    try {
      return Files.readString(secrets.resolve("publish-token"), StandardCharsets.US_ASCII).strip();
    } catch (IOException e) {
      throw new HarnessException("cannot read the publish token: " + e, e);
    }
  }

  /** Credentials for {@code nodes}, from {@code repo-server node-credential} (one JVM for all). */
  public Map<String, String> nodeCredentials(List<String> nodes) {
    List<String> command = new ArrayList<>(List.of(Jvm.java(), "-XX:TieredStopAtLevel=1", "-jar",
        artifacts.repoServerJar().toString(), "node-credential", "--node-secret-file",
        secrets.resolve("node-secret").toString()));
    command.addAll(nodes);
    Command.Result result = Command.run(command, Map.of(), workingDirectory(place, secrets),
        logs.resolve("node-credential.log"),
        Duration.ofSeconds(60)).requireSuccess("repo-server node-credential");
    Map<String, String> out = new LinkedHashMap<>();
    List<String> lines = result.stdout().lines().filter(l -> !l.isBlank()).toList();
    if (nodes.size() == 1 && lines.size() == 1) {
      out.put(nodes.get(0), lines.get(0).strip());
      return out;
    }
    for (String line : lines) {
      String[] parts = line.strip().split("\\s+");
      if (parts.length == 2) {
        out.put(parts[0], parts[1]);
      }
    }
    if (!out.keySet().containsAll(nodes)) {
      throw new HarnessException("node-credential printed no credential for some of " + nodes + ": " + result.stdout());
    }
    return out;
  }

  /** {@code GET /v1/status}: the fleet status document (JSON). */
  public String statusJson() {
    return get("v1/status");
  }

  /** {@code GET /v1/status}, parsed. */
  public FleetStatus status() {
    return FleetStatus.parse(statusJson());
  }

  /** A GET of {@code path} (relative to the server's URL); the body, or an exception unless 200. */
  public String get(String path) {
    HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    try {
      HttpResponse<String> response = client.send(HttpRequest.newBuilder(url.resolve(path))
          .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
      if (response.statusCode() != 200) {
        throw new HarnessException("GET " + url.resolve(path) + " answered " + response.statusCode() + ": "
            + response.body());
      }
      return response.body();
    } catch (IOException e) {
      throw new HarnessException("GET " + url.resolve(path) + " failed: " + e, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new HarnessException("interrupted", e);
    }
  }

  /**
   * Blob downloads served so far, from the access log: per blob (SHA-256), how many GETs answered
   * 200 or 206 and how many bytes they sent. Lets a test tell a delta download from a full one.
   */
  public Map<String, BlobDownloads> blobDownloads() {
    Map<String, BlobDownloads> out = new LinkedHashMap<>();
    try {
      for (String line : Files.readAllLines(process.logFile(), StandardCharsets.UTF_8)) {
        Matcher m = ACCESS.matcher(line);
        if (m.find() && (m.group(2).equals("200") || m.group(2).equals("206"))) {
          out.merge(m.group(1), new BlobDownloads(1, Long.parseLong(m.group(3))),
              (a, b) -> new BlobDownloads(a.requests() + b.requests(), a.bytes() + b.bytes()));
        }
      }
    } catch (IOException e) {
      throw new HarnessException("cannot read " + process.logFile() + ": " + e, e);
    }
    return out;
  }

  /** GETs of one blob: how many, and the bytes sent. */
  public record BlobDownloads(int requests, long bytes) {}

  @Override
  public void close() {
    process.close();
  }

  @Override
  public String toString() {
    return "repo-server " + url;
  }

  private static String token(Path secrets, String name) throws IOException {
    return Files.readString(secrets.resolve(name + ".token"), StandardCharsets.US_ASCII).strip();
  }

  private static void writeSecret(Path file) throws IOException {
    if (Files.exists(file)) {
      return;
    }
    byte[] random = new byte[32];
    new SecureRandom().nextBytes(random);
    Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
    Files.writeString(file, Base64.getEncoder().encodeToString(random) + "\n", StandardCharsets.US_ASCII);
  }
}
