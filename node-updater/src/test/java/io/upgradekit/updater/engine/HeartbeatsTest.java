package io.upgradekit.updater.engine;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import io.upgradekit.schema.api.Heartbeat;
import io.upgradekit.updater.cli.StatusCommand;
import io.upgradekit.updater.config.ConfigLoader;
import io.upgradekit.updater.event.AgentEvent;
import io.upgradekit.updater.event.Outcome;
import io.upgradekit.updater.event.UpdateState;
import io.upgradekit.updater.testsupport.FakeApplier;
import io.upgradekit.updater.testsupport.FakeRolloutServer;
import io.upgradekit.updater.testsupport.RepoSimulator;
import io.upgradekit.updater.testsupport.TestRepo;
import io.upgradekit.updater.testsupport.TestTarget;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The heartbeats' contents and timing, driven by an engine with a clock the test moves. */
@Timeout(60)
class HeartbeatsTest {
  @TempDir
  Path tmp;

  private RepoSimulator server;
  private HttpServer service;
  private FakeRolloutServer fleet;
  private Path configFile;
  private final AtomicLong requests = new AtomicLong(1000);
  private final AtomicLong errors = new AtomicLong(10);
  private final MutableClock clock = new MutableClock();

  /** A clock the test moves. */
  static final class MutableClock extends Clock {
    volatile Instant now = Instant.now();

    @Override
    public Instant instant() {
      return now;
    }

    @Override
    public java.time.ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(java.time.ZoneId zone) {
      return this;
    }
  }

  @BeforeEach
  void installV1() throws IOException {
    service = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    service.createContext("/metrics", exchange -> {
      byte[] body = ("requests_total " + requests.get() + "\nerrors_total " + errors.get()
          + "\nhttp_latency_seconds 0.25\n").getBytes(StandardCharsets.UTF_8);
      exchange.sendResponseHeaders(200, body.length);
      exchange.getResponseBody().write(body);
      exchange.close();
    });
    service.start();
    TestRepo repo = new TestRepo(tmp.resolve("repo"));
    server = new RepoSimulator(tmp.resolve("repo"));
    fleet = new FakeRolloutServer(repo, server, "1.0.0");
    configFile = tmp.resolve("updater.yaml");
    Files.writeString(configFile, """
        repository:
          url: %s
          trustRoot: %s
        app: demo
        channel: stable
        home: %s
        node:
          id: node-1
          credential: test-credential
          labels: zone=a,rack=3
        service:
          start: [sh, -c, "true"]
          stop: [sh, -c, "true"]
        health:
          command: [sh, -c, "test -e current/app.properties"]
          attempts: 1
        """.formatted(server.base(), repo.pinnedRoot(), tmp.resolve("home")));
    TestRepo.Release v1 = repo.publish("1.0.0", 1, TestTarget.files("1.0.0", ""));
    repo.point("stable", v1);
    assertThat(new UpdateEngine(ConfigLoader.load(configFile), new FakeApplier(), Clock.systemUTC(), e -> { })
        .runOnce(false).outcome()).isEqualTo(Outcome.COMMITTED);
    // The metrics the heartbeats sample (added after the install, whose watch window would only cost time).
    Files.writeString(configFile, """
        watch:
          metrics:
            url: http://127.0.0.1:%d/metrics
            errorRate: errors_total / requests_total
            latency: http_latency_seconds
        """.formatted(service.getAddress().getPort()), java.nio.file.StandardOpenOption.APPEND);
  }

  @AfterEach
  void stop() {
    server.close();
    service.stop(0);
  }

  private Heartbeats heartbeats() {
    return new UpdateEngine(ConfigLoader.load(configFile), new FakeApplier(), clock, e -> { }).heartbeats();
  }

  private static AgentEvent.Transition entering(UpdateState state) {
    return new AgentEvent.Transition("e1", UpdateState.GATE, null, Duration.ZERO, state, null, null, Instant.now());
  }

  @Test
  void aHeartbeatCarriesTheVersionLabelsStateHealthAndTheSampledMetrics() {
    Heartbeats heartbeats = heartbeats();

    assertThat(heartbeats.tick()).isTrue();
    requests.addAndGet(1000);
    errors.addAndGet(50);
    clock.now = clock.now.plusSeconds(30);
    assertThat(heartbeats.tick()).isTrue();

    Heartbeat first = fleet.heartbeats.get(0);
    assertThat(first.node()).isEqualTo("node-1");
    assertThat(first.app()).isEqualTo("demo");
    assertThat(first.channel()).isEqualTo("stable");
    assertThat(first.version()).isEqualTo("1.0.0");
    assertThat(first.labels()).isEqualTo(Map.of("zone", "a", "rack", "3"));
    assertThat(first.state()).isEqualTo("IDLE");
    assertThat(first.healthy()).isTrue();
    assertThat(first.intervalSeconds()).isEqualTo(30);
    assertThat(first.latency()).isEqualTo(0.25);
    assertThat(first.errorRate()).isNull(); // a ratio of counters needs two samples
    // The second: the error rate over the requests since the first, as the watch window computes it.
    assertThat(fleet.heartbeats.get(1).errorRate()).isEqualTo(0.05);
    assertThat(fleet.heartbeats.get(1).sentAt()).isEqualTo(clock.now);
  }

