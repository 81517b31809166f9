package io.upgradekit.plugin.release;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.model.RolloutPlan;
import io.upgradekit.schema.model.RolloutPlan.Approval;
import io.upgradekit.schema.model.RolloutPlan.RollbackPolicy;
import io.upgradekit.schema.model.RolloutPlan.Strategy;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@code <rollout>} and the upgrade.rollout.* properties to the signed plan, and every mistake's message. */
class RolloutSettingsTest {
  static final RolloutSettings.Rollback NO_ROLLBACK = new RolloutSettings.Rollback(null, null, null, null, null);

  static RolloutSettings settings(String strategy, String canary, String minAvailable, String bakeTime,
      String maxFailures) {
    return new RolloutSettings(strategy, canary, minAvailable, bakeTime, maxFailures, null, null, null);
  }

  static RolloutPlan plan(RolloutSettings settings) {
    return RolloutSettings.plan(settings, Map.of());
  }

  static void refused(RolloutSettings settings, Map<String, String> properties, String... parts) {
    assertThatThrownBy(() -> RolloutSettings.plan(settings, properties))
        .isInstanceOfSatisfying(ConfigurationException.class, e -> {
          assertThat(e.code()).isEqualTo(ErrorCode.CONFIG_INVALID);
          assertThat(e.getMessage()).contains(parts);
        });
  }

  static void refused(RolloutSettings settings, String... parts) {
    refused(settings, Map.of(), parts);
  }

  @Test
  void noRolloutAndNoPropertyIsNoPlan() {
    assertThat(RolloutSettings.plan(null, Map.of("upgrade.app", "demo", "user.home", "/root"))).isNull();
  }

  @Test
  void aFullRolloutMapsEverySetting() {
    RolloutSettings full = new RolloutSettings("batches", "10%", "6", "10m", "1", "manual",
        new RolloutSettings.Rollback("auto", "2.5", "1.5", "15m", "all"), "zone");

    assertThat(plan(full)).isEqualTo(new RolloutPlan(null, Strategy.BATCHES, null, 600L,
        new RollbackPolicy("auto", 2.5, 1.5, 900L, "all"), 6, null, 10, 1, null, Approval.MANUAL, "zone"));
  }

  @Test
  void theOtherFormsOfEachAmount() {
    RolloutPlan plan = plan(settings("canary", "2", "75%", "0s", "10%"));

    assertThat(plan.strategy()).isEqualTo(Strategy.CANARY);
    assertThat(plan.canaryNodes()).isEqualTo(2);
    assertThat(plan.canaryPercent()).isNull();
    assertThat(plan.minAvailablePercent()).isEqualTo(75);
    assertThat(plan.minAvailableNodes()).isNull();
    assertThat(plan.bakeSeconds()).isZero();
    assertThat(plan.maxFailuresPercent()).isEqualTo(10);
    assertThat(plan.maxFailures()).isNull();
  }

  @Test
  void anEmptyRolloutIsBatchesWithEveryDefaultLeftToThePlan() {
    RolloutPlan plan = plan(new RolloutSettings(null, " ", null, null, null, null, NO_ROLLBACK, null));

    assertThat(plan).isEqualTo(RolloutPlan.of(Strategy.BATCHES));
    assertThat(RolloutSettings.describe(plan)).isEqualTo("strategy batches, canary 1, minAvailable 75%, bakeTime 0s,"
        + " maxFailures 0, approval auto, rollbackPolicy manual (errorRateFactor 3, latencyFactor 2, window 5m,"
        + " combine any)");
  }

  @Test
  void aRollbackPolicyWithoutModeIsManual() {
    RolloutPlan plan = plan(new RolloutSettings("all", null, null, null, null, null,
        new RolloutSettings.Rollback(null, "4", null, null, null), null));

    assertThat(plan.rollback()).isEqualTo(new RollbackPolicy("manual", 4.0, null, null, null));
    assertThat(RolloutSettings.describe(plan)).startsWith("strategy all, canary none, minAvailable 0,");
  }

  @Test
  void valuesAreReadWithoutCaseOrSurroundingSpace() {
    RolloutPlan plan = plan(new RolloutSettings("\n  Canary ", " 3 % ", null, "1h", null, "MANUAL", null, null));

    assertThat(plan.strategy()).isEqualTo(Strategy.CANARY);
    assertThat(plan.canaryPercent()).isEqualTo(3);
    assertThat(plan.bakeSeconds()).isEqualTo(3600);
    assertThat(plan.manualApproval()).isTrue();
  }

