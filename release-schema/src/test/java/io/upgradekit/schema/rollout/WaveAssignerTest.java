package io.upgradekit.schema.rollout;

import static org.assertj.core.api.Assertions.assertThat;

import io.upgradekit.schema.model.RolloutPlan;
import io.upgradekit.schema.model.RolloutPlan.Strategy;
import io.upgradekit.schema.rollout.WaveAssigner.Assignment;
import io.upgradekit.schema.rollout.WaveAssigner.Member;
import io.upgradekit.schema.rollout.WaveAssigner.Waves;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class WaveAssignerTest {
  private static List<Member> fleet(int n, String... zones) {
    List<Member> fleet = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      Map<String, String> labels = zones.length == 0 ? Map.of() : Map.of("zone", zones[i % zones.length]);
      fleet.add(new Member("node-" + i, labels));
    }
    return fleet;
  }

  private static RolloutPlan batches(int minAvailablePercent, Integer canaryNodes) {
    return new RolloutPlan(null, Strategy.BATCHES, minAvailablePercent, 60L, null, null, canaryNodes, null, null, null,
        null, null);
  }

  @Test
  void batchesAreSizedByTheAvailabilityBudgetAfterTheCanary() {
    // 8 nodes, 75% must stay up: 6, so 2 may update at once; canary 1, then 2, 2, 2, 1.
    Assignment a = WaveAssigner.assign("hello/2.0.0", fleet(8), batches(75, 1));

    assertThat(a.ok()).isTrue();
    Waves s = a.schedule();
    assertThat(s.budget()).isEqualTo(2);
    assertThat(s.minAvailable()).isEqualTo(6);
    assertThat(s.waves()).extracting(List::size).containsExactly(1, 2, 2, 2, 1);
    assertThat(s.waves().stream().flatMap(List::stream).collect(Collectors.toSet())).hasSize(8);
  }

  @Test
  void minimumAvailabilityRoundsUpSoThePromiseHolds() {
    // 90% of 8 is 7.2: 8 must stay up, so no node could ever update: refused with the reason.
    Assignment a = WaveAssigner.assign("hello/2.0.0", fleet(8), batches(90, 1));

    assertThat(a.ok()).isFalse();
    assertThat(a.problem()).contains("minAvailable 8 of a fleet of 8", "lower minAvailable or add nodes");
  }

  @Test
  void aCanaryLargerThanTheFleetIsAProblemNotATruncation() {
    RolloutPlan plan = new RolloutPlan(null, Strategy.CANARY, 0, null, null, null, 5, null, null, null, null, null);

    Assignment a = WaveAssigner.assign("hello/2.0.0", fleet(3), plan);

    assertThat(a.problem()).contains("canary wave has 5 nodes but the fleet has only 3");
  }

  @Test
  void theSameInputsGiveTheSameScheduleInAnyOrder() {
    List<Member> fleet = fleet(40, "a", "b", "c");
    List<Member> shuffled = new ArrayList<>(fleet);
    Collections.shuffle(shuffled, new java.util.Random(7));

    Waves one = WaveAssigner.assign("hello/2.0.0", fleet, batches(80, 2)).schedule();
    Waves two = WaveAssigner.assign("hello/2.0.0", shuffled, batches(80, 2)).schedule();
    Waves other = WaveAssigner.assign("hello/3.0.0", fleet, batches(80, 2)).schedule();

    assertThat(two).isEqualTo(one);
    assertThat(other.waves().get(0)).as("another release draws other canaries").isNotEqualTo(one.waves().get(0));
  }

  @Test
  void wavesAreSpreadAcrossLabelValues() {
    Waves s = WaveAssigner.assign("hello/2.0.0", fleet(30, "a", "b", "c"), batches(70, 3)).schedule();

    // the canary has one node per zone; every batch of 9 has 3 per zone
    assertThat(zones(s.waves().get(0))).containsExactlyInAnyOrder("a", "b", "c");
    for (List<String> wave : s.waves().subList(1, s.waves().size())) {
      Map<String, Long> perZone = wave.stream().collect(Collectors.groupingBy(WaveAssignerTest::zone,
          Collectors.counting()));
      assertThat(perZone.values()).allSatisfy(c -> assertThat(c).isBetween(wave.size() / 3L, wave.size() / 3L + 1));
    }
  }

  @Test
  void aWaveLabelGivesOneWavePerValueAfterTheCanary() {
    RolloutPlan plan = new RolloutPlan(null, Strategy.BATCHES, 50, null, null, null, 2, null, null, null, null, "zone");
    List<Member> fleet = new ArrayList<>(fleet(9, "a", "b", "c"));
    fleet.add(new Member("unlabelled", Map.of()));

    Waves s = WaveAssigner.assign("hello/2.0.0", fleet, plan).schedule();

    assertThat(s.waves().get(0)).hasSize(2);
    List<List<String>> rest = s.waves().subList(1, s.waves().size());
    assertThat(rest.stream().map(w -> zones(w)).toList()).as("one zone per wave, in order, unlabelled last")
        .containsExactly(Set.of("a"), Set.of("b"), Set.of("c"), Set.of("?"));
  }

  @Test
  void allIsOneWave() {
    Waves s = WaveAssigner.assign("hello/2.0.0", fleet(5), RolloutPlan.of(Strategy.ALL)).schedule();

    assertThat(s.waves()).hasSize(1);
    assertThat(s.budget()).isEqualTo(5);
    assertThat(s.canary()).isZero();
  }

  @Test
  void noNodesIsAProblem() {
    assertThat(WaveAssigner.assign("x/1", List.of(), RolloutPlan.of(Strategy.ALL)).problem()).contains("no node");
  }

  private static Set<String> zones(List<String> wave) {
    return new HashSet<>(wave.stream().map(WaveAssignerTest::zone).toList());
  }

  private static String zone(String node) {
    if (!node.startsWith("node-")) {
      return "?";
    }
    int i = Integer.parseInt(node.substring(5));
    return String.valueOf(new String[] {"a", "b", "c"}[i % 3]);
  }
}
