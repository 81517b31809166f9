package io.upgradekit.schema.model;

import static io.upgradekit.schema.Fixtures.assertCode;
import static org.assertj.core.api.Assertions.assertThat;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.json.Json;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The release set's rollout records: the signed set state, the set's decisions, and the marks on plans and states. */
class SetStateTest {
  static final Instant T = Instant.parse("2030-01-01T00:00:00Z");
  static final ReleaseSet.Contract CONTRACT = ReleaseSet.Contract.parse("api 2.x requires cache >= 2.0");

  static SetState state(List<SetState.AppFleet> fleet) {
    return new SetState("set-state", "shop", "1", 1, T, SetState.Status.RUNNING, false,
        List.of(new SetState.Component("cache", "2.0", SetState.ComponentStatus.ROLLING, null)), fleet, null);
  }

  @Test
  void theFleetCountsNodesOutsideAContractIncludingThoseOnVersionsNotListed() {
    SetState.AppFleet cache = new SetState.AppFleet("cache", 5, Map.of("1.4", 1, "2.0", 2, "v2.1", 1));
    assertThat(cache.outside(CONTRACT)).as("1.4, and the one node whose version is not listed").isEqualTo(2);
    assertThat(new SetState.AppFleet("cache", 2, Map.of("2.0", 2)).outside(CONTRACT)).isZero();
    assertThat(new SetState.AppFleet("cache", 0, Map.of()).outside(CONTRACT)).isZero();
    assertThat(state(List.of(cache)).fleetOf("cache")).isEqualTo(cache);
    assertThat(state(List.of(cache)).fleetOf("ldap")).isNull();
  }

  @Test
  void anUnmetContractIsWordedWithTheNodesAndVersionsOutsideItsRange() {
    assertThat(new SetState.AppFleet("cache", 2, Map.of("1.4", 1, "2.0", 1)).unmet(CONTRACT))
        .isEqualTo("waiting for cache >= 2.0: 1 of 2 cache nodes run 1.4");
    assertThat(new SetState.AppFleet("cache", 4, Map.of("1.4", 1, "1.3", 1, "2.0", 1)).unmet(CONTRACT))
        .isEqualTo("waiting for cache >= 2.0: 3 of 4 cache nodes run 1.3, 1.4, other versions or are switching");
    assertThat(new SetState.AppFleet("cache", 0, Map.of()).unmet(CONTRACT))
        .isEqualTo("waiting for cache >= 2.0: no available cache node is known");
    assertThat(new SetState.AppFleet("cache", 2, Map.of("2.0", 1, "2.1", 1)).unmet(CONTRACT)).isNull();
  }

  @Test
  void aFleetCannotCountMoreNodesThanItHasNorNegativeOnes() {
    assertCode(() -> new SetState.AppFleet("cache", 1, Map.of("1.4", 1, "2.0", 1)), ErrorCode.METADATA_MALFORMED);
    assertCode(() -> new SetState.AppFleet("cache", 1, Map.of("1.4", 0)), ErrorCode.METADATA_MALFORMED);
    assertCode(() -> new SetState.AppFleet("cache", -1, Map.of()), ErrorCode.METADATA_MALFORMED);
    java.util.Map<String, Integer> many = new java.util.HashMap<>();
    for (int i = 0; i <= SetState.MAX_VERSIONS; i++) {
      many.put("1." + i, 1);
    }
    assertCode(() -> new SetState.AppFleet("cache", 1000, many), ErrorCode.METADATA_MALFORMED);
  }

  @Test
  void aStateListsEachComponentAndEachFleetOnce() {
    SetState.Component c = new SetState.Component("cache", "2.0", SetState.ComponentStatus.ROLLING, null);
    assertCode(() -> new SetState("set-state", "shop", "1", 1, T, SetState.Status.RUNNING, false, List.of(c, c),
        null, null), ErrorCode.METADATA_MALFORMED);
    assertCode(() -> new SetState("set-state", "shop", "1", 1, T, SetState.Status.RUNNING, false, List.of(),
        null, null), ErrorCode.METADATA_MALFORMED);
    SetState.AppFleet f = new SetState.AppFleet("cache", 1, Map.of());
    assertCode(() -> state(List.of(f, f)), ErrorCode.METADATA_MALFORMED);
    assertCode(() -> new SetState("rollout", "shop", "1", 1, T, SetState.Status.RUNNING, false, List.of(c), null,
        null), ErrorCode.METADATA_MALFORMED);
  }

  @Test
  void aStateReadsBackAsWritten() {
    SetState s = state(List.of(new SetState.AppFleet("cache", 2, Map.of("1.4", 1, "2.0", 1))));
    byte[] bytes = Json.canonicalBytes(s);
    assertThat(Json.read(bytes, DocumentType.SET_STATE, SetState.class)).isEqualTo(s);
    assertThat(new String(bytes, StandardCharsets.UTF_8)).doesNotContain("waitingFor");
  }

  @Test
  void setDecisionsThatActOnComponentsNameThem() {
    assertCode(() -> SetDecision.of("shop", "1", 1, T, "controller", SetDecision.Kind.START_COMPONENTS, "go",
        List.of()), ErrorCode.METADATA_MALFORMED);
    assertCode(() -> SetDecision.of("shop", "1", 0, T, "controller", SetDecision.Kind.START, "go", null),
        ErrorCode.METADATA_MALFORMED);
    SetDecision d = SetDecision.of("shop", "1", 2, T, "alice", SetDecision.Kind.RECALL_COMPONENTS, "back",
        List.of("api"));
    assertThat(d.kindName()).isEqualTo("recall-components");
    assertThat(Json.read(Json.canonicalBytes(d), DocumentType.SET_DECISION, SetDecision.class)).isEqualTo(d);
  }

  @Test
  void aRolloutStateNamesItsSetWithItsVersionOrNeither() {
    assertCode(() -> new RolloutState("rollout", "api", "2.1", 1, T, RolloutState.Action.PAUSE, null, null, null,
        null, null, null, "shop", null), ErrorCode.METADATA_MALFORMED);
    RolloutState s = new RolloutState("rollout", "api", "2.1", 1, T, RolloutState.Action.PAUSE, null, null, null,
        null, null, null, "shop", "2026.1");
    assertThat(Json.read(Json.canonicalBytes(s), DocumentType.ROLLOUT, RolloutState.class)).isEqualTo(s);
  }

  @Test
  void aPlanMayNameTheSetThatRollsItOut() {
    RolloutPlan plan = RolloutPlan.of(RolloutPlan.Strategy.BATCHES).withSet("shop");
    assertThat(plan.set()).isEqualTo("shop");
    assertThat(new String(Json.canonicalBytes(plan), StandardCharsets.UTF_8)).contains("\"set\":\"shop\"");
    assertCode(() -> RolloutPlan.of(RolloutPlan.Strategy.BATCHES).withSet("Shop"), ErrorCode.NAME_INVALID);
  }
}
