package io.upgradekit.plugin.plan;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.upgradekit.plugin.release.DirectoryRepository;
import io.upgradekit.plugin.set.SetDescriptor;
import io.upgradekit.plugin.set.SetFixture;
import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.api.ApiBody;
import io.upgradekit.schema.api.Heartbeat;
import io.upgradekit.schema.api.InventorySnapshot;
import io.upgradekit.schema.model.RolloutPlan;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PreviewerTest {
  static final String FOUR = """
      components:
        - {name: database, version: v2, depends_on: []}
        - {name: cache,    version: v2, depends_on: [database]}
        - {name: api,      version: v2, depends_on: [cache]}
        - {name: gateway,  version: v2, depends_on: [api]}
      strategy: rolling
      rollback_policy: auto
      """;

  @TempDir Path dir;
  SetFixture fixture;

  @BeforeEach
  void setUp() throws IOException {
    fixture = new SetFixture(dir);
  }

  static InventorySnapshot.Entry entry(String node, String app, String version, Instant at) {
    return new InventorySnapshot.Entry(new Heartbeat(node, app, "stable", version, Map.of(), "IDLE", true, null, null,
        30, at), at);
  }

  void inventory(Path file, List<InventorySnapshot.Entry> entries) throws IOException {
    Files.createDirectories(file.getParent());
    Files.write(file, ApiBody.INVENTORY.write(new InventorySnapshot("inventory", "srv-1", 1, SetFixture.NOW,
        entries)));
  }

  List<InventorySnapshot.Entry> fourApps(int perApp) {
    List<InventorySnapshot.Entry> entries = new ArrayList<>();
    for (String app : List.of("database", "cache", "api", "gateway")) {
      for (int i = 0; i < perApp; i++) {
        entries.add(entry(app + "-" + i, app, "v1", SetFixture.NOW.minusSeconds(10)));
      }
    }
    return entries;
  }

  Previewer previewer() {
    return new Previewer((location, token) -> new DirectoryRepository(Path.of(location)), dir, SetFixture.CLOCK,
        fixture.events::add);
  }

  PlanRequest set(String yaml, Path inventory) {
    return new PlanRequest(fixture.repository.toString(), SetDescriptor.parse("release-set.yaml",
        yaml.getBytes(StandardCharsets.UTF_8)), "shop", "1", null, null, null, "stable", inventory,
        Duration.ofMinutes(1));
  }

  @Test
  void aSetIsPreviewedFromItsSignedPlansAndTheRepositorysOwnInventoryChangingNothing() throws IOException {
    fixture.releaseFour();
    inventory(fixture.repository.resolve("fleet/inventory/srv-1.json"), fourApps(4));
    Map<String, String> before = fixture.snapshot();

    Preview p = previewer().preview(set(FOUR, null));

    assertThat(p.problems()).isEmpty();
    assertThat(p.components()).extracting(Preview.Component::source).containsOnly("published");
    assertThat(p.components()).allSatisfy(c -> assertThat(c.fleet()).isEqualTo(4));
    assertThat(p.components().get(3).startsAtSeconds()).isEqualTo(3 * p.components().get(0).expectedSeconds());
    assertThat(fixture.snapshot()).as("a preview writes nothing").isEqualTo(before);
  }

  @Test
  void missingReleasesAndReleasesWithoutAPlanAreProblemsNotFailures() throws IOException {
    fixture.release("database", "v2", SetFixture.PLAN);
    fixture.release("cache", "v2", null);
    Path file = dir.resolve("inventory.json");
    inventory(file, fourApps(2));

    Preview p = previewer().preview(set(FOUR, file));

    assertThat(p.problems()).extracting(Preview.Problem::component, Preview.Problem::code).contains(
        org.assertj.core.groups.Tuple.tuple("cache", "CONFIG_INVALID"),
        org.assertj.core.groups.Tuple.tuple("api", "REFERENCE_MISSING"),
        org.assertj.core.groups.Tuple.tuple("gateway", "REFERENCE_MISSING"));
  }

  @Test
  void aReleaseNotPublishedYetIsPreviewedFromThePom() throws IOException {
    Path file = dir.resolve("inventory.json");
    inventory(file, fourApps(4));

    Preview p = previewer().preview(new PlanRequest(fixture.repository.toString(), null, null, null, "api", "v7",
        RolloutPlan.of(RolloutPlan.Strategy.CANARY), "stable", file, Duration.ofMinutes(2)));

    assertThat(p.kind()).isEqualTo("release");
    assertThat(p.components().get(0).source()).isEqualTo("pom");
    assertThat(p.components().get(0).waves()).extracting(w -> w.nodes().size()).containsExactly(1, 3);
    Preview none = previewer().preview(new PlanRequest(fixture.repository.toString(), null, null, null, "api", "v7",
        null, "stable", file, Duration.ofMinutes(2)));
    assertThat(none.problems()).extracting(Preview.Problem::code).containsExactly("REFERENCE_MISSING");
  }

  @Test
  void theInventoryMergesSnapshotsNewestFirstAndKnowsWhoIsAway() throws IOException {
    Path fleet = dir.resolve("fleet");
    inventory(fleet.resolve("a.json"), List.of(entry("n1", "api", "v1", SetFixture.NOW.minusSeconds(600)),
        entry("n2", "api", "v1", SetFixture.NOW.minusSeconds(10))));
    inventory(fleet.resolve("b.json"), List.of(entry("n1", "api", "v2", SetFixture.NOW.minusSeconds(5))));
    Files.writeString(fleet.resolve(".b.json.0123.tmp"), "half written");

    List<FleetInventory.Node> nodes = FleetInventory.read(fleet, SetFixture.NOW);
    assertThat(nodes).extracting(FleetInventory.Node::id, FleetInventory.Node::version,
        FleetInventory.Node::available).containsExactly(org.assertj.core.groups.Tuple.tuple("n1", "v2", true),
        org.assertj.core.groups.Tuple.tuple("n2", "v1", true));
    assertThat(FleetInventory.read(fleet.resolve("a.json"), SetFixture.NOW).get(0).available())
        .as("silent for 600 s, more than 3 intervals of 30 s").isFalse();

    Files.writeString(fleet.resolve("c.json"), "{\"type\":\"inventory\"}");
    assertThatThrownBy(() -> FleetInventory.read(fleet, SetFixture.NOW)).isInstanceOfSatisfying(
        UpgradeException.class, e -> {
          assertThat(e.code()).isEqualTo(ErrorCode.METADATA_MALFORMED);
          assertThat(e.getMessage()).contains("c.json");
        });
    assertThatThrownBy(() -> FleetInventory.read(dir.resolve("nope.json"), SetFixture.NOW))
        .isInstanceOfSatisfying(UpgradeException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.CONFIG_INVALID));
  }

  @Test
  void repoServerHasNoInventoryApiYetSoAFileIsAskedFor() {
    assertThatThrownBy(() -> previewer().preview(new PlanRequest("https://repo.example/", null, null, null, "api",
        "v7", RolloutPlan.of(RolloutPlan.Strategy.ALL), "stable", null, Duration.ofMinutes(1))))
        .isInstanceOfSatisfying(UpgradeException.class, e -> {
          assertThat(e.code()).isEqualTo(ErrorCode.CONFIG_INVALID);
          assertThat(e.getMessage()).contains("-Dupgrade.inventory=PATH", "fleet/inventory");
        });
  }
}
