package io.upgradekit.plugin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.upgradekit.schema.model.RolloutPlan;
import io.upgradekit.schema.model.RolloutPlan.Approval;
import io.upgradekit.schema.model.RolloutPlan.RollbackPolicy;
import io.upgradekit.schema.model.RolloutPlan.Strategy;
import java.util.Map;
import org.apache.maven.api.plugin.testing.InjectMojo;
import org.apache.maven.api.plugin.testing.MojoTest;
import org.apache.maven.plugin.MojoFailureException;
import org.junit.jupiter.api.Test;

/** {@code <rollout>} in the pom and the upgrade.rollout.* properties reach the goal as the plan. */
@MojoTest
class RolloutMojoTest {
  private static final String ROLLOUT_POM = "src/test/resources/unit/rollout/pom.xml";
  private static final String PLAIN_POM = "src/test/resources/unit/release/pom.xml";

  static final RolloutPlan FULL = new RolloutPlan(null, Strategy.BATCHES, null, 600L,
      new RollbackPolicy("auto", 2.5, 1.5, 900L, "all"), 6, null, 10, 1, null, Approval.MANUAL, "zone");

  @Test
  @InjectMojo(goal = "release", pom = ROLLOUT_POM)
  void everyElementOfTheRolloutReachesThePlan(ReleaseMojo mojo) {
    assertThat(mojo.rollout.strategy).isEqualTo("batches");
    assertThat(mojo.rollout.rollbackPolicy.window).isEqualTo("15m");
    assertThat(mojo.rolloutPlan()).isEqualTo(FULL);
  }

  @Test
  @InjectMojo(goal = "release", pom = "src/test/resources/unit/rollout-empty/pom.xml")
  void anEmptyRolloutElementIsBatchesWithEveryDefault(ReleaseMojo mojo) {
    assertThat(mojo.rolloutPlan()).isEqualTo(RolloutPlan.of(Strategy.BATCHES));
  }

  @Test
  @InjectMojo(goal = "release", pom = PLAIN_POM)
  void withoutRolloutOrPropertiesThereIsNoPlan(ReleaseMojo mojo) {
    assertThat(mojo.rollout).isNull();
    assertThat(mojo.rolloutPlan()).isNull();
  }

  @Test
  @InjectMojo(goal = "release", pom = ROLLOUT_POM)
  void commandLineOverSystemOverPomProperties(ReleaseMojo mojo) {
    mojo.project.getProperties().setProperty("upgrade.rollout.bakeTime", "1m");
    mojo.project.getProperties().setProperty("upgrade.rollout.approval", "auto");
    mojo.session.getSystemProperties().setProperty("upgrade.rollout.bakeTime", "2m");
    mojo.session.getUserProperties().setProperty("upgrade.rollout.bakeTime", "3m");
    mojo.session.getUserProperties().setProperty("upgrade.rollout.rollbackPolicy.mode", "manual");

    RolloutPlan plan = mojo.rolloutPlan();

    assertThat(plan.bakeSeconds()).isEqualTo(180);
    assertThat(plan.approval()).isEqualTo(Approval.AUTO);
    assertThat(plan.rollback()).isEqualTo(new RollbackPolicy("manual", 2.5, 1.5, 900L, "all"));
  }

  @Test
  @InjectMojo(goal = "release", pom = PLAIN_POM)
  void aPropertyAloneMakesAPlan(ReleaseMojo mojo) {
    mojo.session.getUserProperties().setProperty("upgrade.rollout.strategy", "canary");

    assertThat(mojo.rolloutPlan()).isEqualTo(RolloutPlan.of(Strategy.CANARY));
  }

  @Test
  @InjectMojo(goal = "release", pom = ROLLOUT_POM)
  void beforeUpgradeReleaseSetInTheSameBuildThePlanNamesThatSet(ReleaseMojo mojo) {
    assertThat(mojo.rolloutPlan().set()).as("no release-set goal in this build").isNull();
    org.mockito.Mockito.when(mojo.session.getGoals()).thenReturn(java.util.List.of("package", "upgrade:release",
        "upgrade:release-set"));
    assertThat(mojo.rolloutPlan()).isEqualTo(FULL.withSet(mojo.project.getArtifactId()));
    mojo.session.getUserProperties().setProperty("upgrade.setName", "shop");
    assertThat(mojo.rolloutPlan().set()).isEqualTo("shop");
    mojo.session.getUserProperties().setProperty("upgrade.rollout.set", "store");
    assertThat(mojo.rolloutPlan().set()).as("the plan's own <set> wins").isEqualTo("store");
  }

  @Test
  @InjectMojo(goal = "release", pom = ROLLOUT_POM)
  void aBadRolloutFailsTheBuildBeforeAnythingElse(ReleaseMojo mojo) {
    mojo.environment = Map.of(); // no key either: the rollout is reported first, as the cheaper fix
    mojo.rollout.minAvailable = "100%";

    assertThatThrownBy(mojo::execute).isInstanceOf(MojoFailureException.class)
        .hasMessageStartingWith("CONFIG_INVALID: <rollout><minAvailable> is '100%': at 100% no node could ever");
  }
}
