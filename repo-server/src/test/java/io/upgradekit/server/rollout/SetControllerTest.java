package io.upgradekit.server.rollout;

import static org.assertj.core.api.Assertions.assertThat;

import io.upgradekit.schema.model.ReleaseSet;
import io.upgradekit.schema.model.RolloutDecision;
import io.upgradekit.schema.model.RolloutDecision.Kind;
import io.upgradekit.schema.model.SetDecision;
import io.upgradekit.schema.model.SetState;
import io.upgradekit.server.rollout.SetController.ComponentStep;
import io.upgradekit.server.rollout.SetController.SetStep;
import io.upgradekit.server.rollout.SetController.Step;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The set controller's steps as a pure function of the set, its decisions and its components' rollouts. */
class SetControllerTest {
  private static final Instant T = Instant.parse("2030-01-01T00:00:00Z");

  private final Map<String, List<RolloutDecision>> logs = new HashMap<>();
  private final List<SetDecision> setLog = new ArrayList<>();

  private static ReleaseSet chain(ReleaseSet.Strategy strategy, ReleaseSet.Rollback rollback) {
    return ReleaseSet.of("shop", "1", 1, T, T.plusSeconds(3600), List.of(
        new ReleaseSet.Component("gateway", "2", List.of("api")),
        new ReleaseSet.Component("api", "2", List.of("cache")),
        new ReleaseSet.Component("search", "2", List.of("database")),
        new ReleaseSet.Component("cache", "2", List.of("database")),
        new ReleaseSet.Component("database", "2", List.of())), strategy, rollback, null);
  }

  private static final ReleaseSet AUTO = chain(ReleaseSet.Strategy.ROLLING, ReleaseSet.Rollback.AUTO);

  /** Appends a decision to a component's rollout (start carries a fleet that ran 1). */
  private void component(String app, Kind kind, RolloutDecision.SetRef set) {
    List<RolloutDecision> log = logs.computeIfAbsent(app, a -> new ArrayList<>());
    long n = log.size() + 1;
    log.add(kind == Kind.START ? RolloutDecision.start(app, "2", n, T, "go", "1", List.of(List.of("n1")), 1, 0, 1, 0)
        : RolloutDecision.of(app, "2", n, T, "controller", kind, "why", set));
  }

  private void rolled(String app, Kind... after) {
    component(app, Kind.START, null);
    for (Kind k : after) {
      component(app, k, null);
    }
  }

  private SetDecision set(SetDecision.Kind kind, String actor, String... apps) {
    SetDecision d = SetDecision.of("shop", "1", setLog.size() + 1, T, actor, kind, "because", List.of(apps));
    setLog.add(d);
    return d;
  }

  private Optional<Step> decide(ReleaseSet s) {
    return SetController.decide(s, SetView.fold("shop", "1", setLog), views());
  }

  private Map<String, RolloutView> views() {
    Map<String, RolloutView> views = new HashMap<>();
    logs.forEach((app, log) -> views.put(app, RolloutView.fold(app, "2", log)));
    return views;
  }

  @Test
  void aSetStartsThenLetsItsRootsStartAndIndependentComponentsTogether() {
    assertThat(decide(AUTO)).get().isEqualTo(new SetStep(SetDecision.Kind.START,
        "the set runs: database -> search -> cache -> api -> gateway (rolling, rollback_policy auto)", List.of()));
    set(SetDecision.Kind.START, "controller");
    assertThat(decide(AUTO)).get().extracting(s -> ((SetStep) s).apps()).isEqualTo(List.of("database"));
    set(SetDecision.Kind.START_COMPONENTS, "controller", "database");
    assertThat(decide(AUTO)).as("database may start, its rollout has not: nothing more").isEmpty();
    rolled("database", Kind.COMPLETE);
    SetStep next = (SetStep) decide(AUTO).orElseThrow();
    assertThat(next.kind()).isEqualTo(SetDecision.Kind.START_COMPONENTS);
    assertThat(next.apps()).containsExactly("search", "cache");
    assertThat(next.reason()).isEqualTo("may start: search after database completed healthy; cache after database"
        + " completed healthy");
  }

  @Test
  void sequentialStartsOneAtATimeInTheOrder() {
    ReleaseSet sequential = chain(ReleaseSet.Strategy.SEQUENTIAL, ReleaseSet.Rollback.AUTO);
    set(SetDecision.Kind.START, "controller");
    set(SetDecision.Kind.START_COMPONENTS, "controller", "database");
    rolled("database", Kind.COMPLETE);
    assertThat(((SetStep) decide(sequential).orElseThrow()).apps()).containsExactly("search");
  }

  @Test
  void aPausedSetStartsNothingAndItsPauseReachesEveryRollingComponentOnce() {
    set(SetDecision.Kind.START, "controller");
    set(SetDecision.Kind.START_COMPONENTS, "controller", "database");
    rolled("database");
    SetDecision pause = set(SetDecision.Kind.PAUSE, "alice", "database");
    Step step = decide(AUTO).orElseThrow();
    assertThat(step).isEqualTo(new ComponentStep("database", Kind.PAUSE,
        "release set shop 1, pause by alice: because", pause.sequence(), "alice"));
    component("database", Kind.PAUSE, new RolloutDecision.SetRef("shop", "1", pause.sequence()));
    assertThat(decide(AUTO)).isEmpty();
    component("database", Kind.COMPLETE, null);
    assertThat(decide(AUTO)).as("paused: cache does not start").isEmpty();

    SetDecision resume = set(SetDecision.Kind.RESUME, "alice", "database");
    assertThat(decide(AUTO)).get().isEqualTo(new ComponentStep("database", Kind.RESUME,
        "release set shop 1, resume by alice: because", resume.sequence(), "alice"));
    component("database", Kind.RESUME, new RolloutDecision.SetRef("shop", "1", resume.sequence()));
    assertThat(((SetStep) decide(AUTO).orElseThrow()).apps()).containsExactly("search", "cache");
  }

