package io.upgradekit.server.cli;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.server.RepoServer;
import io.upgradekit.server.ServerConfig;
import io.upgradekit.server.core.ClaimCapacity;
import io.upgradekit.server.core.Secrets;
import io.upgradekit.store.s3.S3StoreConfig;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.BindException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code java -jar repo-server.jar --root DIR|--store ADDRESS [options]}: serves a repository. Reads options,
 * builds one {@link ServerConfig}, starts {@link RepoServer} and waits for it to stop (SIGTERM or
 * Ctrl-C stop it gracefully).
 */
@Command(
    name = "repo-server",
    mixinStandardHelpOptions = true,
    versionProvider = ServerMain.Version.class,
    sortOptions = false,
    subcommands = {NodeCredentialCommand.class, RolloutCommand.class, FleetCommand.class},
    description = {
      "Serves an Upgradekit repository: the static files under /, the publish, claim and feedback API"
          + " under /v1/, fleet status at /v1/status and Prometheus metrics at /metrics.",
      ""
    },
    footer = {
      "",
      "Secrets are never given on the command line: the publisher token comes from --publish-token-file"
          + " or the UPGRADEKIT_PUBLISH_TOKEN environment variable, the node secret from --node-secret-file.",
      "",
      "Exit status: 0 stopped normally, 1 failed (port taken, I/O error), 2 usage or configuration error"
          + " (errors are printed as 'repo-server: CODE: what to fix').",
      "Documentation: docs/repo-server.md"
    })
public final class ServerMain implements Callable<Integer> {
  static final String TOKEN_ENV = "UPGRADEKIT_PUBLISH_TOKEN";
  /** With --store, the servers sharing it see each other's feedback in the status this late at most. */
  static final Duration DEFAULT_STORE_STATUS_REFRESH = Duration.ofSeconds(30);

  @Spec CommandSpec spec;

  @Option(names = "--root", paramLabel = "DIR",
      description = "The repository directory (the default kind of repository; this or --store is required).")
  Path root;

  @Option(names = "--store", paramLabel = "ADDRESS",
      description = "Instead of --root: the repository in a bucket of an S3-compatible object store,"
          + " s3://<bucket>[/<prefix>][?endpoint=<url>&region=<name>&pathStyle=true] (see docs/object-storage.md)."
          + " Credentials come only from the AWS SDK's default chain (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY,"
          + " AWS_PROFILE, the instance's role). Several servers may share one store.")
  String store;

  @Option(names = "--store-refresh", paramLabel = "DURATION", defaultValue = "1s", converter = Durations.class,
      description = "With --store: how long what the server knows about a file that may change (a channel pointer,"
          + " rollout state, a missing file) is used before it is read from the store again; the bound on how late"
          + " another server's write is served. Default: ${DEFAULT-VALUE}.")
  Duration storeRefresh;

  @Option(names = "--port", paramLabel = "PORT", defaultValue = "" + ServerConfig.DEFAULT_PORT,
      description = "Port to listen on; 0 picks a free one. Default: ${DEFAULT-VALUE}.")
  int port;

  @Option(names = "--bind", paramLabel = "ADDR", defaultValue = ServerConfig.DEFAULT_BIND,
      description = "Address to listen on; 0.0.0.0 for all. Default: ${DEFAULT-VALUE}.")
  String bind;

  @Option(names = "--trust-root", paramLabel = "FILE",
      description = "A signed trust root to pin: publications must verify against it or a rotation signed from"
          + " it; installed into the repository if it has no root.json. Without it, the repository's root.json"
          + " is trusted as found.")
  Path trustRoot;

  @Option(names = "--publish-token-file", paramLabel = "FILE",
      description = "File holding the publisher's bearer token (at least 16 characters). Without it or "
          + TOKEN_ENV + ", publishing is refused.")
  Path publishTokenFile;

  @Option(names = "--node-secret-file", paramLabel = "FILE",
      description = "File holding the secret node credentials are derived from (see 'node-credential')."
          + " Without it, claims and feedback from nodes are refused.")
  Path nodeSecretFile;

  @Option(names = "--claim-capacity", paramLabel = "N", defaultValue = "" + ServerConfig.DEFAULT_CLAIM_CAPACITY,
      description = "Slots per claim scope (nodes upgrading at once per wave). Default: ${DEFAULT-VALUE}.")
  int claimCapacity;