  @Test
  void oneEveryIntervalAndOneAtEachChangeOfStateAtMostOneASecond() {
    Heartbeats heartbeats = heartbeats();
    assertThat(heartbeats.tick()).isTrue();
    clock.now = clock.now.plusSeconds(10);
    assertThat(heartbeats.tick()).isFalse(); // not due

    heartbeats.watch().accept(entering(UpdateState.STOP));
    assertThat(heartbeats.tick()).isTrue();
    heartbeats.watch().accept(entering(UpdateState.SWITCH));
    assertThat(heartbeats.tick()).isFalse(); // within a second of the last one
    clock.now = clock.now.plusSeconds(1);
    assertThat(heartbeats.tick()).isTrue();
    heartbeats.watch().accept(entering(UpdateState.END_ACTION)); // IDLE again
    heartbeats.watch().accept(entering(UpdateState.END));
    clock.now = clock.now.plusSeconds(1);
    assertThat(heartbeats.tick()).isTrue();
    clock.now = clock.now.plusSeconds(29);
    assertThat(heartbeats.tick()).isFalse();
    clock.now = clock.now.plusSeconds(1);
    assertThat(heartbeats.tick()).isTrue(); // the interval since the last one

    assertThat(fleet.heartbeats).extracting(Heartbeat::state).containsExactly("IDLE", "STOP", "SWITCH", "IDLE",
        "IDLE");
  }

  @Test
  void whileTheUpdaterSwitchesTheServiceAHeartbeatCarriesNoHealth() throws IOException {
    // The health check fails from here on (as it does while a new version starts).
    Files.delete(tmp.resolve("home").resolve("current").resolve("app.properties"));
    Heartbeats heartbeats = heartbeats();
    for (UpdateState state : List.of(UpdateState.STOP, UpdateState.SWITCH, UpdateState.START, UpdateState.VERIFY,
        UpdateState.ROLLBACK, UpdateState.END)) {
      heartbeats.watch().accept(entering(state));
      assertThat(heartbeats.tick()).isTrue();
      clock.now = clock.now.plusSeconds(1);
    }

    // The updater's own verification judges those states; only IDLE says what the check says.
    assertThat(fleet.heartbeats).extracting(Heartbeat::state).containsExactly("STOP", "SWITCH", "START", "VERIFY",
        "ROLLBACK", "IDLE");
    assertThat(fleet.heartbeats).extracting(Heartbeat::healthy).containsExactly(null, null, null, null, null,
        false);
  }

  @Test
  void failuresAreCountedInStatusAndTheThreadSendsOnceTheEngineWorks() throws Exception {
    server.on("v1/heartbeats").status(503).times(2);
    Heartbeats heartbeats = heartbeats();
    assertThat(heartbeats.tick()).isTrue();
    clock.now = clock.now.plusSeconds(30);
    assertThat(heartbeats.tick()).isTrue();

    assertThat(Heartbeats.read(tmp.resolve("home/state"))).satisfies(r -> {
      assertThat(r.failed()).isEqualTo(2);
      assertThat(r.failedInARow()).isEqualTo(2);
      assertThat(r.lastFailure()).contains("HTTP 503");
    });
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    new CommandLine(new StatusCommand(new PrintStream(out, true, StandardCharsets.UTF_8), System.err))
        .execute("--config", configFile.toString());
    assertThat(out.toString(StandardCharsets.UTF_8)).contains("heartbeats:       2 failed in a row");

    // The sender thread: the next heartbeat when due, and the record says they get through again.
    int before = fleet.heartbeats.size();
    clock.now = clock.now.plusSeconds(30);
    try (heartbeats) {
      heartbeats.start();
      Thread.sleep(100);
      assertThat(fleet.heartbeats).as("none before the engine holds the lock").hasSize(before);
      heartbeats.watch().accept(entering(UpdateState.BEGIN)); // what the engine's first poll emits
      long end = System.nanoTime() + Duration.ofSeconds(10).toNanos();
      while (fleet.heartbeats.size() == before && System.nanoTime() < end) {
        Thread.sleep(20);
      }
    }
    assertThat(fleet.heartbeats).hasSize(before + 1);
    assertThat(Heartbeats.read(tmp.resolve("home/state")).failedInARow()).isZero();
  }

  @Test
  void aNodeWithoutACredentialSendsNone() throws IOException {
    Files.writeString(configFile, Files.readString(configFile).replace("  credential: test-credential\n", ""));
    Heartbeats heartbeats = heartbeats();
    assertThat(heartbeats.enabled()).isFalse();
    assertThat(heartbeats.tick()).isFalse();
    assertThat(server.requests("v1/heartbeats")).isEmpty();
  }
}
