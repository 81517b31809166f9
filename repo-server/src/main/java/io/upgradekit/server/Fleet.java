package io.upgradekit.server;

import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.model.TrustRoot;
import io.upgradekit.schema.store.RepositoryStore;
import io.upgradekit.server.core.FleetIndex;
import io.upgradekit.server.core.TrustStore;
import io.upgradekit.server.fleet.Decisions;
import io.upgradekit.server.fleet.FleetEndpoints;
import io.upgradekit.server.fleet.FleetMetrics;
import io.upgradekit.server.fleet.FleetViews;
import io.upgradekit.server.fleet.HeartbeatService;
import io.upgradekit.server.fleet.Inventory;
import io.upgradekit.server.fleet.InventorySync;
import io.upgradekit.server.fleet.LeaseService;
import io.upgradekit.server.fleet.LiveRollouts;
import io.upgradekit.server.fleet.LiveSets;
import io.upgradekit.server.fleet.NodeCalls;
import io.upgradekit.server.fleet.RolloutController;
import io.upgradekit.server.fleet.RolloutKey;
import io.upgradekit.server.fleet.RolloutOperations;
import io.upgradekit.server.fleet.RolloutStates;
import io.upgradekit.server.fleet.SetDecisions;
import io.upgradekit.server.fleet.SetOperations;
import io.upgradekit.server.fleet.SetRuns;
import io.upgradekit.server.fleet.SetStates;
import java.io.IOException;
import java.net.InetAddress;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.util.component.AbstractLifeCycle;
import org.eclipse.jetty.util.component.Graceful;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Assembles the fleet layer (inventory, leases, the rollout controller, the operators' views) and
 * the loop that runs it: the inventory is merged with the other processes' snapshots at start and
 * every {@value #SYNC_SECONDS} s, and, with a rollout key, the controller runs every {@code
 * --controller-interval}.
 */
final class Fleet {
  private static final Logger LOG = LoggerFactory.getLogger("io.upgradekit.server.rollout");
  static final long SYNC_SECONDS = 5;

  final FleetEndpoints endpoints;
  final FleetMetrics metrics;
  final Loop loop;

  private Fleet(FleetEndpoints endpoints, FleetMetrics metrics, Loop loop) {
    this.endpoints = endpoints;
    this.metrics = metrics;
    this.loop = loop;
  }

  static Fleet assemble(ServerConfig config, RepositoryStore store, TrustStore trust, FleetIndex reports, Clock clock)
      throws IOException {
    RolloutKey key = config.rolloutKeyFile() == null ? null : RolloutKey.load(config.rolloutKeyFile(), current(trust));
    Inventory inventory = new Inventory(config.maxNodes());
    inventory.countSilenceFrom(clock.instant()); // no node could reach this process before it started
    String instance = config.instance() != null ? config.instance() : defaultInstance(config.port());
    InventorySync sync = new InventorySync(store, inventory, instance, clock, LOG::warn);
    sync.sync(); // the fleet as the repository knows it, before the first request
    Decisions decisions = new Decisions(store);
    LiveRollouts live = new LiveRollouts(store, () -> current(trust), clock, LOG::warn);
    long retry = Math.max(1, config.controllerInterval().multipliedBy(2).toSeconds());
    LeaseService leases = new LeaseService(store, decisions, live, inventory, key, clock, retry);
    RolloutStates states = key == null ? null : new RolloutStates(store, key, config.rolloutStateTtl());
    SetStates setStates = key == null ? null : new SetStates(store, key, config.rolloutStateTtl());
    SetRuns sets = new SetRuns(new LiveSets(store, () -> current(trust), clock, LOG::warn), new SetDecisions(store),
        decisions, inventory, setStates, leases, clock, LOG::info);
    leases.setGate(sets);
    RolloutController controller = new RolloutController(live, decisions, leases, inventory, reports, states, sets,
        clock, LOG::info);
    controller.startNoRolloutBefore(clock.instant().plus(config.rolloutStartDelay()));
    leases.onRelease(controller::wake);
    RolloutOperations operations = new RolloutOperations(live, decisions, controller, leases, states, clock, reports);
    SetOperations setOperations = new SetOperations(live, sets, setStates, controller, clock);
    HeartbeatService heartbeats = new HeartbeatService(inventory, clock);
    String every = config.controllerInterval().toMillis() + " ms";
    java.util.function.Supplier<String> sentence = () -> {
      if (key == null) {
        return "no rollout controller: this server was started without --rollout-key-file, so it signs no"
            + " rollout state and gives no slots";
      }
      Instant last = controller.lastTick();
      return "the rollout controller runs every " + every + " with rollout key " + key.keyId()
          + (last == null ? "; it has not run yet" : "; last pass " + last);
    };
    FleetViews views = new FleetViews(inventory, reports, store, leases, clock);
    // Held call requests: one per node, a request's wait within the connections' idle timeout.
    Duration callWait = config.idleTimeout().minusSeconds(5);
    NodeCalls calls = new NodeCalls(leases, live, reports, clock, config.maxNodes(),
        callWait.compareTo(Duration.ofSeconds(1)) < 0 ? Duration.ofSeconds(1) : callWait);
    FleetEndpoints endpoints = new FleetEndpoints(heartbeats, leases, calls, operations, setOperations, views,
        sentence);
    FleetMetrics metrics = new FleetMetrics(live, decisions, leases, controller, heartbeats, inventory, clock, LOG::warn);
    return new Fleet(endpoints, metrics, new Loop(sync, key == null ? null : controller, calls, key, trust,
        config.controllerInterval()));
  }

  private static TrustRoot current(TrustStore trust) {
    try {
      return trust.current();
    } catch (UpgradeException | IOException e) {
      return null;
    }
  }

  /** {@code <host>-<port>}, or with a random part for an ephemeral port, as a lower-case name. */
  static String defaultInstance(int port) {
    String host;
    try {
      host = InetAddress.getLocalHost().getHostName();
    } catch (IOException e) {
      host = "server";
    }
    String suffix = port != 0 ? Integer.toString(port)
        : HexFormat.of().formatHex(random(4));
    String name = (host.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9._-]", "-") + "-" + suffix)
        .replaceAll("^[^a-z0-9]+", "").replace("..", ".");
    return name.length() > 63 ? name.substring(name.length() - 63).replaceAll("^[^a-z0-9]+", "") : name;
  }

  private static byte[] random(int n) {
    byte[] bytes = new byte[n];
    new SecureRandom().nextBytes(bytes);
    return bytes;
  }

  /**
   * The timers: inventory sync and the look at held call requests always, the controller with a key.
   * At the start of the server's stop it answers the held call requests (a graceful stop waits for
   * requests in flight, and those would hold it up to their whole wait).
   */
  static final class Loop extends AbstractLifeCycle implements Graceful {
    private final InventorySync sync;
    private final RolloutController controller;
    private final NodeCalls calls;
    private final RolloutKey key;
    private final TrustStore trust;
    private final Duration every;
    private ScheduledExecutorService timer;
    private volatile boolean warnedUntrusted;

    Loop(InventorySync sync, RolloutController controller, NodeCalls calls, RolloutKey key, TrustStore trust,
        Duration every) {
      this.sync = sync;
      this.controller = controller;
      this.calls = calls;
      this.key = key;
      this.trust = trust;
      this.every = every;
    }

    @Override
    protected void doStart() {
      timer = Executors.newScheduledThreadPool(2, r -> {
        Thread t = new Thread(r, "fleet");
        t.setDaemon(true);
        return t;
      });
      timer.scheduleWithFixedDelay(() -> {
        try {
          sync.sync();
        } catch (IOException | RuntimeException e) {
          LOG.warn("the inventory snapshot failed", e);
        }
      }, SYNC_SECONDS, SYNC_SECONDS, TimeUnit.SECONDS);
      timer.scheduleWithFixedDelay(this::lookAtCalls, NodeCalls.LOOK_EVERY.toMillis(), NodeCalls.LOOK_EVERY.toMillis(),
          TimeUnit.MILLISECONDS);
      if (controller != null) {
        // The controller runs a pass every interval, and sooner when one is due (a bake ends, a slot came back).
        long millis = Math.min(Math.max(100, every.toMillis()), RolloutController.LOOK_MILLIS);
        timer.scheduleWithFixedDelay(this::tick, 0, millis, TimeUnit.MILLISECONDS);
      }
    }

    private void tick() {
      try {
        if (!key.trustedBy(current(trust))) {
          if (!warnedUntrusted) {
            LOG.error("the trust root no longer names rollout key {}: the controller stops signing; nodes pause"
                + " until the server has a rollout key the trust root names", key.keyId());
            warnedUntrusted = true;
          }
          return;
        }
        warnedUntrusted = false;
        if (controller.tickIfDue(Duration.ofMillis(Math.max(100, every.toMillis())))) {
          calls.look(); // a wave the pass opened calls its nodes now
        }
      } catch (IOException | RuntimeException e) {
        LOG.warn("the rollout controller's pass failed", e);
      }
    }

    private void lookAtCalls() {
      try {
        calls.look();
      } catch (RuntimeException e) {
        LOG.warn("the look at held call requests failed", e);
      }
    }

    @Override
    public CompletableFuture<Void> shutdown() {
      calls.close();
      return CompletableFuture.completedFuture(null);
    }

    @Override
    public boolean isShutdown() {
      return calls.closed();
    }

    @Override
    protected void doStop() throws Exception {
      timer.shutdownNow();
      timer.awaitTermination(5, TimeUnit.SECONDS);
      try {
        sync.sync(); // the last heartbeats, for the next start
      } catch (IOException | RuntimeException e) {
        LOG.warn("the last inventory snapshot failed", e);
      }
    }
  }
}
