package io.upgradekit.server;

import io.upgradekit.server.core.Authenticator;
import io.upgradekit.server.core.ClaimService;
import io.upgradekit.server.core.FeedbackService;
import io.upgradekit.server.core.ExpiryWatch;
import io.upgradekit.server.core.FleetIndex;
import io.upgradekit.server.core.NodeAccess;
import io.upgradekit.server.core.NodeCredentials;
import io.upgradekit.server.core.ObservedStore;
import io.upgradekit.server.core.OperatorCredentials;
import io.upgradekit.server.core.PublishService;
import io.upgradekit.server.core.PublisherToken;
import io.upgradekit.server.core.ReleaseCatalog;
import io.upgradekit.server.core.Sessions;
import io.upgradekit.schema.store.DirectoryStore;
import io.upgradekit.server.http.Dashboard;
import io.upgradekit.server.http.OperatorAccess;
import io.upgradekit.server.core.ServerMetrics;
import io.upgradekit.server.core.TrustStore;
import io.upgradekit.server.core.WatchedSecret;
import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.io.PointerSwap;
import io.upgradekit.schema.store.DirectoryStore;
import io.upgradekit.schema.store.RepositoryStore;
import io.upgradekit.store.s3.S3Store;
import io.upgradekit.store.s3.S3StoreConfig;
import io.upgradekit.server.http.Api;
import io.upgradekit.server.http.Handlers;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Collections;
import java.util.List;
import org.eclipse.jetty.server.AsyncRequestLogWriter;
import org.eclipse.jetty.server.CustomRequestLog;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.RequestLog;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.Slf4jRequestLogWriter;
import org.eclipse.jetty.server.handler.GracefulHandler;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Assembles the server from a configuration: the core services over the repository, the
 * authenticator, the API and its handler chain ({@link Handlers}), graceful shutdown, one
 * connector, the status refresher and the access log. The one place that knows every package:
 * {@code server.http} and {@code server.core} never depend on this one.
 */
final class HttpServerFactory {
  private static final Logger LOG = LoggerFactory.getLogger("io.upgradekit.server");

  private HttpServerFactory() {}

