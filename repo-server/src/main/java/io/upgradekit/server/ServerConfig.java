package io.upgradekit.server;

import io.upgradekit.server.core.ClaimCapacity;
import io.upgradekit.server.core.NodeAccess;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;

/**
 * Everything the server is started with. Build one with {@link #builder(Path)} (a repository
 * directory) or {@link #builderForStore(String)} (a repository in an object store); unset parts take
 * the documented defaults.
 *
 * @param root the repository directory, served read-only under {@code /}; null when {@code store}
 *     is given
 * @param store the address of the repository in an object store ({@code s3://<bucket>/<prefix>?...},
 *     see repository-s3's {@code S3StoreConfig}), or null for the directory {@code root}
 * @param storeRefresh with {@code store}: how long what the server knows about a file that may
 *     change (a channel pointer, rollout state, a file that is not there) is used before it is read
 *     from the store again: the bound on how late this server serves another process's write
 * @param bind the address to listen on
 * @param port the port; 0 picks a free one
 * @param pinnedTrustRoot a trust root's bytes to pin (and install if the repository has none), or null
 * @param publishToken the publisher's bearer token, or null to refuse every publication
 * @param publishTokenFile the file the token came from, or null: watched, so that replacing it
 *     rotates the token without a restart
 * @param nodeSecret the secret node credentials are derived from, or null to refuse claims and
 *     feedback from nodes
 * @param nodeSecretFile the file the node secret came from, or null: watched like the token file
 * @param claimCapacity slots per claim scope
 * @param feedbackQuotaBytes feedback bytes stored per node at most
 * @param maxBlobBytes largest blob accepted by {@code PUT /v1/blobs}
 * @param rateLimit requests per second per client address before 429; 0 disables the limit
 * @param idleTimeout how long a connection may stay silent (also mid-request) before it is closed
 * @param minRequestDataRate bytes per second a request body must arrive at, at least; 0 disables
 * @param maxThreads request threads
 * @param accessLog {@code "log"} (SLF4J logger {@code io.upgradekit.server.access}), {@code
 *     "off"}, or a file path
 * @param stopTimeout how long a graceful stop waits for requests in flight
 * @param statusRefresh how often the fleet index is rebuilt from the repository (to include what
 *     other server processes stored); zero never
 * @param credentialRefresh how long a change of the node access list (revocations) or of a watched
 *     secret file may go unnoticed; zero checks on every request
 * @param maxNodes (node, app) entries the heartbeat inventory keeps at most
 * @param instance this server process's name among the processes sharing the repository (its
 *     inventory snapshot's name), or null for {@code <host>-<port>}
 * @param rolloutKeyFile the rollout role's private key file, or null to run no rollout controller
 * @param rolloutStateTtl how long a signed rollout state is valid; re-signed at a third of it
 * @param controllerInterval how often the rollout controller looks at every live rollout
 * @param rolloutStartDelay how long after its start this process waits before it starts a rollout by
 *     itself, so that the fleet has announced itself first (an operator's {@code rollout start} does
 *     not wait)
 * @param operatorCredentialsFile the operators' credentials ({@code <name> <role> <token>} lines), or
 *     null to refuse the rollout API
 * @param dashboard whether the operators' dashboard is served at {@code /ui/} (and operators may log in)
 * @param sessionTimeout how long a dashboard session lasts without a request
 * @param expiryWarning warn (status, dashboard, metrics) when a signed document nodes depend on
 *     expires within this
 */