  @Option(names = "--scope-capacity", paramLabel = "SCOPE=N",
      description = "Slots of one scope, overriding --claim-capacity; repeatable, e.g. --scope-capacity canary=1.")
  Map<String, Integer> scopeCapacity = new LinkedHashMap<>();

  @Option(names = "--feedback-quota", paramLabel = "SIZE", defaultValue = "64m", converter = Sizes.class,
      description = "Feedback bytes stored per node at most (k, m, g suffixes). Default: ${DEFAULT-VALUE}.")
  long feedbackQuota;

  @Option(names = "--max-blob-size", paramLabel = "SIZE", defaultValue = "4g", converter = Sizes.class,
      description = "Largest blob accepted by PUT /v1/blobs. Default: ${DEFAULT-VALUE}.")
  long maxBlobSize;

  @Option(names = "--rate-limit", paramLabel = "N", defaultValue = "" + ServerConfig.DEFAULT_RATE_LIMIT,
      description = "Requests per second per client address before 429 (Jetty DoSHandler); 0 turns the limit"
          + " off (benchmarks). Default: ${DEFAULT-VALUE}.")
  int rateLimit;

  @Option(names = "--idle-timeout", paramLabel = "DURATION", defaultValue = "30s", converter = Durations.class,
      description = "Close connections silent this long, also in the middle of a request (slow clients)."
          + " Default: ${DEFAULT-VALUE}.")
  Duration idleTimeout;

  @Option(names = "--min-data-rate", paramLabel = "BYTES_PER_S", defaultValue = "0",
      description = "Fail request bodies that arrive slower than this; 0 turns the check off. Default: ${DEFAULT-VALUE}.")
  long minDataRate;

  @Option(names = "--max-threads", paramLabel = "N", defaultValue = "" + ServerConfig.DEFAULT_MAX_THREADS,
      description = "Request threads. Default: ${DEFAULT-VALUE}.")
  int maxThreads;

  @Option(names = "--access-log", paramLabel = "log|off|FILE", defaultValue = "log",
      description = "Access log: 'log' (SLF4J logger io.upgradekit.server.access, on stderr), 'off', or a file."
          + " Default: ${DEFAULT-VALUE}.")
  String accessLog;

  @Option(names = "--stop-timeout", paramLabel = "DURATION", defaultValue = "10s", converter = Durations.class,
      description = "On SIGTERM, how long requests in flight may take to finish. Default: ${DEFAULT-VALUE}.")
  Duration stopTimeout;

  @Option(names = "--status-refresh", paramLabel = "DURATION", converter = Durations.class,
      description = "Rebuild the fleet status from the repository this often, to include what other server"
          + " processes on the same --root or --store stored (and count their feedback against quotas). Default: off"
          + " with --root, 30s with --store.")
  Duration statusRefresh;

  @Option(names = "--max-nodes", paramLabel = "N", defaultValue = "" + ServerConfig.DEFAULT_MAX_NODES,
      description = "Nodes (per app) the heartbeat inventory keeps at most; a new node beyond is refused"
          + " (QUOTA_EXCEEDED). Default: ${DEFAULT-VALUE}.")
  int maxNodes;

  @Option(names = "--instance", paramLabel = "NAME",
      description = "This process's name among the servers of one repository: its inventory snapshot is"
          + " fleet/inventory/NAME.json. Default: <host>-<port>.")
  String instance;

  @Option(names = "--rollout-key-file", paramLabel = "FILE",
      description = "The rollout role's private key (written by 'mvn upgrade:keygen', mode 0600), which the trust"
          + " root must name under 'rollout'. With it the server runs the rollout controller, signs the rollout"
          + " state and gives slots; without it, none of that (nodes on releases with a plan wait).")
  Path rolloutKeyFile;

  @Option(names = "--rollout-state-ttl", paramLabel = "DURATION", defaultValue = "2m", converter = Durations.class,
      description = "How long a signed rollout state is valid; re-signed at a third of it. A node without a fresh"
          + " state pauses. Default: ${DEFAULT-VALUE}.")
  Duration rolloutStateTtl;

  @Option(names = "--controller-interval", paramLabel = "DURATION", defaultValue = "2s", converter = Durations.class,
      description = "How often the rollout controller looks at every live rollout. Default: ${DEFAULT-VALUE}.")
  Duration controllerInterval;

