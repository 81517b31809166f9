package io.upgradekit.server.fleet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.api.ApiBody;
import io.upgradekit.schema.api.Heartbeat;
import io.upgradekit.schema.store.DirectoryStore;
import io.upgradekit.server.core.Caller;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class InventoryTest {
  static final Instant T0 = Instant.parse("2030-01-01T00:00:00Z");

  static Heartbeat heartbeat(String node, String version, Instant sentAt, Double errorRate) {
    return new Heartbeat(node, "shop", "stable", version, Map.of("zone", "a"), "IDLE", true, errorRate,
        errorRate == null ? null : 0.01, 10, sentAt);
  }

  @Test
  void aNodeIsUnavailableAfterThreeMissedIntervals() {
    MutableClock clock = new MutableClock(T0);
    Inventory inventory = new Inventory(10);
    HeartbeatService service = new HeartbeatService(inventory, clock);
    service.accept(new Caller.Node("n1"), ApiBody.HEARTBEAT.write(heartbeat("n1", "1.0", T0, 0.0)));
    clock.advance(Duration.ofSeconds(29));
    assertThat(inventory.get("n1", "shop").available(clock.instant())).isTrue();
    clock.advance(Duration.ofSeconds(1));
    assertThat(inventory.get("n1", "shop").available(clock.instant())).isFalse();
    assertThat(inventory.availability(clock.instant())).containsExactly(0, 1);
    assertThat(service.received()).isEqualTo(1);
  }

  @Test
  void shortIntervalsStillAllowTwentySecondsOfSilence() {
    // An updater's heartbeats pause while it starts a fresh JVM after an update, and reach other
    // server processes through snapshots up to 10 s late: three 2 s intervals would call it down.
    Inventory inventory = new Inventory(10);
    inventory.accept(withInterval(heartbeat("n1", "1.0", T0, 0.0), 2), T0);
    assertThat(inventory.get("n1", "shop").available(T0.plusSeconds(19))).isTrue();
    assertThat(inventory.get("n1", "shop").available(T0.plusSeconds(20))).isFalse();
    assertThat(Inventory.silenceAllowed(2)).isEqualTo(Inventory.MIN_SILENCE);
    assertThat(Inventory.silenceAllowed(60)).isEqualTo(Duration.ofSeconds(180));
  }

  @Test
  void aRestartedServerCountsNoSilenceFromBeforeItStarted() {
    // Heard at T0, then the server was down for five minutes: the node could not reach it.
    Inventory inventory = new Inventory(10);
    inventory.merge(new Inventory.Entry(heartbeat("n1", "1.0", T0, 0.0), T0));
    Instant restart = T0.plusSeconds(300);
    inventory.countSilenceFrom(restart);
    assertThat(inventory.get("n1", "shop").available(restart.plusSeconds(29))).as("a full allowance from the start")
        .isTrue();
    assertThat(inventory.nodes("shop", "stable")).singleElement()
        .satisfies(e -> assertThat(e.available(restart.plusSeconds(29))).isTrue());
    assertThat(inventory.availability(restart.plusSeconds(29))).containsExactly(1, 0);
    assertThat(inventory.get("n1", "shop").available(restart.plusSeconds(30))).as("then it is overdue").isFalse();
    assertThat(inventory.entries()).as("snapshots keep the true time").singleElement()
        .satisfies(e -> assertThat(e.receivedAt()).isEqualTo(T0));
  }

  private static Heartbeat withInterval(Heartbeat h, int seconds) {
    return new Heartbeat(h.node(), h.app(), h.channel(), h.version(), h.labels(), h.state(), h.healthy(), h.errorRate(),
        h.latency(), seconds, h.sentAt());
  }

  @Test
  void aNodeSpeaksOnlyForItselfAndTheBodyIsBoundedAndStrict() {
    HeartbeatService service = new HeartbeatService(new Inventory(10), new MutableClock(T0));
    byte[] body = ApiBody.HEARTBEAT.write(heartbeat("n1", "1.0", T0, null));
    assertThatThrownBy(() -> service.accept(new Caller.Node("n2"), body))
        .isInstanceOfSatisfying(UpgradeException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.ACCESS_DENIED));
    String json = new String(body, StandardCharsets.UTF_8);
    byte[] large = (json.substring(0, json.length() - 1) + ",\"pad\":\"" + "x".repeat(9000) + "\"}")
        .getBytes(StandardCharsets.UTF_8);
    assertThatThrownBy(() -> service.accept(new Caller.Node("n1"), large)).isInstanceOfSatisfying(
        UpgradeException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.METADATA_TOO_LARGE));
    byte[] bad = json.replace("\"intervalSeconds\":10", "\"intervalSeconds\":0").getBytes(StandardCharsets.UTF_8);
    assertThatThrownBy(() -> service.accept(new Caller.Node("n1"), bad)).isInstanceOfSatisfying(
        UpgradeException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.METADATA_MALFORMED));
  }

  @Test
  void theInventoryIsBoundedButKnownNodesStillUpdate() {
    Inventory inventory = new Inventory(2);
    inventory.accept(heartbeat("n1", "1.0", T0, null), T0);
    inventory.accept(heartbeat("n2", "1.0", T0, null), T0);
    inventory.accept(heartbeat("n1", "1.1", T0.plusSeconds(1), null), T0.plusSeconds(1));
    assertThatThrownBy(() -> inventory.accept(heartbeat("n3", "1.0", T0, null), T0))
        .isInstanceOfSatisfying(UpgradeException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.QUOTA_EXCEEDED))
        .hasMessageContaining("--max-nodes");
    assertThat(inventory.get("n1", "shop").heartbeat().version()).isEqualTo("1.1");
  }

  @Test
  void samplesAreKeptForTheWindowOnly() {
    Inventory inventory = new Inventory(10);
    inventory.sampleWindow(Duration.ofSeconds(60));
    inventory.accept(heartbeat("n1", "1.0", T0, 0.5), T0);
    inventory.accept(heartbeat("n1", "1.0", T0.plusSeconds(50), 0.1), T0.plusSeconds(50));
    assertThat(inventory.samples("shop", "stable")).hasSize(2);
    inventory.prune(T0.plusSeconds(70));
    assertThat(inventory.samples("shop", "stable")).singleElement()
        .satisfies(s -> assertThat(s.sample().errorRate()).isEqualTo(0.1));
    assertThat(inventory.samples("shop", "beta")).isEmpty();
  }

  @Test
  void twoServersShareOneFleetAndARestartedOneRebuildsIt(@TempDir Path root) throws Exception {
    MutableClock clock = new MutableClock(T0);
    Inventory a = new Inventory(10);
    Inventory b = new Inventory(10);
    InventorySync syncA = new InventorySync(new DirectoryStore(root), a, "srv-a", clock, m -> { });
    InventorySync syncB = new InventorySync(new DirectoryStore(root), b, "srv-b", clock, m -> { });
    a.accept(heartbeat("n1", "1.0", T0, 0.0), T0);
    b.accept(heartbeat("n2", "1.0", T0, 0.0), T0);
    b.accept(heartbeat("n1", "1.1", T0.plusSeconds(5), 0.2), T0.plusSeconds(5)); // n1 moved to server b
    syncA.sync();
    syncB.sync();
    syncA.sync();
    assertThat(a.entries()).hasSize(2);
    assertThat(a.get("n1", "shop").heartbeat().version()).as("the newest sentAt wins").isEqualTo("1.1");
    assertThat(b.get("n1", "shop").heartbeat().version()).isEqualTo("1.1");
    assertThat(a.samples("shop", "stable")).extracting(s -> s.version()).contains("1.0", "1.1");
    assertThat(Files.exists(root.resolve("fleet/inventory/srv-a.json"))).isTrue();

    Inventory restarted = new Inventory(10); // srv-a killed and started again
    new InventorySync(new DirectoryStore(root), restarted, "srv-a", clock, m -> { }).sync();
    assertThat(restarted.entries()).hasSize(2);
    assertThat(restarted.get("n2", "shop").receivedAt()).isEqualTo(T0);
  }
}
