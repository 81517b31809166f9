package io.upgradekit.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.upgradekit.it.NodeConfig.Strategy;
import io.upgradekit.plugin.release.KeyGenerator;
import io.upgradekit.plugin.release.ReleaseResult;
import io.upgradekit.schema.json.Json;
import io.upgradekit.schema.layout.RepositoryLayout;
import io.upgradekit.schema.model.Claim;
import io.upgradekit.schema.store.RepositoryStore;
import io.upgradekit.store.s3.S3ProxyServer;
import io.upgradekit.store.s3.S3Store;
import io.upgradekit.store.s3.S3StoreConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The repository in an object store, end to end: s3proxy (in this JVM, over HTTP with signatures
 * checked) holds the repository; the plugin's keygen and release write into it (its library, with
 * the {@code s3://} address a pom's {@code <repository>} takes: a nested Maven run would spend this
 * test's time budget on resolving the SDK); two repo-server processes run on it with {@code
 * --store}; three nodes, two on server A and one on B, take slots ({@code gate.claims}) and install
 * the release through their server. Once the first slot is taken, server A is killed with SIGKILL
 * and a new process takes its port. Then every node runs the release, each slot is held by exactly
 * one node and no node holds two (slots created with If-None-Match: * through both servers), every
 * event of every node has its reports in the bucket and no node has a report left to send (none
 * lost with the killed server: the nodes' outboxes deliver them to the new process), and server
 * B's status, which never saw A's nodes' requests, shows all three.
 */
class ObjectStoreIT {
  private static final Duration WAIT = Duration.ofSeconds(100);
  private static final String BUCKET = "upgradekit-it";
  private static final String SCOPE = "default";
  private static final String VERSION = "1.0.0";

  @Test
  @Timeout(value = 3, unit = TimeUnit.MINUTES) // passed in 78 s on 2 cores; runs at a load of 20 and more from other builds exceeded 3 min
  void twoServersOnOneStoreSurviveACrashWithoutDoubleClaimsOrLostReports() throws Exception {
    Artifacts artifacts = Artifacts.locate();
    String identity = "upgradekit-it";
    String secret = "upgradekit-it-secret-key";
    // Every process finds the keys where production finds them: the AWS SDK's default chain.
    System.setProperty("aws.accessKeyId", identity);
    System.setProperty("aws.secretAccessKey", secret);
    Map<String, String> keys = Map.of("AWS_ACCESS_KEY_ID", identity, "AWS_SECRET_ACCESS_KEY", secret);
    try (Workspace ws = Workspace.create("object-store");
        S3ProxyServer proxy = S3ProxyServer.start(identity, secret)) {
      proxy.createBucket(BUCKET, identity, secret);
      String address = "s3://" + BUCKET + "/fleet?endpoint=" + proxy.endpoint() + "&pathStyle=true";
      long started = System.nanoTime();

      Path key = ws.dir("keys").resolve("release.pem");
      KeyGenerator.Result keygen = new KeyGenerator(Clock.systemUTC(), event -> { }).generate(
          new KeyGenerator.Request(key, address, null, KeyGenerator.DEFAULT_ROOT_LIFETIME));
      assertThat(keygen.trustRootVersion()).isEqualTo(1);
      Path trustRoot = ws.dir("trust").resolve("root.json");
      try (RepositoryStore store = new S3Store(S3StoreConfig.parse(address))) {
        Files.write(trustRoot, store.read(RepositoryLayout.trustRoot(), 256 * 1024).orElseThrow().bytes());
      }
      LibraryReleaser library = new LibraryReleaser(artifacts.helloDist(), ws.dir("library"), key, address, null,
          ws.logs().resolve("release-library.log"));
      ReleaseResult release = library.release(HelloBuild.of(VERSION));
      assertThat(release.status()).isEqualTo(ReleaseResult.Status.PUBLISHED);

      RepoServer.Options options = RepoServer.Options.defaults().withClaimCapacity(3).withExtraArguments(List.of(
          "--store-refresh", "500ms", "--status-refresh", "2s", "--access-log", "off"));
      Path secrets = ws.dir("server-secrets");
      RepoServer a = ws.own(RepoServer.startOnStore(artifacts, address, trustRoot, secrets, ws.logs(), "server-a",
          keys, options));
      RepoServer b = ws.own(RepoServer.startOnStore(artifacts, address, trustRoot, secrets, ws.logs(), "server-b",
          keys, options));
      List<String> ids = List.of("node-1", "node-2", "node-3");
      Map<String, String> credentials = b.nodeCredentials(ids);
      UpdaterInstall updater = UpdaterInstall.unpack(artifacts.updaterDist(), ws.dir("node-updater"));
      List<Node> nodes = new ArrayList<>();
      for (String id : ids) {
        RepoServer server = nodes.size() < 2 ? a : b; // A: node-1 and node-2, B: node-3
        NodeConfig config = NodeConfig.defaults(id, Strategy.RESTART, Ports.freeLoopbackPortBelowEphemeralRange())
            .withGateClaims(SCOPE)
            .withWatch(null, Duration.ofSeconds(1)); // the health check only: the store is under test, not the watch
        nodes.add(ws.own(Node.create(config, updater, ws.dir("nodes/" + id), server.url(), trustRoot,
            credentials.get(id), ws.logs())));
      }
      nodes.forEach(Node::startDaemon);

      // Mid-rollout: the first slot is taken, then server A dies without a chance to finish anything.
      awaitSlots(address, VERSION, 1);
      a.kill();
      System.out.println("killed " + a + " with SIGKILL after the first slot of " + VERSION + " was taken");
      a = ws.own(a.restartAfterKill());
      awaitCommitted(nodes, VERSION);
      for (Node node : nodes) {
        assertThat(node.currentVersion()).contains(VERSION);
      }

      try (RepositoryStore store = new S3Store(S3StoreConfig.parse(address))) {
        Map<Integer, String> slots = slots(store, VERSION);
        assertThat(slots).as("slots of " + VERSION).hasSize(3);
        assertThat(new TreeSet<>(slots.values())).as("each node holds one slot").containsExactlyElementsOf(ids);
        Map<String, Set<String>> events = awaitReportsSent(nodes);
        for (Node node : nodes) {
          assertThat(storedEvents(store, node.id())).as("the reports of " + node.id() + " in the store")
              .containsAll(events.get(node.id()));
        }
      }
      FleetStatus status = awaitStatus(b, ids);
      for (String id : ids) {
        assertThat(status.node(id, "hello").orElseThrow().currentVersion()).as(id + " in server B's status")
            .isEqualTo(VERSION);
      }
      System.out.println("ObjectStoreIT took " + Duration.ofNanos(System.nanoTime() - started).toSeconds() + " s");
    }
  }

  /**
   * Waits until every node committed {@code version}; failed attempts before that are expected (a
   * download from the killed server), and the node tries again at its next poll.
   */
  private static void awaitCommitted(List<Node> nodes, String version) {
    Pattern committed = Pattern.compile("^committed: now running " + Pattern.quote(version) + "$");
    nodes.parallelStream().forEach(n -> n.daemon().orElseThrow().awaitLog(committed, WAIT));
  }

  /** The slots of a release's scope: slot number to the node holding it. */
  private static Map<Integer, String> slots(RepositoryStore store, String version) throws Exception {
    Map<Integer, String> slots = new TreeMap<>();
    String directory = RepositoryLayout.claimDirectory("hello", version, SCOPE);
    List<String> paths;
    try (Stream<RepositoryStore.Entry> listed = store.list(directory)) {
      paths = listed.map(RepositoryStore.Entry::path).filter(p -> p.substring(p.lastIndexOf('/') + 1)
          .startsWith("slot-")).toList();
    }
    for (String path : paths) {
      Optional<RepositoryStore.Versioned> stored = store.read(path, 4096);
      if (stored.isEmpty()) {
        continue; // given back since it was listed: a node that won two slots at once keeps one
      }
      Claim claim = Json.read(stored.get().bytes(), Claim.class, path);
      assertThat(slots.put(claim.slot(), claim.node())).as("slot " + claim.slot() + " twice").isNull();
    }
    return slots;
  }

  private static void awaitSlots(String address, String version, int count) throws Exception {
    long deadline = System.nanoTime() + WAIT.toNanos();
    try (RepositoryStore store = new S3Store(S3StoreConfig.parse(address))) {
      while (slots(store, version).size() < count) {
        if (System.nanoTime() - deadline > 0) {
          throw new HarnessException("no slot of " + version + " was taken within " + WAIT);
        }
        Thread.sleep(100);
      }
    }
  }

  /**
   * Waits until no node has a report left to send (each node asked in parallel: every question is
   * an updater process); then the events in each node's history that it reports ({@link #reported}).
   */
  private static Map<String, Set<String>> awaitReportsSent(List<Node> nodes) {
    Map<String, Set<String>> events = new java.util.concurrent.ConcurrentHashMap<>();
    nodes.parallelStream().forEach(node -> {
      long deadline = System.nanoTime() + WAIT.toNanos();
      while (node.status().pendingReports() > 0) {
        if (System.nanoTime() - deadline > 0) {
          throw new HarnessException(node.id() + " still has reports to send after " + WAIT);
        }
        ManagedProcess.sleep(250);
      }
      Set<String> ids = new TreeSet<>();
      node.history().stream().filter(ObjectStoreIT::reported).forEach(r -> ids.add(r.eventId()));
      events.put(node.id(), ids);
    });
    return events;
  }

  /**
   * Whether the updater reports an event (its rule, EventRun.finishEndAction): not a wait for a
   * slot (the server's own answer), and either aimed at a version or failed with a code other than
   * INTERRUPTED. A wait while server A was dead is in history but never reported.
   */
  private static boolean reported(UpdateRecord event) {
    if ("WAITING".equals(event.outcome())) {
      return false;
    }
    return event.toVersion() != null || (event.errorCode() != null && !event.errorCode().equals("INTERRUPTED"));
  }

  /** The events that a node's reports in the store name ({@code feedback/hello/<node>/<eventId>/...}). */
  private static Set<String> storedEvents(RepositoryStore store, String node) throws Exception {
    try (Stream<RepositoryStore.Entry> listed = store.list("feedback/hello/" + node + "/")) {
      return listed.map(e -> e.path().split("/")[3]).collect(Collectors.toCollection(TreeSet::new));
    }
  }

  private static FleetStatus awaitStatus(RepoServer server, List<String> ids) throws Exception {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (true) {
      FleetStatus status = server.status();
      if (ids.stream().allMatch(id -> status.node(id, "hello").map(n -> VERSION.equals(n.currentVersion()))
          .orElse(false))) {
        return status;
      }
      if (System.nanoTime() - deadline > 0) {
        throw new HarnessException(server + " does not show all nodes at " + VERSION + " after " + WAIT + ": "
            + server.statusJson());
      }
      Thread.sleep(500);
    }
  }
}