  @Test
  void aComponentTheSetHaltedIsNoFailureButOneThatHaltedItselfIs() {
    set(SetDecision.Kind.START, "controller");
    set(SetDecision.Kind.START_COMPONENTS, "controller", "database");
    rolled("database");
    SetDecision halt = set(SetDecision.Kind.HALT, "alice", "database");
    assertThat(decide(AUTO)).get().isInstanceOf(ComponentStep.class);
    component("database", Kind.HALT, new RolloutDecision.SetRef("shop", "1", halt.sequence()));
    assertThat(decide(AUTO)).as("halted: an operator decides").isEmpty();
    assertThat(SetController.effective(AUTO, SetView.fold("shop", "1", setLog), views()).get("database"))
        .isEqualTo(RolloutView.Status.ACTIVE);

    logs.clear();
    setLog.clear();
    set(SetDecision.Kind.START, "controller");
    set(SetDecision.Kind.START_COMPONENTS, "controller", "database");
    rolled("database", Kind.HALT); // too many failures, by its own rollout
    SetStep failed = (SetStep) decide(AUTO).orElseThrow();
    assertThat(failed.kind()).isEqualTo(SetDecision.Kind.RECALL);
    assertThat(failed.reason()).startsWith("database failed");
  }

  @Test
  void aRecallGoesBackTopDownAndAComponentWithNothingToGoBackToIsHaltedAndCountsAsBack() {
    set(SetDecision.Kind.START, "controller");
    rolled("database", Kind.COMPLETE);
    rolled("cache", Kind.COMPLETE);
    rolled("search");
    rolled("api", Kind.RECALL); // failed: its own policy recalls it
    set(SetDecision.Kind.RECALL, "controller");
    assertThat(decide(AUTO)).as("api goes back by itself; search may go back now").get()
        .isEqualTo(new SetStep(SetDecision.Kind.RECALL_COMPONENTS, "recalling search (every started component that"
            + " depends on it is back)", List.of("search")));
    SetDecision recallSearch = set(SetDecision.Kind.RECALL_COMPONENTS, "controller", "search");
    assertThat(decide(AUTO)).get().isEqualTo(new ComponentStep("search", Kind.RECALL,
        "release set shop 1, recall-components by controller: because", recallSearch.sequence(), "controller"));
    component("search", Kind.RECALL, new RolloutDecision.SetRef("shop", "1", recallSearch.sequence()));
    assertThat(decide(AUTO)).as("cache waits for api").isEmpty();
    component("api", Kind.RECALLED, null);
    component("search", Kind.RECALLED, null);
    assertThat(((SetStep) decide(AUTO).orElseThrow()).apps()).containsExactly("cache");

    Map<String, SetState.Component> where = SetController.components(AUTO, SetView.fold("shop", "1", setLog), views());
    assertThat(where.get("api").status()).isEqualTo(SetState.ComponentStatus.RECALLED);
    assertThat(where.get("gateway").status()).isEqualTo(SetState.ComponentStatus.WAITING);
    assertThat(where.get("cache").status()).isEqualTo(SetState.ComponentStatus.COMPLETE);

    // a rollout whose fleet ran no earlier version: halted instead, and counted as back
    logs.remove("cache");
    logs.computeIfAbsent("cache", a -> new ArrayList<>()).add(RolloutDecision.start("cache", "2", 1, T, "go", null,
        List.of(List.of("n1")), 1, 0, 1, 0));
    SetDecision recallCache = set(SetDecision.Kind.RECALL_COMPONENTS, "controller", "cache");
    assertThat(decide(AUTO)).get().isEqualTo(new ComponentStep("cache", Kind.HALT,
        "release set shop 1, recall-components by controller: because", recallCache.sequence(), "controller"));
    component("cache", Kind.HALT, new RolloutDecision.SetRef("shop", "1", recallCache.sequence()));
    assertThat(((SetStep) decide(AUTO).orElseThrow()).apps()).containsExactly("database");
    SetDecision recallDb = set(SetDecision.Kind.RECALL_COMPONENTS, "controller", "database");
    component("database", Kind.RECALL, new RolloutDecision.SetRef("shop", "1", recallDb.sequence()));
    component("database", Kind.RECALLED, null);
    assertThat(decide(AUTO)).get().extracting(s -> ((SetStep) s).kind()).isEqualTo(SetDecision.Kind.RECALLED);
  }

  @Test
  void underManualAFailureHaltsTheSetWithItsRollingComponents() {
    ReleaseSet manual = chain(ReleaseSet.Strategy.ROLLING, ReleaseSet.Rollback.MANUAL);
    set(SetDecision.Kind.START, "controller");
    rolled("database", Kind.COMPLETE);
    rolled("search");
    rolled("cache", Kind.HALT);
    SetStep halt = (SetStep) decide(manual).orElseThrow();
    assertThat(halt.kind()).isEqualTo(SetDecision.Kind.HALT);
    assertThat(halt.apps()).containsExactly("search");
    SetDecision stored = set(SetDecision.Kind.HALT, "controller", "search");
    assertThat(decide(manual)).get().isEqualTo(new ComponentStep("search", Kind.HALT,
        "release set shop 1, halt by controller: because", stored.sequence(), "controller"));
  }
}