  static Server create(ServerConfig config, Clock clock) throws IOException {
    // A pointer swap waits for other publishers within the request: well inside the idle timeout.
    Duration publishWait = Collections.max(List.of(Duration.ofSeconds(1),
        Collections.min(List.of(Duration.ofSeconds(20), config.idleTimeout().dividedBy(2)))));
    Repository repository = Repository.open(config, clock, publishWait);
    RepositoryStore store = repository.store;
    TrustStore trust = TrustStore.open(store, config.pinnedTrustRoot(), clock, LOG::info);
    FleetIndex fleet = new FleetIndex();
    long started = System.nanoTime();
    int reports = FeedbackService.rebuild(store, fleet, LOG::warn);
    LOG.info("indexed {} feedback reports in {} ms", reports, (System.nanoTime() - started) / 1_000_000);
    ServerMetrics metrics = new ServerMetrics(fleet::nodesByVersion);
    PublishService publish = new PublishService(repository.publishStore, trust, clock, config.maxBlobBytes());
    ClaimService claims = new ClaimService(store, clock, config.claimCapacity());
    FeedbackService feedback = new FeedbackService(store, fleet, config.feedbackQuotaBytes());
    OperatorCredentials operators = config.operatorCredentialsFile() == null ? null
        : OperatorCredentials.open(config.operatorCredentialsFile(), config.credentialRefresh(), System::nanoTime);
    Authenticator authenticator = new Authenticator(publisherToken(config), nodeCredentials(config, repository),
        operators);
    Fleet rollouts = Fleet.assemble(config, store, trust, fleet, clock);
    metrics.append(rollouts.metrics);
    Sessions sessions = config.dashboard() ? new Sessions(clock, config.sessionTimeout(), Sessions.DEFAULT_MAX_SESSIONS)
        : null;
    ReleaseCatalog releases = new ReleaseCatalog(store, trust, clock, config.rolloutStateTtl(), config.expiryWarning());
    ExpiryWatch expiries = new ExpiryWatch(store, trust, clock, config.expiryWarning(), config.rolloutStateTtl(),
        LOG::warn);
    repository.store.onWrite(expiries::changed);
    repository.publishStore.onWrite(expiries::changed);
    metrics.append(expiries::metrics);
    Api api = new Api(publish, claims, feedback, fleet, trust, authenticator, metrics, clock, rollouts.endpoints,
        new OperatorAccess(authenticator, operators, sessions), releases, expiries);
    if (config.publishToken() == null && config.publishTokenFile() == null) {
      LOG.info("publishing is disabled (no publisher token)");
    }
    if (config.nodeSecret() == null && config.nodeSecretFile() == null) {
      LOG.info("node claims and feedback are disabled (no node secret)");
    }
    if (operators == null) {
      LOG.info("the rollout API is disabled (no --operator-credentials)");
    }
    if (!config.dashboard()) {
      LOG.info("the dashboard is off (--dashboard off)");
    } else if (operators != null) {
      LOG.info("the dashboard is at /ui/ (operators log in with their token; put TLS in front beyond a trusted"
          + " network)");
    } else {
      LOG.info("the dashboard is at /ui/, but nobody can log in without --operator-credentials");
    }
    LOG.info(rollouts.endpoints.controller().get());

    QueuedThreadPool threads = new QueuedThreadPool(config.maxThreads(), Math.min(8, config.maxThreads()));
    threads.setName("repo-server");
    Server server = new Server(threads);
    HttpConfiguration http = new HttpConfiguration();
    http.setSendServerVersion(false);
    http.setSendXPoweredBy(false);
    http.setRequestHeaderSize(16 * 1024);
    // Jetty builds a header field cache per connection (about 20 KB): with a fleet each node keeps its
    // own, mostly idle connection, and at 10,000 nodes those caches alone took 200 MB of a 1 GB heap
    // and drove the server into back-to-back full collections (bench/fleet.sh).
    http.setHeaderCacheSize(0);
    // One selector per core: static requests are answered on the selector threads (see Router),
    // and Jetty's default (cores / 2) leaves half the cores idle on small machines.
    int selectors = Integer.getInteger("upgradekit.selectors",
        Math.max(1, Math.min(8, Runtime.getRuntime().availableProcessors())));
    ServerConnector connector = new ServerConnector(server, 1, selectors, new HttpConnectionFactory(http));
    connector.setHost(config.bind());
    connector.setPort(config.port());
    connector.setIdleTimeout(config.idleTimeout().toMillis());
    connector.setAcceptQueueSize(1024);
    server.addConnector(connector);

    Dashboard dashboard = new Dashboard(config.dashboard());
    Handler handler = repository.root != null
        ? Handlers.chain(api, dashboard, repository.root, List.of(repository.store, repository.publishStore),
            config.storeRefresh(), metrics, config.rateLimit(), config.minRequestDataRate())
        : Handlers.chain(api, dashboard, repository.store, config.storeRefresh(), LOG::warn, metrics,
            config.rateLimit(), config.minRequestDataRate());
    GracefulHandler graceful = new GracefulHandler(handler);
    // On stop, idle keep-alive connections are closed after this long instead of Jetty's default.
    graceful.setShutdownIdleTimeout(200);
    server.setHandler(graceful);
    server.setErrorHandler(Handlers.errorHandler());
    server.setStopTimeout(config.stopTimeout().toMillis());
    server.setStopAtShutdown(true);
    server.addBean(repository); // stopped after the fleet loop, whose last inventory snapshot needs the store
    server.addBean(rollouts.loop);
    if (!config.statusRefresh().isZero()) {
      server.addBean(new StatusRefresher(store, fleet, config.statusRefresh()));
    }
    RequestLog log = requestLog(config.accessLog());
    if (log != null) {
      server.setRequestLog(log);
    }
    LOG.info("serving {} on {}:{} (rate limit {}, idle timeout {})", store.location(), config.bind(), config.port(),
        config.rateLimit() > 0 ? config.rateLimit() + "/s per address" : "off", config.idleTimeout());
    return server;
  }

  private static PublisherToken publisherToken(ServerConfig config) {
    if (config.publishTokenFile() != null) {
      return new PublisherToken(WatchedSecret.open(config.publishTokenFile(), "--publish-token-file",
          config.credentialRefresh(), System::nanoTime));
    }
    return config.publishToken() == null ? null : new PublisherToken(config.publishToken());
  }

