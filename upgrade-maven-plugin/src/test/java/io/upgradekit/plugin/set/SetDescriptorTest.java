package io.upgradekit.plugin.set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.model.ReleaseSet;
import io.upgradekit.schema.model.SetRules;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SetDescriptorTest {
  /** The shape of the issue, as teams write it. */
  static final String FOUR = """
      components:
        - {name: database, version: v2, depends_on: []}
        - {name: cache,    version: v2, depends_on: [database]}
        - {name: api,      version: v2, depends_on: [cache]}
        - {name: gateway,  version: v2, depends_on: [api]}
      strategy: rolling
      rollback_policy: auto
      """;

  private static final Instant NOW = Instant.parse("2030-01-01T00:00:00Z");

  static SetDescriptor parse(String yaml) {
    return SetDescriptor.parse("release-set.yaml", yaml.getBytes(StandardCharsets.UTF_8));
  }

  static void refused(String yaml, ErrorCode code, String... message) {
    assertThatThrownBy(() -> parse(yaml).toSet("shop", "1", 1, NOW, NOW.plusSeconds(60)))
        .isInstanceOfSatisfying(UpgradeException.class, e -> {
          assertThat(e.code()).as(e.getMessage()).isEqualTo(code);
          assertThat(e.getMessage()).startsWith("release-set.yaml").contains(message);
        });
  }

  @Test
  void theIssuesShapeIsReadAsItIs() {
    SetDescriptor d = parse(FOUR);
    ReleaseSet set = d.toSet("shop", "2026.1", 7, NOW, NOW.plusSeconds(60));

    assertThat(d.problems()).isEmpty();
    assertThat(set.components()).extracting(ReleaseSet.Component::app)
        .containsExactly("database", "cache", "api", "gateway");
    assertThat(set.component("api").dependsOn()).containsExactly("cache");
    assertThat(set.component("database").version()).isEqualTo("v2");
    assertThat(set.strategy()).isEqualTo(ReleaseSet.Strategy.ROLLING);
    assertThat(set.rollbackPolicy()).isEqualTo(ReleaseSet.Rollback.AUTO);
    assertThat(set.graph().order()).containsExactly("database", "cache", "api", "gateway");
  }

  @Test
  void blockStyleDefaultsContractsAndVersionsKeepTheirText() {
    SetDescriptor d = parse("""
        components:
          - name: database
            version: 2.10
          - name: api
            version: 3
            depends_on:
              - database
        contracts:
          - api 3.x requires database >= 2.10
        """);

    assertThat(d.components().get(0).version()).as("not the number 2.1").isEqualTo("2.10");
    assertThat(d.components().get(0).dependsOn()).isEmpty();
    assertThat(d.components().get(1).version()).isEqualTo("3");
    assertThat(d.strategy()).isEqualTo(ReleaseSet.Strategy.ROLLING);
    assertThat(d.rollbackPolicy()).isEqualTo(ReleaseSet.Rollback.MANUAL);
    assertThat(d.contracts()).containsExactly(new ReleaseSet.Contract("api", "3.x", "database", ">= 2.10"));
    assertThat(d.problems()).isEmpty();
  }

  @Test
  void aCycleIsRefusedNamingItsComponents() {
    String cyclic = FOUR.replace("depends_on: []", "depends_on: [gateway]");

    assertThat(parse(cyclic).problems()).extracting(SetRules.Problem::code).containsExactly(ErrorCode.SET_CYCLE);
    refused(cyclic, ErrorCode.SET_CYCLE, "database -> gateway -> api -> cache -> database");
  }

  @Test
  void duplicateAndUnknownComponentsAreRefused() {
    refused(FOUR.replace("name: gateway", "name: api"), ErrorCode.SET_DUPLICATE_COMPONENT,
        "component 'api' is listed twice");
    refused(FOUR.replace("[cache]", "[cahce]"), ErrorCode.SET_UNKNOWN_COMPONENT, "'api' depends on 'cahce'");
    refused(FOUR.replace("[cache]", "[cahce]").replace("name: gateway", "name: api"), ErrorCode.SET_DUPLICATE_COMPONENT,
        "2 problems", "SET_UNKNOWN_COMPONENT");
  }

  @Test
  void unknownFieldsAreRefusedWithTheKnownOnes() {
    refused(FOUR + "canary: 1\n", ErrorCode.CONFIG_INVALID, "unknown key 'canary'",
        "components, strategy, rollback_policy, contracts");
    refused(FOUR.replace("depends_on: [api]", "depnds_on: [api]"), ErrorCode.CONFIG_INVALID, "line 5",
        "components[3] has an unknown key 'depnds_on'", "name, version, depends_on");
  }

  @Test
  void tenThousandComponentsAreRefusedAtTheFirstOneTooMany() {
    StringBuilder yaml = new StringBuilder("components:\n");
    for (int i = 0; i < 10_000; i++) {
      yaml.append("  - {name: c").append(i).append(", version: v1, depends_on: [").append(i == 0 ? "" : "c" + (i - 1))
          .append("]}\n");
    }
    long start = System.nanoTime();
    refused(yaml.toString(), ErrorCode.SET_TOO_LARGE, "more than 256 components", "split the system");
    assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(5));
  }

  @Test
  void deepNestingHugeStringsAndHugeFilesAreRefused() {
    refused("components:\n  - {name: a, version: v1, depends_on: [[[[[[[[[[x]]]]]]]]]]}\n", ErrorCode.CONFIG_INVALID,
        "nested deeper than 8");
    refused("components:\n  - {name: a, version: '" + "1".repeat(100_000) + "'}\n", ErrorCode.CONFIG_INVALID,
        "longer than 512 characters");
    refused("components:\n  - {name: '" + "a".repeat(200) + "', version: v1}\n", ErrorCode.NAME_INVALID,
        "line 2: components[0]: app", "(cut; 200 characters)");
    refused("# " + "x".repeat(SetDescriptor.MAX_BYTES) + "\n" + FOUR, ErrorCode.SET_TOO_LARGE, "larger than");
    StringBuilder deps = new StringBuilder("components:\n  - {name: a, version: v1, depends_on: [");
    for (int i = 0; i < 2000; i++) {
      deps.append(i == 0 ? "" : ", ").append("d").append(i);
    }
    refused(deps + "]}\n", ErrorCode.SET_TOO_LARGE, "more than 1024 items");
  }

  @Test
  void anchorsAliasesAndDuplicateKeysAreRefused() {
    refused("""
        a: &a [x, x, x, x, x, x, x, x, x]
        b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
        c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
        components: [*c]
        """, ErrorCode.CONFIG_INVALID, "anchor or alias");
    refused("""
        components:
          - {name: a, version: v1, name: b}
        """, ErrorCode.CONFIG_INVALID, "line 2", "Duplicate field 'name'");
  }

  @Test
  void shapeMistakesNameTheLineAndTheFix() {
    refused("", ErrorCode.CONFIG_INVALID, "the file is empty");
    refused("- a\n- b\n", ErrorCode.CONFIG_INVALID, "must be a mapping with 'components:'");
    refused("components: []\n", ErrorCode.CONFIG_INVALID, "'components' must list");
    refused("components:\n  - {name: a}\n", ErrorCode.CONFIG_INVALID, "line 2", "components[0] has no 'version'");
    refused("components:\n  - {name: a, version: v1, depends_on: b}\n", ErrorCode.CONFIG_INVALID,
        "depends_on must be a list");
    refused("components:\n  - {name: a, version: {x: 1}}\n", ErrorCode.CONFIG_INVALID, "must be a plain value");
    refused(FOUR.replace("rolling", "blue-green"), ErrorCode.CONFIG_INVALID, "strategy is 'blue-green'",
        "write rolling or sequential");
    refused(FOUR.replace("auto", "sometimes"), ErrorCode.CONFIG_INVALID, "write auto or manual");
    refused("components:\n  - {name: a, version: v1}\ncontracts:\n  - a 2.x needs b\n", ErrorCode.CONTRACT_INVALID,
        "line 4: contracts[0]");
    refused("components: [\n", ErrorCode.CONFIG_INVALID, "not valid YAML");
    refused(FOUR + "---\n" + FOUR, ErrorCode.CONFIG_INVALID, "more than one YAML document");
  }

  @Test
  void aMissingFileSaysWhereToWriteIt(@TempDir Path dir) throws Exception {
    assertThatThrownBy(() -> SetDescriptor.read(dir.resolve("release-set.yaml")))
        .isInstanceOfSatisfying(UpgradeException.class, e -> assertThat(e.getMessage()).contains("does not exist",
            "<descriptor>"));
    Path file = Files.writeString(dir.resolve("set.yaml"), FOUR);
    assertThat(SetDescriptor.read(file).components()).hasSize(4);
  }
}
