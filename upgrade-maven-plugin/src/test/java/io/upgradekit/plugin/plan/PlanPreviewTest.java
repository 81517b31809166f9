package io.upgradekit.plugin.plan;

import static org.assertj.core.api.Assertions.assertThat;

import io.upgradekit.schema.model.ReleaseSet;
import io.upgradekit.schema.model.RolloutPlan;
import io.upgradekit.schema.rollout.WaveAssigner;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PlanPreviewTest {
  /** batches, canary 1, half the fleet stays up, 2 minutes of bake. */
  static final RolloutPlan PLAN = new RolloutPlan(null, RolloutPlan.Strategy.BATCHES, 50, 120L, null, null, 1, null,
      null, null, null, null);

  static List<FleetInventory.Node> nodes(String app, int n, int down) {
    List<FleetInventory.Node> nodes = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      nodes.add(new FleetInventory.Node(app + "-" + i, app, "stable", "v1", Map.of("zone", i % 2 == 0 ? "a" : "b"),
          i >= down, i >= down));
    }
    return nodes;
  }

  static PlanPreview.Component c(String app, String... dependsOn) {
    return new PlanPreview.Component(app, "v2", List.of(dependsOn), PLAN, "published", null);
  }

  static PlanPreview.SetInfo set(ReleaseSet.Strategy strategy, String... contracts) {
    return new PlanPreview.SetInfo("shop", "1", strategy, ReleaseSet.Rollback.AUTO,
        java.util.Arrays.stream(contracts).map(ReleaseSet.Contract::parse).toList());
  }

  static List<FleetInventory.Node> fleet() {
    List<FleetInventory.Node> fleet = new ArrayList<>();
    for (String app : List.of("database", "cache", "api", "gateway")) {
      fleet.addAll(nodes(app, 4, 0));
    }
    return fleet;
  }

  @Test
  void aSetShowsTheOrderTheWavesTheirSlotsAndTheDurations() {
    Preview p = PlanPreview.preview(new PlanPreview.Input(set(ReleaseSet.Strategy.ROLLING),
        List.of(c("gateway", "api"), c("api", "cache"), c("cache", "database"), c("database")), "stable", fleet(),
        Duration.ofMinutes(1)));

    assertThat(p.problems()).isEmpty();
    assertThat(p.steps()).containsExactly(List.of("database"), List.of("cache"), List.of("api"), List.of("gateway"));
    Preview.Component db = p.components().stream().filter(c -> c.app().equals("database")).findFirst().orElseThrow();
    // 4 nodes, 2 stay up: budget 2; canary of 1, then batches of 2, then 1.
    assertThat(db.budget()).isEqualTo(2);
    assertThat(db.waves()).extracting(Preview.Wave::slots).containsExactly(1, 2, 1);
    assertThat(db.waves()).extracting(w -> w.nodes().size()).containsExactly(1, 2, 1);
    assertThat(db.waves()).allSatisfy(w -> assertThat(w.seconds()).isEqualTo(60 + 120));
    assertThat(db.expectedSeconds()).isEqualTo(3 * 180);
    assertThat(db.startsAtSeconds()).isZero();
    Preview.Component gateway = p.components().get(0);
    assertThat(gateway.startsAtSeconds()).isEqualTo(3 * 540);
    assertThat(p.expectedSeconds()).isEqualTo(4 * 540);
  }

  @Test
  void theWavesAreTheControllersOwn() {
    List<FleetInventory.Node> fleet = nodes("api", 9, 0);
    Preview p = PlanPreview.preview(new PlanPreview.Input(null, List.of(c("api")), "stable", fleet,
        Duration.ofMinutes(1)));

    WaveAssigner.Waves controller = WaveAssigner.assign("api/v2", fleet.stream()
        .map(n -> new WaveAssigner.Member(n.id(), n.labels())).toList(), PLAN).schedule();
    assertThat(p.components().get(0).waves()).extracting(w -> w.nodes().stream().map(Preview.Node::id).toList())
        .containsExactlyElementsOf(controller.waves());
    assertThat(p.components().get(0).waves().get(0).name()).isEqualTo("the canary wave");
    assertThat(p.components().get(0).waves().get(1).name()).isEqualTo("wave 2 of " + controller.waves().size());
  }

  @Test
  void independentComponentsRunInParallelUnlessSequential() {
    List<FleetInventory.Node> fleet = new ArrayList<>(nodes("db", 2, 0));
    fleet.addAll(nodes("cache", 2, 0));
    fleet.addAll(nodes("search", 2, 0));
    List<PlanPreview.Component> components = List.of(c("db"), c("cache", "db"), c("search", "db"));

    Preview rolling = PlanPreview.preview(new PlanPreview.Input(set(ReleaseSet.Strategy.ROLLING), components,
        "stable", fleet, Duration.ofMinutes(1)));
    Preview sequential = PlanPreview.preview(new PlanPreview.Input(set(ReleaseSet.Strategy.SEQUENTIAL), components,
        "stable", fleet, Duration.ofMinutes(1)));

    long each = rolling.components().get(0).expectedSeconds();
    assertThat(rolling.steps()).containsExactly(List.of("db"), List.of("cache", "search"));
    assertThat(rolling.expectedSeconds()).isEqualTo(2 * each);
    assertThat(sequential.expectedSeconds()).isEqualTo(3 * each);
  }

  @Test
  void everyProblemIsShown() {
    List<FleetInventory.Node> fleet = new ArrayList<>(nodes("db", 4, 2)); // 2 down: the budget of 2 is used up
    fleet.addAll(nodes("cache", 1, 0)); // one node: 50% keeps it up, nobody may update
    fleet.add(new FleetInventory.Node("ldap-1", "ldap", "stable", "4.2", Map.of(), true, true));
    Preview p = PlanPreview.preview(new PlanPreview.Input(set(ReleaseSet.Strategy.ROLLING,
        "api 2.x requires ldap >= 5"), List.of(c("db"), c("cache", "db"), new PlanPreview.Component("api", "2.1",
        List.of("cache"), PLAN, "published", null), new PlanPreview.Component("web", "v2", List.of("api"), null, null,
        new Preview.Problem("REFERENCE_MISSING", "web", "web v2 is not published"))), "stable", fleet,
        Duration.ofMinutes(1)));

    assertThat(p.problems()).extracting(Preview.Problem::code).containsExactlyInAnyOrder("SCOPE_FULL",
        "CONFIG_INVALID", "CONFIG_INVALID", "REFERENCE_MISSING", "CONTRACT_UNMET");
    assertThat(p.problems()).extracting(Preview.Problem::message).anySatisfy(m -> assertThat(m)
        .contains("2 of its 4 nodes are down", "budget of 2"))
        .anySatisfy(m -> assertThat(m).contains("minAvailable 1 of a fleet of 1 leaves no node free"))
        .anySatisfy(m -> assertThat(m).contains("no node of the app is known"))
        .anySatisfy(m -> assertThat(m).contains("ldap-1 (4.2)", "outside '>= 5'", "wait at GATE"));
    assertThat(p.expectedSeconds()).as("it cannot run as it is").isZero();
    assertThat(PreviewText.lines(p)).contains("Problems (5):")
        .anySatisfy(l -> assertThat(l).startsWith("  SCOPE_FULL db: "));
  }

  @Test
  void aCycleLeavesNoOrderAndNamesIt() {
    Preview p = PlanPreview.preview(new PlanPreview.Input(set(ReleaseSet.Strategy.ROLLING),
        List.of(c("a", "b"), c("b", "a")), "stable", nodes("a", 2, 0), Duration.ofMinutes(1)));

    assertThat(p.steps()).isEmpty();
    assertThat(p.problems()).extracting(Preview.Problem::code).contains("SET_CYCLE");
    assertThat(PreviewText.lines(p)).contains("  none: the set's dependencies cannot be ordered (see the problems)");
  }

  @Test
  void theTextListsAWaveOnOneLineCutAfterTwentyNodes() {
    Preview p = PlanPreview.preview(new PlanPreview.Input(null, List.of(new PlanPreview.Component("api", "v2",
        List.of(), RolloutPlan.of(RolloutPlan.Strategy.ALL), "pom", null)), "stable", nodes("api", 30, 1),
        Duration.ofSeconds(90)));
    List<String> lines = PreviewText.lines(p);

    assertThat(lines.get(0)).isEqualTo("Rollout preview of api v2; nodes on channel stable; 1m 30s per node update");
    assertThat(lines).anySatisfy(l -> assertThat(l).startsWith("  wave 1 of 1: 30 nodes, 29 slots, ~3m: ")
        .contains("api-0 (unavailable)").endsWith(", ... (10 more)"));
    // two rounds of 90 s: 29 slots for 30 nodes, one of them down
    assertThat(lines).anySatisfy(l -> assertThat(l).startsWith("api v2: strategy all, canary none").endsWith("[pom]"));
    assertThat(lines).contains("No problems found.", "Nothing was changed.");
    assertThat(PreviewText.duration(2 * 86400 + 3 * 3600)).isEqualTo("2d 3h");
  }
}