  @Option(names = "--rollout-start-delay", paramLabel = "DURATION", defaultValue = "35s", converter = Durations.class,
      description = "After the server starts, how long it waits before it starts a rollout by itself, so that the"
          + " nodes have announced themselves (heartbeats) and the waves cover the whole fleet; 'rollout start'"
          + " does not wait. Default: ${DEFAULT-VALUE}.")
  Duration rolloutStartDelay;

  @Option(names = "--operator-credentials", paramLabel = "FILE",
      description = "The operators' credentials, one '<name> operator|viewer <token>' line each (mode 0600):"
          + " 'operator' may act on rollouts, 'viewer' may read them. Without it the rollout API is refused.")
  Path operatorCredentials;

  @Option(names = "--dashboard", paramLabel = "on|off", defaultValue = "on",
      description = "Serve the operators' dashboard at /ui/ (operators log in with their token from"
          + " --operator-credentials; put TLS in front beyond a trusted network). Default: ${DEFAULT-VALUE}.")
  String dashboard;

  @Option(names = "--session-timeout", paramLabel = "DURATION", defaultValue = "30m", converter = Durations.class,
      description = "A dashboard session without a request for this long ends (12 h after the login at the"
          + " latest). Default: ${DEFAULT-VALUE}.")
  Duration sessionTimeout;

  @Option(names = "--expiry-warning", paramLabel = "DURATION", defaultValue = "7d", converter = Durations.class,
      description = "Warn in /v1/status, on the dashboard and in the metrics when a signed document that nodes"
          + " depend on (the trust root, a channel pointer, the release it names) expires within this."
          + " Default: ${DEFAULT-VALUE}.")
  Duration expiryWarning;

  public static void main(String[] args) {
    System.exit(commandLine().execute(args));
  }

  static CommandLine commandLine() {
    CommandLine line = new CommandLine(new ServerMain());
    line.setParameterExceptionHandler((e, args) -> fail(e.getCommandLine().getErr(), e));
    line.setExecutionExceptionHandler((e, cmd, parsed) -> fail(cmd.getErr(), e));
    return line;
  }

  /**
   * Reports a failure on stderr as {@code repo-server: CODE: sentence} and gives its exit status
   * ({@link ExitCodes}).
   */
  static int fail(PrintWriter err, Exception e) {
    ErrorCode code = ExitCodes.codeOf(e);
    if (code != null) {
      err.println("repo-server: " + code + ": " + e.getMessage());
      if (e instanceof ParameterException || e instanceof UsageError) {
        err.println("Run with --help for the options.");
      }
    } else if (e instanceof IOException && e.getCause() instanceof BindException || e instanceof BindException) {
      err.println("repo-server: cannot listen: " + e.getMessage() + "; pick another --port or --bind");
    } else {
      err.println("repo-server: " + e);
    }
    err.flush();
    return ExitCodes.of(e);
  }

  @Override
  public Integer call() throws Exception {
    ServerConfig config = config();
    try (RepoServer server = RepoServer.start(config)) {
      LoggerFactory.getLogger("io.upgradekit.server").info("listening on {}", server.uri());
      server.join();
    }
    return ExitCodes.OK;
  }