  @Test
  void propertiesOverrideTheirElementAndAloneMakeAPlan() {
    Map<String, String> ci = Map.of("upgrade.rollout.approval", "manual", "upgrade.rollout.minAvailable", "90%",
        "upgrade.rollout.rollbackPolicy.mode", "auto", "upgrade.rollout.bakeTime", "30s",
        "upgrade.rollout.maxFailures", "2", "upgrade.rollout.strategy", "canary", "upgrade.rollout.canary", "5%");

    RolloutPlan overridden = RolloutSettings.plan(settings("batches", "1", "50%", "10m", "0"), ci);
    RolloutPlan fromPropertiesAlone = RolloutSettings.plan(null, ci);

    RolloutPlan expected = new RolloutPlan(null, Strategy.CANARY, 90, 30L,
        new RollbackPolicy("auto", null, null, null, null), null, null, 5, 2, null, Approval.MANUAL, null);
    assertThat(overridden).isEqualTo(expected);
    assertThat(fromPropertiesAlone).isEqualTo(expected);
  }

  @Test
  void anEmptyPropertyRemovesItsElement() {
    Map<String, String> ci = new HashMap<>();
    ci.put("upgrade.rollout.strategy", "all");
    ci.put("upgrade.rollout.canary", "");

    RolloutPlan plan = RolloutSettings.plan(settings("batches", "2", null, null, null), ci);

    assertThat(plan).isEqualTo(RolloutPlan.of(Strategy.ALL));
  }

  @Test
  void anEmptyPropertyAloneAsksForNoPlan() {
    assertThat(RolloutSettings.plan(null, Map.of("upgrade.rollout.canary", ""))).isNull();
  }

  @Test
  void anUnknownRolloutPropertyIsRefusedWithTheKnownOnes() {
    refused(null, Map.of("upgrade.rollout.stratgy", "canary"), "unknown property upgrade.rollout.stratgy",
        "upgrade.rollout.strategy, upgrade.rollout.canary", "upgrade.rollout.rollbackPolicy.mode");
    // Only the rollback mode has a property; the factors are the pom's.
    refused(null, Map.of("upgrade.rollout.rollbackPolicy.window", "5m"), "unknown property");
  }

  @Test
  void unknownChoices() {
    refused(settings("blue-green", null, null, null, null), "<rollout><strategy> is 'blue-green'",
        "write all, canary or batches");
    refused(new RolloutSettings(null, null, null, null, null, "sometimes", null, null),
        "<rollout><approval> is 'sometimes'", "write auto or manual");
    refused(new RolloutSettings(null, null, null, null, null, null,
        new RolloutSettings.Rollback("yes", null, null, null, null), null),
        "<rollout><rollbackPolicy><mode> is 'yes'", "write auto or manual");
    refused(new RolloutSettings(null, null, null, null, null, null,
        new RolloutSettings.Rollback(null, null, null, null, "both"), null),
        "<rollout><rollbackPolicy><combine> is 'both'", "write any or all");
    refused(null, Map.of("upgrade.rollout.strategy", "fast"), "upgrade.rollout.strategy is 'fast'");
  }

  @Test
  void aCanaryWithStrategyAll() {
    refused(settings("all", "1", null, null, null), "<rollout><canary> is '1'", "strategy all (<rollout><strategy>)",
        "set <strategy>canary</strategy> or <strategy>batches</strategy>", "-Dupgrade.rollout.canary=");
    refused(settings("batches", "10%", null, null, null), Map.of("upgrade.rollout.strategy", "all"),
        "strategy all (upgrade.rollout.strategy)");
  }

  @Test
  void whatNoFleetCouldHonour() {
    refused(settings(null, "0", null, null, null), "<rollout><canary> is '0'", "a canary wave of no node tests nothing",
        "<strategy>all</strategy>");
    refused(settings(null, "0%", null, null, null), "<rollout><canary> is '0%'", "tests nothing");
    refused(settings(null, null, "100%", null, null), "<rollout><minAvailable> is '100%'",
        "no node could ever be taken down", "at most 99%");
  }

  @Test
  void percentagesOutOfRange() {
    refused(settings(null, "101%", null, null, null), "<rollout><canary> is '101%'", "between 1% and 100%");
    refused(settings(null, null, "150%", null, null), "<rollout><minAvailable> is '150%'", "between 0% and 99%");
    refused(settings(null, null, null, null, "101%"), "<rollout><maxFailures> is '101%'", "between 0% and 100%");
  }