public record ServerConfig(
    Path root,
    String store,
    Duration storeRefresh,
    String bind,
    int port,
    byte[] pinnedTrustRoot,
    byte[] publishToken,
    Path publishTokenFile,
    byte[] nodeSecret,
    Path nodeSecretFile,
    ClaimCapacity claimCapacity,
    long feedbackQuotaBytes,
    long maxBlobBytes,
    int rateLimit,
    Duration idleTimeout,
    long minRequestDataRate,
    int maxThreads,
    String accessLog,
    Duration stopTimeout,
    Duration statusRefresh,
    Duration credentialRefresh,
    int maxNodes,
    String instance,
    Path rolloutKeyFile,
    Duration rolloutStateTtl,
    Duration controllerInterval,
    Duration rolloutStartDelay,
    Path operatorCredentialsFile,
    boolean dashboard,
    Duration sessionTimeout,
    Duration expiryWarning) {

  public static final String DEFAULT_BIND = "127.0.0.1";
  public static final int DEFAULT_PORT = 8080;
  public static final int DEFAULT_CLAIM_CAPACITY = 1;
  public static final long DEFAULT_FEEDBACK_QUOTA = 64L << 20;
  public static final long DEFAULT_MAX_BLOB = 4L << 30;
  public static final int DEFAULT_RATE_LIMIT = 500;
  public static final Duration DEFAULT_IDLE_TIMEOUT = Duration.ofSeconds(30);
  public static final long DEFAULT_MIN_DATA_RATE = 0;
  public static final int DEFAULT_MAX_THREADS = 200;
  public static final int DEFAULT_MAX_NODES = 100_000;
  public static final Duration DEFAULT_ROLLOUT_STATE_TTL = Duration.ofMinutes(2);
  public static final Duration DEFAULT_CONTROLLER_INTERVAL = Duration.ofSeconds(2);
  public static final Duration DEFAULT_ROLLOUT_START_DELAY = Duration.ofSeconds(35);
  public static final Duration DEFAULT_STORE_REFRESH = Duration.ofSeconds(1);
  public static final Duration DEFAULT_SESSION_TIMEOUT = Duration.ofMinutes(30);
  public static final Duration DEFAULT_EXPIRY_WARNING = Duration.ofDays(7);

  public ServerConfig {
    if ((root == null) == (store == null)) {
      throw new IllegalArgumentException("a server serves either a directory (root) or a store");
    }
    Objects.requireNonNull(storeRefresh, "storeRefresh");
    Objects.requireNonNull(bind, "bind");
    Objects.requireNonNull(claimCapacity, "claimCapacity");
    Objects.requireNonNull(idleTimeout, "idleTimeout");
    Objects.requireNonNull(accessLog, "accessLog");
    Objects.requireNonNull(stopTimeout, "stopTimeout");
    Objects.requireNonNull(statusRefresh, "statusRefresh");
    Objects.requireNonNull(credentialRefresh, "credentialRefresh");
    Objects.requireNonNull(rolloutStateTtl, "rolloutStateTtl");
    Objects.requireNonNull(controllerInterval, "controllerInterval");
    Objects.requireNonNull(rolloutStartDelay, "rolloutStartDelay");
    Objects.requireNonNull(sessionTimeout, "sessionTimeout");
    Objects.requireNonNull(expiryWarning, "expiryWarning");
  }

  public static Builder builder(Path root) {
    return new Builder(Objects.requireNonNull(root, "root"), null);
  }

  /** A configuration for a repository in an object store, e.g. {@code s3://releases/fleet?endpoint=...}. */
  public static Builder builderForStore(String store) {
    return new Builder(null, Objects.requireNonNull(store, "store"));
  }

  /** A builder; every setter is optional. */
  public static final class Builder {
    private final Path root;
    private final String store;
    private Duration storeRefresh = DEFAULT_STORE_REFRESH;
    private String bind = DEFAULT_BIND;
    private int port = DEFAULT_PORT;
    private byte[] pinnedTrustRoot;
    private byte[] publishToken;
    private Path publishTokenFile;
    private byte[] nodeSecret;
    private Path nodeSecretFile;
    private ClaimCapacity claimCapacity = new ClaimCapacity(DEFAULT_CLAIM_CAPACITY, Map.of());
    private long feedbackQuotaBytes = DEFAULT_FEEDBACK_QUOTA;
    private long maxBlobBytes = DEFAULT_MAX_BLOB;
    private int rateLimit = DEFAULT_RATE_LIMIT;
    private Duration idleTimeout = DEFAULT_IDLE_TIMEOUT;
    private long minRequestDataRate = DEFAULT_MIN_DATA_RATE;
    private int maxThreads = DEFAULT_MAX_THREADS;
    private String accessLog = "log";
    private Duration stopTimeout = Duration.ofSeconds(10);
    private Duration statusRefresh = Duration.ZERO;
    private Duration credentialRefresh = NodeAccess.DEFAULT_REFRESH;
    private int maxNodes = DEFAULT_MAX_NODES;
    private String instance;
    private Path rolloutKeyFile;
    private Duration rolloutStateTtl = DEFAULT_ROLLOUT_STATE_TTL;
    private Duration controllerInterval = DEFAULT_CONTROLLER_INTERVAL;
    private Duration rolloutStartDelay = DEFAULT_ROLLOUT_START_DELAY;
    private Path operatorCredentialsFile;
    private boolean dashboard = true;
    private Duration sessionTimeout = DEFAULT_SESSION_TIMEOUT;
    private Duration expiryWarning = DEFAULT_EXPIRY_WARNING;

    private Builder(Path root, String store) {
      this.root = root;
      this.store = store;
    }

    public Builder storeRefresh(Duration v) { this.storeRefresh = v; return this; }
    public Builder bind(String v) { this.bind = v; return this; }
    public Builder port(int v) { this.port = v; return this; }
    public Builder pinnedTrustRoot(byte[] v) { this.pinnedTrustRoot = v; return this; }
    public Builder publishToken(byte[] v) { this.publishToken = v; return this; }
    public Builder publishTokenFile(Path v) { this.publishTokenFile = v; return this; }
    public Builder nodeSecret(byte[] v) { this.nodeSecret = v; return this; }
    public Builder nodeSecretFile(Path v) { this.nodeSecretFile = v; return this; }
    public Builder claimCapacity(ClaimCapacity v) { this.claimCapacity = v; return this; }
    public Builder feedbackQuotaBytes(long v) { this.feedbackQuotaBytes = v; return this; }
    public Builder maxBlobBytes(long v) { this.maxBlobBytes = v; return this; }
    public Builder rateLimit(int v) { this.rateLimit = v; return this; }
    public Builder idleTimeout(Duration v) { this.idleTimeout = v; return this; }
    public Builder minRequestDataRate(long v) { this.minRequestDataRate = v; return this; }
    public Builder maxThreads(int v) { this.maxThreads = v; return this; }
    public Builder accessLog(String v) { this.accessLog = v; return this; }
    public Builder stopTimeout(Duration v) { this.stopTimeout = v; return this; }
    public Builder statusRefresh(Duration v) { this.statusRefresh = v; return this; }
    public Builder credentialRefresh(Duration v) { this.credentialRefresh = v; return this; }
    public Builder maxNodes(int v) { this.maxNodes = v; return this; }
    public Builder instance(String v) { this.instance = v; return this; }
    public Builder rolloutKeyFile(Path v) { this.rolloutKeyFile = v; return this; }
    public Builder rolloutStateTtl(Duration v) { this.rolloutStateTtl = v; return this; }
    public Builder controllerInterval(Duration v) { this.controllerInterval = v; return this; }
    public Builder rolloutStartDelay(Duration v) { this.rolloutStartDelay = v; return this; }
    public Builder operatorCredentialsFile(Path v) { this.operatorCredentialsFile = v; return this; }
    public Builder dashboard(boolean v) { this.dashboard = v; return this; }
    public Builder sessionTimeout(Duration v) { this.sessionTimeout = v; return this; }
    public Builder expiryWarning(Duration v) { this.expiryWarning = v; return this; }

    public ServerConfig build() {
      return new ServerConfig(root, store, storeRefresh, bind, port, pinnedTrustRoot, publishToken, publishTokenFile, nodeSecret,
          nodeSecretFile, claimCapacity,
          feedbackQuotaBytes, maxBlobBytes, rateLimit, idleTimeout, minRequestDataRate, maxThreads, accessLog,
          stopTimeout, statusRefresh, credentialRefresh, maxNodes, instance, rolloutKeyFile, rolloutStateTtl,
          controllerInterval, rolloutStartDelay, operatorCredentialsFile, dashboard, sessionTimeout,
          expiryWarning);
    }
  }
}