  ServerConfig config() {
    if (root == null && store == null) {
      throw usage("--root is required: give the repository directory, e.g. --root /srv/upgradekit (or a bucket with"
          + " --store s3://<bucket>/<prefix>)");
    }
    if (root != null && store != null) {
      throw usage("--root and --store both name a repository: give one of them");
    }
    if (root != null && !Files.isDirectory(root)) {
      throw usage("--root " + root + " is not a directory; create it first (mkdir -p " + root + ")");
    }
    if (store != null) {
      try {
        S3StoreConfig.parse(store);
      } catch (UpgradeException e) {
        throw usage("--store: " + e.getMessage());
      }
    }
    if (storeRefresh.isNegative() || storeRefresh.compareTo(Duration.ofMinutes(10)) > 0) {
      throw usage("--store-refresh " + storeRefresh + " is out of range: give 1ms to 10m (e.g. 1s)");
    }
    if (port < 0 || port > 65535) {
      throw usage("--port " + port + " is not a port number (0-65535)");
    }
    if (maxThreads < 8) {
      throw usage("--max-threads " + maxThreads + " is too few; give at least 8");
    }
    if (rateLimit < 0) {
      throw usage("--rate-limit must be 0 (off) or more");
    }
    ClaimCapacity capacity;
    try {
      capacity = new ClaimCapacity(claimCapacity, scopeCapacity);
    } catch (IllegalArgumentException e) {
      throw usage("--claim-capacity/--scope-capacity: " + e.getMessage());
    }
    ServerConfig.Builder builder = (store != null ? ServerConfig.builderForStore(store) : ServerConfig.builder(root))
        .storeRefresh(storeRefresh)
        .port(port).bind(bind).claimCapacity(capacity).feedbackQuotaBytes(feedbackQuota).maxBlobBytes(maxBlobSize)
        .rateLimit(rateLimit).idleTimeout(idleTimeout).minRequestDataRate(minDataRate).maxThreads(maxThreads)
        .accessLog(accessLog).stopTimeout(stopTimeout)
        .statusRefresh(statusRefresh != null ? statusRefresh : store != null ? DEFAULT_STORE_STATUS_REFRESH : Duration.ZERO)
        .maxNodes(maxNodes).instance(instance).rolloutKeyFile(rolloutKeyFile).rolloutStateTtl(rolloutStateTtl)
        .controllerInterval(controllerInterval).rolloutStartDelay(rolloutStartDelay).operatorCredentialsFile(operatorCredentials);
    if (maxNodes < 1) {
      throw usage("--max-nodes must be at least 1");
    }
    if (!dashboard.equals("on") && !dashboard.equals("off")) {
      throw usage("--dashboard must be on or off, not '" + dashboard + "'");
    }
    if (sessionTimeout.compareTo(Duration.ofMinutes(1)) < 0 || sessionTimeout.compareTo(Duration.ofHours(12)) > 0) {
      throw usage("--session-timeout must be between 1m and 12h");
    }
    builder.dashboard(dashboard.equals("on")).sessionTimeout(sessionTimeout).expiryWarning(expiryWarning);
    if (instance != null && !io.upgradekit.schema.model.Names.isLowercaseName(instance)) {
      throw usage("--instance '" + instance + "' must match " + io.upgradekit.schema.model.Names.LOWERCASE_NAME_PATTERN);
    }
    if (rolloutStateTtl.compareTo(Duration.ofSeconds(10)) < 0) {
      throw usage("--rollout-state-ttl " + rolloutStateTtl.toSeconds() + "s is too short: give at least 10s");
    }
    if (controllerInterval.multipliedBy(3).compareTo(rolloutStateTtl) > 0) {
      throw usage("--controller-interval must be at most a third of --rollout-state-ttl, so that the state is"
          + " re-signed before it expires");
    }
    if (trustRoot != null) {
      try {
        builder.pinnedTrustRoot(Files.readAllBytes(trustRoot));
      } catch (NoSuchFileException e) {
        throw usage("--trust-root " + trustRoot + " does not exist; give the signed root.json to pin");
      } catch (IOException e) {
        throw usage("--trust-root " + trustRoot + " cannot be read: " + e.getMessage());
      }
    }
    if (publishTokenFile != null) {
      builder.publishToken(Secrets.readFile(publishTokenFile, "--publish-token-file")).publishTokenFile(publishTokenFile);
    } else if (System.getenv(TOKEN_ENV) != null) {
      builder.publishToken(Secrets.fromText(System.getenv(TOKEN_ENV), "the " + TOKEN_ENV + " environment variable"));
    }
    if (nodeSecretFile != null) {
      builder.nodeSecret(Secrets.readFile(nodeSecretFile, "--node-secret-file")).nodeSecretFile(nodeSecretFile);
    }
    return builder.build();
  }

  private static UsageError usage(String message) {
    return new UsageError(message);
  }

  /** An option the server cannot start with: CONFIG_INVALID, the message names the option and the fix. */
  static final class UsageError extends UpgradeException {
    private static final long serialVersionUID = 1L;

    UsageError(String message) {
      super(ErrorCode.CONFIG_INVALID, message);
    }
  }

  /** Reports the version from the jar's manifest. */
  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String version = ServerMain.class.getPackage().getImplementationVersion();
      return new String[] {"repo-server " + (version == null ? "(development build)" : version)};
    }
  }
}