  @Test
  void malformedAmounts() {
    refused(settings(null, "two", null, null, null), "<rollout><canary> is 'two'", "not a node count or a percentage",
        "e.g. 10%");
    refused(settings(null, null, "-1", null, null), "<rollout><minAvailable> is '-1'", "must not be negative");
    refused(settings(null, null, null, null, "2.5%"), "<rollout><maxFailures> is '2.5%'", "whole numbers only");
    refused(settings(null, "2 or 10%", null, null, null), "<rollout><canary> is '2 or 10%'",
        "a node count or a percentage, not both");
    refused(settings(null, null, "3 (50%)", null, null), "<rollout><minAvailable>", "not both");
    refused(settings(null, null, "9999999999", null, null), "<rollout><minAvailable>", "not a node count");
  }

  @Test
  void bakeTimes() {
    refused(settings(null, null, null, "-5m", null), "<rollout><bakeTime> is '-5m'", "must not be negative",
        "0s for none");
    refused(settings(null, null, null, "30", null), "<rollout><bakeTime> is '30'", "a whole number with a unit");
    refused(settings(null, null, null, "1500ms", null), "<rollout><bakeTime> is '1500ms'", "whole seconds");
    refused(settings(null, null, null, "8d", null), "<rollout><bakeTime> is '8d'", "at most 7d");
    assertThat(plan(settings(null, null, null, "7d", null)).bakeSeconds()).isEqualTo(RolloutPlan.MAX_BAKE_SECONDS);
  }

  @Test
  void rollbackPolicyNumbers() {
    refused(rollback("0.5", null, null), "<rollout><rollbackPolicy><errorRateFactor> is '0.5'", "between 1");
    refused(rollback(null, "1001", null), "<rollout><rollbackPolicy><latencyFactor> is '1001'", "and 1000");
    refused(rollback("three", null, null), "<rollout><rollbackPolicy><errorRateFactor> is 'three'", "e.g. 3 or 1.5");
    refused(rollback(null, null, "0s"), "<rollout><rollbackPolicy><window> is '0s'", "at least 1s");
    refused(rollback(null, null, "-1m"), "<rollout><rollbackPolicy><window> is '-1m'", "must not be negative");
    refused(rollback(null, null, "2w"), "<rollout><rollbackPolicy><window> is '2w'", "e.g. 500ms, 30s, 5m");
    refused(rollback(null, null, "8d"), "<rollout><rollbackPolicy><window>", "at most 7d");
  }

  @Test
  void aWaveLabelIsALabelKey() {
    refused(new RolloutSettings(null, null, null, null, null, null, null, "Zone A"), "<rollout><waveLabel> is 'Zone A'",
        "node.labels", "[a-z]");
  }

  @Test
  void aPlanNamesItsReleaseSetFromTheElementOrTheProperty() {
    RolloutSettings marked = new RolloutSettings(null, null, null, null, null, null, null, null, " shop ");
    assertThat(plan(marked).set()).isEqualTo("shop");
    assertThat(RolloutSettings.describe(plan(marked))).endsWith(", set shop");
    assertThat(RolloutSettings.plan(marked, Map.of("upgrade.rollout.set", "store")).set()).isEqualTo("store");
    assertThat(RolloutSettings.plan(marked, Map.of("upgrade.rollout.set", "")).set()).isNull();
    refused(new RolloutSettings(null, null, null, null, null, null, null, null, "Shop"), "<rollout><set> is 'Shop'",
        "<setName>");
  }

  @Test
  void describeShowsWhatTheUserWrote() {
    RolloutPlan plan = plan(new RolloutSettings("canary", "5%", "3", "90s", "10%", "manual",
        new RolloutSettings.Rollback("auto", "2.5", null, "1h", null), "rack"));

    assertThat(RolloutSettings.describe(plan)).isEqualTo("strategy canary, canary 5%, minAvailable 3, bakeTime 90s,"
        + " maxFailures 10%, approval manual, rollbackPolicy auto (errorRateFactor 2.5, latencyFactor 2, window 1h,"
        + " combine any), waveLabel rack");
  }

  private static RolloutSettings rollback(String errorRate, String latency, String window) {
    return new RolloutSettings(null, null, null, null, null, null,
        new RolloutSettings.Rollback(null, errorRate, latency, window, null), null);
  }
}
