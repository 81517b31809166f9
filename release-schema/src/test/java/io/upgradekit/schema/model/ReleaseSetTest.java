package io.upgradekit.schema.model;

import static io.upgradekit.schema.Fixtures.assertCode;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.json.Json;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class ReleaseSetTest {
  private static final Instant CREATED = Instant.parse("2026-11-22T00:00:00Z");

  static ReleaseSet.Component c(String app, String... dependsOn) {
    return new ReleaseSet.Component(app, "2.0.0", List.of(dependsOn));
  }

  static ReleaseSet set(List<ReleaseSet.Component> components, List<ReleaseSet.Contract> contracts) {
    return ReleaseSet.of("shop", "1", 1, CREATED, CREATED.plusSeconds(3600), components, ReleaseSet.Strategy.ROLLING,
        ReleaseSet.Rollback.AUTO, contracts);
  }

  static List<ReleaseSet.Component> chain() {
    return List.of(c("gateway", "api"), c("api", "cache"), c("cache", "database"), c("database"));
  }

  @Test
  void theOrderIsBottomUpAndTheRecallTopDown() {
    SetGraph graph = set(chain(), List.of()).graph();

    assertThat(graph.order()).containsExactly("database", "cache", "api", "gateway");
    assertThat(graph.recallOrder()).containsExactly("gateway", "api", "cache", "database");
    assertThat(graph.steps()).containsExactly(List.of("database"), List.of("cache"), List.of("api"),
        List.of("gateway"));
    assertThat(graph.dependents("cache")).containsExactly("api");
    assertThat(graph.dependsOn("gateway", "database")).isTrue();
    assertThat(graph.dependsOn("database", "gateway")).isFalse();
  }

  @Test
  void independentComponentsShareAStepInListingOrder() {
    // db <- (cache, search) <- api; search is listed before cache, and keeps that place.
    SetGraph graph = set(List.of(c("api", "cache", "search"), c("search", "db"), c("cache", "db"), c("db")),
        List.of()).graph();

    assertThat(graph.steps()).containsExactly(List.of("db"), List.of("search", "cache"), List.of("api"));
    assertThat(graph.order()).containsExactly("db", "search", "cache", "api");
    assertThat(graph.step("api")).isEqualTo(2);
  }

  @Test
  void aCycleIsRefusedNamingItsComponents() {
    assertThatThrownBy(() -> set(List.of(c("api", "cache"), c("cache", "database"), c("database", "api"),
        c("gateway", "api")), List.of()))
        .isInstanceOfSatisfying(UpgradeException.class, e -> {
          assertThat(e.code()).isEqualTo(ErrorCode.SET_CYCLE);
          assertThat(e.getMessage()).contains("api -> cache -> database -> api",
              "api depends on cache, cache on database, database on api", "remove one of these depends_on");
        });
    assertCode(() -> set(List.of(c("api", "api")), List.of()), ErrorCode.SET_CYCLE);
  }

  @Test
  void unknownAndDuplicateComponentsAreRefusedWithTheFix() {
    assertThatThrownBy(() -> set(List.of(c("api", "cahce"), c("cache")), List.of()))
        .isInstanceOfSatisfying(UpgradeException.class, e -> {
          assertThat(e.code()).isEqualTo(ErrorCode.SET_UNKNOWN_COMPONENT);
          assertThat(e.getMessage()).contains("'api' depends on 'cahce'", "listed: api, cache");
        });
    assertCode(() -> set(List.of(c("api"), c("api")), List.of()), ErrorCode.SET_DUPLICATE_COMPONENT);
    assertCode(() -> set(List.of(c("api", "db", "db"), c("db")), List.of()), ErrorCode.SET_DUPLICATE_COMPONENT);
    assertCode(() -> set(List.of(), List.of()), ErrorCode.METADATA_MALFORMED);
  }

  @Test
  void everyProblemIsListedForThePreview() {
    List<SetRules.Problem> problems = SetRules.check(List.of(c("a", "b"), c("b", "a"), c("c", "nope"), c("c")),
        List.of(ReleaseSet.Contract.parse("ghost 1.x requires a >= 1")));

    assertThat(problems).extracting(SetRules.Problem::code).containsExactlyInAnyOrder(
        ErrorCode.SET_DUPLICATE_COMPONENT, ErrorCode.SET_UNKNOWN_COMPONENT, ErrorCode.SET_CYCLE,
        ErrorCode.SET_UNKNOWN_COMPONENT);
  }

  @Test
  void tenThousandComponentsAreRefusedAtOnceWithTheCap() {
    List<ReleaseSet.Component> many = new ArrayList<>();
    for (int i = 0; i < 10_000; i++) {
      many.add(i == 0 ? c("c0") : c("c" + i, "c" + (i - 1)));
    }
    long start = System.nanoTime();
    assertThatThrownBy(() -> set(many, List.of())).isInstanceOfSatisfying(UpgradeException.class, e -> {
      assertThat(e.code()).isEqualTo(ErrorCode.SET_TOO_LARGE);
      assertThat(e.getMessage()).contains("10000 components, more than 256", "split the system");
    });
    assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(5));
  }

  @Test
  void theLongestChainAndTheDensestGraphWithinTheCapsAreCheckedWithoutRecursion() {
    List<ReleaseSet.Component> chain = new ArrayList<>();
    for (int i = 0; i < ReleaseSet.MAX_COMPONENTS; i++) {
      chain.add(i == 0 ? c("c0") : c("c" + i, "c" + (i - 1)));
    }
    assertThat(set(chain, List.of()).graph().steps()).hasSize(ReleaseSet.MAX_COMPONENTS);

    List<ReleaseSet.Component> dense = new ArrayList<>();
    for (int i = 0; i < ReleaseSet.MAX_COMPONENTS; i++) {
      List<String> deps = new ArrayList<>();
      for (int j = Math.max(0, i - ReleaseSet.Component.MAX_DEPENDENCIES); j < i; j++) {
        deps.add("c" + j);
      }
      dense.add(new ReleaseSet.Component("c" + i, "1", deps));
    }
    ReleaseSet big = set(dense, List.of());
    byte[] json = Json.canonicalBytes(big);
    assertThat(json.length).as("within the document cap").isLessThan(DocumentType.RELEASE_SET.maxBytes());
    assertThat(Json.read(json, DocumentType.RELEASE_SET, ReleaseSet.class)).isEqualTo(big);

    List<String> tooMany = new ArrayList<>();
    for (int j = 0; j <= ReleaseSet.Component.MAX_DEPENDENCIES; j++) {
      tooMany.add("c" + j);
    }
    assertCode(() -> new ReleaseSet.Component("x", "1", tooMany), ErrorCode.SET_TOO_LARGE);
  }

  @Test
  void contractsMustBindAListedComponentAndBeMetByTheSetInOrder() {
    ReleaseSet.Contract apiNeedsCache2 = ReleaseSet.Contract.parse("api 2.x requires cache >= 2.0");
    assertThat(set(chain(), List.of(apiNeedsCache2)).contracts()).containsExactly(apiNeedsCache2);

    List<ReleaseSet.Component> oldCache = List.of(c("api", "cache"), new ReleaseSet.Component("cache", "1.9",
        List.of()));
    assertThatThrownBy(() -> set(oldCache, List.of(apiNeedsCache2))).isInstanceOfSatisfying(UpgradeException.class,
        e -> {
          assertThat(e.code()).isEqualTo(ErrorCode.CONTRACT_INVALID);
          assertThat(e.getMessage()).contains("can never be met", "installs cache 1.9, outside '>= 2.0'");
        });

    List<ReleaseSet.Component> unordered = List.of(c("api"), c("cache"));
    assertThatThrownBy(() -> set(unordered, List.of(apiNeedsCache2))).isInstanceOfSatisfying(UpgradeException.class,
        e -> {
          assertThat(e.code()).isEqualTo(ErrorCode.CONTRACT_INVALID);
          assertThat(e.getMessage()).contains("add cache to api's depends_on");
        });

    // A contract on an app outside the set is checked against the fleet, not here.
    assertThat(set(List.of(c("api")), List.of(ReleaseSet.Contract.parse("api 2.x requires ldap >= 5")))
        .contracts()).hasSize(1);
    // A contract that does not bind the set's version of its app is kept, and cannot fail the set.
    assertThat(set(oldCache, List.of(ReleaseSet.Contract.parse("api 3.x requires cache >= 2.0"))).contracts())
        .hasSize(1);
    assertCode(() -> set(chain(), List.of(ReleaseSet.Contract.parse("ghost 2.x requires cache >= 2"))),
        ErrorCode.SET_UNKNOWN_COMPONENT);
  }

  @Test
  void contractsParseFromTheDescriptorsFormAndAreCanonical() {
    ReleaseSet.Contract contract = ReleaseSet.Contract.parse("  api 2.*   requires  cache >=2.0,<3 ");

    assertThat(contract).isEqualTo(new ReleaseSet.Contract("api", "2.x", "cache", ">= 2.0, < 3"));
    assertThat(contract.toString()).isEqualTo("api 2.x requires cache >= 2.0, < 3");
    assertThat(contract.binds("2.7.1")).isTrue();
    assertThat(contract.binds("3.0")).isFalse();
    assertThat(contract.servedBy("v2")).isTrue();
    assertThat(contract.servedBy("1.9.9")).isFalse();
    assertCode(() -> ReleaseSet.Contract.parse("api 2.x needs cache >= 2"), ErrorCode.CONTRACT_INVALID);
    assertCode(() -> ReleaseSet.Contract.parse("api requires cache"), ErrorCode.CONTRACT_INVALID);
    assertCode(() -> ReleaseSet.Contract.parse("api 2.x requires api >= 2"), ErrorCode.CONTRACT_INVALID);
    assertCode(() -> ReleaseSet.Contract.parse("api 2.x requires cache >= 3, < 2"), ErrorCode.CONTRACT_INVALID);
    assertCode(() -> ReleaseSet.Contract.parse("x".repeat(10_000)), ErrorCode.CONTRACT_INVALID);
  }

  @Test
  void theDocumentRoundTripsAndRefusesWhatBreaksTheRules() {
    ReleaseSet set = set(chain(), List.of(ReleaseSet.Contract.parse("api 2.x requires cache >= 2.0")));
    byte[] json = Json.canonicalBytes(set);

    assertThat(new String(json, StandardCharsets.UTF_8)).contains("\"depends_on\":[\"api\"]",
        "\"rollback_policy\":\"auto\"", "\"type\":\"release-set\"");
    assertThat(Json.read(json, DocumentType.RELEASE_SET, ReleaseSet.class)).isEqualTo(set);
    assertThat(Json.canonicalBytes(set(chain(), null))).asString(StandardCharsets.UTF_8).doesNotContain("contracts");

    String cyclic = new String(json, StandardCharsets.UTF_8).replace("\"depends_on\":[]", "\"depends_on\":[\"gateway\"]");
    assertThatThrownBy(() -> Json.read(cyclic.getBytes(StandardCharsets.UTF_8), DocumentType.RELEASE_SET,
        ReleaseSet.class)).isInstanceOfSatisfying(UpgradeException.class, e -> {
          assertThat(e.code()).isEqualTo(ErrorCode.METADATA_MALFORMED);
          assertThat(e.getMessage()).contains("cycle");
        });
    String unknownStrategy = new String(json, StandardCharsets.UTF_8).replace("rolling", "blue-green");
    assertCode(() -> Json.read(unknownStrategy.getBytes(StandardCharsets.UTF_8), DocumentType.RELEASE_SET,
        ReleaseSet.class), ErrorCode.METADATA_MALFORMED);
  }
}
