package io.upgradekit.server.rollout;

import static org.assertj.core.api.Assertions.assertThat;

import io.upgradekit.schema.model.ReleaseSet;
import io.upgradekit.server.rollout.RolloutView.Status;
import io.upgradekit.server.rollout.SetPlanner.Next;
import io.upgradekit.server.rollout.SetPlanner.SetStatus;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class SetPlannerTest {
  private static final Instant NOW = Instant.parse("2030-01-01T00:00:00Z");

  private static ReleaseSet set(ReleaseSet.Strategy strategy, ReleaseSet.Rollback rollback,
      ReleaseSet.Component... components) {
    return ReleaseSet.of("shop", "1", 1, NOW, NOW.plusSeconds(3600), List.of(components), strategy, rollback, null);
  }

  private static ReleaseSet.Component c(String app, String... dependsOn) {
    return new ReleaseSet.Component(app, "2", List.of(dependsOn));
  }

  /** database <- cache <- api <- gateway, listed top-down as teams often write them. */
  private static ReleaseSet chain(ReleaseSet.Rollback rollback) {
    return set(ReleaseSet.Strategy.ROLLING, rollback, c("gateway", "api"), c("api", "cache"), c("cache", "database"),
        c("database"));
  }

  private static Map<String, Status> statuses(Object... pairs) {
    Map<String, Status> m = new HashMap<>();
    for (int i = 0; i < pairs.length; i += 2) {
      m.put((String) pairs[i], (Status) pairs[i + 1]);
    }
    return m;
  }

  @Test
  void aComponentStartsOnlyWhenEveryDependencyCompletedHealthy() {
    ReleaseSet set = chain(ReleaseSet.Rollback.AUTO);

    Next first = SetPlanner.next(set, Map.of());
    assertThat(first.status()).isEqualTo(SetStatus.RUNNING);
    assertThat(first.start()).containsExactly("database");
    assertThat(first.waitingFor()).containsEntry("cache", List.of("database")).containsEntry("database", List.of());

    assertThat(SetPlanner.next(set, statuses("database", Status.ACTIVE)).start()).isEmpty();
    assertThat(SetPlanner.next(set, statuses("database", Status.COMPLETE)).start()).containsExactly("cache");
    Next rolling = SetPlanner.next(set, statuses("database", Status.COMPLETE, "cache", Status.COMPLETE,
        "api", Status.ACTIVE));
    assertThat(rolling.start()).isEmpty();
    assertThat(rolling.waitingFor()).containsOnlyKeys("gateway").containsEntry("gateway", List.of("api"));
    assertThat(rolling.reason()).contains("rolling out api");
    Next done = SetPlanner.next(set, statuses("database", Status.COMPLETE, "cache", Status.COMPLETE,
        "api", Status.COMPLETE, "gateway", Status.COMPLETE));
    assertThat(done.status()).isEqualTo(SetStatus.COMPLETE);
    assertThat(done.start()).isEmpty();
  }

  @Test
  void independentComponentsRunInParallelAndABlockedOneIsStillAllowedToStart() {
    ReleaseSet set = set(ReleaseSet.Strategy.ROLLING, ReleaseSet.Rollback.AUTO, c("db"), c("cache", "db"),
        c("search", "db"), c("api", "cache", "search"));

    assertThat(SetPlanner.next(set, statuses("db", Status.COMPLETE)).start()).containsExactly("cache", "search");
    Next half = SetPlanner.next(set, statuses("db", Status.COMPLETE, "cache", Status.COMPLETE,
        "search", Status.BLOCKED));
    assertThat(half.start()).containsExactly("search");
    assertThat(half.waitingFor().get("api")).containsExactly("search");
  }

  @Test
  void sequentialRunsOneComponentAtATimeInTheSetsOrder() {
    ReleaseSet set = set(ReleaseSet.Strategy.SEQUENTIAL, ReleaseSet.Rollback.AUTO, c("db"), c("cache", "db"),
        c("search", "db"));

    assertThat(SetPlanner.next(set, statuses("db", Status.COMPLETE)).start()).containsExactly("cache");
    assertThat(SetPlanner.next(set, statuses("db", Status.COMPLETE, "cache", Status.ACTIVE)).start()).isEmpty();
    assertThat(SetPlanner.next(set, statuses("db", Status.COMPLETE, "cache", Status.COMPLETE)).start())
        .containsExactly("search");
  }

  @Test
  void aFailureUnderAutoRecallsTheRolledComponentsTopDown() {
    ReleaseSet set = chain(ReleaseSet.Rollback.AUTO);

    // api's own rollout failed (its policy recalls it): nothing starts, api goes back first.
    Next apiGoing = SetPlanner.next(set, statuses("database", Status.COMPLETE, "cache", Status.COMPLETE,
        "api", Status.RECALLING));
    assertThat(apiGoing.status()).isEqualTo(SetStatus.RECALLING);
    assertThat(apiGoing.start()).isEmpty();
    assertThat(apiGoing.recall()).as("cache waits until api is back").isEmpty();
    assertThat(apiGoing.failed()).containsExactly("api");
    assertThat(apiGoing.reason()).contains("api failed", "api going back");

    // halted instead (manual at the component level): the set recalls api itself first.
    assertThat(SetPlanner.next(set, statuses("database", Status.COMPLETE, "cache", Status.COMPLETE,
        "api", Status.HALTED)).recall()).containsExactly("api");

    Next cacheNext = SetPlanner.next(set, statuses("database", Status.COMPLETE, "cache", Status.COMPLETE,
        "api", Status.RECALLED));
    assertThat(cacheNext.recall()).containsExactly("cache");
    assertThat(SetPlanner.next(set, statuses("database", Status.COMPLETE, "cache", Status.RECALLING,
        "api", Status.RECALLED)).recall()).isEmpty();
    assertThat(SetPlanner.next(set, statuses("database", Status.COMPLETE, "cache", Status.RECALLED,
        "api", Status.RECALLED)).recall()).containsExactly("database");
    Next end = SetPlanner.next(set, statuses("database", Status.RECALLED, "cache", Status.RECALLED,
        "api", Status.RECALLED));
    assertThat(end.status()).isEqualTo(SetStatus.RECALLED);
    assertThat(end.recall()).isEmpty();
  }

  @Test
  void aLateFailureRecallsTheDependentsFirstAndSiblingsInParallel() {
    // cache failed after it completed; api and search (both on cache) had started: they go first.
    ReleaseSet set = set(ReleaseSet.Strategy.ROLLING, ReleaseSet.Rollback.AUTO, c("db"), c("cache", "db"),
        c("api", "cache"), c("search", "cache"), c("gateway", "api"));
    Next next = SetPlanner.next(set, statuses("db", Status.COMPLETE, "cache", Status.HALTED, "api", Status.COMPLETE,
        "search", Status.ACTIVE));

    assertThat(next.recall()).containsExactlyInAnyOrder("api", "search");
    assertThat(next.start()).as("gateway never starts once the set failed").isEmpty();
  }

  @Test
  void aFailureUnderManualHaltsWhatStillRollsAndStartsNothing() {
    ReleaseSet set = set(ReleaseSet.Strategy.ROLLING, ReleaseSet.Rollback.MANUAL, c("db"), c("cache", "db"),
        c("search", "db"), c("api", "cache", "search"));
    Next next = SetPlanner.next(set, statuses("db", Status.COMPLETE, "cache", Status.HALTED, "search",
        Status.ACTIVE));

    assertThat(next.status()).isEqualTo(SetStatus.HALTED);
    assertThat(next.halt()).containsExactly("search");
    assertThat(next.recall()).isEmpty();
    assertThat(next.start()).isEmpty();
    assertThat(next.reason()).contains("cache failed", "rollback_policy manual");

    // An operator resumed cache: the failure is lifted, the set goes on.
    Next resumed = SetPlanner.next(set, statuses("db", Status.COMPLETE, "cache", Status.COMPLETE, "search",
        Status.COMPLETE));
    assertThat(resumed.status()).isEqualTo(SetStatus.RUNNING);
    assertThat(resumed.start()).containsExactly("api");
  }
}