  private static NodeCredentials nodeCredentials(ServerConfig config, Repository repository) {
    if (config.nodeSecretFile() == null && config.nodeSecret() == null) {
      return null;
    }
    byte[] fixed = config.nodeSecret() == null ? null : config.nodeSecret().clone();
    java.util.function.Supplier<byte[]> secret = config.nodeSecretFile() != null
        ? WatchedSecret.open(config.nodeSecretFile(), "--node-secret-file", config.credentialRefresh(), System::nanoTime)
        : () -> fixed;
    NodeAccess access = repository.root != null
        ? NodeAccess.open(repository.root, config.credentialRefresh(), System::nanoTime)
        : NodeAccess.open(repository.store, config.credentialRefresh(), System::nanoTime);
    return new NodeCredentials(secret, access);
  }

  /**
   * The repository the server works on: a directory or a store (an object store), whose writes by
   * this process are observed (the static files' entries are dropped on them). Closes the store
   * when the server stops.
   */
  private static final class Repository extends org.eclipse.jetty.util.component.AbstractLifeCycle {
    /** The directory, or null for a store. */
    final Path root;
    /** What the services write through. */
    final ObservedStore store;
    /** What publications write through: in a directory, a store whose pointer swaps wait at most publishWait. */
    final ObservedStore publishStore;

    private Repository(Path root, ObservedStore store, ObservedStore publishStore) {
      this.root = root;
      this.store = store;
      this.publishStore = publishStore;
    }

    static Repository open(ServerConfig config, Clock clock, Duration publishWait) {
      if (config.store() != null) {
        ObservedStore store = new ObservedStore(new S3Store(S3StoreConfig.parse(config.store())));
        return new Repository(null, store, store);
      }
      Path root = config.root().toAbsolutePath().normalize();
      if (!Files.isDirectory(root)) {
        throw new UpgradeException(ErrorCode.CONFIG_INVALID, "--root " + root
            + " is not a directory; create it or point --root at the repository");
      }
      return new Repository(root, new ObservedStore(new DirectoryStore(root)), new ObservedStore(new DirectoryStore(root,
          PointerSwap.DEFAULT_LEASE, publishWait, clock, LOG::info)));
    }

    @Override
    protected void doStop() throws IOException {
      store.close();
    }
  }

  /** Rebuilds the fleet index from the repository now and then, while the server runs. */
  private static final class StatusRefresher extends org.eclipse.jetty.util.component.AbstractLifeCycle {
    private final RepositoryStore root;
    private final FleetIndex fleet;
    private final java.time.Duration every;
    private java.util.concurrent.ScheduledExecutorService timer;

    StatusRefresher(RepositoryStore root, FleetIndex fleet, java.time.Duration every) {
      this.root = root;
      this.fleet = fleet;
      this.every = every;
    }

    @Override
    protected void doStart() {
      timer = java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "status-refresh");
        t.setDaemon(true);
        return t;
      });
      long millis = Math.max(1000, every.toMillis());
      timer.scheduleWithFixedDelay(() -> {
        try {
          FleetIndex rebuilt = new FleetIndex();
          FeedbackService.rebuild(root, rebuilt, message -> LOG.debug(message));
          fleet.replaceWith(rebuilt);
        } catch (IOException | RuntimeException e) {
          LOG.warn("rebuilding the fleet status failed", e);
        }
      }, millis, millis, java.util.concurrent.TimeUnit.MILLISECONDS);
    }

    @Override
    protected void doStop() {
      timer.shutdownNow();
    }
  }

  private static RequestLog requestLog(String accessLog) {
    if (accessLog.equals("off")) {
      return null;
    }
    if (accessLog.equals("log")) {
      Slf4jRequestLogWriter writer = new Slf4jRequestLogWriter();
      writer.setLoggerName("io.upgradekit.server.access");
      return new CustomRequestLog(writer, CustomRequestLog.EXTENDED_NCSA_FORMAT);
    }
    AsyncRequestLogWriter writer = new AsyncRequestLogWriter(accessLog);
    writer.setAppend(true);
    return new CustomRequestLog(writer, CustomRequestLog.EXTENDED_NCSA_FORMAT);
  }
}
