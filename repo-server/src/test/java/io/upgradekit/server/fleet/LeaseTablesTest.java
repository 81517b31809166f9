package io.upgradekit.server.fleet;

import static org.assertj.core.api.Assertions.assertThat;

import io.upgradekit.schema.api.LeaseAnswer;
import io.upgradekit.schema.api.LeaseRequest;
import io.upgradekit.schema.model.LeaseGrant;
import io.upgradekit.schema.model.RolloutPlan;
import io.upgradekit.schema.sign.MetadataVerifier;
import io.upgradekit.server.core.Caller;
import io.upgradekit.server.rollout.RolloutView;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The slot tables and views that keep lease requests off the disk: what another server process
 * wrote is seen within {@link Leases#FRESH_FOR}, a stale table never gives a slot twice, and a herd
 * of requests in one process each gets its own slot.
 */
class LeaseTablesTest {
  static final String[] EIGHT = {"n1", "n2", "n3", "n4", "n5", "n6", "n7", "n8"};

  static LeaseRequest ask(String node) {
    return LeaseRequest.ask("shop", "2.0", node, LeaseGrant.Kind.UPGRADE);
  }

  static LeaseGrant grant(RolloutFixture f, LeaseAnswer answer, String node) {
    assertThat(answer.status()).as(answer.message()).isEqualTo(LeaseAnswer.Status.GRANTED);
    return new MetadataVerifier(f.trust, f.clock).verifyLeaseGrant(answer.grant().getBytes(StandardCharsets.UTF_8),
        "shop", "2.0", node);
  }

  /** Slots held now, as the server's table says. */
  static long held(RolloutFixture f, RolloutFixture.Instance server) throws IOException {
    LiveRollouts.Rollout rollout = server.rollouts.get("shop", "2.0").orElseThrow();
    RolloutView view = server.decisions.view("shop", "2.0");
    return server.leases.scan(rollout, view.schedule(), LeaseGrant.Kind.UPGRADE, f.clock.instant()).stream()
        .filter(LeaseService.Holding::active).count();
  }

  static RolloutFixture.Instance started(RolloutFixture f, RolloutPlan plan, String... nodes) throws Exception {
    RolloutFixture.Instance server = f.new Instance();
    server.heartbeats("1.0", nodes);
    f.publish("2.0", 2, plan);
    server.controller.tick();
    return server;
  }

  @Test
  void anotherProcessesGrantsConfirmationsAndReleasesAreSeenWithinTheBoundAndAStaleTableGivesNoSlotTwice(
      @TempDir Path root, @TempDir Path keys) throws Exception {
    RolloutFixture f = new RolloutFixture(root);
    RolloutFixture.Instance a = started(f, LeaseServiceTest.oneWaveBudgetTwo(), EIGHT);
    assertThat(held(f, a)).as("a has read the slots: both free").isZero();
    Path keyFile = keys.resolve("rollout.key");
    Files.writeString(keyFile, f.rolloutKey.toPem());
    Files.setPosixFilePermissions(keyFile, PosixFilePermissions.fromString("rw-------"));

    try (OtherProcess b = OtherProcess.start(root, f.clock.instant(), keyFile)) {
      String[] n1 = b.call("ask n1").split(" ");
      assertThat(n1[0]).isEqualTo("granted");
      assertThat(b.call("confirm n1 " + n1[1] + " " + n1[2])).isEqualTo("confirmed");

      // Within the bound a's table may not show it; a grant from it still cannot take n1's slot:
      // the exclusive creation of that slot's generation fails, and a reads the slot again.
      assertThat(held(f, a)).isZero();
      LeaseGrant n2 = grant(f, a.leases.ask(new Caller.Node("n2"), ask("n2")).body(), "n2");
      assertThat(n2.slot()).isNotEqualTo(Integer.parseInt(n1[1]));
      assertThat(a.leases.ask(new Caller.Node("n3"), ask("n3")).body().code()).isEqualTo("SCOPE_FULL");

      f.clock.advance(Leases.FRESH_FOR);
      assertThat(held(f, a)).as("b's grant, seen within " + Leases.FRESH_FOR).isEqualTo(2);

      assertThat(b.call("release n1 " + n1[1] + " " + n1[2])).isEqualTo("released");
      f.clock.advance(Leases.FRESH_FOR);
      assertThat(held(f, a)).as("b's release, seen within " + Leases.FRESH_FOR).isEqualTo(1);
      LeaseGrant n3 = grant(f, a.leases.ask(new Caller.Node("n3"), ask("n3")).body(), "n3");
      assertThat(n3.slot()).isEqualTo(Integer.parseInt(n1[1]));
      assertThat(n3.generation()).isEqualTo(Long.parseLong(n1[2]) + 1);
    }
  }

  @Test
  void aHerdOfRequestsInOneProcessEachGetsItsOwnSlot(@TempDir Path root) throws Exception {
    RolloutFixture f = new RolloutFixture(root);
    List<String> nodes = new ArrayList<>();
    for (int i = 1; i <= 50; i++) {
      nodes.add("h" + i);
    }
    // one wave of 50 nodes, 10 stay available: 40 slots, asked for by 40 nodes at once
    RolloutFixture.Instance server = started(f, new RolloutPlan(null, RolloutPlan.Strategy.ALL, 20, 0L, null),
        nodes.toArray(String[]::new));
    Set<Integer> slots = java.util.concurrent.ConcurrentHashMap.newKeySet();
    List<String> waits = java.util.Collections.synchronizedList(new ArrayList<>());
    ExecutorService threads = Executors.newFixedThreadPool(40);
    try {
      CountDownLatch go = new CountDownLatch(1);
      List<Future<?>> calls = new ArrayList<>();
      for (String node : nodes.subList(0, 40)) {
        calls.add(threads.submit(() -> {
          go.await();
          // A node told that the server is writing the most grants at once asks again (after a second).
          for (int attempt = 0; attempt < 100; attempt++) {
            LeaseAnswer answer = server.leases.ask(new Caller.Node(node), ask(node)).body();
            if (answer.status() == LeaseAnswer.Status.GRANTED) {
              slots.add(grant(f, answer, node).slot());
              return null;
            }
            if (!answer.message().equals("waiting for a slot: the server is writing "
                + LeaseService.MAX_GRANT_WRITES + " grants at once")) {
              waits.add(node + ": " + answer.message());
              return null;
            }
            Thread.sleep(10);
          }
          waits.add(node + ": still busy after 100 attempts");
          return null;
        }));
      }
      go.countDown();
      for (Future<?> call : calls) {
        call.get(60, TimeUnit.SECONDS);
      }
    } finally {
      threads.shutdownNow();
    }
    assertThat(waits).isEmpty();
    assertThat(new TreeSet<>(slots)).hasSize(40).first().isEqualTo(0);
    assertThat(server.leases.ask(new Caller.Node("h41"), ask("h41")).body().message())
        .isEqualTo("waiting for a slot: 40 of 40 busy");
  }

  @Test
  void aNodeThatGoesDownCountsAgainstTheBudgetWithinTheBoundAndStopsCountingWhenItIsBack(@TempDir Path root)
      throws Exception {
    RolloutFixture f = new RolloutFixture(root);
    RolloutFixture.Instance server = started(f, LeaseServiceTest.oneWaveBudgetTwo(), EIGHT);
    grant(f, server.leases.ask(new Caller.Node("n1"), ask("n1")).body(), "n1");
    server.inventory.accept(new io.upgradekit.schema.api.Heartbeat("n8", "shop", "stable", "1.0", java.util.Map.of(),
        "IDLE", false, 0.0, 0.01, 10, f.clock.instant()), f.clock.instant());
    f.clock.advance(Leases.FRESH_FOR);
    LeaseAnswer full = server.leases.ask(new Caller.Node("n2"), ask("n2")).body();
    assertThat(full.message()).isEqualTo("waiting for a slot: 2 of 2 busy (1 nodes down or unhealthy count against"
        + " the budget)");
    server.heartbeats("1.0", "n8");
    grant(f, server.leases.ask(new Caller.Node("n2"), ask("n2")).body(), "n2");
  }

  /** {@link LeaseProcess} in its own JVM. */
  static final class OtherProcess implements AutoCloseable {
    private final Process process;
    private final BufferedReader out;
    private final Writer in;

    private OtherProcess(Process process) {
      this.process = process;
      this.out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
      this.in = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
    }

    static OtherProcess start(Path root, Instant now, Path keyFile) throws Exception {
      List<String> command = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
          "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xmx64m", "-cp", System.getProperty("java.class.path"),
          LeaseProcess.class.getName(), root.toString(), now.toString(), keyFile.toString());
      OtherProcess p = new OtherProcess(new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT)
          .start());
      assertThat(p.line()).isEqualTo("ready");
      return p;
    }

    String call(String command) throws Exception {
      in.write(command + "\n");
      in.flush();
      return line();
    }

    private String line() throws Exception {
      String line = CompletableFuture.supplyAsync(() -> {
        try {
          return out.readLine();
        } catch (IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
      }).get(60, TimeUnit.SECONDS);
      assertThat(line).as("the other process answered").isNotNull();
      return line;
    }

    @Override
    public void close() throws Exception {
      in.close();
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        process.destroyForcibly();
      }
    }
  }
}
